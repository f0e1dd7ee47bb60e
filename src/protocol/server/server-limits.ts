// Every bound of the TCP server, with its unit: what one connection may hold, how long it may
// stay silent, how many there may be, and what all of them together may hold in unfinished frames.
// format-spec/protocol.md §10.

import { assert } from '../../util/assert.js';
import { InvalidArgumentError } from '../../util/errors.js';
import { FRAME_BYTES_MAX } from '../wire/wire-limits.js';

const MiB = 1024 * 1024;

/** Bytes queued for one connection's socket before it is dropped as a slow reader. */
export const SEND_QUEUE_BYTES_MAX = 96 * MiB;
/**
 * Bytes the send queues of all connections may hold together. Past it, the connection holding
 * the most is dropped (its peer is not reading what it asked for) and the others go on.
 */
export const SEND_QUEUES_BYTES_MAX = 1024 * MiB;
/** Packages queued for one connection before it is dropped (EventStoreDB: 50,000). */
export const SEND_QUEUE_PACKAGES_MAX = 50_000;
/** Requests of one connection being processed at once; further frames wait (back-pressure). */
export const REQUESTS_IN_FLIGHT_MAX = 4096;
/**
 * Reads (ReadEvent, ReadStreamEvents, ReadAllEvents, FilteredReadAllEvents) of one connection
 * building their answer at once; further reads wait in order and the socket is not read meanwhile.
 * A read page may be 64 MiB: this, not REQUESTS_IN_FLIGHT_MAX, bounds the pages being built.
 */
export const READS_IN_FLIGHT_MAX = 8;
/**
 * A read starts building its page only while the connection's send queue holds at most this many
 * bytes (its answers not yet taken by the peer); otherwise it waits for the queue to drain.
 */
export const READ_START_QUEUE_BYTES_MAX = 16 * MiB;
/**
 * Bytes all connections together may hold in frames they have begun and not finished (assembly
 * buffers). A connection whose unfinished frame would pass it is closed; the others go on.
 */
export const FRAME_ASSEMBLY_BYTES_MAX = 256 * MiB;
/** A frame that has begun must complete within this time (slowloris). */
export const FRAME_COMPLETION_MS_MAX = 30_000;
/** With nothing received for this long the server sends a HeartbeatRequest… */
export const HEARTBEAT_INTERVAL_MS = 2_000;
/** …and closes the connection if nothing at all arrives within this long after it. */
export const HEARTBEAT_TIMEOUT_MS = 10_000;
/** Connections served at once; more are refused (closed on accept). */
export const CONNECTIONS_MAX = 10_000;
/** Open explicit transactions (all connections) and the events one may hold. */
export const TRANSACTIONS_OPEN_MAX = 10_000;
export const TRANSACTION_EVENTS_MAX = 100_000;
/** An explicit transaction not written to or committed for this long is dropped. */
export const TRANSACTION_IDLE_MS_MAX = 5 * 60_000;
/** Volatile subscriptions one connection may hold. */
export const SUBSCRIPTIONS_PER_CONNECTION_MAX = 1_000;
/** Persistent-subscription consumers (ConnectToPersistentSubscription) one connection may hold. */
export const PERSISTENT_SUBSCRIPTIONS_PER_CONNECTION_MAX = 1_000;
/**
 * A delivery to a persistent consumer enters the connection's send queue only while the queue holds
 * at most this many bytes; otherwise it waits with its consumer (inside the consumer's window, so
 * the group gives that consumer nothing more) until the peer has taken bytes.
 */
export const PERSISTENT_DELIVERY_QUEUE_BYTES_MAX = 16 * MiB;
/** Events one read may return (EventStoreDB rejects larger pages). */
export const READ_PAGE_EVENTS_MAX = 4096;
/**
 * Bytes of records (format-spec/log.md §3) one read page may hold: the page ends before the event
 * that would pass it (after at least one event) and the client pages on, as after any short page.
 * Without it a page of 4096 events of 16 MiB would be read into memory before the 64 MiB frame
 * check could refuse it.
 */
export const READ_PAGE_BYTES_MAX = 8 * MiB;
/** Events a filtered $all read may examine when the client sets no search window. */
export const FILTER_SEARCH_WINDOW_EVENTS_MAX = 100_000;

assert(READS_IN_FLIGHT_MAX <= REQUESTS_IN_FLIGHT_MAX, 'reads are requests');
assert(SEND_QUEUES_BYTES_MAX >= SEND_QUEUE_BYTES_MAX, 'one full send queue fits the server-wide budget');
// A reader that keeps up is never dropped for pages of up to (96 - 16) / 8 = 10 MiB: reads start
// below READ_START_QUEUE_BYTES_MAX and at most READS_IN_FLIGHT_MAX pages can land on top of it
// before the queue is looked at again. A page holds at most READ_PAGE_BYTES_MAX of records (or a
// single larger event), and its frame adds less than 2 MiB of protobuf fields to them (4096
// events × well under 512 bytes), so only a page of one event over 8 MiB can pass 10 MiB.
assert(READ_START_QUEUE_BYTES_MAX + READS_IN_FLIGHT_MAX * 10 * MiB <= SEND_QUEUE_BYTES_MAX, 'pipelined pages of 10 MiB fit the send queue');
assert(READ_PAGE_BYTES_MAX + 2 * MiB <= 10 * MiB, 'a read page of records within its budget is a frame of at most 10 MiB');
// A delivery is one frame: added to a queue at its persistent bound, it cannot overflow the queue.
assert(PERSISTENT_DELIVERY_QUEUE_BYTES_MAX + FRAME_BYTES_MAX <= SEND_QUEUE_BYTES_MAX, 'a delivery never overflows the send queue by itself');
// Once the others let go, one frame of the largest size can always be assembled.
assert(FRAME_ASSEMBLY_BYTES_MAX >= FRAME_BYTES_MAX, 'the assembly budget holds a largest frame');

/**
 * The bounds a TcpServer may be started with (`TcpServer.start(store, { limits })`). Every field
 * defaults to the constant of the same name above; tests shrink them so that a slow reader or a
 * slowloris peer is cut off in milliseconds rather than after 96 MiB or 30 s.
 */
export interface ServerLimits {
  /** SEND_QUEUE_BYTES_MAX */
  readonly sendQueueBytesMax: number;
  /** SEND_QUEUES_BYTES_MAX (server-wide, not per connection) */
  readonly sendQueuesBytesMax: number;
  /** SEND_QUEUE_PACKAGES_MAX */
  readonly sendQueuePackagesMax: number;
  /** READS_IN_FLIGHT_MAX */
  readonly readsInFlightMax: number;
  /** READ_START_QUEUE_BYTES_MAX */
  readonly readStartQueueBytesMax: number;
  /** FRAME_ASSEMBLY_BYTES_MAX (server-wide, not per connection) */
  readonly frameAssemblyBytesMax: number;
  /** FRAME_COMPLETION_MS_MAX */
  readonly frameCompletionMsMax: number;
  /** HEARTBEAT_INTERVAL_MS */
  readonly heartbeatIntervalMs: number;
  /** HEARTBEAT_TIMEOUT_MS */
  readonly heartbeatTimeoutMs: number;
  /** PERSISTENT_DELIVERY_QUEUE_BYTES_MAX */
  readonly persistentDeliveryQueueBytesMax: number;
  /** READ_PAGE_BYTES_MAX */
  readonly readPageBytesMax: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = Object.freeze({
  sendQueueBytesMax: SEND_QUEUE_BYTES_MAX,
  sendQueuesBytesMax: SEND_QUEUES_BYTES_MAX,
  sendQueuePackagesMax: SEND_QUEUE_PACKAGES_MAX,
  readsInFlightMax: READS_IN_FLIGHT_MAX,
  readStartQueueBytesMax: READ_START_QUEUE_BYTES_MAX,
  frameAssemblyBytesMax: FRAME_ASSEMBLY_BYTES_MAX,
  frameCompletionMsMax: FRAME_COMPLETION_MS_MAX,
  heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
  heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
  persistentDeliveryQueueBytesMax: PERSISTENT_DELIVERY_QUEUE_BYTES_MAX,
  readPageBytesMax: READ_PAGE_BYTES_MAX,
});

/** The defaults with `overrides` applied. Throws InvalidArgumentError for a value that is not a positive integer. */
export function serverLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  const limits: { -readonly [K in keyof ServerLimits]: number } = { ...DEFAULT_SERVER_LIMITS };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_SERVER_LIMITS)) throw new InvalidArgumentError(`limits.${name} is not a server limit`);
    if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidArgumentError(`limits.${name} must be a positive integer, got ${String(value)}`);
    limits[name as keyof ServerLimits] = value;
  }
  return Object.freeze(limits);
}
