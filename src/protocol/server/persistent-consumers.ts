// The persistent-subscription consumers of one connection (es-tcp.md §3.6, §5 item 8):
// ConnectToPersistentSubscription joins a group and is confirmed with `<stream>::<group>`; the
// group's deliveries go out as PersistentSubscriptionStreamEventAppeared with the connect request's
// correlation id, through the send queue only while it has room (otherwise the consumer refuses the
// delivery and is resumed as the queue drains); Ack / Nak / UnsubscribeFromStream come back on that
// id; drops are SubscriptionDropped. format-spec/protocol.md §9.6.

import { AccessDeniedError, InvalidArgumentError, MaxSubscribersReachedError, PersistentSubscriptionNotFoundError } from '../../util/errors.js';
import { PERSISTENT_ACK_IDS_MAX, PERSISTENT_WINDOW_EVENTS_MAX } from '../../util/limits.js';
import type { Logger } from '../../util/logger.js';
import type { Principal } from '../../store/access.js';
import type { EventStore } from '../../store/event-store.js';
import type { PersistentSubscriptions } from '../../subscriptions/persistent/persistent-subscriptions.js';
import type { ConsumerDropReason, ConsumerHandle, ConsumerSink, PersistentEvent } from '../../subscriptions/persistent/types.js';
import { TcpCommand } from '../wire/commands.js';
import { wireToUuid } from '../wire/guid.js';
import { SubscriptionDropReason, messages, type ConnectToPersistentSubscription } from '../wire/messages.js';
import { encodePackageFrame, makePackage } from '../wire/package.js';
import { WireError } from '../wire/wire-error.js';
import { resolvedIndexedEventOf } from './event-convert.js';
import { nakActionOf } from './persistent-settings.js';
import type { Reply } from './reply.js';
import { PERSISTENT_SUBSCRIPTIONS_PER_CONNECTION_MAX } from './server-limits.js';

/** The stream id of a group on `$all`. */
const ALL_STREAM_ID = '$all';

/**
 * How the core's reasons reach the client. EventStoreDB has no reason for "the group's settings
 * changed" or "the server is stopping": its clients see Unsubscribed for those.
 */
const WIRE_DROP_REASONS: Readonly<Record<ConsumerDropReason, number>> = {
  unsubscribed: SubscriptionDropReason.Unsubscribed,
  groupDeleted: SubscriptionDropReason.PersistentSubscriptionDeleted,
  groupUpdated: SubscriptionDropReason.Unsubscribed,
  maxSubscribersReached: SubscriptionDropReason.SubscriberMaxCountReached,
  stopRequested: SubscriptionDropReason.Unsubscribed,
  storeClosed: SubscriptionDropReason.Unsubscribed,
  accessDenied: SubscriptionDropReason.AccessDenied,
};

function dropped(reason: number): Reply {
  return { command: TcpCommand.SubscriptionDropped, payload: messages.SubscriptionDropped.encode({ reason }) };
}

interface Consumer {
  readonly correlationId: string;
  /** `<stream>::<group>`: what the confirmation returns and every Ack / Nak must name. */
  readonly subscriptionId: string;
  /** Null until the group accepted the consumer. */
  handle: ConsumerHandle | null;
  /** Set once the confirmation is queued: deliveries are refused until then. */
  confirmed: boolean;
  /** Set once the consumer has left, from either side: nothing more is sent for it. */
  closed: boolean;
  /** A drop the group reported while connect() was still running. */
  earlyDrop: ConsumerDropReason | null;
}

export interface PersistentConsumersOptions {
  readonly groups: PersistentSubscriptions;
  readonly store: EventStore;
  readonly logger: Logger;
  /** Queues a framed package on the connection. */
  readonly send: (frame: Uint8Array) => void;
  /** Whether the send queue takes deliveries now (PERSISTENT_DELIVERY_QUEUE_BYTES_MAX and its package bound). */
  readonly queueHasRoom: () => boolean;
  /** The consumer name the group reports (the peer's address and connection name). */
  readonly consumerName: () => string;
}

export class PersistentConsumers {
  private readonly consumers = new Map<string, Consumer>();
  /**
   * Consumers that refused a delivery (a full send queue, or not confirmed yet), in the order
   * they refused: resumed in turn as the send queue drains.
   */
  private readonly refused = new Set<Consumer>();
  private closed = false;

  constructor(private readonly options: PersistentConsumersOptions) {}

  /** Consumers this connection holds (connecting ones included). */
  get count(): number {
    return this.consumers.size;
  }

  /**
   * ConnectToPersistentSubscription. Answers SubscriptionDropped NotFound (no such group),
   * SubscriberMaxCountReached (the group's maximum, or this connection's
   * PERSISTENT_SUBSCRIPTIONS_PER_CONNECTION_MAX) or AccessDenied (no read access to the stream;
   * `$all` needs an admin); otherwise queues the confirmation itself, before any delivery, and
   * resolves null. A window of less than one event is an InvalidArgumentError (BadRequest); a
   * larger one than PERSISTENT_WINDOW_EVENTS_MAX is cut to it.
   */
  async connect(correlationId: string, principal: Principal, request: ConnectToPersistentSubscription): Promise<Reply | null> {
    const { subscriptionId: group, eventStreamId: streamId, allowedInFlightMessages } = request;
    if (allowedInFlightMessages < 1) throw new InvalidArgumentError(`allowed_in_flight_messages must be at least 1, got ${allowedInFlightMessages}`);
    if (this.closed) return null;
    if (this.consumers.size >= PERSISTENT_SUBSCRIPTIONS_PER_CONNECTION_MAX || this.consumers.has(correlationId)) {
      return dropped(SubscriptionDropReason.SubscriberMaxCountReached);
    }
    const consumer: Consumer = {
      correlationId, subscriptionId: `${streamId}::${group}`, handle: null, confirmed: false, closed: false, earlyDrop: null,
    };
    // The slot is taken across the awaits below, so that the per-connection bound holds for
    // connects in progress too, and an Unsubscribe meanwhile can find (and cancel) it.
    this.consumers.set(correlationId, consumer);
    let confirmation: { lastCommitPosition: bigint; lastEventNumber: bigint };
    try {
      confirmation = await this.positionsFor(streamId, principal);
    } catch (error) {
      this.forget(consumer);
      if (error instanceof AccessDeniedError) return dropped(SubscriptionDropReason.AccessDenied);
      throw error;
    }
    if (consumer.closed) return null; // unsubscribed, or the connection closed, meanwhile
    try {
      consumer.handle = this.options.groups.connect(streamId, group, this.sinkOf(consumer), {
        windowEvents: Math.min(allowedInFlightMessages, PERSISTENT_WINDOW_EVENTS_MAX), name: this.options.consumerName(), principal,
      });
    } catch (error) {
      this.forget(consumer);
      if (error instanceof PersistentSubscriptionNotFoundError) return dropped(SubscriptionDropReason.NotFound);
      if (error instanceof MaxSubscribersReachedError) return dropped(SubscriptionDropReason.SubscriberMaxCountReached);
      if (error instanceof AccessDeniedError) return dropped(SubscriptionDropReason.AccessDenied);
      throw error;
    }
    if (consumer.earlyDrop !== null) {
      const reason = consumer.earlyDrop;
      this.forget(consumer);
      return dropped(WIRE_DROP_REASONS[reason]);
    }
    this.push(consumer, TcpCommand.PersistentSubscriptionConfirmation, messages.PersistentSubscriptionConfirmation.encode({
      lastCommitPosition: confirmation.lastCommitPosition, subscriptionId: consumer.subscriptionId, lastEventNumber: confirmation.lastEventNumber,
    }));
    consumer.confirmed = true;
    this.drain();
    return null;
  }

  /**
   * PersistentSubscriptionAckEvents (fire-and-forget): acknowledges the ids to the consumer of
   * this correlation id when `subscription_id` names its group; anything else is ignored. A payload
   * that does not decode, or an id that is not 16 bytes, ends that consumer (its in-flight events
   * go to others) and throws WireError: the client gets a BadRequest, which EventStoreDB clients
   * take as the end of the subscription.
   */
  ack(correlationId: string, payload: Uint8Array): null {
    const consumer = this.consumers.get(correlationId);
    let ids: string[];
    let subscriptionId: string;
    try {
      const request = messages.PersistentSubscriptionAckEvents.decode(payload);
      subscriptionId = request.subscriptionId;
      ids = request.processedEventIds.map((id) => wireToUuid(id));
    } catch (error) {
      if (consumer !== undefined) this.end(consumer);
      throw error;
    }
    const handle = this.addressed(consumer, subscriptionId);
    if (handle !== null) for (const chunk of chunks(ids)) handle.ack(chunk);
    return null;
  }

  /** PersistentSubscriptionNakEvents, as `ack`; an action outside NakAction also ends the consumer (InvalidArgumentError). */
  nak(correlationId: string, payload: Uint8Array): null {
    const consumer = this.consumers.get(correlationId);
    let ids: string[];
    let request: ReturnType<typeof messages.PersistentSubscriptionNakEvents.decode>;
    let action: ReturnType<typeof nakActionOf>;
    try {
      request = messages.PersistentSubscriptionNakEvents.decode(payload);
      action = nakActionOf(request.action);
      ids = request.processedEventIds.map((id) => wireToUuid(id));
    } catch (error) {
      if (consumer !== undefined) this.end(consumer);
      throw error;
    }
    const handle = this.addressed(consumer, request.subscriptionId);
    if (handle !== null) for (const chunk of chunks(ids)) handle.nak(chunk, action, request.message);
    return null;
  }

  /** UnsubscribeFromStream on a consumer's correlation id: it leaves its group; answered SubscriptionDropped Unsubscribed. Null when the id is not a consumer of this connection. */
  unsubscribe(correlationId: string): Reply | null {
    const consumer = this.consumers.get(correlationId);
    if (consumer === undefined) return null;
    this.end(consumer);
    return dropped(SubscriptionDropReason.Unsubscribed);
  }

  /**
   * Resumes the consumers that refused deliveries, in the order they refused, while the send
   * queue has room: each may be sent deliveries at once, until the queue is full again and it
   * refuses (then it goes to the back of the line). The connection calls it whenever frames left
   * the queue.
   */
  drain(): void {
    for (const consumer of [...this.refused]) {
      if (!consumer.confirmed) continue; // stays in line: connect() drains once it is confirmed
      if (!this.options.queueHasRoom()) return;
      this.refused.delete(consumer);
      consumer.handle?.resume();
    }
  }

  /** Every consumer leaves its group (the connection is closing): their in-flight events go to other consumers. */
  closeAll(): void {
    this.closed = true;
    for (const consumer of [...this.consumers.values()]) this.end(consumer);
  }

  /** The consumer's handle when an Ack / Nak on its correlation id names its subscription; else null. */
  private addressed(consumer: Consumer | undefined, subscriptionId: string): ConsumerHandle | null {
    if (consumer === undefined || consumer.closed || !consumer.confirmed || consumer.subscriptionId !== subscriptionId) return null;
    return consumer.handle;
  }

  /** What the confirmation reports; throws AccessDeniedError when the principal may not read the stream ($all: admins). */
  private async positionsFor(streamId: string, principal: Principal): Promise<{ lastCommitPosition: bigint; lastEventNumber: bigint }> {
    const { store } = this.options;
    let lastEventNumber = 0n; // what EventStoreDB sends for $all
    if (streamId === ALL_STREAM_ID) await store.readAll({ maxCount: 0, principal });
    else lastEventNumber = (await store.streamInfo(streamId, { principal })).lastRevision;
    return { lastCommitPosition: await store.headPosition(), lastEventNumber };
  }

  private sinkOf(consumer: Consumer): ConsumerSink {
    return {
      // Not taken when gone (the group hears of the close in a microtask), before the
      // confirmation, or when the send queue is full: the group keeps the event for another
      // consumer, without a timeout or a retry, and sends this one nothing until resume().
      deliver: (delivery) => {
        if (consumer.closed) return false;
        if (!consumer.confirmed || !this.options.queueHasRoom()) {
          this.refused.add(consumer);
          return false;
        }
        this.sendDelivery(consumer, delivery);
        return true;
      },
      dropped: (reason) => {
        if (consumer.closed) return;
        if (!consumer.confirmed) {
          consumer.earlyDrop ??= reason;
          return;
        }
        this.forget(consumer);
        this.push(consumer, TcpCommand.SubscriptionDropped, messages.SubscriptionDropped.encode({ reason: WIRE_DROP_REASONS[reason] }));
      },
    };
  }

  private sendDelivery(consumer: Consumer, delivery: PersistentEvent): void {
    let frame: Uint8Array;
    try {
      const payload = messages.PersistentSubscriptionStreamEventAppeared.encode({ event: resolvedIndexedEventOf(delivery.event), retryCount: delivery.retryCount });
      frame = encodePackageFrame(makePackage(TcpCommand.PersistentSubscriptionStreamEventAppeared, consumer.correlationId, payload));
    } catch (error) {
      if (!(error instanceof WireError) || error.code !== 'FRAME_TOO_LARGE') throw error;
      // Only with maxEventBytes near the format's 64 MiB: no client could ever take this event,
      // and retrying it would go round for ever. Park it, saying why.
      this.options.logger.warn('a persistent-subscription event is too large for a frame; parked', { subscription: consumer.subscriptionId, eventId: delivery.event.id });
      const handle = consumer.handle;
      const reason = `the event is too large for a TCP frame: ${error.message}`;
      queueMicrotask(() => handle?.nak([delivery.event.id], 'park', reason)); // not from inside the group's deliver()
      return;
    }
    this.options.send(frame);
  }

  private push(consumer: Consumer, command: number, payload: Uint8Array): void {
    this.options.send(encodePackageFrame(makePackage(command, consumer.correlationId, payload)));
  }

  /** Takes the consumer off this connection without telling its group (it left, or never joined). */
  private forget(consumer: Consumer): void {
    consumer.closed = true;
    this.refused.delete(consumer);
    if (this.consumers.get(consumer.correlationId) === consumer) this.consumers.delete(consumer.correlationId);
  }

  /**
   * Takes the consumer off this connection and out of its group; its deliveries not yet
   * acknowledged go to others. The group hears of it in a microtask: this may run inside the
   * group's own deliver() (a send that overflowed the queue closes the connection).
   */
  private end(consumer: Consumer): void {
    if (consumer.closed) return;
    this.forget(consumer);
    const handle = consumer.handle;
    if (handle !== null) queueMicrotask(() => handle.close());
  }
}

/** Ids in calls of at most PERSISTENT_ACK_IDS_MAX (one Ack frame may carry up to PROTOBUF_ELEMENTS_MAX). */
function chunks(ids: string[]): string[][] {
  if (ids.length <= PERSISTENT_ACK_IDS_MAX) return ids.length === 0 ? [] : [ids];
  const out: string[][] = [];
  for (let at = 0; at < ids.length; at += PERSISTENT_ACK_IDS_MAX) out.push(ids.slice(at, at + PERSISTENT_ACK_IDS_MAX));
  return out;
}
