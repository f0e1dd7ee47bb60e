// A consumer of a persistent subscription group over the wire (es-tcp.md §3.6, §5 item 8): it
// connects with its window (allowed_in_flight_messages), hands the server's deliveries out as an
// async iterable, sends acks and naks on the connect request's correlation id, and connects again
// after a lost connection or a server-side Unsubscribed (a group update). format-spec/protocol.md §9.6.

import {
  AccessDeniedError, InvalidArgumentError, MaxSubscribersReachedError, PersistentSubscriptionNotFoundError,
} from '../util/errors.js';
import { isUuid } from '../util/bytes.js';
import type { NakAction } from '../subscriptions/persistent/types.js';
import { TcpCommand, commandName } from '../protocol/wire/commands.js';
import { uuidToWire } from '../protocol/wire/guid.js';
import { NakAction as WireNakAction, SubscriptionDropReason, messages } from '../protocol/wire/messages.js';
import type { TcpPackage } from '../protocol/wire/package.js';
import type { ClientCore, Operation } from './client-core.js';
import { done, fail } from './client-core.js';
import { PersistentSubscriptionDeletedError, ProtocolError, SubscriptionDroppedError } from './client-errors.js';
import { BUSY_RETRY_DELAY_MS, PERSISTENT_ACK_IDS_PER_FRAME_MAX, PERSISTENT_BUFFER_WINDOWS_MAX } from './client-limits.js';
import { POSITION_UNKNOWN, RecordedEvent } from './recorded-event.js';

/** One delivery of a persistent subscription: the event, how often it was handed out before, and its acknowledgement. */
export interface PersistentDelivery {
  readonly event: RecordedEvent;
  /** 0 the first time; one more at every redelivery (nak 'retry', a message timeout, a consumer that left). */
  readonly retryCount: number;
  /** Done with it: the group will not deliver it again. */
  ack(): void;
  /** Not done: 'retry' (deliver again), 'park' (to the parked stream), 'skip' (as if acknowledged), 'stop' (end this consumer). */
  nak(action: NakAction, reason?: string): void;
}

const WIRE_NAK_ACTIONS: Readonly<Record<NakAction, number>> = {
  park: WireNakAction.Park, retry: WireNakAction.Retry, skip: WireNakAction.Skip, stop: WireNakAction.Stop,
};

/** The wire ids of deliveries or event ids; InvalidArgumentError for an id that is not a UUID. */
function wireIdsOf(deliveries: readonly (PersistentDelivery | string)[]): Uint8Array[] {
  return deliveries.map((d) => {
    const id = typeof d === 'string' ? d : d?.event?.id;
    if (typeof id !== 'string' || !isUuid(id)) throw new InvalidArgumentError(`not a delivery or an event id: ${String(id).slice(0, 64)}`);
    return uuidToWire(id);
  });
}

interface Reader {
  readonly resolve: (result: IteratorResult<PersistentDelivery>) => void;
  readonly reject: (error: Error) => void;
}

export class PersistentSubscription implements AsyncIterableIterator<PersistentDelivery> {
  /** Deliveries not yet taken, by event id, oldest first (a redelivery replaces the copy it repeats). */
  private readonly buffered = new Map<string, PersistentDelivery>();
  private readonly readers: Reader[] = [];
  /** Correlation id of the connect attempt in flight, whose pushes are wanted. */
  private attemptId: string | null = null;
  /** Correlation id and `<stream>::<group>` of the confirmed connection, while it lasts. */
  private confirmed: { correlationId: string; subscriptionId: string } | null = null;
  /** Ids acknowledged and not yet sent, in wire order. */
  private pendingAcks: Uint8Array[] = [];
  private flushScheduled = false;
  /** A nak 'stop' was sent: the server's Unsubscribed that follows ends the iteration. */
  private stopping = false;
  private closed = false;
  /** The error the iteration ends with, handed out once (by the next call of next()). */
  private endError: Error | null = null;
  /** Set when the connection was lost or the server dropped it: the run loop connects again (or ends). */
  private interruption: { error: Error | null; byServer: boolean } | null = null;
  private wake: (() => void) | null = null;
  private markReady: () => void = () => {};
  private failReady: (error: Error) => void = () => {};
  /** Resolves the first time the server confirms the connection; rejects if the subscription fails first. */
  readonly ready: Promise<void>;

  /** `bufferSize`: the window, the most deliveries the server lets this consumer hold unacknowledged. */
  constructor(
    private readonly core: ClientCore,
    readonly streamId: string,
    readonly group: string,
    private readonly bufferSize: number,
    private readonly onEnd: (s: PersistentSubscription) => void,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.failReady = reject;
    });
    this.ready.catch(() => {}); // observed through iteration when nobody awaits it
    void this.run();
  }

  /**
   * Acknowledges deliveries (or event ids; InvalidArgumentError for one that is not a UUID). Acks
   * made in one turn of the event loop go in one package. Lost while disconnected: the server
   * delivers those events again.
   */
  ack(...deliveries: (PersistentDelivery | string)[]): void {
    const ids = wireIdsOf(deliveries);
    if (this.closed) return;
    this.pendingAcks.push(...ids);
    if (!this.flushScheduled && this.pendingAcks.length > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flushAcks());
    }
  }

  /** Naks deliveries (or event ids) with an action and a reason (kept with parked events). */
  nak(action: NakAction, reason: string, ...deliveries: (PersistentDelivery | string)[]): void {
    const wireAction = Object.hasOwn(WIRE_NAK_ACTIONS, action) ? WIRE_NAK_ACTIONS[action] : undefined;
    if (wireAction === undefined) throw new InvalidArgumentError(`nak action must be 'park', 'retry', 'skip' or 'stop', got ${String(action)}`);
    if (typeof reason !== 'string') throw new InvalidArgumentError('nak reason must be a string');
    const ids = wireIdsOf(deliveries);
    if (this.closed) return;
    this.flushAcks(); // an ack made before keeps its place
    if (action === 'stop') this.stopping = true;
    this.sendIds(ids, (subscriptionId, processedEventIds) => ({
      command: TcpCommand.PersistentSubscriptionNakEvents,
      payload: messages.PersistentSubscriptionNakEvents.encode({ subscriptionId, processedEventIds, message: reason, action: wireAction }),
    }));
  }

  /** Leaves the group: acks made so far are sent first; deliveries not yet taken are discarded (the server gives them to other consumers). */
  unsubscribe(): Promise<void> {
    this.stop(null);
    return Promise.resolve();
  }

  next(): Promise<IteratorResult<PersistentDelivery>> {
    const first = this.buffered.entries().next();
    if (!first.done) {
      this.buffered.delete(first.value[0]);
      return Promise.resolve({ value: first.value[1], done: false });
    }
    if (this.closed) return this.finished();
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<PersistentDelivery>> {
    this.stop(null);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<PersistentDelivery> {
    return this;
  }

  private get what(): string {
    return `subscribeToPersistentSubscription('${this.streamId}', '${this.group}')`;
  }

  private finished(): Promise<IteratorResult<PersistentDelivery>> {
    const error = this.endError;
    this.endError = null;
    return error === null ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error);
  }

  private stop(error: Error | null): void {
    if (this.closed) return;
    this.flushAcks();
    this.closed = true;
    this.endError = error;
    this.buffered.clear();
    if (error !== null) this.failReady(error);
    else this.markReady();
    if (this.confirmed !== null) this.core.unsubscribe(this.confirmed.correlationId);
    this.confirmed = null;
    this.attemptId = null;
    for (const reader of this.readers.splice(0)) this.finished().then(reader.resolve, reader.reject);
    this.signal();
    this.onEnd(this);
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async run(): Promise<void> {
    try {
      while (!this.closed) {
        this.interruption = null;
        const confirmed = await this.core.execute(this.connectOperation());
        if (this.closed) {
          this.core.unsubscribe(confirmed.correlationId);
          return;
        }
        this.confirmed = confirmed;
        this.markReady();
        while (!this.closed && this.interruption === null) await new Promise<void>((resolve) => (this.wake = resolve));
        const interruption = this.interruption as { error: Error | null; byServer: boolean } | null;
        if (interruption?.error) throw interruption.error;
        // The server gives this consumer's unacknowledged events to others (or to it again once it
        // is back), so the copies still buffered here are stale.
        this.buffered.clear();
        // A group being updated is replaced a moment after its consumers are dropped: a connect
        // sent at once may still meet the old one and be dropped again.
        if (interruption?.byServer && !this.closed) {
          // Cut short by stop() (through signal()), so an unsubscribe does not leave a timer behind.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, BUSY_RETRY_DELAY_MS);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      }
    } catch (error) {
      this.stop(error as Error);
    }
  }

  private connectOperation(): Operation<{ correlationId: string; subscriptionId: string }> {
    const description = this.what;
    return {
      description,
      command: TcpCommand.ConnectToPersistentSubscription,
      payload: messages.ConnectToPersistentSubscription.encode({ subscriptionId: this.group, eventStreamId: this.streamId, allowedInFlightMessages: this.bufferSize }),
      listener: {
        sent: (correlationId) => {
          this.attemptId = correlationId;
          this.buffered.clear();
        },
        push: (pkg) => this.onPush(pkg),
        lost: () => this.interrupt(null, false),
      },
      interpret: (pkg) => {
        if (pkg.command === TcpCommand.PersistentSubscriptionConfirmation) {
          const { subscriptionId } = messages.PersistentSubscriptionConfirmation.decode(pkg.payload);
          return done({ correlationId: pkg.correlationId, subscriptionId });
        }
        if (pkg.command === TcpCommand.SubscriptionDropped) return fail(this.dropError(messages.SubscriptionDropped.decode(pkg.payload).reason, false));
        return fail(new ProtocolError(`${description}: unexpected reply ${commandName(pkg.command)}`));
      },
    };
  }

  private interrupt(error: Error | null, byServer: boolean): void {
    this.confirmed = null;
    this.interruption = { error, byServer };
    this.signal();
  }

  private onPush(pkg: TcpPackage): void {
    if (pkg.correlationId !== this.attemptId || this.closed) return;
    if (pkg.command === TcpCommand.SubscriptionDropped) {
      const error = this.dropError(messages.SubscriptionDropped.decode(pkg.payload).reason, true);
      if (error === null) this.stop(null);
      else this.interrupt(error === 'again' ? null : error, true);
      return;
    }
    if (pkg.command !== TcpCommand.PersistentSubscriptionStreamEventAppeared) return;
    let delivery: PersistentDelivery;
    try {
      const appeared = messages.PersistentSubscriptionStreamEventAppeared.decode(pkg.payload);
      // A link ($>) is what the group delivered, and what an ack names (Annal writes none).
      const record = appeared.event?.link ?? appeared.event?.event;
      if (record === undefined) return;
      delivery = this.deliveryOf(new RecordedEvent(record, POSITION_UNKNOWN), appeared.retryCount);
    } catch (error) {
      this.stop(new ProtocolError(`${this.what}: a delivery does not decode: ${(error as Error).message}`, { cause: error }));
      return;
    }
    this.receive(delivery);
  }

  private deliveryOf(event: RecordedEvent, retryCount: number): PersistentDelivery {
    const subscription = this;
    return Object.freeze({
      event,
      retryCount,
      ack(): void {
        subscription.ack(event.id);
      },
      nak(action: NakAction, reason = ''): void {
        subscription.nak(action, reason, event.id);
      },
    });
  }

  private receive(delivery: PersistentDelivery): void {
    const reader = this.readers.shift();
    if (reader !== undefined) {
      reader.resolve({ value: delivery, done: false });
      return;
    }
    const id = delivery.event.id;
    if (this.buffered.has(id)) this.buffered.delete(id); // the newer copy, at the back
    this.buffered.set(id, delivery);
    // Only redeliveries after a message timeout pass the window; the oldest copies go unacknowledged (the server sends them again).
    const capacity = this.bufferSize * PERSISTENT_BUFFER_WINDOWS_MAX;
    while (this.buffered.size > capacity) this.buffered.delete(this.buffered.keys().next().value as string);
  }

  /**
   * The error a drop ends the subscription with; null for an Unsubscribed that a nak 'stop' asked
   * for, and 'again' for another Unsubscribed after the confirmation (the group's settings changed:
   * connect again).
   */
  private dropError(reason: number, afterConfirmation: true): Error | null | 'again';
  private dropError(reason: number, afterConfirmation: false): Error;
  private dropError(reason: number, afterConfirmation: boolean): Error | null | 'again' {
    const { streamId, group } = this;
    switch (reason) {
      case SubscriptionDropReason.NotFound:
        return new PersistentSubscriptionNotFoundError(streamId, group);
      case SubscriptionDropReason.PersistentSubscriptionDeleted:
        return new PersistentSubscriptionDeletedError(streamId, group);
      case SubscriptionDropReason.SubscriberMaxCountReached: {
        // The wire does not say the maximum: the error's count is 0 and its message leaves it out.
        const error = new MaxSubscribersReachedError(streamId, group, 0);
        error.message = `persistent subscription group '${group}' on '${streamId}' already has as many consumers as it allows (or this connection holds its maximum)`;
        return error;
      }
      case SubscriptionDropReason.AccessDenied:
        return new AccessDeniedError(streamId, 'read');
      case SubscriptionDropReason.Unsubscribed:
        if (afterConfirmation) return this.stopping ? null : 'again';
        return new SubscriptionDroppedError(this.what, 'Unsubscribed');
      default:
        return new SubscriptionDroppedError(this.what, `reason ${reason}`);
    }
  }

  private flushAcks(): void {
    this.flushScheduled = false;
    const ids = this.pendingAcks;
    if (ids.length === 0) return;
    this.pendingAcks = [];
    this.sendIds(ids, (subscriptionId, processedEventIds) => ({
      command: TcpCommand.PersistentSubscriptionAckEvents,
      payload: messages.PersistentSubscriptionAckEvents.encode({ subscriptionId, processedEventIds }),
    }));
  }

  /** Sends ids in packages of at most PERSISTENT_ACK_IDS_PER_FRAME_MAX on the confirmed connection; dropped when there is none. */
  private sendIds(ids: Uint8Array[], build: (subscriptionId: string, wireIds: Uint8Array[]) => { command: number; payload: Uint8Array }): void {
    const confirmed = this.confirmed;
    if (confirmed === null || ids.length === 0) return;
    for (let at = 0; at < ids.length; at += PERSISTENT_ACK_IDS_PER_FRAME_MAX) {
      const { command, payload } = build(confirmed.subscriptionId, ids.slice(at, at + PERSISTENT_ACK_IDS_PER_FRAME_MAX));
      if (!this.core.sendForSubscription(confirmed.correlationId, command, payload)) return;
    }
  }
}
