// Reads an immutable index file: open checks header, footer and fence table; each lookup is a
// binary search of the fence table, then one block through the shared block cache, then a binary
// search of the block. format-spec/index.md §2.4 and §3.2. Reads are synchronous.

import { join } from 'node:path';
import type { FileHandle, FileSystem } from '../log/file-system.js';
import { readFully } from './small-files.js';
import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import type { IndexBlockChecker } from '../wasm/index-blocks.js';
import type { BlockCache, BlockCacheSpace } from './block-cache.js';
import {
  compareKeySeq, compareKeySeqAt, ENTRY_WORDS, entryAt, hasKey, joinU64, splitU64, W_SEQ_HI, W_SEQ_LO, W_VALUE_HI,
  W_VALUE_LO, type IndexEntry,
} from './index-entry.js';
import {
  BLOCK_HEADER_BYTES, BLOCK_HEADER_WORDS, blockEntryCount, blockOffset, checkBlock, decodeFenceTable, decodeIndexFooter,
  decodeIndexHeader, FENCE_ENTRY_WORDS, fenceTableBytes, headerCrcOf, INDEX_FOOTER_BYTES, INDEX_HEADER_BYTES, indexGeometry,
  type Crc32cOf, type IndexFileHeader, type IndexGeometry,
} from './index-file-format.js';
import { INDEX_CHECK_SPAN_BYTES } from './index-limits.js';

export interface IndexFileOpenOptions {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly fileName: string;
  readonly crc: Crc32cOf;
  /** The cache this file's blocks go through (shared by all open files). */
  readonly cache: BlockCache;
}

// The probe of the lookup in progress, as words (key lo, key hi, seq lo, seq hi): reads are
// synchronous, so one scratch array serves every reader without allocating per call.
const probe = new Uint32Array(4);
const WORD_MAX = 0xffffffff;

export class IndexFileReader {
  readonly fileName: string;
  readonly header: IndexFileHeader;
  readonly geometry: IndexGeometry;
  /** (key, seq) words of the greatest entry (from the footer). */
  private readonly lastWords = new Uint32Array(4);
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    private readonly crc: Crc32cOf,
    private readonly space: BlockCacheSpace,
    fileName: string,
    header: IndexFileHeader,
    lastKey: bigint,
    lastSeq: bigint,
    /** First (key, seq) of every block, FENCE_ENTRY_WORDS each. */
    private readonly fence: Uint32Array,
  ) {
    this.fileName = fileName;
    this.header = header;
    this.geometry = indexGeometry(header.blockSizeBytes, header.entryCount);
    splitU64(lastKey, this.lastWords, 0);
    splitU64(lastSeq, this.lastWords, 2);
  }

  /**
   * Opens `dir/fileName` and checks its header, footer and fence table (§2.4). Throws
   * CorruptionError naming the file and offset when any check fails. Blocks are checked when read.
   */
  static async open(options: IndexFileOpenOptions): Promise<IndexFileReader> {
    const { fileName, crc } = options;
    const handle = await options.fs.open(join(options.dir, fileName), 'read');
    try {
      const headerBytes = readAt(handle, INDEX_HEADER_BYTES, 0);
      const header = decodeIndexHeader(headerBytes, fileName, crc);
      const geometry = indexGeometry(header.blockSizeBytes, header.entryCount);
      // One byte more than the footer: the file must end right after it.
      const footerBytes = readAt(handle, INDEX_FOOTER_BYTES + 1, geometry.footerOffset);
      if (footerBytes.length > INDEX_FOOTER_BYTES) {
        throw new CorruptionError({ file: fileName, offset: geometry.fileBytes, reason: `index file: bytes after the footer (the header implies ${geometry.fileBytes} bytes)` });
      }
      const footer = decodeIndexFooter(footerBytes, fileName, geometry, headerCrcOf(headerBytes), crc);
      const fence = decodeFenceTable(readAt(handle, fenceTableBytes(geometry.blockCount), geometry.fenceOffset), fileName, geometry, crc);
      const reader = new IndexFileReader(handle, crc, options.cache.space(), fileName, header, footer.lastKey, footer.lastSeq, fence);
      if (geometry.blockCount > 0 && compareKeySeqAt(reader.lastWords, 0, fence, (geometry.blockCount - 1) * FENCE_ENTRY_WORDS) < 0) {
        throw new CorruptionError({ file: fileName, offset: geometry.footerOffset + 32, reason: 'index footer: the last entry precedes the start of the last block' });
      }
      return reader;
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  get level(): number {
    return this.header.level;
  }

  get entryCount(): number {
    return this.header.entryCount;
  }

  get blockCount(): number {
    return this.geometry.blockCount;
  }

  get fromPosition(): bigint {
    return this.header.fromPosition;
  }

  get toPosition(): bigint {
    return this.header.toPosition;
  }

  /** The value of entry (key, seq), or undefined. Allocates only the bigint it returns. */
  get(key: bigint, seq: bigint): bigint | undefined {
    this.setProbe(key, seq);
    const b = this.blockOfProbe();
    // Outside [first entry, last entry] the answer needs no block read.
    if (b < 0 || this.probeAfterLast()) return undefined;
    const words = this.blockWords(b);
    const i = floorInBlock(words, blockEntryCount(this.geometry, b));
    const at = BLOCK_HEADER_WORDS + i * ENTRY_WORDS;
    if (compareKeySeq(words, at, probe[0], probe[1], probe[2], probe[3]) !== 0) return undefined;
    return joinU64(words[at + W_VALUE_LO], words[at + W_VALUE_HI]);
  }

  /** The greatest seq stored under `key` (a stream's last revision), or undefined. */
  lastSeq(key: bigint): bigint | undefined {
    assert(!this.closed, 'lookups need an open index file');
    splitU64(key, probe, 0);
    probe[2] = WORD_MAX;
    probe[3] = WORD_MAX;
    const b = this.blockOfProbe();
    if (b < 0) return undefined;
    // Past the last entry, the footer has the answer: the last entry is the floor of the probe.
    if (this.probeAfterLast()) return hasKey(this.lastWords, 0, probe[0], probe[1]) ? joinU64(this.lastWords[2], this.lastWords[3]) : undefined;
    const words = this.blockWords(b);
    const at = BLOCK_HEADER_WORDS + floorInBlock(words, blockEntryCount(this.geometry, b)) * ENTRY_WORDS;
    return hasKey(words, at, probe[0], probe[1]) ? joinU64(words[at + W_SEQ_LO], words[at + W_SEQ_HI]) : undefined;
  }

  /** Up to `maxCount` entries of `key` with seq ≥ `fromSeq`, ascending. */
  range(key: bigint, fromSeq: bigint, maxCount: number): IndexEntry[] {
    assert(Number.isSafeInteger(maxCount) && maxCount >= 0, () => `maxCount ${maxCount} is a non-negative integer`);
    const out: IndexEntry[] = [];
    if (maxCount === 0 || this.geometry.blockCount === 0) return out;
    this.setProbe(key, fromSeq);
    const keyLo = probe[0];
    const keyHi = probe[1];
    let b = Math.max(0, this.blockOfProbe());
    let words = this.blockWords(b);
    let count = blockEntryCount(this.geometry, b);
    let i = lowerBoundInBlock(words, count);
    for (;;) {
      for (; i < count; i++) {
        const at = BLOCK_HEADER_WORDS + i * ENTRY_WORDS;
        if (!hasKey(words, at, keyLo, keyHi)) return out;
        out.push(entryAt(words, at));
        if (out.length === maxCount) return out;
      }
      // The next block holds more of this key only if it starts with it: the fence table says so
      // without reading the block.
      b++;
      if (b === this.geometry.blockCount || !hasKey(this.fence, b * FENCE_ENTRY_WORDS, keyLo, keyHi)) return out;
      words = this.blockWords(b);
      count = blockEntryCount(this.geometry, b);
      i = 0;
    }
  }

  /** Up to `maxCount` entries of `key` with seq ≤ `fromSeq`, descending. */
  rangeBackward(key: bigint, fromSeq: bigint, maxCount: number): IndexEntry[] {
    assert(Number.isSafeInteger(maxCount) && maxCount >= 0, () => `maxCount ${maxCount} is a non-negative integer`);
    const out: IndexEntry[] = [];
    if (maxCount === 0) return out;
    this.setProbe(key, fromSeq);
    const keyLo = probe[0];
    const keyHi = probe[1];
    let b = this.blockOfProbe();
    if (b < 0) return out;
    let words = this.blockWords(b);
    let i = floorInBlock(words, blockEntryCount(this.geometry, b));
    for (;;) {
      for (; i >= 0; i--) {
        const at = BLOCK_HEADER_WORDS + i * ENTRY_WORDS;
        if (!hasKey(words, at, keyLo, keyHi)) return out;
        out.push(entryAt(words, at));
        if (out.length === maxCount) return out;
      }
      // Block b starts with this key, so the previous block may end with it.
      b--;
      if (b < 0) return out;
      words = this.blockWords(b);
      i = blockEntryCount(this.geometry, b) - 1;
    }
  }

  /** Every entry in order, reading blocks past the cache (a merge or a scan reads each once). */
  *entries(): IterableIterator<IndexEntry> {
    const buffer = new Uint8Array(this.geometry.blockSizeBytes);
    for (let b = 0; b < this.geometry.blockCount; b++) {
      const words = this.readBlock(b, buffer);
      const count = blockEntryCount(this.geometry, b);
      for (let i = 0; i < count; i++) yield entryAt(words, BLOCK_HEADER_WORDS + i * ENTRY_WORDS);
    }
  }

  /**
   * Reads and checks block `blockIndex` into `buffer` (one block long, owned by the caller) without
   * caching it; returns the words viewing `buffer`. Throws CorruptionError when the block is damaged.
   */
  readBlock(blockIndex: number, buffer: Uint8Array): Uint32Array {
    assert(!this.closed, 'reads need an open index file');
    assert(Number.isInteger(blockIndex) && blockIndex >= 0 && blockIndex < this.geometry.blockCount, () => `block ${blockIndex} of ${this.geometry.blockCount}`);
    assert(buffer.length === this.geometry.blockSizeBytes && buffer.byteOffset % 4 === 0, 'a word-aligned buffer of one block');
    const offset = blockOffset(this.geometry, blockIndex);
    const n = readFully(this.handle, buffer, 0, this.geometry.blockSizeBytes, offset);
    const words = new Uint32Array(buffer.buffer, buffer.byteOffset, this.geometry.blockSizeBytes / 4);
    checkBlock(buffer.subarray(0, n), words, this.fileName, offset, this.geometry, blockIndex, this.crc);
    this.checkAgainstFence(words, blockIndex, offset);
    return words;
  }

  /**
   * Checks every data block (§3.2) as readBlock() would, without caching any: reads spans of
   * INDEX_CHECK_SPAN_BYTES into WASM memory and checks each span in one kernel call. Throws the
   * CorruptionError readBlock() throws for the first damaged block.
   */
  checkAllBlocks(checker: IndexBlockChecker): void {
    assert(!this.closed, 'reads need an open index file');
    const { blockSizeBytes, blockCount, entriesPerBlock } = this.geometry;
    if (blockCount === 0) return;
    const spanBlocks = INDEX_CHECK_SPAN_BYTES / blockSizeBytes;
    checker.reserve(spanBlocks * blockSizeBytes, spanBlocks + 1);
    const fenceWords = new Uint32Array((spanBlocks + 1) * FENCE_ENTRY_WORDS);
    const lastBlockEntries = blockEntryCount(this.geometry, blockCount - 1);
    for (let first = 0; first < blockCount; first += spanBlocks) {
      const count = Math.min(spanBlocks, blockCount - first);
      const bytes = count * blockSizeBytes;
      const read = readFully(this.handle, checker.spanView(bytes), 0, bytes, blockOffset(this.geometry, first));
      const whole = Math.floor(read / blockSizeBytes);
      const fence = fenceWords.subarray(0, (whole + 1) * FENCE_ENTRY_WORDS);
      fence.set(this.fence.subarray(first * FENCE_ENTRY_WORDS, (first + whole) * FENCE_ENTRY_WORDS));
      fence.set(first + whole < blockCount ? this.fence.subarray((first + whole) * FENCE_ENTRY_WORDS, (first + whole + 1) * FENCE_ENTRY_WORDS) : this.lastWords, whole * FENCE_ENTRY_WORDS);
      const good = checker.check(blockSizeBytes, whole, first, blockCount, entriesPerBlock, lastBlockEntries, fence);
      // A block failed (or was cut short by the end of the file): read it again the ordinary way,
      // which says why. Should it pass then, it changed under us: still not to be trusted.
      if (good < count) {
        this.readBlock(first + good, new Uint8Array(blockSizeBytes));
        throw new CorruptionError({ file: this.fileName, offset: blockOffset(this.geometry, first + good), reason: `index block ${first + good}: failed its check, then passed it when read again` });
      }
    }
  }

  /** The words of block `blockIndex` through the cache (read and checked on a miss). */
  blockWords(blockIndex: number): Uint32Array {
    const cached = this.space.get(blockIndex);
    if (cached !== undefined) return cached;
    const words = this.readBlock(blockIndex, new Uint8Array(this.geometry.blockSizeBytes));
    this.space.put(blockIndex, words);
    return words;
  }

  /** Makes the file's data durable (for a file written with `durable: false`). */
  sync(): Promise<void> {
    assert(!this.closed, () => `${this.fileName} is open`);
    return this.handle.datasync();
  }

  /** Drops this file's cached blocks and closes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.space.clear();
    await this.handle.close();
  }

  /**
   * A block agrees with the fence table when its first entry is the block's fence entry and its
   * last precedes the next block's (or is the footer's last entry). Without this a block and its
   * fence entry could each be intact yet lead a lookup to the wrong block.
   */
  private checkAgainstFence(words: Uint32Array, blockIndex: number, offset: number): void {
    const lastAt = BLOCK_HEADER_WORDS + (blockEntryCount(this.geometry, blockIndex) - 1) * ENTRY_WORDS;
    if (compareKeySeqAt(words, BLOCK_HEADER_WORDS, this.fence, blockIndex * FENCE_ENTRY_WORDS) !== 0) {
      throw new CorruptionError({ file: this.fileName, offset: offset + BLOCK_HEADER_BYTES, reason: `index block ${blockIndex}: first entry disagrees with the fence table` });
    }
    const next = blockIndex + 1;
    const fits = next < this.geometry.blockCount
      ? compareKeySeqAt(words, lastAt, this.fence, next * FENCE_ENTRY_WORDS) < 0
      : compareKeySeqAt(words, lastAt, this.lastWords, 0) === 0;
    if (!fits) {
      throw new CorruptionError({ file: this.fileName, offset: offset + lastAt * 4, reason: `index block ${blockIndex}: last entry disagrees with ${next < this.geometry.blockCount ? 'the next block\'s fence entry' : 'the footer'}` });
    }
  }

  /** Sets the probe to (key, seq); splitU64 asserts both are u64. */
  private setProbe(key: bigint, seq: bigint): void {
    assert(!this.closed, 'lookups need an open index file');
    splitU64(key, probe, 0);
    splitU64(seq, probe, 2);
  }

  /** Whether the probe is greater than the file's last entry (false for an empty file: no block holds it anyway). */
  private probeAfterLast(): boolean {
    return this.geometry.blockCount > 0 && compareKeySeq(this.lastWords, 0, probe[0], probe[1], probe[2], probe[3]) < 0;
  }

  /** The last block whose first entry is ≤ the probe, or -1 when the probe precedes every entry. */
  private blockOfProbe(): number {
    const fence = this.fence;
    let lo = 0;
    let hi = this.geometry.blockCount - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeySeq(fence, mid * FENCE_ENTRY_WORDS, probe[0], probe[1], probe[2], probe[3]) <= 0) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}

/** Index of the last entry ≤ the probe among a block's `count` entries, or -1. */
function floorInBlock(words: Uint32Array, count: number): number {
  let lo = 0;
  let hi = count - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeySeq(words, BLOCK_HEADER_WORDS + mid * ENTRY_WORDS, probe[0], probe[1], probe[2], probe[3]) <= 0) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** Index of the first entry ≥ the probe among a block's `count` entries, or `count`. */
function lowerBoundInBlock(words: Uint32Array, count: number): number {
  const floor = floorInBlock(words, count);
  if (floor >= 0 && compareKeySeq(words, BLOCK_HEADER_WORDS + floor * ENTRY_WORDS, probe[0], probe[1], probe[2], probe[3]) === 0) return floor;
  return floor + 1;
}

/** Up to `length` bytes at `fileOffset` in a fresh (word-aligned) array, shorter at the end of the file. */
function readAt(handle: FileHandle, length: number, fileOffset: number): Uint8Array {
  const bytes = new Uint8Array(length);
  return bytes.subarray(0, readFully(handle, bytes, 0, length, fileOffset));
}
