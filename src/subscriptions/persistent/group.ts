// One persistent subscription group at run time: reads pages into a bounded buffer, hands events
// to consumers with room by the group's strategy, takes acks and naks, redelivers timed-out
// events, parks the ones out of retries and checkpoints the done prefix.
// format-spec/subscriptions.md §4–§7.

import { randomUUID } from 'node:crypto';
import type { EventStore } from '../../store/event-store.js';
import type { RecordedEvent } from '../../store/recorded-event.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { InvalidArgumentError, MaxSubscribersReachedError, StoreClosedError, StoreFailedError } from '../../util/errors.js';
import { PERSISTENT_ACK_IDS_MAX, PERSISTENT_CONSUMERS_PER_GROUP_MAX, PERSISTENT_TICK_MS } from '../../util/limits.js';
import { CheckpointLog } from './checkpoint-log.js';
import type { GroupDefinition } from './config-log.js';
import { Consumer, pinnedIndex, type Entry } from './consumer.js';
import { DoneTracker } from './done-tracker.js';
import { Queue } from './entry-queue.js';
import { GroupReader } from './group-reader.js';
import { ParkedLog, originOf, type EventOrigin } from './parked-log.js';
import type { ConsumerDropReason, ConsumerHandle, ConsumerSink, GroupInfo, NakAction } from './types.js';

export interface GroupEnv {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** A replay of parked events in progress: revisions next … end of the parked stream. */
interface Replay {
  next: bigint;
  end: bigint;
  /** Replayed events read and not done yet. */
  outstanding: number;
  truncating: boolean;
}

const NAK_ACTIONS: readonly NakAction[] = ['park', 'retry', 'skip', 'stop'];

export class Group {
  readonly streamId: string;
  readonly group: string;
  private readonly reader: GroupReader;
  private readonly tracker: DoneTracker;

  /** Consumers that may receive events, in connect order. */
  private consumers: Consumer[] = [];
  /** Consumers whose principal's access is still being checked (they count toward the maximum). */
  private readonly admitting = new Set<Consumer>();
  /** Consumers in `consumers` with room in their window. */
  private roomy = 0;
  private windowsTotal = 0;
  private rotation = 0;

  /** Retried, released and replayed events: handed out before `fresh`. */
  private readonly ready = new Queue<Entry>();
  /** Events read from the stream or $all, in key order. */
  private readonly fresh = new Queue<Entry>();
  /** Ordered: each stream's current event (in flight, waiting for a retry, or being parked). */
  private readonly busyStreams = new Map<string, Entry>();
  /** Ordered: events waiting behind their stream's current event, in revision order. */
  private readonly blocked = new Map<string, Entry[]>();
  /** Events whose id is in flight already (acks name ids, so one id is in flight once). */
  private readonly idWaiting = new Map<string, Entry[]>();
  private readonly inFlightIds = new Map<string, Entry>();

  /** Events held and not done, in any state: the memory bound applies to this. */
  private held = 0;
  private inFlightCount = 0;
  private parkingCount = 0;
  private deliveredCount = 0;
  private ackedCount = 0;
  private nakedCount = 0;
  private parkedCount: bigint;
  private lastCheckpoint: bigint | null;
  private lastKnown: bigint | null = null;
  private doneSinceCheckpoint = 0;
  private lastCheckpointAtMs: number;
  private checkpointWrite: Promise<void> | null = null;
  /** A checkpoint write failed: the next one waits for the next tick. */
  private checkpointBackoff = false;
  /** Events whose park failed (not for a closed store): back to `ready` at the next tick. */
  private parkRetries: Entry[] = [];
  private readonly parks = new Set<Promise<void>>();
  private replay: Replay | null = null;

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

  private constructor(
    readonly definition: GroupDefinition, private readonly env: GroupEnv, private readonly checkpoints: CheckpointLog,
    private readonly parked: ParkedLog, lastCheckpoint: bigint | null, parkedCount: bigint,
  ) {
    this.streamId = definition.streamId;
    this.group = definition.group;
    const firstKey = lastCheckpoint !== null ? lastCheckpoint + 1n : definition.startKey;
    this.reader = new GroupReader(env.store, definition.streamId, firstKey);
    this.tracker = new DoneTracker(firstKey);
    this.lastCheckpoint = lastCheckpoint;
    this.parkedCount = parkedCount;
    this.lastCheckpointAtMs = env.clock.nowMs();
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
    const checkpoints = new CheckpointLog(env.store, definition.streamId, definition.group);
    const parked = new ParkedLog(env.store, definition.streamId, definition.group);
    const lastCheckpoint = await checkpoints.read(env.logger);
    const parkedCount = await parked.count();
    return new Group(definition, env, checkpoints, parked, lastCheckpoint, parkedCount);
  }

  private get settings() {
    return this.definition.settings;
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
      consumer.open = false;
      const reason = this.stopReason;
      setImmediate(() => this.notifyDropped(consumer, reason));
      return this.handleOf(consumer);
    }
    const max = this.settings.maxSubscriberCount === 0 ? PERSISTENT_CONSUMERS_PER_GROUP_MAX : this.settings.maxSubscriberCount;
    if (this.consumers.length + this.admitting.size >= max) throw new MaxSubscribersReachedError(this.streamId, this.group, max);
    if (admission === null) {
      this.admit(consumer);
    } else {
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
    }
    return this.handleOf(consumer);
  }

  private admit(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.roomy++;
    this.windowsTotal += consumer.windowEvents;
    if (this.settings.consumerStrategy === 'Pinned') this.unpinAll();
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
    };
  }

  /**
   * Takes a consumer out of the group: its in-flight events go back for redelivery (retryCount+1,
   * parked when that is over maxRetryCount) and events pinned to it are spread again.
   */
  private dropConsumer(consumer: Consumer, reason: ConsumerDropReason, redispatch = true): void {
    if (!consumer.open) return;
    consumer.open = false;
    if (this.admitting.delete(consumer)) {
      this.notifyDropped(consumer, reason);
      return;
    }
    const index = this.consumers.indexOf(consumer);
    if (index >= 0) {
      this.consumers.splice(index, 1);
      if (consumer.inFlight.size < consumer.windowEvents) this.roomy--;
      this.windowsTotal -= consumer.windowEvents;
    }
    if (!this.stopped) {
      for (const entry of [...consumer.inFlight.values()]) {
        this.leaveFlight(entry);
        this.retryLater(entry, `consumer ${reason}`);
      }
      this.ready.unshiftAll(consumer.pinnedWaiting);
      consumer.pinnedWaiting = [];
      if (this.settings.consumerStrategy === 'Pinned') this.unpinAll();
    }
    this.notifyDropped(consumer, reason);
    if (redispatch && !this.stopped) this.dispatch();
  }

  private notifyDropped(consumer: Consumer, reason: ConsumerDropReason): void {
    try {
      consumer.sink.dropped(reason);
    } catch (error) {
      this.env.logger.warn('a persistent consumer sink threw from dropped()', { error: String(error) });
    }
  }

  /** The consumer set changed, so streams hash elsewhere: pinned waiting events go back to `ready`. */
  private unpinAll(): void {
    const waiting: Entry[] = [];
    for (const consumer of this.consumers) {
      waiting.push(...consumer.pinnedWaiting);
      consumer.pinnedWaiting = [];
    }
    this.ready.unshiftAll(waiting);
  }

  // ---- acks and naks ------------------------------------------------------------------------

  private ack(consumer: Consumer, ids: readonly string[]): void {
    if (this.stopped || !consumer.open) return;
    for (const id of ids) {
      const entry = consumer.inFlight.get(id);
      if (entry === undefined) continue;
      this.leaveFlight(entry);
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
      this.leaveFlight(entry);
      if (action === 'retry') this.retryLater(entry, reason === '' ? 'nak retry' : reason);
      else if (action === 'park') this.park(entry, reason === '' ? 'nak park' : reason);
      else this.finish(entry);
    }
    // 'stop': the consumer leaves; its in-flight events, the naked ones included, are redelivered.
    if (action === 'stop') this.dropConsumer(consumer, 'stopRequested');
    else this.dispatch();
  }

  private leaveFlight(entry: Entry): void {
    const consumer = entry.consumer!;
    consumer.inFlight.delete(entry.id);
    if (consumer.open && consumer.inFlight.size === consumer.windowEvents - 1) this.roomy++;
    this.inFlightIds.delete(entry.id);
    this.inFlightCount--;
    entry.consumer = null;
    entry.state = 'waiting';
    const waiters = this.idWaiting.get(entry.id);
    if (waiters !== undefined) {
      this.idWaiting.delete(entry.id);
      for (const waiter of waiters) this.ready.push(waiter);
    }
  }

  /** Back for redelivery with retryCount + 1, or parked when that is over maxRetryCount. */
  private retryLater(entry: Entry, reason: string): void {
    entry.retryCount++;
    if (entry.retryCount > this.settings.maxRetryCount) {
      this.park(entry, `${reason} (retried ${entry.retryCount - 1} times, maxRetryCount ${this.settings.maxRetryCount})`);
      return;
    }
    this.ready.push(entry);
  }

  /** Appends a parked copy; the event is done only once the copy is durable. */
  private park(entry: Entry, reason: string): void {
    entry.state = 'parking';
    this.parkingCount++;
    const generation = entry.parkedRevision === null ? 'p' : `r${entry.parkedRevision}`;
    const parking = this.parked.park(entry.event, entry.origin, reason, entry.retryCount, generation).then(
      () => {
        this.parkingCount--;
        this.parkedCount++;
        this.finish(entry);
        if (!this.stopped) this.dispatch();
      },
      (error: unknown) => {
        // The store closed or failed: the event stays not done, so the checkpoint stays before
        // it and a restart delivers it again. Anything else: log it and redeliver the event
        // after the next tick (not at once: a failing append must not spin).
        this.writeFailed('park', error);
        if (this.stopped) return;
        this.parkingCount--;
        entry.state = 'waiting';
        this.parkRetries.push(entry);
        this.ensureTicking();
      },
    ).finally(() => this.parks.delete(parking));
    this.parks.add(parking);
  }

  /** The event is done (acked, skipped or durably parked). */
  private finish(entry: Entry): void {
    entry.state = 'done';
    this.held--;
    if (entry.key !== null) {
      this.tracker.markDone(entry.key);
      this.doneSinceCheckpoint++;
    }
    if (this.settings.consumerStrategy === 'Ordered') this.releaseStream(entry);
    if (entry.parkedRevision !== null && this.replay !== null) {
      this.replay.outstanding--;
      this.finishReplay();
    }
    this.maybeCheckpoint(false);
  }

  /** Ordered: the stream's next waiting event becomes its current one. */
  private releaseStream(entry: Entry): void {
    const stream = entry.event.streamId;
    if (this.busyStreams.get(stream) !== entry) return;
    const queue = this.blocked.get(stream);
    const next = queue?.shift();
    if (next === undefined) {
      this.busyStreams.delete(stream);
      return;
    }
    if (queue!.length === 0) this.blocked.delete(stream);
    this.busyStreams.set(stream, next);
    this.ready.push(next);
  }

  // ---- dispatch -----------------------------------------------------------------------------

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
        this.dispatchOnce();
      } while (this.redispatch && !this.stopped);
    } finally {
      this.dispatching = false;
    }
    this.pump();
  }

  private dispatchOnce(): void {
    const strategy = this.settings.consumerStrategy;
    if (strategy === 'Pinned') {
      for (const consumer of this.consumers) {
        while (consumer.hasRoom && consumer.pinnedWaiting.length > 0) this.send(consumer, consumer.pinnedWaiting.shift()!);
      }
    }
    while (this.roomy > 0 && !this.stopped) {
      const entry = this.ready.shift() ?? this.fresh.shift();
      if (entry === undefined) return;
      if (this.mustWait(entry)) continue;
      const consumer = this.choose(entry);
      if (consumer !== null) this.send(consumer, entry);
    }
  }

  /** Ordered: another event of the stream is current; any strategy: the same id is in flight. */
  private mustWait(entry: Entry): boolean {
    if (this.settings.consumerStrategy === 'Ordered') {
      const stream = entry.event.streamId;
      const busy = this.busyStreams.get(stream);
      if (busy === undefined) {
        this.busyStreams.set(stream, entry);
      } else if (busy !== entry) {
        const queue = this.blocked.get(stream);
        if (queue === undefined) this.blocked.set(stream, [entry]);
        else queue.push(entry);
        return true;
      }
    }
    if (this.inFlightIds.has(entry.id)) {
      const waiters = this.idWaiting.get(entry.id);
      if (waiters === undefined) this.idWaiting.set(entry.id, [entry]);
      else waiters.push(entry);
      return true;
    }
    return false;
  }

  /** The consumer to send to (one has room: roomy > 0), or null when Pinned parks it with a full one. */
  private choose(entry: Entry): Consumer | null {
    const consumers = this.consumers;
    switch (this.settings.consumerStrategy) {
      case 'DispatchToSingle':
        return consumers.find((c) => c.hasRoom)!;
      case 'Pinned': {
        const pinned = consumers[pinnedIndex(entry.event.streamId, consumers.length)];
        if (pinned.hasRoom) return pinned;
        pinned.pinnedWaiting.push(entry);
        return null;
      }
      default: {
        // RoundRobin and Ordered rotate among consumers with room.
        for (let k = 0; k < consumers.length; k++) {
          const i = (this.rotation + k) % consumers.length;
          if (consumers[i].hasRoom) {
            this.rotation = (i + 1) % consumers.length;
            return consumers[i];
          }
        }
        throw new Error('unreachable: roomy > 0 but no consumer has room');
      }
    }
  }

  private send(consumer: Consumer, entry: Entry): void {
    const timeoutMs = this.settings.messageTimeoutMs;
    entry.state = 'inFlight';
    entry.consumer = consumer;
    entry.deadlineMs = timeoutMs === 0 ? Infinity : this.env.clock.nowMs() + timeoutMs;
    consumer.inFlight.set(entry.id, entry);
    if (consumer.inFlight.size === consumer.windowEvents) this.roomy--;
    this.inFlightIds.set(entry.id, entry);
    this.inFlightCount++;
    consumer.deliveredCount++;
    this.deliveredCount++;
    this.ensureTicking();
    try {
      consumer.sink.deliver({ event: entry.event, retryCount: entry.retryCount });
    } catch (error) {
      // The event stays in flight: its timeout (or the consumer leaving) sends it again.
      this.env.logger.warn('a persistent consumer sink threw from deliver()', { error: String(error) });
    }
  }

  // ---- reading ------------------------------------------------------------------------------

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
    const waiting = this.held - this.inFlightCount - this.parkingCount;
    return Math.min(bufferEvents - waiting, bufferEvents + this.windowsTotal - this.held);
  }

  /** Reads one page when there are consumers, room and something to read; then dispatches. */
  private pump(): void {
    if (this.reading || this.stopped || this.consumers.length === 0) return;
    const room = Math.min(this.readRoom(), this.settings.readBatchEvents);
    if (room <= 0) return;
    const replay = this.replay;
    if (replay !== null && !replay.truncating && replay.next <= replay.end) void this.readReplay(replay, room);
    else if (!this.caughtUp) void this.readFresh(room);
  }

  private async readFresh(maxCount: number): Promise<void> {
    this.reading = true;
    const seq = this.appendSeq;
    try {
      const page = await this.reader.read(maxCount);
      if (this.stopped) return;
      for (const event of page.events) {
        const key = this.reader.keyOf(event);
        this.tracker.add(key);
        this.hold(this.fresh, event, key, originOf(event), null);
      }
      this.tracker.passed(page.through);
      if (page.through >= 0n) this.lastKnown = page.through;
      this.live = page.atEnd;
      this.caughtUp = page.atEnd && seq === this.appendSeq;
    } catch (error) {
      this.readFailed(error);
      return;
    } finally {
      this.reading = false;
    }
    this.dispatch();
    // Skipped events may move the checkpoint too (never a write of its own: see maybeCheckpoint).
    this.maybeCheckpoint(false);
  }

  private hold(queue: Queue<Entry>, event: RecordedEvent, key: bigint | null, origin: EventOrigin, parkedRevision: bigint | null): void {
    queue.push({ event, id: event.id, key, origin, parkedRevision, retryCount: 0, state: 'waiting', consumer: null, deadlineMs: Infinity });
    this.held++;
  }

  private readFailed(error: unknown): void {
    if (this.stopped) return;
    if (error instanceof StoreClosedError || error instanceof StoreFailedError) {
      void this.stop('storeClosed', false);
      return;
    }
    // Nothing else is expected; the next append tries again.
    this.env.logger.warn('persistent subscription read failed', { stream: this.streamId, group: this.group, error: String(error) });
    this.caughtUp = true;
  }

  // ---- parked events ------------------------------------------------------------------------

  /**
   * Replays parked events: the first `stopAt` (default all) visible ones are read back (as their
   * original events when those are still readable) and delivered with retryCount 0. The parked
   * stream is truncated past them once every one of them is done, so a crash never loses one.
   * Resolves at once with how many were selected.
   */
  async replayParked(stopAt: number | undefined): Promise<{ replayed: number }> {
    const first = await this.parked.firstRevision();
    if (first === null || this.stopped) return { replayed: 0 };
    const last = await this.parked.lastRevision();
    const from = this.replay !== null && this.replay.next > first ? this.replay.next : first;
    let end = last;
    if (stopAt !== undefined && from + BigInt(stopAt) - 1n < end) end = from + BigInt(stopAt) - 1n;
    if (end < from) return { replayed: 0 };
    if (this.replay === null) this.replay = { next: from, end, outstanding: 0, truncating: false };
    else if (end > this.replay.end) this.replay.end = end;
    this.pump();
    return { replayed: Number(end - from + 1n) };
  }

  private async readReplay(replay: Replay, room: number): Promise<void> {
    this.reading = true;
    try {
      const want = Number(BigInt(room) < replay.end - replay.next + 1n ? BigInt(room) : replay.end - replay.next + 1n);
      const page = await this.parked.readPage(replay.next, want);
      for (const copy of page) {
        if (this.stopped || copy.revision > replay.end) break;
        const { event, origin } = await this.parked.resolve(copy);
        if (this.stopped) break;
        this.hold(this.ready, event, null, origin, copy.revision);
        replay.outstanding++;
        replay.next = copy.revision + 1n;
      }
      if (page.length < want) replay.next = replay.end + 1n;
    } catch (error) {
      this.readFailed(error);
      return;
    } finally {
      this.reading = false;
    }
    this.finishReplay();
    this.dispatch();
  }

  /** Every replayed event is done: truncate the parked stream past them. */
  private finishReplay(): void {
    const replay = this.replay;
    if (replay === null || replay.truncating || replay.next <= replay.end || replay.outstanding > 0 || this.stopped) return;
    replay.truncating = true;
    const end = replay.end;
    void (async () => {
      try {
        await this.parked.truncateBefore(end + 1n);
        this.parkedCount = await this.parked.count();
      } catch (error) {
        this.env.logger.warn('persistent subscription could not truncate its parked stream', { stream: this.streamId, group: this.group, error: String(error) });
      }
      replay.truncating = false;
      // A replay asked for while this one truncated goes on; otherwise this one is over.
      if (replay.end === end && this.replay === replay) this.replay = null;
      this.pump();
    })();
  }

  // ---- timeouts and checkpoints -------------------------------------------------------------

  private ensureTicking(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => this.tick(), PERSISTENT_TICK_MS);
    this.timer.unref();
  }

  /** Redelivers timed-out events and writes a checkpoint that came due by time. */
  tick(): void {
    if (this.stopped) return;
    const now = this.env.clock.nowMs();
    this.checkpointBackoff = false;
    if (this.parkRetries.length > 0) {
      for (const entry of this.parkRetries) this.ready.push(entry);
      this.parkRetries = [];
      this.dispatch();
    }
    if (this.settings.messageTimeoutMs > 0) {
      const expired: Entry[] = [];
      for (const consumer of this.consumers) {
        // Send order: the first not expired ends the scan (deadlines grow with the clock).
        for (const entry of consumer.inFlight.values()) {
          if (entry.deadlineMs > now) break;
          expired.push(entry);
        }
      }
      for (const entry of expired) {
        this.leaveFlight(entry);
        this.retryLater(entry, 'message timeout');
      }
      if (expired.length > 0) this.dispatch();
    }
    this.maybeCheckpoint(false);
    if (this.inFlightCount === 0 && this.parkRetries.length === 0 && !this.checkpointPending() && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private checkpointPending(): boolean {
    return this.doneSinceCheckpoint > 0 && this.tracker.checkpoint() !== this.lastCheckpoint;
  }

  /**
   * Writes the checkpoint when checkpointMaxCount events are done since the last one, or
   * checkpointMinCount are and checkpointAfterMs passed (or `force`). Events the reader skipped
   * move the checkpoint but count for nothing: a $all group's own checkpoint events would
   * otherwise trigger checkpoints forever.
   */
  private maybeCheckpoint(force: boolean): void {
    if (this.checkpointWrite !== null || (this.checkpointBackoff && !force)) return;
    const key = this.tracker.checkpoint();
    if (key < 0n || key === this.lastCheckpoint) return;
    const done = this.doneSinceCheckpoint;
    const s = this.settings;
    const due = force || done >= s.checkpointMaxCount
      || (done >= s.checkpointMinCount && this.env.clock.nowMs() - this.lastCheckpointAtMs >= s.checkpointAfterMs);
    if (!due) {
      if (done > 0) this.ensureTicking();
      return;
    }
    this.checkpointWrite = this.checkpoints.write(key).then(
      () => {
        this.lastCheckpoint = key;
        this.lastCheckpointAtMs = this.env.clock.nowMs();
        this.doneSinceCheckpoint -= done;
        return true;
      },
      (error: unknown) => {
        this.writeFailed('checkpoint', error);
        // No retry before the next tick: a write that fails at once would otherwise be retried
        // in a loop of promise callbacks that never lets the event loop run.
        this.checkpointBackoff = true;
        this.ensureTicking();
        return false;
      },
    ).then((written) => {
      this.checkpointWrite = null;
      if (written && !this.stopped) this.maybeCheckpoint(false);
    });
  }

  /** A write failed: a closed or failed store stops the group (its state is in the log); anything else is logged. */
  private writeFailed(what: string, error: unknown): void {
    if (error instanceof StoreClosedError || error instanceof StoreFailedError) {
      void this.stop('storeClosed', false);
      return;
    }
    this.env.logger.warn(`persistent subscription ${what} write failed`, { stream: this.streamId, group: this.group, error: String(error) });
  }

  // ---- life cycle and reports ---------------------------------------------------------------

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
    for (const consumer of [...this.admitting, ...this.consumers]) this.dropConsumer(consumer, reason, false);
    await Promise.allSettled([...this.parks]);
    await this.checkpointWrite;
    if (!writeCheckpoint) return;
    const key = this.tracker.checkpoint();
    if (key < 0n || key === this.lastCheckpoint) return;
    try {
      await this.checkpoints.write(key);
      this.lastCheckpoint = key;
    } catch (error) {
      if (!(error instanceof StoreClosedError)) {
        this.env.logger.warn('persistent subscription final checkpoint failed', { stream: this.streamId, group: this.group, error: String(error) });
      }
    }
  }

  info(): GroupInfo {
    return {
      streamId: this.streamId,
      group: this.group,
      settings: { ...this.settings },
      status: this.consumers.length === 0 ? 'idle' : this.live ? 'live' : 'catchingUp',
      lastCheckpoint: this.lastCheckpoint,
      lastKnownEvent: this.lastKnown,
      parkedCount: this.parkedCount,
      inFlightCount: this.inFlightCount,
      deliveredCount: this.deliveredCount,
      ackedCount: this.ackedCount,
      nakedCount: this.nakedCount,
      connections: this.consumers.map((c) => ({
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
