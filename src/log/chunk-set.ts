// The chunk files of one store: their headers, open handles and durable ends. Shared by the
// recovery, the writer (which adds and seals chunks), the reader and the scavenge (which replaces
// sealed files, merging neighbours into one). format-spec/log.md §0, §2, §9.

import { join } from 'node:path';
import { assert } from '../util/assert.js';
import { chunkFileName, type ChunkHeader } from '../format/chunk-layout.js';
import type { FileHandle } from './file-system.js';

export interface ChunkInfo {
  /** chunkNumber..lastChunkNumber are the chunk numbers the file covers (more than one once merged). */
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
  /** The file covering each chunk number (a merged file appears once per number it covers). */
  private readonly byNumber: ChunkInfo[] = [];
  /** Each file once, in chunk-number (and position) order. */
  private readonly files: ChunkInfo[] = [];

  constructor(readonly dir: string) {}

  /** Chunk numbers in use: the next chunk created takes this number. */
  get count(): number {
    return this.byNumber.length;
  }

  /** Chunk files (a merged file counts once). */
  get fileCount(): number {
    return this.files.length;
  }

  get last(): ChunkInfo {
    assert(this.files.length > 0, 'the log has a chunk');
    return this.files[this.files.length - 1];
  }

  /** The file covering chunk number `chunkNumber`; chunks are numbered densely from 0. */
  get(chunkNumber: number): ChunkInfo {
    const chunk = this.byNumber[chunkNumber];
    assert(chunk !== undefined, () => `chunk ${chunkNumber} exists`);
    return chunk;
  }

  add(chunk: ChunkInfo): void {
    assert(chunk.header.chunkNumber === this.byNumber.length, 'chunks are added in number order');
    if (this.files.length > 0) {
      assert(this.last.sealed, 'only a sealed chunk may be followed by another');
      assert(chunk.header.firstPosition === this.last.nextPosition, 'a chunk starts where the previous one ended');
    }
    for (let n = chunk.header.chunkNumber; n <= chunk.header.lastChunkNumber; n++) this.byNumber.push(chunk);
    this.files.push(chunk);
  }

  /**
   * Puts `chunk` (a sealed file written by a scavenge) in place of the consecutive sealed files
   * covering exactly its chunk numbers, and returns them (the caller closes their handles).
   */
  replace(chunk: ChunkInfo): ChunkInfo[] {
    const { chunkNumber: first, lastChunkNumber: last } = chunk.header;
    assert(chunk.sealed && last < this.byNumber.length - 1, () => `chunks ${first}..${last} are sealed and not the active one`);
    const at = this.files.indexOf(this.get(first));
    const end = this.files.indexOf(this.get(last)) + 1;
    assert(this.files[at].header.chunkNumber === first && this.files[end - 1].header.lastChunkNumber === last, () => `files begin at ${first} and end at ${last}`);
    assert(this.files[at].header.firstPosition === chunk.header.firstPosition && this.files[end - 1].nextPosition === chunk.nextPosition, 'the new file holds the same positions');
    for (let n = first; n <= last; n++) this.byNumber[n] = chunk;
    return this.files.splice(at, end - at, chunk);
  }

  path(chunkNumber: number): string {
    return join(this.dir, chunkFileName(chunkNumber));
  }

  /** Every file once, in order. */
  all(): readonly ChunkInfo[] {
    return this.files;
  }

  async closeAll(): Promise<void> {
    const chunks = this.files.splice(0);
    this.byNumber.splice(0);
    for (const chunk of chunks) await chunk.handle.close();
  }
}
