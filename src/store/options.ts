// EventStore.open options: defaults, bounds and the relations between them. Unknown options and
// out-of-range values are InvalidOptionErrors, raised before anything touches the disk.

import { InvalidOptionError } from '../util/errors.js';
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { stderrLogger } from '../util/logger.js';
import {
  APPEND_BYTES_DEFAULT, APPEND_BYTES_MAX, APPEND_EVENTS_DEFAULT, APPEND_EVENTS_MAX, CHECKPOINT_INTERVAL_MS_DEFAULT,
  CHECKPOINT_INTERVAL_MS_MAX, CHUNK_BYTES_DEFAULT, CHUNK_BYTES_MAX, CHUNK_BYTES_MIN, EVENT_BYTES_DEFAULT,
  GLOBAL_INDEX_CACHE_BYTES_DEFAULT, GLOBAL_INDEX_CACHE_BYTES_MAX, IDEMPOTENCY_WINDOW_EVENTS_DEFAULT, IDEMPOTENCY_WINDOW_EVENTS_MAX,
  INDEX_BLOCK_CACHE_BYTES_DEFAULT, INDEX_BLOCK_CACHE_BYTES_MAX, STREAM_DIRECTORY_CACHE_BYTES_DEFAULT, STREAM_DIRECTORY_CACHE_BYTES_MAX,
  INDEX_MEMTABLE_ENTRIES_DEFAULT, INDEX_MEMTABLE_ENTRIES_MAX, INDEX_MEMTABLE_ENTRIES_MIN, PENDING_APPENDS_DEFAULT, PENDING_APPENDS_MAX, STREAM_CACHE_ENTRIES_DEFAULT, STREAM_CACHE_ENTRIES_MAX, STREAM_CACHE_ENTRIES_MIN,
  RECORD_BYTES_MAX, STREAM_HASH_BITS_DEFAULT,
} from '../util/limits.js';
import { CHUNK_HEADER_BYTES } from '../format/chunk-layout.js';
import { RECORD_BYTES_MIN } from '../format/record-layout.js';
import type { FileSystem } from '../log/file-system.js';
import { nodeFileSystem } from '../log/node-file-system.js';

export interface EventStoreOptions {
  /** Capacity of a chunk file in bytes (default 256 MiB). Records of one append never span chunks. */
  chunkSizeBytes?: number;
  /** Largest encoded event (header + stream id + type + metadata + data), default 16 MiB. */
  maxEventBytes?: number;
  /** Largest append (all its encoded events), default 64 MiB or what fits in a chunk. */
  maxAppendBytes?: number;
  /** Most events in one append, default 100,000. */
  maxAppendEvents?: number;
  /** Appends accepted but not yet durable before new ones fail with StoreOverloadedError. */
  maxPendingAppends?: number;
  /** How often the durable-end checkpoint is rewritten while appends flow, default 200 ms. */
  checkpointIntervalMs?: number;
  /** Recent event ids remembered for idempotent 'any'-revision retries, default 100,000. */
  idempotencyWindowEvents?: number;
  /** Width of stream-id hashes in the stream table (tests lower it to force collisions). */
  streamHashBits?: number;
  /** Index entries held in memory before they are flushed to an index file, default 2,000,000. */
  indexMemtableEntries?: number;
  /**
   * Streams the stream table keeps in memory after an index flush (the most recently written),
   * default 262,144; the others are read from the stream directory file when needed.
   */
  streamCacheEntries?: number;
  /** Bytes of index-file blocks cached in memory, default 32 MiB. */
  indexBlockCacheBytes?: number;
  /** Bytes of stream directory blocks cached in memory (lookups of streams the table does not hold), default 64 MiB. */
  streamDirectoryCacheBytes?: number;
  /**
   * Bytes of sealed chunks' position → offset pages (read from their footers) the global index
   * caches, default 8 MiB: with the active chunk's offsets, all the memory it holds per event.
   */
  globalIndexCacheBytes?: number;
  /** Discard the persisted index files and rebuild every index from the log (`annal reindex`). */
  rebuildIndexes?: boolean;
  /** Told after each chunk open() recovered (a progress bar for large stores). */
  onOpenProgress?: (progress: { chunksDone: number; chunkCount: number }) => void;
  /** Whether anonymous principals hold the `$all` role on user streams (default true, as EventStoreDB ≤ 22.10). */
  allowAnonymousStreamAccess?: boolean;
  /** The file-system seam (the crash harness passes a simulated disk). */
  fileSystem?: FileSystem;
  clock?: Clock;
  logger?: Logger;
}

export interface ResolvedOptions {
  readonly chunkSizeBytes: number;
  readonly maxEventBytes: number;
  readonly maxAppendBytes: number;
  readonly maxAppendEvents: number;
  readonly maxPendingAppends: number;
  readonly checkpointIntervalMs: number;
  readonly idempotencyWindowEvents: number;
  readonly streamHashBits: number;
  readonly indexMemtableEntries: number;
  readonly streamCacheEntries: number;
  readonly indexBlockCacheBytes: number;
  readonly streamDirectoryCacheBytes: number;
  readonly globalIndexCacheBytes: number;
  readonly rebuildIndexes: boolean;
  readonly onOpenProgress: ((progress: { chunksDone: number; chunkCount: number }) => void) | null;
  readonly allowAnonymousStreamAccess: boolean;
  readonly fileSystem: FileSystem;
  readonly clock: Clock;
  readonly logger: Logger;
}

const KNOWN = new Set<string>([
  'chunkSizeBytes', 'maxEventBytes', 'maxAppendBytes', 'maxAppendEvents', 'maxPendingAppends', 'checkpointIntervalMs',
  'idempotencyWindowEvents', 'streamHashBits', 'indexMemtableEntries', 'streamCacheEntries', 'indexBlockCacheBytes', 'streamDirectoryCacheBytes', 'globalIndexCacheBytes', 'rebuildIndexes', 'onOpenProgress', 'allowAnonymousStreamAccess', 'fileSystem', 'clock', 'logger',
]);

function integer(options: EventStoreOptions, name: keyof EventStoreOptions, fallback: number, min: number, max: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`option ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

export function resolveOptions(options: EventStoreOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(`unknown option '${key}'`);
  }
  const chunkSizeBytes = integer(options, 'chunkSizeBytes', CHUNK_BYTES_DEFAULT, CHUNK_BYTES_MIN, CHUNK_BYTES_MAX);
  // One append must fit in an empty chunk, so the append limit follows the chunk size.
  const appendRoom = Math.min(APPEND_BYTES_MAX, chunkSizeBytes - CHUNK_HEADER_BYTES);
  const maxAppendBytes = integer(options, 'maxAppendBytes', Math.min(APPEND_BYTES_DEFAULT, appendRoom), RECORD_BYTES_MIN, appendRoom);
  const maxEventBytes = integer(options, 'maxEventBytes', Math.min(EVENT_BYTES_DEFAULT, maxAppendBytes), RECORD_BYTES_MIN, Math.min(RECORD_BYTES_MAX, maxAppendBytes));
  for (const name of ['allowAnonymousStreamAccess', 'rebuildIndexes'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw new InvalidOptionError(`option ${name} must be a boolean`);
  }
  if (options.onOpenProgress !== undefined && typeof options.onOpenProgress !== 'function') throw new InvalidOptionError('option onOpenProgress must be a function');
  for (const name of ['fileSystem', 'clock', 'logger'] as const) {
    if (options[name] !== undefined && (typeof options[name] !== 'object' || options[name] === null)) {
      throw new InvalidOptionError(`option ${name} must be an object`);
    }
  }
  return {
    chunkSizeBytes,
    maxEventBytes,
    maxAppendBytes,
    maxAppendEvents: integer(options, 'maxAppendEvents', APPEND_EVENTS_DEFAULT, 1, APPEND_EVENTS_MAX),
    maxPendingAppends: integer(options, 'maxPendingAppends', PENDING_APPENDS_DEFAULT, 1, PENDING_APPENDS_MAX),
    checkpointIntervalMs: integer(options, 'checkpointIntervalMs', CHECKPOINT_INTERVAL_MS_DEFAULT, 0, CHECKPOINT_INTERVAL_MS_MAX),
    idempotencyWindowEvents: integer(options, 'idempotencyWindowEvents', IDEMPOTENCY_WINDOW_EVENTS_DEFAULT, 0, IDEMPOTENCY_WINDOW_EVENTS_MAX),
    streamHashBits: integer(options, 'streamHashBits', STREAM_HASH_BITS_DEFAULT, 1, 64),
    indexMemtableEntries: integer(options, 'indexMemtableEntries', INDEX_MEMTABLE_ENTRIES_DEFAULT, INDEX_MEMTABLE_ENTRIES_MIN, INDEX_MEMTABLE_ENTRIES_MAX),
    streamCacheEntries: integer(options, 'streamCacheEntries', STREAM_CACHE_ENTRIES_DEFAULT, STREAM_CACHE_ENTRIES_MIN, STREAM_CACHE_ENTRIES_MAX),
    indexBlockCacheBytes: integer(options, 'indexBlockCacheBytes', INDEX_BLOCK_CACHE_BYTES_DEFAULT, 0, INDEX_BLOCK_CACHE_BYTES_MAX),
    streamDirectoryCacheBytes: integer(options, 'streamDirectoryCacheBytes', STREAM_DIRECTORY_CACHE_BYTES_DEFAULT, 0, STREAM_DIRECTORY_CACHE_BYTES_MAX),
    globalIndexCacheBytes: integer(options, 'globalIndexCacheBytes', GLOBAL_INDEX_CACHE_BYTES_DEFAULT, 0, GLOBAL_INDEX_CACHE_BYTES_MAX),
    rebuildIndexes: options.rebuildIndexes ?? false,
    onOpenProgress: options.onOpenProgress ?? null,
    allowAnonymousStreamAccess: options.allowAnonymousStreamAccess ?? true,
    fileSystem: options.fileSystem ?? nodeFileSystem,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? stderrLogger,
  };
}
