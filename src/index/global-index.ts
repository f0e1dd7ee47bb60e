// The global ($all) index: position → (chunk, file offset, record size). Positions are dense, so a
// chunk's record offsets form an array indexed by position - firstPosition. The active chunk keeps
// its array in memory; a sealed chunk keeps a few numbers, and its offsets are read on demand, a
// page at a time, from the position → offset map in its footer (format-spec/log.md §4) through a
// least-recently-used cache bounded in bytes. format-spec/index.md §12 "The global index".

import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import { GrowableUint32Array } from '../util/growable-array.js';
import { CHUNK_BYTES_MAX, GLOBAL_INDEX_PAGE_OFFSETS } from '../util/limits.js';
import { CHUNK_HEADER_BYTES, chunkFileName, footerOffsetMapAt } from '../format/chunk-layout.js';
import { RECORD_BYTES_MIN } from '../format/record-layout.js';
import type { OffsetPageCache } from './offset-page-cache.js';

/**
 * Pages one chunk's offset map can have, at most (the largest chunk of the smallest records): a
 * page's cache key is chunk id × this + page, so keys of two chunks never meet.
 */
const CHUNK_PAGES_MAX = Math.ceil(CHUNK_BYTES_MAX / RECORD_BYTES_MIN / GLOBAL_INDEX_PAGE_OFFSETS);

/**
 * Reads record offsets from the footer of a sealed chunk file. The store implements it over the
 * log's chunk files (this layer does not import the log).
 */
export interface FooterOffsetReader {
  /**
   * Reads `count` u32 record offsets at file offset `fileOffset` (inside the footer's offset map)
   * of the sealed file whose first chunk number is `chunkNumber` into target[targetIndex..], and
   * returns how many were read whole: fewer only when the file ends early. Synchronous, as every
   * read of the store is.
   */
  readOffsets(chunkNumber: number, fileOffset: number, count: number, target: Uint32Array, targetIndex: number): number;
}

/** How a GlobalIndex pages sealed chunks: where it reads their footers, and the cache it keeps pages in. */
export interface GlobalIndexPaging {
  readonly reader: FooterOffsetReader;
  /** Its capacity is the budget for pages (the store's globalIndexCacheBytes); this index owns it. */
  readonly cache: OffsetPageCache;
}

interface ChunkPositions {
  /** Unique among the entries this index ever made: keys its pages in the cache. */
  readonly id: number;
  /** The chunk number of the file (a file merged by a scavenge: its first chunk number). */
  readonly chunkNumber: number;
  readonly firstPosition: number;
  recordCount: number;
  /** File offset just past the last indexed record: where a sealed chunk's footer starts. */
  endOffset: number;
  /** Every record's offset, while the chunk is active (or always, without paging); null once paged. */
  offsets: GrowableUint32Array | null;
  /**
   * Once paged: a checksum of each page of offsets, taken from offsets already checked (the footer's
   * CRC at open, or the writer's own array at sealing). A page read later must match it before it
   * is cached or used (4 bytes per GLOBAL_INDEX_PAGE_OFFSETS records).
   */
  pageSums: Uint32Array | null;
}

/**
 * A 32-bit checksum of offsets[from, from + count) (multiply-xor over the words; in memory only, not
 * a format). It tells a page read from a footer damaged since its CRC was checked from the page
 * that was checked.
 */
function offsetsSum(offsets: ArrayLike<number>, from: number, count: number): number {
  let h = 0x811c9dc5 ^ count;
  for (let i = from; i < from + count; i++) {
    h = Math.imul(h ^ offsets[i], 0x01000193);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

function pageSumsOf(offsets: ArrayLike<number>, count: number): Uint32Array {
  const sums = new Uint32Array(Math.ceil(count / GLOBAL_INDEX_PAGE_OFFSETS));
  for (let page = 0; page < sums.length; page++) {
    const from = page * GLOBAL_INDEX_PAGE_OFFSETS;
    sums[page] = offsetsSum(offsets, from, Math.min(GLOBAL_INDEX_PAGE_OFFSETS, count - from));
  }
  return sums;
}

export interface RecordLocation {
  chunkNumber: number;
  offset: number;
  recordBytes: number;
}

export interface GlobalIndexMemory {
  /** Chunks indexed, and of them those whose offsets are read from their footers. */
  readonly chunks: number;
  readonly pagedChunks: number;
  /** Bytes of the offset arrays held in memory (the active chunk's; every chunk's without paging). */
  readonly offsetArrayBytes: number;
  /** Footer pages in the cache and the bytes of their slots (at most its capacity). */
  readonly cachedPages: number;
  readonly cachedPageBytes: number;
  /** Bytes the cache has allocated for its slots so far (at most its capacity). */
  readonly cacheAllocatedBytes: number;
}

export class GlobalIndex {
  private readonly chunks: ChunkPositions[] = [];
  private next = 0;
  private nextChunkId = 0;
  // The page read last: reads look up neighbouring positions many times in a row (a span's binary
  // search, a scattered read's offsets), so they skip the cache's map while its slot holds it.
  private lastKey = -1;
  private lastSlot = -1;

  /**
   * Without `paging` every chunk keeps its offsets in memory (tests and tools); with it, a chunk
   * is paged once it is sealed: when a later chunk gets its first record, or when it is added
   * whole from its footer.
   */
  constructor(private readonly paging: GlobalIndexPaging | null = null) {}

  /** Position the next indexed record must have (= number of indexed records). */
  get nextPosition(): number {
    return this.next;
  }

  /** Records that `position` lives in `chunkNumber` at `offset` and takes `recordBytes`. */
  add(chunkNumber: number, position: number, offset: number, recordBytes: number): void {
    if (position !== this.next) assert(false, `positions are indexed densely: got ${position}, expected ${this.next}`);
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || chunk.chunkNumber !== chunkNumber) {
      assert(chunk === undefined || chunkNumber > chunk.chunkNumber, 'chunks are indexed in order');
      // Only the last chunk of the log is active (log.md §0), and a chunk is sealed, its footer
      // durable, before the next one is created (§4): so the previous chunk is sealed by now.
      if (chunk !== undefined) this.page(chunk);
      chunk = { id: this.nextChunkId++, chunkNumber, firstPosition: position, recordCount: 0, endOffset: offset, offsets: new GrowableUint32Array(4096), pageSums: null };
      this.chunks.push(chunk);
    }
    if (offset !== chunk.endOffset) assert(false, `record at offset ${offset} follows the previous one ending at ${chunk.endOffset}`);
    assert(chunk.offsets !== null, 'records are added to the active chunk');
    chunk.offsets.push(offset);
    chunk.recordCount++;
    chunk.endOffset = offset + recordBytes;
    this.next++;
  }

  /**
   * Records a whole sealed chunk at once from its footer's offset map: positions [firstPosition,
   * firstPosition + offsets.length) at these file offsets, the last record ending at endOffset,
   * where the footer starts. With paging, `offsets` are checked and not kept.
   */
  addChunk(chunkNumber: number, firstPosition: number, offsets: ArrayLike<number>, endOffset: number): void {
    if (firstPosition !== this.next) assert(false, `positions are indexed densely: chunk starts at ${firstPosition}, expected ${this.next}`);
    const last = this.chunks[this.chunks.length - 1];
    assert(last === undefined || chunkNumber > last.chunkNumber, 'chunks are indexed in order');
    if (last !== undefined) this.page(last);
    this.chunks.push(this.sealedChunk(chunkNumber, firstPosition, offsets, endOffset));
    this.next += offsets.length;
  }

  /**
   * Swaps in the file a scavenge wrote for chunks firstChunkNumber..lastChunkNumber (one rewritten
   * chunk, or several merged into one file named by the first): the same positions, from
   * firstPosition on, at new offsets, its footer at endOffset. Every position keeps its record;
   * only where it lies changed. The cached pages of the replaced chunks are dropped. Synchronous,
   * so no read sees part of the swap.
   */
  replaceChunks(firstChunkNumber: number, lastChunkNumber: number, firstPosition: number, offsets: ArrayLike<number>, endOffset: number): void {
    let at = 0;
    while (at < this.chunks.length && this.chunks[at].chunkNumber < firstChunkNumber) at++;
    let end = at;
    let count = 0;
    while (end < this.chunks.length && this.chunks[end].chunkNumber <= lastChunkNumber) count += this.chunks[end++].recordCount;
    assert(offsets.length === count, () => `the file replacing chunks ${firstChunkNumber}..${lastChunkNumber} keeps their ${count} positions`);
    assert(at === end || this.chunks[at].firstPosition === firstPosition, 'the new file starts where the old ones did');
    const replacement = this.sealedChunk(firstChunkNumber, firstPosition, offsets, endOffset);
    // A chunk without records may have no entry (records are indexed as they come): so may the file.
    const replaced = this.chunks.splice(at, end - at, ...(offsets.length > 0 ? [replacement] : []));
    // Their pages describe files that are gone: they must never be served again, nor take budget.
    for (const chunk of replaced) this.dropPages(chunk);
  }

  /** Index into the chunk list of the chunk holding `position` (which must be indexed). */
  chunkIndexOf(position: number): number {
    assert(position >= 0 && position < this.next, () => `position ${position} is indexed (next ${this.next})`);
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.chunks[mid].firstPosition <= position) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  chunkNumberAt(chunkIndex: number): number {
    return this.chunks[chunkIndex].chunkNumber;
  }

  /** First position of the chunk at `chunkIndex`. */
  chunkStartPosition(chunkIndex: number): number {
    return this.chunks[chunkIndex].firstPosition;
  }

  /** First position past the chunk at `chunkIndex`. */
  chunkEndPosition(chunkIndex: number): number {
    const chunk = this.chunks[chunkIndex];
    return chunk.firstPosition + chunk.recordCount;
  }

  /**
   * File offset where `position`'s record starts (chunkIndex from chunkIndexOf). May read a page
   * of the chunk's footer: throws CorruptionError when that page cannot be read or is not valid.
   */
  offsetOf(chunkIndex: number, position: number): number {
    const chunk = this.chunks[chunkIndex];
    return this.offsetAt(chunk, position - chunk.firstPosition);
  }

  /** File offset just past `position`'s record (may read a page, as offsetOf). */
  endOf(chunkIndex: number, position: number): number {
    const chunk = this.chunks[chunkIndex];
    const i = position - chunk.firstPosition + 1;
    return i < chunk.recordCount ? this.offsetAt(chunk, i) : chunk.endOffset;
  }

  locate(position: number): RecordLocation {
    const c = this.chunkIndexOf(position);
    const offset = this.offsetOf(c, position);
    return { chunkNumber: this.chunks[c].chunkNumber, offset, recordBytes: this.endOf(c, position) - offset };
  }

  /**
   * Forgets the cached offset pages of the chunk at `chunkIndex`: a read that found a record
   * damaged where these offsets pointed. An offset can pass readPage's checks and still be wrong
   * (the footer damaged since it was checked, or read wrongly once); the record's own checks catch
   * that, and the next read must fetch the page again rather than be sent to the same wrong place
   * after the damage has gone.
   */
  forgetCachedOffsets(chunkIndex: number): void {
    this.dropPages(this.chunks[chunkIndex]);
    this.lastKey = -1;
  }

  /** What this index holds in memory besides a few numbers per chunk. */
  memory(): GlobalIndexMemory {
    let pagedChunks = 0;
    let offsetArrayBytes = 0;
    for (const chunk of this.chunks) {
      if (chunk.offsets === null) pagedChunks++;
      else offsetArrayBytes += chunk.offsets.capacityBytes;
    }
    const cache = this.paging?.cache.stats();
    return {
      chunks: this.chunks.length, pagedChunks, offsetArrayBytes,
      cachedPages: cache?.pages ?? 0, cachedPageBytes: cache?.sizeBytes ?? 0, cacheAllocatedBytes: cache?.allocatedBytes ?? 0,
    };
  }

  /** The entry of a sealed chunk added whole (addChunk, replaceChunks), after checking its offsets. */
  private sealedChunk(chunkNumber: number, firstPosition: number, offsets: ArrayLike<number>, endOffset: number): ChunkPositions {
    for (let i = 1; i < offsets.length; i++) {
      if (offsets[i] <= offsets[i - 1]) assert(false, `record offsets of chunk ${chunkNumber} increase`);
    }
    assert(offsets.length === 0 || offsets[offsets.length - 1] < endOffset, 'the last record ends after it starts');
    const chunk: ChunkPositions = { id: this.nextChunkId++, chunkNumber, firstPosition, recordCount: offsets.length, endOffset, offsets: null, pageSums: null };
    if (this.paging !== null) chunk.pageSums = pageSumsOf(offsets, offsets.length);
    else {
      chunk.offsets = new GrowableUint32Array(Math.max(4, offsets.length));
      for (let i = 0; i < offsets.length; i++) chunk.offsets.push(offsets[i]);
    }
    return chunk;
  }

  /** Drops the offsets of a sealed chunk: from now on they are read from its footer. */
  private page(chunk: ChunkPositions): void {
    if (this.paging === null || chunk.offsets === null) return;
    chunk.pageSums = pageSumsOf(chunk.offsets.toArray(), chunk.recordCount);
    chunk.offsets = null;
  }

  private offsetAt(chunk: ChunkPositions, i: number): number {
    if (chunk.offsets !== null) return chunk.offsets.get(i);
    const cache = this.paging!.cache;
    const page = Math.floor(i / GLOBAL_INDEX_PAGE_OFFSETS);
    const key = chunk.id * CHUNK_PAGES_MAX + page;
    let slot = this.lastSlot;
    if (key !== this.lastKey || !cache.holds(slot, key)) {
      slot = cache.find(key);
      if (slot < 0) slot = this.readPage(chunk, page, key);
      this.lastKey = key;
      this.lastSlot = slot;
    }
    return cache.slab(slot)[cache.base(slot) + i - page * GLOBAL_INDEX_PAGE_OFFSETS];
  }

  /**
   * Reads page `page` of a sealed chunk's offset map into a cache slot, checks it and returns the
   * slot: every offset it should hold is there, the first record starts after the chunk header,
   * offsets grow by at least a record's smallest size, the last lies before the footer, and the
   * page matches the checksum taken when the footer's CRC was checked (index.md §12 says why not
   * the CRC itself).
   */
  private readPage(chunk: ChunkPositions, page: number, key: number): number {
    const cache = this.paging!.cache;
    const first = page * GLOBAL_INDEX_PAGE_OFFSETS;
    const count = Math.min(GLOBAL_INDEX_PAGE_OFFSETS, chunk.recordCount - first);
    assert(count > 0, () => `page ${page} of chunk ${chunk.chunkNumber} holds offsets`);
    const slot = cache.claim(key);
    const words = cache.slab(slot);
    const base = cache.base(slot);
    const at = footerOffsetMapAt(chunk.endOffset) + 4 * first;
    const fail = (k: number, reason: string): never => {
      cache.release(slot);
      throw new CorruptionError({ file: chunkFileName(chunk.chunkNumber), offset: at + 4 * k, reason: `chunk footer: ${reason}` });
    };
    let got: number;
    try {
      got = this.paging!.reader.readOffsets(chunk.chunkNumber, at, count, words, base);
    } catch (error) {
      // An I/O error: the slot holds whatever was read before it, which must not be served later.
      cache.release(slot);
      throw error;
    }
    if (got !== count) fail(got, `offset map page ${page} has ${got} of its ${count} offsets`);
    let floor = first === 0 ? CHUNK_HEADER_BYTES : CHUNK_HEADER_BYTES + RECORD_BYTES_MIN;
    let limit = first === 0 ? CHUNK_HEADER_BYTES : chunk.endOffset - RECORD_BYTES_MIN;
    for (let k = 0; k < count; k++) {
      const offset = words[base + k];
      if (offset < floor || offset > limit) fail(k, `offset ${offset} of position ${chunk.firstPosition + first + k} is out of order`);
      floor = offset + RECORD_BYTES_MIN;
      limit = chunk.endOffset - RECORD_BYTES_MIN;
    }
    // In order yet changed since it was checked (a damaged footer): never cached, never used.
    if (offsetsSum(words, base, count) !== chunk.pageSums![page]) {
      fail(0, `offset map page ${page} differs from the offsets checked when the chunk was opened or sealed`);
    }
    return slot;
  }

  /** Forgets the cached pages of a chunk whose file was replaced. */
  private dropPages(chunk: ChunkPositions): void {
    if (chunk.offsets !== null) return;
    const pages = Math.ceil(chunk.recordCount / GLOBAL_INDEX_PAGE_OFFSETS);
    for (let page = 0; page < pages; page++) this.paging!.cache.drop(chunk.id * CHUNK_PAGES_MAX + page);
  }
}
