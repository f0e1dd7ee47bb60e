// Where the global index reads the offsets of sealed chunks from: their footers' position → offset
// maps (format-spec/log.md §4), in the chunk files the log recovered. format-spec/index.md §12.

import { assert } from '../util/assert.js';
import type { FooterOffsetReader } from '../index/global-index.js';
import type { ChunkSet } from '../log/chunk-set.js';
import { readFooterOffsets } from '../log/footer-reader.js';

/**
 * A FooterOffsetReader over the chunk set the log recovery builds: the store makes the indexes
 * before it recovers the log, and binds this once the chunk set exists. Recovery only adds to the
 * global index, so no page is read before.
 */
export class ChunkFooterOffsets implements FooterOffsetReader {
  private chunks: ChunkSet | null = null;

  bind(chunks: ChunkSet): void {
    assert(this.chunks === null, 'the footer reader is bound once');
    this.chunks = chunks;
  }

  readOffsets(chunkNumber: number, fileOffset: number, count: number, target: Uint32Array, targetIndex: number): number {
    assert(this.chunks !== null, 'the global index reads no footer page before the log is recovered');
    return readFooterOffsets(this.chunks.get(chunkNumber), fileOffset, count, target, targetIndex);
  }
}
