// Every fixed maximum of Annal, with its unit, in one place. Relations between them are asserted
// when this module loads. Options that users may lower or raise (within these bounds) are
// validated in src/store/options.ts.

import { assert } from './assert.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Largest global position or revision: positions are kept as doubles internally. */
export const POSITION_MAX = Number.MAX_SAFE_INTEGER;

/** format-spec/log.md §3: stream ids are 1..STREAM_ID_BYTES_MAX bytes of UTF-8. */
export const STREAM_ID_BYTES_MAX = 1 * KiB;
/** format-spec/log.md §3: event types are 1..EVENT_TYPE_BYTES_MAX bytes of UTF-8. */
export const EVENT_TYPE_BYTES_MAX = 1 * KiB;
/** The largest record the format allows (the maxEventBytes option may not exceed it). */
export const RECORD_BYTES_MAX = 64 * MiB;

/** Chunk size bounds: record offsets inside a chunk are u32, and tests use small chunks. */
export const CHUNK_BYTES_MIN = 8 * KiB;
export const CHUNK_BYTES_MAX = 1 * GiB;
export const CHUNK_BYTES_DEFAULT = 256 * MiB;

/** Default largest encoded event (record) in bytes. */
export const EVENT_BYTES_DEFAULT = 16 * MiB;
/** Largest single append (all its records) in bytes; an append never spans two chunks. */
export const APPEND_BYTES_DEFAULT = 64 * MiB;
/** The format's bound on one transaction: recovery never needs a larger scan span than this. */
export const APPEND_BYTES_MAX = 64 * MiB;
/** Largest number of events in one append. */
export const APPEND_EVENTS_DEFAULT = 100_000;
export const APPEND_EVENTS_MAX = 1_000_000;

/** A group commit stops taking appends once it holds this many bytes (one append may exceed it). */
export const GROUP_COMMIT_BYTES_MAX = 4 * MiB;
/** Batches encoded and on their way to the disk at once (concurrent durable writes overlap). */
export const GROUP_COMMIT_BATCHES_IN_FLIGHT = 4;
/** Appends accepted but not yet committed; past this, appends fail fast with StoreOverloadedError. */
export const PENDING_APPENDS_DEFAULT = 100_000;
export const PENDING_APPENDS_MAX = 10_000_000;

/** Bytes read from a chunk into WASM memory per read call. */
export const READ_SPAN_BYTES = 1 * MiB;
/** Records validated per WASM call on the read path. */
export const READ_BATCH_RECORDS_MAX = 8192;
/** Events one read call may return (maxCount beyond this is an argument error). */
export const READ_EVENTS_MAX = 100_000_000;

/** How often the durable-position checkpoint is rewritten while appends flow. */
export const CHECKPOINT_INTERVAL_MS_DEFAULT = 200;
export const CHECKPOINT_INTERVAL_MS_MAX = 60_000;

/** How many recent event ids are remembered to make 'any'-revision retries idempotent. */
export const IDEMPOTENCY_WINDOW_EVENTS_DEFAULT = 100_000;
export const IDEMPOTENCY_WINDOW_EVENTS_MAX = 10_000_000;

/** Stream-table hash width: 64 in production; tests force tiny widths to exercise collisions. */
export const STREAM_HASH_BITS_DEFAULT = 64;

assert(RECORD_BYTES_MAX <= CHUNK_BYTES_MAX / 4, 'a chunk must hold several maximal records');
assert(EVENT_BYTES_DEFAULT <= APPEND_BYTES_DEFAULT, 'one event must fit in one append');
assert(APPEND_BYTES_DEFAULT <= APPEND_BYTES_MAX && APPEND_BYTES_MAX <= CHUNK_BYTES_DEFAULT / 2, 'one append must fit in a chunk');
assert(RECORD_BYTES_MAX <= APPEND_BYTES_MAX, 'one record fits in one append');
assert(APPEND_EVENTS_DEFAULT <= APPEND_EVENTS_MAX, 'append event default within max');
assert(GROUP_COMMIT_BYTES_MAX <= APPEND_BYTES_DEFAULT, 'group commit batches are bounded by the append size');
assert(READ_SPAN_BYTES >= 64 * KiB, 'read spans amortise the JS/WASM crossing');

/** Events fetched per page by the async iterators (iterateAll, iterateStream). */
export const READ_PAGE_EVENTS = 1000;
/**
 * Bytes of records (log.md §3) the async iterators and catch-up subscriptions read per page, so
 * that a page of large events (1000 × 16 MiB) never sits in memory: a page ends at whichever of
 * this and its event count comes first (always after at least one event).
 */
export const READ_PAGE_BYTES = 8 * MiB;

// Subscriptions of the embedded store (subscribeToStream, subscribeToAll; src/store/live-feed.ts,
// src/store/store-subscription.ts). Memory per subscription is bounded by its live buffer or one
// read page, whichever is larger; the live feed itself holds one page shared by all subscribers.

/** Events of $all the live feed reads per pass over newly durable events and hands to every subscriber. */
export const LIVE_FEED_PAGE_EVENTS = 4096;
/**
 * Events a catch-up subscription reads from the log per page, read only once the consumer has
 * taken the previous page: matching events for a category or event-type filter (the indexes find
 * them), examined events for a scan (no filter, prefixes, regexes) and for a stream.
 */
export const SUBSCRIPTION_READ_PAGE_EVENTS = 1000;
/**
 * Matching live events one subscription holds for a consumer that has not taken them yet. Past
 * its bound (the liveBufferEvents option, at most the max) it stops listening and reads the log
 * from its last event instead, so a slow consumer costs disk reads, never memory.
 */
export const SUBSCRIPTION_LIVE_BUFFER_EVENTS_DEFAULT = 10_000;
export const SUBSCRIPTION_LIVE_BUFFER_EVENTS_MAX = 100_000;
/** subscribeToAll's checkpointIntervalEvents: positions examined between two onCheckpoint calls. */
export const SUBSCRIPTION_CHECKPOINT_INTERVAL_EVENTS_DEFAULT = 1000;
export const SUBSCRIPTION_CHECKPOINT_INTERVAL_EVENTS_MAX = 100_000_000;
/**
 * Catch-up and volatile subscriptions (subscribeToStream / subscribeToAll) open at once on one
 * store: each may hold up to its live buffer, so their number bounds what they hold together.
 */
export const SUBSCRIPTIONS_OPEN_MAX = 10_000;
/** Prefixes one streamPrefix or eventTypePrefix filter may list (each is tried on every examined event). */
export const SUBSCRIPTION_FILTER_PREFIXES_MAX = 1000;
/** Longest regular expression a filter may carry (they run against every examined event). */
export const FILTER_REGEX_CHARS_MAX = 256;
/**
 * Largest compiled program (re2js `programSize()`, about one instruction per atom after counted
 * repetitions are expanded) a filter regex may have. Matching is linear in the input, but the
 * constant grows with the program: past a few thousand instructions re2js's DFA exceeds its
 * memory budget and falls back to the NFA, and `(?:a?){700}a{700}` or `\pL{1000}\pL{1000}…`
 * within 256 characters then cost 50–200 ms per 1 KiB stream id — per event, on the event loop.
 * 1000 leaves everyday patterns (`^[\w-]{1,100}$` is about 200) far below it.
 */
export const FILTER_REGEX_PROGRAM_SIZE_MAX = 1000;

assert(SUBSCRIPTION_LIVE_BUFFER_EVENTS_DEFAULT <= SUBSCRIPTION_LIVE_BUFFER_EVENTS_MAX, 'live buffer default within max');
assert(SUBSCRIPTION_CHECKPOINT_INTERVAL_EVENTS_DEFAULT <= SUBSCRIPTION_CHECKPOINT_INTERVAL_EVENTS_MAX, 'checkpoint interval default within max');
assert(SUBSCRIPTION_READ_PAGE_EVENTS <= READ_EVENTS_MAX && LIVE_FEED_PAGE_EVENTS <= READ_EVENTS_MAX, 'subscription pages are reads');

/** Errors and warnings `annal verify` lists in its report; more are counted, not listed. */
export const VERIFY_ISSUES_MAX = 1000;
/** Bytes of an active chunk's tail read at once when verify looks for non-zero bytes. */
export const VERIFY_TAIL_BLOCK_BYTES = 1 * MiB;

/**
 * Index entries (about two to three per event: stream, category, event type) the memtable holds
 * before a flush writes them to an index file: the bound on index memory between flushes.
 */
export const INDEX_MEMTABLE_ENTRIES_DEFAULT = 2_000_000;
export const INDEX_MEMTABLE_ENTRIES_MIN = 1;
export const INDEX_MEMTABLE_ENTRIES_MAX = 100_000_000;
/**
 * Streams the stream table keeps after an index flush (the most recently written; ~150 bytes
 * each with their tails' bookkeeping): the bound on memory per stream. The others are looked up
 * in the stream directory file through the block cache when read or written. Between flushes the
 * table also holds every stream written since the last one.
 */
export const STREAM_CACHE_ENTRIES_DEFAULT = 262_144;
export const STREAM_CACHE_ENTRIES_MIN = 1;
export const STREAM_CACHE_ENTRIES_MAX = 100_000_000;
/**
 * The stream filter (a split-block Bloom filter of every stream id, format-spec/index.md §13.6) is
 * sized for twice the store's streams at STREAM_FILTER_BITS_PER_STREAM bits each and rebuilt
 * bigger when they fall below that: 16 to 32 bits per stream, under 0.1 % false positives
 * (measured: 0.01 % at 26 bits, 0.35 % at 13, 7 % at 6.5). A power of two from
 * STREAM_FILTER_BYTES_MIN up to STREAM_FILTER_BYTES_MAX: past 16M streams it fills up, and more
 * lookups of new ids read a directory block instead of being ruled out in WASM.
 */
export const STREAM_FILTER_BITS_PER_STREAM = 16;
export const STREAM_FILTER_BYTES_MIN = 8 * KiB;
export const STREAM_FILTER_BYTES_MAX = 32 * MiB;
/**
 * Bytes of index-file blocks kept in memory (shared by all index files). 32 MiB keeps a
 * 10M-event store within 400 MB after a random-read warm-up; random reads of small streams hit
 * about one block each, so a larger cache buys little unless the reads repeat.
 */
export const INDEX_BLOCK_CACHE_BYTES_DEFAULT = 32 * 1024 * 1024;
export const INDEX_BLOCK_CACHE_BYTES_MAX = 16 * 1024 * 1024 * 1024;
/**
 * Bytes of stream directory blocks kept in memory, apart from the index-file blocks: a lookup of
 * a stream the stream table does not hold reads one, and these are few and hot where index-file
 * blocks are many (a 1M-stream directory is 38 MB, its index files 725 MB at 10M events), so in a
 * shared cache random reads of the index files pushed them out. 64 MiB holds the whole
 * directory of about 1.7M streams of 14-byte ids.
 */
export const STREAM_DIRECTORY_CACHE_BYTES_DEFAULT = 64 * 1024 * 1024;
export const STREAM_DIRECTORY_CACHE_BYTES_MAX = 16 * 1024 * 1024 * 1024;

/**
 * Record offsets per page of a sealed chunk's position → offset map (its footer, log.md §4) that
 * the global index reads, checks and caches at once: 1 KiB, one pread. A random read needs one or
 * two offsets, so a miss should read and check few: random readStream on 10M events with the
 * default budget measured 4 µs slower at p50 than with every offset in memory, 7 µs with 4 KiB
 * pages. A $all scan pays one pread per 256 events.
 */
export const GLOBAL_INDEX_PAGE_OFFSETS = 256;
/**
 * Bytes of those pages kept in memory (the globalIndexCacheBytes option). The global index holds
 * nothing else per event but the active chunk's offsets, so this bounds its memory whatever the
 * store's size: 8 MiB caches the offsets of 2M positions (the recent chunks a tail reader and a
 * catch-up subscription read), and a miss costs one 1 KiB read from the OS page cache. (Each
 * cached page also takes about 40 bytes of bookkeeping outside the budget.)
 */
export const GLOBAL_INDEX_CACHE_BYTES_DEFAULT = 8 * MiB;
export const GLOBAL_INDEX_CACHE_BYTES_MAX = 16 * GiB;

/** Stream ids one listStreams call returns at most (and by default). */
export const LIST_STREAMS_LIMIT_MAX = 10_000;

// Persistent subscriptions (src/subscriptions/persistent, format-spec/subscriptions.md). Each
// group setting has its bounds here; out of bounds is an InvalidArgumentError naming both.

/** Groups one store holds (the config event lists them all, so this also bounds its size). */
export const PERSISTENT_GROUPS_MAX = 1000;
/** A group name's UTF-8 bytes (it is part of the checkpoint and parked stream ids). */
export const PERSISTENT_GROUP_NAME_BYTES_MAX = 256;
/** A consumer name's UTF-8 bytes (longer names are cut). */
export const PERSISTENT_CONSUMER_NAME_BYTES_MAX = 256;
/** A nak reason's UTF-8 bytes as stored in a parked event's metadata (longer reasons are cut). */
export const PERSISTENT_NAK_REASON_BYTES_MAX = 1024;
/** Consumers of one group (maxSubscriberCount 0 means this many). */
export const PERSISTENT_CONSUMERS_PER_GROUP_MAX = 1000;
/** One consumer's in-flight window, in events. */
export const PERSISTENT_WINDOW_EVENTS_MAX = 10_000;
export const PERSISTENT_WINDOW_EVENTS_DEFAULT = 10;
/** Event ids one ack or nak call may carry. */
export const PERSISTENT_ACK_IDS_MAX = PERSISTENT_WINDOW_EVENTS_MAX;
/** messageTimeoutMs: 0 (never) … one day. */
export const PERSISTENT_MESSAGE_TIMEOUT_MS_MAX = 86_400_000;
/** maxRetryCount: 0 … this. */
export const PERSISTENT_RETRY_COUNT_MAX = 1_000_000;
/** readBatchEvents: 1 … this (and at most historyBufferEvents). */
export const PERSISTENT_READ_BATCH_EVENTS_MAX = 10_000;
/** liveBufferEvents and historyBufferEvents: 1 … this. */
export const PERSISTENT_BUFFER_EVENTS_MAX = 100_000;
/** checkpointAfterMs: 0 … one day. */
export const PERSISTENT_CHECKPOINT_AFTER_MS_MAX = 86_400_000;
/** checkpointMinCount: 1 … this; checkpointMaxCount: checkpointMinCount … this. */
export const PERSISTENT_CHECKPOINT_COUNT_MAX = 1_000_000;
/** How often a group looks for timed-out deliveries and a due checkpoint (real time; deadlines use the clock seam). */
export const PERSISTENT_TICK_MS = 100;
/** `$maxCount` of `$persistentSubscriptionConfig`: only the last event is the state. */
export const PERSISTENT_CONFIG_EVENTS_KEPT = 10;
/** Parked events read per page when counting or replaying them. */
export const PERSISTENT_PARKED_PAGE_EVENTS = 500;

assert(PERSISTENT_READ_BATCH_EVENTS_MAX <= PERSISTENT_BUFFER_EVENTS_MAX, 'a read batch fits in a buffer');
assert(PERSISTENT_ACK_IDS_MAX >= PERSISTENT_WINDOW_EVENTS_MAX, 'one ack can acknowledge a whole window');
assert(PERSISTENT_GROUP_NAME_BYTES_MAX + 64 < STREAM_ID_BYTES_MAX, 'a group name leaves room for the stream id in its checkpoint stream id');
