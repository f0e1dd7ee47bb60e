// The global ($all) index: position → (chunk, file offset, record size). Positions are dense, so
// each chunk keeps a plain array of record offsets indexed by position - firstPosition.

import { assert } from '../util/assert.js';
import { GrowableUint32Array } from '../util/growable-array.js';

interface ChunkPositions {
  readonly chunkNumber: number;
  readonly firstPosition: number;
  readonly offsets: GrowableUint32Array;
  /** File offset just past the last indexed record. */
  endOffset: number;
}

export interface RecordLocation {
  chunkNumber: number;
  offset: number;
  recordBytes: number;
}

export class GlobalIndex {
  private readonly chunks: ChunkPositions[] = [];
  private next = 0;

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
      chunk = { chunkNumber, firstPosition: position, offsets: new GrowableUint32Array(4096), endOffset: offset };
      this.chunks.push(chunk);
    }
    if (offset !== chunk.endOffset) assert(false, `record at offset ${offset} follows the previous one ending at ${chunk.endOffset}`);
    chunk.offsets.push(offset);
    chunk.endOffset = offset + recordBytes;
    this.next++;
  }

  /**
   * Records a whole chunk at once from its footer's offset map: positions [firstPosition,
   * firstPosition + offsets.length) at these file offsets, the last record ending at endOffset.
   */
  addChunk(chunkNumber: number, firstPosition: number, offsets: ArrayLike<number>, endOffset: number): void {
    if (firstPosition !== this.next) assert(false, `positions are indexed densely: chunk starts at ${firstPosition}, expected ${this.next}`);
    const last = this.chunks[this.chunks.length - 1];
    assert(last === undefined || chunkNumber > last.chunkNumber, 'chunks are indexed in order');
    const list = new GrowableUint32Array(Math.max(4, offsets.length));
    for (let i = 0; i < offsets.length; i++) {
      if (i > 0 && offsets[i] <= offsets[i - 1]) assert(false, `record offsets of chunk ${chunkNumber} increase`);
      list.push(offsets[i]);
    }
    assert(offsets.length === 0 || offsets[offsets.length - 1] < endOffset, 'the last record ends after it starts');
    this.chunks.push({ chunkNumber, firstPosition, offsets: list, endOffset });
    this.next += offsets.length;
  }

  /**
   * Swaps in the file a scavenge wrote for chunks firstChunkNumber..lastChunkNumber (one rewritten
   * chunk, or several merged into one file named by the first): the same positions, from
   * firstPosition on, at new offsets. Every position keeps its record; only where it lies changed.
   * Synchronous, so no read sees part of the swap.
   */
  replaceChunks(firstChunkNumber: number, lastChunkNumber: number, firstPosition: number, offsets: ArrayLike<number>, endOffset: number): void {
    let at = 0;
    while (at < this.chunks.length && this.chunks[at].chunkNumber < firstChunkNumber) at++;
    let end = at;
    let count = 0;
    while (end < this.chunks.length && this.chunks[end].chunkNumber <= lastChunkNumber) count += this.chunks[end++].offsets.length;
    assert(offsets.length === count, () => `the file replacing chunks ${firstChunkNumber}..${lastChunkNumber} keeps their ${count} positions`);
    assert(at === end || this.chunks[at].firstPosition === firstPosition, 'the new file starts where the old ones did');
    const list = new GrowableUint32Array(Math.max(4, offsets.length));
    for (let i = 0; i < offsets.length; i++) {
      if (i > 0 && offsets[i] <= offsets[i - 1]) assert(false, `record offsets of chunk ${firstChunkNumber} increase`);
      list.push(offsets[i]);
    }
    // A chunk without records may have no entry (records are indexed as they come): so may the file.
    this.chunks.splice(at, end - at, ...(offsets.length > 0 ? [{ chunkNumber: firstChunkNumber, firstPosition, offsets: list, endOffset }] : []));
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
    return chunk.firstPosition + chunk.offsets.length;
  }

  /** File offset where `position`'s record starts (chunkIndex from chunkIndexOf). */
  offsetOf(chunkIndex: number, position: number): number {
    return this.chunks[chunkIndex].offsets.get(position - this.chunks[chunkIndex].firstPosition);
  }

  /** File offset just past `position`'s record. */
  endOf(chunkIndex: number, position: number): number {
    const chunk = this.chunks[chunkIndex];
    const i = position - chunk.firstPosition + 1;
    return i < chunk.offsets.length ? chunk.offsets.get(i) : chunk.endOffset;
  }

  locate(position: number): RecordLocation {
    const c = this.chunkIndexOf(position);
    const offset = this.offsetOf(c, position);
    return { chunkNumber: this.chunks[c].chunkNumber, offset, recordBytes: this.endOf(c, position) - offset };
  }
}
