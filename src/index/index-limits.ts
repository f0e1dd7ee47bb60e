// Fixed maxima of persisted index files (format-spec/index.md §7), with units; relations between
// them are asserted when this module loads. (The store's index budgets, memtable and block cache,
// are options with their defaults in util/limits.ts.)

import { assert } from '../util/assert.js';

const KiB = 1024;

/** format-spec/index.md §3: data blocks are a power of two in [MIN, MAX] bytes. */
export const INDEX_BLOCK_BYTES_MIN = 512;
export const INDEX_BLOCK_BYTES_MAX = 64 * KiB;
/** One 4 KiB page per block: 170 entries fill it exactly (16 + 170 × 24 = 4096). */
export const INDEX_BLOCK_BYTES_DEFAULT = 4 * KiB;

/** Largest level a file may claim; merges add one per level, so 32 is far beyond any real tree. */
export const INDEX_LEVEL_MAX = 32;

/**
 * Largest entry count of one file: keeps every file offset below 2^53 (a safe JS integer) even
 * with the smallest blocks, and the fence table of a file below 1 GiB of memory.
 */
export const INDEX_FILE_ENTRIES_MAX = 2 ** 40;

/** Bytes of finished blocks the writer gathers before one write call. */
export const INDEX_WRITE_BUFFER_BYTES = 256 * KiB;

/**
 * Bytes of blocks read at once when every block of a file is checked (open, `annal verify`):
 * large enough that a read's fixed cost vanishes, small enough to stay in the CPU's cache.
 */
export const INDEX_CHECK_SPAN_BYTES = 256 * KiB;

/** Files one merge reads at once. */
export const INDEX_MERGE_INPUTS_MAX = 64;

assert((INDEX_BLOCK_BYTES_MIN & (INDEX_BLOCK_BYTES_MIN - 1)) === 0 && (INDEX_BLOCK_BYTES_MAX & (INDEX_BLOCK_BYTES_MAX - 1)) === 0, 'block bounds are powers of two');
assert(INDEX_BLOCK_BYTES_MIN <= INDEX_BLOCK_BYTES_DEFAULT && INDEX_BLOCK_BYTES_DEFAULT <= INDEX_BLOCK_BYTES_MAX, 'default block size within bounds');
assert(INDEX_WRITE_BUFFER_BYTES % INDEX_BLOCK_BYTES_MAX === 0, 'the write buffer holds whole blocks of any size');
assert(INDEX_CHECK_SPAN_BYTES % INDEX_BLOCK_BYTES_MAX === 0, 'a check span holds whole blocks of any size');
// A crude upper bound on any file's size: the most entries at the fewest a block holds (20, in
// 512-byte blocks), each block as large as the largest.
assert(Math.ceil(INDEX_FILE_ENTRIES_MAX / 20 + 2) * INDEX_BLOCK_BYTES_MAX < Number.MAX_SAFE_INTEGER, 'file offsets stay safe integers');
