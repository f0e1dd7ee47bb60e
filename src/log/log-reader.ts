// Reads stored bytes of any chunk. Synchronous: reads are served from the page cache, and a
// read never waits behind the writer's fdatasync.

import { assert } from '../util/assert.js';
import type { ChunkSet } from './chunk-set.js';
import { readFully } from './file-system.js';

export class LogReader {
  constructor(private readonly chunks: ChunkSet) {}

  /**
   * Reads [fileOffset, fileOffset+length) of chunk `chunkNumber` into target[targetOffset..].
   * The range must lie within the chunk's durable records; returns the bytes read.
   */
  read(chunkNumber: number, fileOffset: number, length: number, target: Uint8Array, targetOffset: number): number {
    const chunk = this.chunks.get(chunkNumber);
    assert(fileOffset + length <= chunk.endOffset, () => `read [${fileOffset}, ${fileOffset + length}) within the durable end ${chunk.endOffset} of chunk ${chunkNumber}`);
    return readFully(chunk.handle, target, targetOffset, length, fileOffset);
  }

  fileName(chunkNumber: number): string {
    return this.chunks.get(chunkNumber).fileName;
  }
}
