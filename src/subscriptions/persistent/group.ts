// One persistent subscription group at run time: reads pages into a bounded buffer, lets the
// dispatcher hand them to consumers with room, takes acks and naks, redelivers timed-out events,
// parks the ones out of retries and checkpoints the done prefix. format-spec/subscriptions.md §4–§7.

import { randomUUID } from 'node:crypto';
import type { EventStore } from '../../store/event-store.js';
import type { RecordedEvent } from '../../store/recorded-event.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { InvalidArgumentError, MaxSubscribersReachedError, StoreClosedError, StoreFailedError } from '../../util/errors.js';
import { PERSISTENT_ACK_IDS_MAX, PERSISTENT_CONSUMERS_PER_GROUP_MAX, PERSISTENT_TICK_MS } from '../../util/limits.js';
import { CheckpointLog } from './checkpoint-log.js';
import { Checkpointer } from './checkpointer.js';
import type { GroupDefinition } from './config-log.js';
import { Consumer, type Entry } from './consumer.js';
import { Dispatcher } from './dispatcher.js';
import { DoneTracker } from './done-tracker.js';
import { GroupReader } from './group-reader.js';
import { ParkedLog, originOf, type EventOrigin } from './parked-log.js';
import { ParkedReplay } from './parked-replay.js';
import { Parking } from './parking.js';
import type { ConsumerDropReason, ConsumerHandle, ConsumerSink, GroupInfo, GroupSettings, NakAction } from './types.js';

export interface GroupEnv {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

const NAK_ACTIONS: readonly NakAction[] = ['park', 'retry', 'skip', 'stop'];

export class Group {
  readonly streamId: string;
  readonly group: string;
  private readonly settings: Readonly<GroupSettings>;
  private readonly reader: GroupReader;
  private readonly tracker: DoneTracker;
  private readonly dispatcher: Dispatcher;
  private readonly checkpointer: Checkpointer;
  private readonly replay: ParkedReplay;
  private readonly parking: Parking;
  /** Consumers whose principal's access is still being checked (they count toward the maximum). */
  private readonly admitting = new Set<Consumer>();

  /** Events held and not done, in any state: what the memory bound limits. */
  private held = 0;
  private deliveredCount = 0;
  private ackedCount = 0;
  private nakedCount = 0;
  private lastKnown: bigint | null = null;

  private reading = false;
  /** The last read reached the end of the stream or log (the live buffer bound applies). */
  private live = false;
  /** Appends seen; a read that reached the end counts as caught up only if none came during it. */
  private appendSeq = 0;
  private caughtUp = false;
  private pumpScheduled = false;
  private dispatching = false;
  private redispatch = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private stopReason: ConsumerDropReason = 'storeClosed';
  private readonly stopListening: () => void;

  private constructor(readonly definition: GroupDefinition, private readonly env: GroupEnv, parked: ParkedLog, lastCheckpoint: bigint | null, parkedCount: bigint) {
    this.streamId = definition.streamId;
    this.group = definition.group;
    this.settings = definition.settings;
    const firstKey = lastCheckpoint !== null ? lastCheckpoint + 1n : definition.startKey;
    this.reader = new GroupReader(env.store, definition.streamId, firstKey);
    this.tracker = new DoneTracker(firstKey);
    this.dispatcher = new Dispatcher(this.settings.consumerStrategy);
    const checkpoints = new CheckpointLog(env.store, definition.streamId, definition.group);
    this.checkpointer = new Checkpointer(checkpoints, this.tracker, this.settings, env.clock, {
      failed: (error) => this.writeFailed('checkpoint', error),
      wakeLater: () => this.ensureTicking(),
      stopped: () => this.stopped,
    }, lastCheckpoint);
    this.replay = new ParkedReplay(parked, {
      truncated: (count) => {
        this.parking.parkedCount = count;
      },
      failed: (what, error) => this.writeFailed(what, error),
      wake: () => this.pump(),
      stopped: () => this.stopped,
    });
    this.parking = new Parking(parked, {
      parked: (entry) => {
        this.finish(entry);
        this.dispatch();
      },
      failed: (error) => this.writeFailed('park', error),
      wakeLater: () => this.ensureTicking(),
      stopped: () => this.stopped,
    }, parkedCount);
    this.stopListening = env.store.onAppended(() => {
      this.appendSeq++;
      if (this.caughtUp) {
        this.caughtUp = false;
        this.schedulePump();
      }
    });
  }

  /** Starts a group from its checkpoint (or its start key when it has none). */
  static async start(definition: GroupDefinition, env: GroupEnv): Promise<Group> {
    const parked = new ParkedLog(env.store, definition.streamId, definition.group);
    const lastCheckpoint = await new CheckpointLog(env.store, definition.streamId, definition.group).read(env.logger);
    return new Group(definition, env, parked, lastCheckpoint, await parked.count());
  }

  // ---- consumers ----------------------------------------------------------------------------

  /**
   * Adds a consumer. `admission`, when given, is the principal's access check: the consumer
   * receives nothing until it resolves and is dropped with 'accessDenied' if it rejects.
   * Deliveries start after the current task, never inside this call.
   */
  connect(sink: ConsumerSink, windowEvents: number, name: string, admission: Promise<void> | null): ConsumerHandle {
    const consumer = new Consumer(randomUUID(), name, windowEvents, sink);
    if (this.stopped) {
      // Between the stop and the start of an updated group: the caller hears it at once.
      consumer.open = false;
      const reason = this.stopReason;
      setImmediate(() => this.notifyDropped(consumer, reason));
      return this.handleOf(consumer);
    }
    const max = this.settings.maxSubscriberCount === 0 ? PERSISTENT_CONSUMERS_PER_GROUP_MAX : this.settings.maxSubscriberCount;
    if (this.dispatcher.connected.length + this.admitting.size >= max) throw new MaxSubscribersReachedError(this.streamId, this.group, max);
    if (admission === null) {
      this.admit(consumer);
      return this.handleOf(consumer);
    }
    this.admitting.add(consumer);
    admission.then(
      () => {
        if (this.admitting.delete(consumer) && consumer.open) this.admit(consumer);
      },
      () => {
        if (!this.admitting.delete(consumer) || !consumer.open) return;
        consumer.open = false;
        this.notifyDropped(consumer, 'accessDenied');
      },
    );
    return this.handleOf(consumer);
  }

  private admit(consumer: Consumer): void {
    this.dispatcher.add(consumer);
    setImmediate(() => this.dispatch());
  }

  private handleOf(consumer: Consumer): ConsumerHandle {
    return {
      consumerId: consumer.consumerId,
      ack: (eventIds) => this.ack(consumer, checkIds(eventIds)),
      nak: (eventIds, action, reason) => {
        if (!NAK_ACTIONS.includes(action)) throw new InvalidArgumentError(`nak action = ${String(action)} must be one of ${NAK_ACTIONS.join(', ')}`);
        if (reason !== undefined && typeof reason !== 'string') throw new InvalidArgumentError('nak reason must be a string');
        this.nak(consumer, checkIds(eventIds), action, reason ?? '');
      },
      close: () => this.dropConsumer(consumer, 'unsubscribed'),
      resume: () => {
        if (this.stopped || !consumer.open || !consumer.paused) return;
        this.dispatcher.resume(consumer);
        this.dispatch();
      },
    };
  }

  /**
   * Takes a consumer out of the group: its in-flight events go back for redelivery (retryCount+1,
   * parked when that is over maxRetryCount) and events pinned to it are spread again.
   */
  private dropConsumer(consumer: Consumer, reason: ConsumerDropReason): void {
    if (!consumer.open) return;
    consumer.open = false;
    if (!this.admitting.delete(consumer)) {
      const returned = this.dispatcher.remove(consumer);
      if (!this.stopped) for (const entry of returned) this.retryLater(entry, `consumer ${reason}`);
    }
    this.notifyDropped(consumer, reason);
    this.dispatch();
  }

  private notifyDropped(consumer: Consumer, reason: ConsumerDropReason): void {
    try {
      consumer.sink.dropped(reason);
    } catch (error) {
      this.env.logger.warn('a persistent consumer sink threw from dropped()', { error: String(error) });
    }
  }

  // ---- acks and naks ------------------------------------------------------------------------

  private ack(consumer: Consumer, ids: readonly string[]): void {
    if (this.stopped || !consumer.open) return;
    for (const id of ids) {
      const entry = consumer.inFlight.get(id);
      if (entry === undefined) continue;
      this.dispatcher.leaveFlight(entry);
      consumer.ackedCount++;
      this.ackedCount++;
      this.finish(entry);
    }
    this.dispatch();
  }

  private nak(consumer: Consumer, ids: readonly string[], action: NakAction, reason: string): void {
    if (this.stopped || !consumer.open) return;
    for (const id of ids) {
      const entry = consumer.inFlight.get(id);
      if (entry === undefined) continue;
      this.nakedCount++;
      if (action === 'stop') continue;
      this.dispatcher.leaveFlight(entry);
      if (action === 'retry') this.retryLater(entry, reason === '' ? 'nak retry' : reason);
      else if (action === 'park') this.parking.park(entry, reason === '' ? 'nak park' : reason);
      else this.finish(entry);
    }
    // 'stop': the consumer leaves; its in-flight events, the naked ones included, are redelivered.
    if (action === 'stop') this.dropConsumer(consumer, 'stopRequested');
    else this.dispatch();
  }

  /** Back for redelivery with retryCount + 1, or parked when that is over maxRetryCount. */
  private retryLater(entry: Entry, reason: string): void {
    entry.retryCount++;
    if (entry.retryCount > this.settings.maxRetryCount) {
      this.parking.park(entry, `${reason} (retried ${entry.retryCount - 1} times, maxRetryCount ${this.settings.maxRetryCount})`);
      return;
    }
    this.dispatcher.pushReady(entry);
  }

  /** The event is done (acked, skipped or durably parked). */
  private finish(entry: Entry): void {
    entry.state = 'done';
    this.held--;
    this.dispatcher.release(entry);
    if (entry.parkedRevision !== null) this.replay.done();
    if (entry.key !== null) {
      this.tracker.markDone(entry.key);
      this.checkpointer.counted();
    }
  }

  /** A write failed: a closed or failed store stops the group (its state is in the log); anything else is logged. */
  private writeFailed(what: string, error: unknown): void {
    if (error instanceof StoreClosedError || error instanceof StoreFailedError) {
      void this.stop('storeClosed', false);
      return;
    }
    this.env.logger.warn(`persistent subscription ${what} failed`, { stream: this.streamId, group: this.group, error: String(error) });
  }

  // ---- dispatch and reading -----------------------------------------------------------------

  /** Hands out events while consumers have room, then reads more if the buffer has room. */
  private dispatch(): void {
    if (this.stopped) return;
    if (this.dispatching) {
      // A sink acked from inside deliver(): the running loop goes round again.
      this.redispatch = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.redispatch = false;
        this.dispatcher.fill((consumer, entry) => this.deliver(consumer, entry), () => this.stopped);
      } while (this.redispatch && !this.stopped);
    } finally {
      this.dispatching = false;
    }
    this.pump();
  }

  /** Hands the event to the sink; false when the sink refused it (the dispatcher takes it back). */
  private deliver(consumer: Consumer, entry: Entry): boolean {
    const timeoutMs = this.settings.messageTimeoutMs;
    entry.deadlineMs = timeoutMs === 0 ? Infinity : this.env.clock.nowMs() + timeoutMs;
    try {
      if (consumer.sink.deliver({ event: entry.event, retryCount: entry.retryCount }) === false) return false;
    } catch (error) {
      // The event stays in flight: its timeout (or the consumer leaving) sends it again.
      this.env.logger.warn('a persistent consumer sink threw from deliver()', { error: String(error) });
    }
    consumer.deliveredCount++;
    this.deliveredCount++;
    this.ensureTicking();
    return true;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    // After the current commit's listeners: appends acknowledged together are read together.
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Events the buffer may take now: waiting events stay under the buffer size (live or history)
   * and everything held stays under that plus the consumers' windows, so returned and retried
   * events cannot grow the group past its bound either.
   */
  private readRoom(): number {
    const bufferEvents = this.live ? this.settings.liveBufferEvents : this.settings.historyBufferEvents;
    const waiting = this.held - this.dispatcher.inFlightCount - this.parking.count;
    return Math.min(bufferEvents - waiting, bufferEvents + this.dispatcher.windowsTotal - this.held);
  }

  /** Reads one page when there are consumers, room and something to read (a replay first); then dispatches. */
  private pump(): void {
    if (this.reading || this.stopped || this.dispatcher.connected.length === 0) return;
    const room = Math.min(this.readRoom(), this.settings.readBatchEvents);
    if (room <= 0) return;
    if (this.replay.hasMore) void this.read(() => this.replay.read(room, (event, origin, parkedRevision) => this.hold(event, null, origin, parkedRevision)));
    else if (!this.caughtUp) void this.read(() => this.readFresh(room));
  }

  private async read(body: () => Promise<void>): Promise<void> {
    this.reading = true;
    try {
      await body();
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof StoreClosedError || error instanceof StoreFailedError) {
        void this.stop('storeClosed', false);
        return;
      }
      // Nothing else is expected; the next append tries again.
      this.env.logger.warn('persistent subscription read failed', { stream: this.streamId, group: this.group, error: String(error) });
      this.caughtUp = true;
      return;
    } finally {
      this.reading = false;
    }
    this.dispatch();
  }

  private async readFresh(maxCount: number): Promise<void> {
    const seq = this.appendSeq;
    const page = await this.reader.read(maxCount);
    if (this.stopped) return;
    for (const event of page.events) {
      const key = this.reader.keyOf(event);
      this.tracker.add(key);
      this.hold(event, key, originOf(event), null);
    }
    this.tracker.passed(page.through);
    if (page.through >= 0n) this.lastKnown = page.through;
    this.live = page.atEnd;
    this.caughtUp = page.atEnd && seq === this.appendSeq;
    // Skipped events may move the checkpoint too.
    this.checkpointer.maybeWrite();
  }

  private hold(event: RecordedEvent, key: bigint | null, origin: EventOrigin, parkedRevision: bigint | null): void {
    const entry: Entry = { event, id: event.id, key, origin, parkedRevision, retryCount: 0, state: 'waiting', consumer: null, deadlineMs: Infinity };
    if (parkedRevision === null) this.dispatcher.pushFresh(entry);
    else this.dispatcher.pushReady(entry);
    this.held++;
  }

  /**
   * Replays parked events (the first `stopAt`, default all): delivered again as their original
   * events with retryCount 0; the parked stream is truncated past them once all are done.
   * Resolves at once with how many were selected.
   */
  async replayParked(stopAt: number | undefined): Promise<{ replayed: number }> {
    if (this.stopped) return { replayed: 0 };
    const replayed = await this.replay.select(stopAt);
    this.pump();
    return { replayed };
  }

  // ---- timeouts, life cycle and reports -----------------------------------------------------

  private ensureTicking(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => this.tick(), PERSISTENT_TICK_MS);
    this.timer.unref();
  }

  /**
   * Redelivers timed-out events, brings failed parks back and writes a checkpoint that came due
   * by time. Runs every PERSISTENT_TICK_MS while there is something to watch; tests call it
   * directly after moving their clock.
   */
  tick(): void {
    if (this.stopped) return;
    const now = this.env.clock.nowMs();
    const expired: Entry[] = [];
    if (this.settings.messageTimeoutMs > 0) {
      for (const consumer of this.dispatcher.connected) {
        // Send order: the first not expired ends the scan (deadlines grow with the clock).
        for (const entry of consumer.inFlight.values()) {
          if (entry.deadlineMs > now) break;
          expired.push(entry);
        }
      }
    }
    for (const entry of expired) {
      this.dispatcher.leaveFlight(entry);
      this.retryLater(entry, 'message timeout');
    }
    const parkRetries = this.parking.takeRetries();
    for (const entry of parkRetries) this.dispatcher.pushReady(entry);
    const retried = parkRetries.length > 0;
    if (expired.length > 0 || retried) this.dispatch();
    this.checkpointer.tick();
    if (this.dispatcher.inFlightCount === 0 && !this.checkpointer.pending && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /**
   * Stops the group: drops every consumer with `reason` (their in-flight events are not done and
   * come again after the next start), waits for parks and the checkpoint write under way, and
   * with `writeCheckpoint` writes the final checkpoint.
   */
  async stop(reason: ConsumerDropReason, writeCheckpoint: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopReason = reason;
    this.stopListening();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const consumer of [...this.admitting, ...this.dispatcher.connected]) this.dropConsumer(consumer, reason);
    await this.parking.settled();
    if (writeCheckpoint) await this.checkpointer.final();
    else await this.checkpointer.settled();
  }

  info(): GroupInfo {
    const connected = this.dispatcher.connected;
    return {
      streamId: this.streamId,
      group: this.group,
      settings: { ...this.settings },
      status: connected.length === 0 ? 'idle' : this.live ? 'live' : 'catchingUp',
      lastCheckpoint: this.checkpointer.last,
      lastKnownEvent: this.lastKnown,
      parkedCount: this.parking.parkedCount,
      inFlightCount: this.dispatcher.inFlightCount,
      deliveredCount: this.deliveredCount,
      ackedCount: this.ackedCount,
      nakedCount: this.nakedCount,
      connections: connected.map((c) => ({
        consumerId: c.consumerId, name: c.name, inFlight: c.inFlight.size, windowEvents: c.windowEvents,
        deliveredCount: c.deliveredCount, ackedCount: c.ackedCount,
      })),
    };
  }

  /** Events held (waiting, in flight or being parked): what the memory bound limits. @internal */
  get heldCount(): number {
    return this.held;
  }
}

function checkIds(eventIds: readonly string[]): readonly string[] {
  if (!Array.isArray(eventIds)) throw new InvalidArgumentError('event ids must be an array of strings');
  if (eventIds.length > PERSISTENT_ACK_IDS_MAX) throw new InvalidArgumentError(`${eventIds.length} event ids in one call, more than PERSISTENT_ACK_IDS_MAX = ${PERSISTENT_ACK_IDS_MAX}`);
  return eventIds;
}
