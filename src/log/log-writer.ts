// Writes encoded batches to the active chunk: one write + one fdatasync per batch, rolling over
// to a new chunk between transactions, and the periodic checkpoint. After any I/O failure the
// writer refuses every further write until the store is reopened. format-spec/log.md §7.

import { assert } from '../util/assert.js';
import { StoreFailedError } from '../util/errors.js';
import { GrowableUint32Array } from '../util/growable-array.js';
import type { Crc32c } from '../wasm/crc32c.js';
import { CHUNK_HEADER_BYTES } from '../format/chunk-layout.js';
import type { EncodedBatch } from '../format/record-batch-encoder.js';
import type { CheckpointFile } from './checkpoint-file.js';
import { createChunk, sealChunk } from './chunk-files.js';
import type { ChunkInfo, ChunkSet } from './chunk-set.js';
import type { FileSystem } from './file-system.js';

/** Consecutive records of a batch that landed in one chunk. */
export interface WrittenSegment {
  readonly chunkNumber: number;
  /** Index in the batch of the segment's first record. */
  readonly firstRecord: number;
  readonly recordCount: number;
  /** File offset of the segment's first record; record i is at fileOffset + (recordOffsets[i] - batchOffset). */
  readonly fileOffset: number;
  readonly batchOffset: number;
}

export interface LogWriterOptions {
  readonly chunkSizeBytes: number;
  readonly checkpointIntervalMs: number;
}

export class LogWriter {
  private failure: StoreFailedError | null = null;
  private bodyCrc: number;
  private lastCheckpointMs = 0;

  constructor(
    private readonly fs: FileSystem,
    private readonly chunks: ChunkSet,
    private readonly crc: Crc32c,
    private readonly checkpointFile: CheckpointFile,
    private activeOffsets: GrowableUint32Array,
    activeBodyCrc: number,
    private readonly options: LogWriterOptions,
  ) {
    this.bodyCrc = activeBodyCrc;
    assert(!chunks.last.sealed, 'the writer starts with an active chunk');
  }

  /** The position the next record takes. */
  get nextPosition(): number {
    return this.chunks.last.nextPosition;
  }

  /** Set once a write or sync failed; every later write throws it. */
  get failed(): StoreFailedError | null {
    return this.failure;
  }

  /**
   * Writes the batch and resolves once every record is fdatasync'd. `transactionEnds` lists, in
   * order, the batch index just past each transaction's last record; a transaction never spans
   * two chunks. Rejects with StoreFailedError on any I/O error (and stays failed).
   */
  async append(batch: EncodedBatch, transactionEnds: readonly number[], nowMs: number): Promise<WrittenSegment[]> {
    if (this.failure) throw this.failure;
    assert(transactionEnds.length > 0 && transactionEnds[transactionEnds.length - 1] === batch.recordCount, 'transactions cover the batch');
    try {
      return await this.writeSegments(batch, transactionEnds, nowMs);
    } catch (error) {
      throw this.fail(error, 'append');
    }
  }

  private async writeSegments(batch: EncodedBatch, transactionEnds: readonly number[], nowMs: number): Promise<WrittenSegment[]> {
    const offsets = batch.recordOffsets;
    const segments: WrittenSegment[] = [];
    let first = 0;
    let tx = 0;
    while (first < batch.recordCount) {
      let active = this.chunks.last;
      const room = this.options.chunkSizeBytes - active.endOffset;
      let end = first;
      while (tx < transactionEnds.length && offsets[transactionEnds[tx]] - offsets[first] <= room) end = transactionEnds[tx++];
      if (end === first) {
        assert(active.endOffset > CHUNK_HEADER_BYTES, 'a transaction always fits an empty chunk');
        active = await this.rollOver(active, nowMs);
        continue;
      }
      const bytes = batch.bytes.subarray(offsets[first], offsets[end]);
      const fileOffset = active.endOffset;
      await active.handle.write(bytes, fileOffset);
      await active.handle.datasync();
      for (let i = first; i < end; i++) this.activeOffsets.push(fileOffset + offsets[i] - offsets[first]);
      this.bodyCrc = this.crc.ofMemory(batch.wasmBase + offsets[first], bytes.length, this.bodyCrc);
      active.endOffset += bytes.length;
      active.nextPosition += end - first;
      segments.push({ chunkNumber: active.header.chunkNumber, firstRecord: first, recordCount: end - first, fileOffset, batchOffset: offsets[first] });
      first = end;
    }
    return segments;
  }

  private async rollOver(active: ChunkInfo, nowMs: number): Promise<ChunkInfo> {
    await sealChunk(active, this.activeOffsets.toArray(), this.bodyCrc, this.crc);
    const next = await createChunk(this.fs, this.chunks, this.crc, active.nextPosition, this.options.chunkSizeBytes, nowMs);
    this.activeOffsets = new GrowableUint32Array(1024);
    this.bodyCrc = 0;
    await this.writeCheckpoint(false, nowMs);
    return next;
  }

  /** Rewrites the checkpoint when `checkpointIntervalMs` has passed since the last one. */
  async maybeCheckpoint(nowMs: number): Promise<void> {
    if (this.failure || nowMs - this.lastCheckpointMs < this.options.checkpointIntervalMs) return;
    const current = this.checkpointFile.current;
    if (current && current.nextPosition === this.nextPosition && current.chunkNumber === this.chunks.last.header.chunkNumber) {
      this.lastCheckpointMs = nowMs;
      return;
    }
    try {
      await this.writeCheckpoint(false, nowMs);
    } catch (error) {
      throw this.fail(error, 'checkpoint');
    }
  }

  private async writeCheckpoint(clean: boolean, nowMs: number): Promise<void> {
    const active = this.chunks.last;
    await this.checkpointFile.write({ chunkNumber: active.header.chunkNumber, chunkOffset: active.endOffset, nextPosition: active.nextPosition, clean });
    this.lastCheckpointMs = nowMs;
  }

  /** Writes a clean-shutdown checkpoint (unless failed) and closes every file. */
  async close(nowMs: number): Promise<void> {
    try {
      if (!this.failure) await this.writeCheckpoint(true, nowMs);
    } finally {
      await this.chunks.closeAll();
      await this.checkpointFile.close();
    }
  }

  private fail(error: unknown, during: string): StoreFailedError {
    if (error instanceof StoreFailedError) return error;
    this.failure ??= new StoreFailedError(`${during} failed, the store accepts no more writes until reopened: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    return this.failure;
  }
}
