// The public types of persistent subscriptions (server-managed consumer groups, as in
// EventStoreDB). format-spec/subscriptions.md describes what they persist.

import type { RecordedEvent } from '../../store/recorded-event.js';
import type { Principal } from '../../store/access.js';

/**
 * How a group spreads events over its consumers. RoundRobin: rotate among consumers with room.
 * DispatchToSingle: fill the first consumer's window, then the next. Pinned: by a hash of the
 * event's stream id, waiting for that consumer when it is full. Ordered (Annal's own): at most one
 * event per stream in flight, so each stream is handled in revision order while streams run in parallel.
 */
export type ConsumerStrategy = 'RoundRobin' | 'DispatchToSingle' | 'Pinned' | 'Ordered';

/**
 * Where a new group starts: 'start', 'end' (events appended after creation), or the first revision
 * (stream group) / position ($all group) to deliver (inclusive, as EventStoreDB's startFrom).
 */
export type GroupStartFrom = 'start' | 'end' | bigint;

export interface GroupSettings {
  /** Default 'end'. Only used while the group has no checkpoint. */
  startFrom: GroupStartFrom;
  /** Default false. Annal has no link events: accepted, stored and reported; nothing to resolve. */
  resolveLinks: boolean;
  /** Default 30_000; 0 = never time out. */
  messageTimeoutMs: number;
  /** Default 10: an event returned more often than this is parked. */
  maxRetryCount: number;
  /** Default 500: events buffered while the group is live. */
  liveBufferEvents: number;
  /** Default 20: events per read of the stream or $all. */
  readBatchEvents: number;
  /** Default 500: events buffered while the group catches up. */
  historyBufferEvents: number;
  /** Default 2_000. */
  checkpointAfterMs: number;
  /** Default 10. */
  checkpointMinCount: number;
  /** Default 1_000. */
  checkpointMaxCount: number;
  /** Default 0 = unlimited (up to PERSISTENT_CONSUMERS_PER_GROUP_MAX). */
  maxSubscriberCount: number;
  /** Default 'RoundRobin'. */
  consumerStrategy: ConsumerStrategy;
  /** Default false. Accepted, stored and reported. */
  extraStatistics: boolean;
}

export type NakAction = 'park' | 'retry' | 'skip' | 'stop';

/** One delivery: the event and how many times it was handed out before (0 the first time). */
export interface PersistentEvent {
  readonly event: RecordedEvent;
  readonly retryCount: number;
}

export type ConsumerDropReason =
  | 'unsubscribed' | 'groupDeleted' | 'groupUpdated' | 'maxSubscribersReached' | 'stopRequested' | 'storeClosed'
  /** connect() was given a principal without read access to the group's stream (checked before any delivery). */
  | 'accessDenied';

/**
 * Push interface used by the TCP server: deliver() is called only while the consumer has room in
 * its in-flight window and is not paused. It returns false when the sink cannot take the event
 * now ("not now", e.g. a full send queue): the event was not delivered (not in flight, no timeout,
 * retry count unchanged) and goes to the next consumer in line, and this consumer is sent nothing
 * more until its handle's resume(). Any other return (true, undefined) means taken.
 */
export interface ConsumerSink {
  deliver(delivery: PersistentEvent): boolean | void;
  dropped(reason: ConsumerDropReason): void;
}

export interface ConsumerHandle {
  readonly consumerId: string;
  /** Ids as the event's uuid text (RecordedEvent.id); unknown ids are ignored. */
  ack(eventIds: readonly string[]): void;
  nak(eventIds: readonly string[], action: NakAction, reason?: string): void;
  /** Leaves the group; its in-flight events go back for redelivery (retryCount+1). */
  close(): void;
  /**
   * After the sink refused a delivery: it may be sent events again (a no-op otherwise, and after
   * close). Deliveries may start inside this call.
   */
  resume(): void;
}

export interface ConnectionInfo {
  consumerId: string;
  name: string;
  inFlight: number;
  windowEvents: number;
  deliveredCount: number;
  ackedCount: number;
}

export interface GroupInfo {
  streamId: string;
  group: string;
  settings: GroupSettings;
  status: 'idle' | 'live' | 'catchingUp';
  /** Revision or position every event up to which is done (acked/skipped/parked); null before the first checkpoint. */
  lastCheckpoint: bigint | null;
  /** Highest revision/position read; null before the first read event. */
  lastKnownEvent: bigint | null;
  parkedCount: bigint;
  inFlightCount: number;
  deliveredCount: number;
  ackedCount: number;
  nakedCount: number;
  connections: ConnectionInfo[];
}

export interface ConnectOptions {
  /** The consumer's in-flight window (TCP allowed_in_flight_messages), 1 … PERSISTENT_WINDOW_EVENTS_MAX. */
  windowEvents: number;
  name?: string;
  principal?: Principal;
}

export interface SubscribeOptions {
  /** Default 10 (the TCP clients' default). */
  windowEvents?: number;
  name?: string;
  principal?: Principal;
}

/** The embedded convenience: an async iterable of deliveries with ack/nak. */
export interface PersistentSubscription extends AsyncIterableIterator<PersistentEvent> {
  ack(...deliveries: (PersistentEvent | string)[]): void;
  nak(action: NakAction, reason: string, ...deliveries: (PersistentEvent | string)[]): void;
  unsubscribe(): Promise<void>;
  readonly dropped: Promise<ConsumerDropReason>;
}
