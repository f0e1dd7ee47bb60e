// Every bound of the TCP server, with its unit: what one connection may hold, how long it may
// stay silent, how many there may be. format-spec/protocol.md §10.

const MiB = 1024 * 1024;

/** Bytes queued for one connection's socket before it is dropped as a slow reader. */
export const SEND_QUEUE_BYTES_MAX = 96 * MiB;
/** Packages queued for one connection before it is dropped (EventStoreDB: 50,000). */
export const SEND_QUEUE_PACKAGES_MAX = 50_000;
/** Requests of one connection being processed at once; further frames wait (back-pressure). */
export const REQUESTS_IN_FLIGHT_MAX = 4096;
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
/** Events one read may return (EventStoreDB rejects larger pages). */
export const READ_PAGE_EVENTS_MAX = 4096;
/** Events a filtered $all read may examine when the client sets no search window. */
export const FILTER_SEARCH_WINDOW_EVENTS_MAX = 100_000;
