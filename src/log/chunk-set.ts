// The chunk files of one store: their headers, open handles and durable ends. Shared by the
// recovery, the writer (which adds and seals chunks) and the reader. format-spec/log.md §2.

import { join } from 'node:path';
import { assert } from '../util/assert.js';
import { chunkFileName, type ChunkHeader } from '../format/chunk-layout.js';
import type { FileHandle } from './file-system.js';

export interface ChunkInfo {
  readonly header: ChunkHeader;
  readonly fileName: string;
  /** Open for the store's lifetime: read-only when sealed at open, read-write for the active chunk. */
  handle: FileHandle;
  sealed: boolean;
  /** File offset just past the last durable, committed record. */
  endOffset: number;
  /** Position the record after this chunk's last one takes. */
  nextPosition: number;
}

export class ChunkSet {
  private readonly chunks: ChunkInfo[] = [];

  constructor(readonly dir: string) {}

  get count(): number {
    return this.chunks.length;
  }

  get last(): ChunkInfo {
    assert(this.chunks.length > 0, 'the log has a chunk');
    return this.chunks[this.chunks.length - 1];
  }

  /** Chunk by number; chunks are numbered densely from 0. */
  get(chunkNumber: number): ChunkInfo {
    const chunk = this.chunks[chunkNumber];
    assert(chunk !== undefined, () => `chunk ${chunkNumber} exists`);
    return chunk;
  }

  add(chunk: ChunkInfo): void {
    assert(chunk.header.chunkNumber === this.chunks.length, 'chunks are added in number order');
    if (this.chunks.length > 0) {
      assert(this.last.sealed, 'only a sealed chunk may be followed by another');
      assert(chunk.header.firstPosition === this.last.nextPosition, 'a chunk starts where the previous one ended');
    }
    this.chunks.push(chunk);
  }

  path(chunkNumber: number): string {
    return join(this.dir, chunkFileName(chunkNumber));
  }

  all(): readonly ChunkInfo[] {
    return this.chunks;
  }

  async closeAll(): Promise<void> {
    const chunks = this.chunks.splice(0);
    for (const chunk of chunks) await chunk.handle.close();
  }
}
