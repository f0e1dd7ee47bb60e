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
 * Bytes of index-file blocks kept in memory (shared by all index files). 32 MiB keeps a
 * 10M-event store within 400 MB after a random-read warm-up; random reads of small streams hit
 * about one block each, so a larger cache buys little unless the reads repeat.
 */
export const INDEX_BLOCK_CACHE_BYTES_DEFAULT = 32 * 1024 * 1024;
export const INDEX_BLOCK_CACHE_BYTES_MAX = 16 * 1024 * 1024 * 1024;

/** Stream ids one listStreams call returns at most (and by default). */
export const LIST_STREAMS_LIMIT_MAX = 10_000;
