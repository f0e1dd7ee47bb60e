// Every bound and default of the TCP client, with its unit (es-tcp.md §5 for the upstream client's
// values). Relations between them are asserted when this module loads.

import { assert } from '../util/assert.js';
import { PROTOBUF_ELEMENTS_MAX, READ_PAGE_EVENTS_MAX } from '../protocol/wire/wire-limits.js';
import { PERSISTENT_ACK_IDS_MAX, PERSISTENT_WINDOW_EVENTS_DEFAULT } from '../util/limits.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Requests sent on one connection and not yet answered; more wait their turn (the server pauses reading at 4096). */
export const REQUESTS_IN_FLIGHT_MAX = 2048;
/** Requests accepted but not yet sent (no connection, or the limits above); beyond this calls fail with ClientOverloadedError. */
export const REQUESTS_WAITING_MAX = 100_000;
/** Bytes written to a connection that the socket has not yet taken; new requests wait beyond it (one larger request still goes alone). */
export const SEND_QUEUE_BYTES_MAX = 32 * MiB;
/** Bytes handed to the socket before waiting for it to drain, so a heartbeat reply waits behind at most this much. */
export const SOCKET_BUFFER_BYTES_MAX = 256 * KiB;

/** How long one attempt of a request (and each handshake step, and connecting) may take. */
export const REQUEST_TIMEOUT_MS_DEFAULT = 7_000;
export const REQUEST_TIMEOUT_MS_MAX = 10 * 60_000;
/** Attempts after the first before a request fails (timeouts, NotReady/TooBusy, lost connections). */
export const MAX_RETRIES_DEFAULT = 10;
export const MAX_RETRIES_MAX = 1_000;
/** First pause before reconnecting; it doubles after each failed attempt up to RECONNECT_DELAY_MS_MAX. */
export const RECONNECT_DELAY_MS_DEFAULT = 100;
export const RECONNECT_DELAY_MS_MAX = 5_000;
/** Pause before resending a request the server answered NotReady, TooBusy or a write timeout. */
export const BUSY_RETRY_DELAY_MS = 50;

/** After this long without receiving anything the client sends a HeartbeatRequest… */
export const HEARTBEAT_INTERVAL_MS_DEFAULT = 750;
/** …and reconnects if nothing at all arrives within this long after it. */
export const HEARTBEAT_TIMEOUT_MS_DEFAULT = 1_500;
/** How often the heartbeat timer looks at the connection. */
export const HEARTBEAT_CHECK_MS = 200;

/** Events asked for per read request (the protocol's page maximum). */
export const READ_PAGE_EVENTS = READ_PAGE_EVENTS_MAX;
/** Events per read request while a subscription catches up (smaller: pages sit in memory until consumed). */
export const CATCH_UP_PAGE_EVENTS = 500;
/** Events the server may examine per filtered $all read request. */
export const FILTER_SEARCH_WINDOW_EVENTS = 32_768;
/** Events a subscription holds for its consumer; it stops reading (or buffers live events) beyond this. */
export const SUBSCRIPTION_BUFFER_EVENTS_MAX = 1_024;
/** Live events a subscription holds while it catches up or waits for its consumer; past this it unsubscribes and reads instead. */
export const LIVE_QUEUE_EVENTS_MAX = 10_000;
/** A persistent subscription's window (allowed_in_flight_messages) unless given: EventStoreDB clients' default. */
export const PERSISTENT_BUFFER_SIZE_DEFAULT = PERSISTENT_WINDOW_EVENTS_DEFAULT;
/**
 * Deliveries of a persistent subscription not yet taken by its consumer, as a multiple of its
 * window. Only redeliveries after the server's message timeout can pass the window; past this the
 * oldest are dropped unacknowledged (the server delivers them again).
 */
export const PERSISTENT_BUFFER_WINDOWS_MAX = 2;
/** Event ids in one PersistentSubscriptionAckEvents / NakEvents frame (acks made in one turn of the event loop go together). */
export const PERSISTENT_ACK_IDS_PER_FRAME_MAX = 2_000;
/** Correlation ids of stale subscriptions remembered so each is told to unsubscribe once. */
export const STALE_SUBSCRIPTIONS_REMEMBERED_MAX = 1_024;

assert(REQUESTS_IN_FLIGHT_MAX <= 4096, 'stay below the server\'s in-flight bound so it never stops reading');
assert(SOCKET_BUFFER_BYTES_MAX <= SEND_QUEUE_BYTES_MAX, 'the socket buffer is part of the send queue');
assert(CATCH_UP_PAGE_EVENTS <= READ_PAGE_EVENTS, 'catch-up pages are protocol pages');
assert(RECONNECT_DELAY_MS_DEFAULT <= RECONNECT_DELAY_MS_MAX, 'the backoff starts below its cap');
assert(HEARTBEAT_CHECK_MS < HEARTBEAT_INTERVAL_MS_DEFAULT, 'the timer looks more often than the interval');
assert(PERSISTENT_ACK_IDS_PER_FRAME_MAX <= PERSISTENT_ACK_IDS_MAX && PERSISTENT_ACK_IDS_PER_FRAME_MAX < PROTOBUF_ELEMENTS_MAX, 'an ack package is one call of the group and decodes within the element bound');
