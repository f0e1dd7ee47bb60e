// Writes encoded batches to the active chunk. Space is reserved in call order and each batch is
// written with one durable write (O_DSYNC; or write + fdatasync), several batches may be on their
// way to the disk at once, and a batch counts as durable only when every batch before it is too.
// Rolls over to a new chunk between transactions; rewrites the checkpoint periodically. After any
// I/O failure the writer refuses every further write until the store is reopened.
// format-spec/log.md §7 "Durability rule".

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

/** A lone write up to this size is done on the calling thread (it blocks for one durable write). */
const BLOCKING_WRITE_BYTES_MAX = 64 * 1024;

export interface LogWriterOptions {
  readonly chunkSizeBytes: number;
  readonly checkpointIntervalMs: number;
}

interface PlannedSegment extends WrittenSegment {
  /** Resolves when this segment and every segment before it are durable. */
  readonly durable: Promise<void>;
}

/** A write on its way to the disk; writes become durable (and visible) strictly in file order. */
interface IssuedWrite {
  readonly chunk: ChunkInfo;
  readonly bytes: number;
  readonly records: number;
  done: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class LogWriter {
  private failure: StoreFailedError | null = null;
  private bodyChecksum: number;
  private lastCheckpointMs = 0;
  /** End of the space handed out in the active chunk (≥ its durable endOffset). */
  private reservedOffset: number;
  /** Position the next reserved record takes. */
  private reservedPosition: number;
  /** Issued writes in file order, not yet counted as durable. */
  private readonly issued: IssuedWrite[] = [];
  /** Serialises reservations (which may wait for a rollover). */
  private planned: Promise<unknown> = Promise.resolve();
  /** Callers of settled() waiting for the issued writes to drain. */
  private drained: (() => void)[] = [];

  constructor(
    private readonly fs: FileSystem,
    private readonly chunks: ChunkSet,
    private readonly crc: Crc32c,
    private readonly checkpointFile: CheckpointFile,
    private activeOffsets: GrowableUint32Array,
    activeBodyChecksum: number,
    private readonly options: LogWriterOptions,
  ) {
    this.bodyChecksum = activeBodyChecksum;
    assert(!chunks.last.sealed, 'the writer starts with an active chunk');
    this.reservedOffset = chunks.last.endOffset;
    this.reservedPosition = chunks.last.nextPosition;
  }

  /** The position after the last durable record. */
  get nextPosition(): number {
    return this.chunks.last.nextPosition;
  }

  /** Set once a write or sync failed; every later write throws it. */
  get failed(): StoreFailedError | null {
    return this.failure;
  }

  /**
   * Writes the batch and resolves once it and every batch appended before it are durable.
   * Must be called in position order; does not wait for earlier batches before writing.
   * `mayBlock`: the caller has no other work queued, so a small lone write may block the thread.
   * `transactionEnds` lists the batch index just past each transaction's last record; a
   * transaction never spans two chunks. Rejects with StoreFailedError on any I/O error (and the
   * writer stays failed).
   */
  append(batch: EncodedBatch, transactionEnds: readonly number[], nowMs: number, mayBlock = false): Promise<WrittenSegment[]> {
    if (this.failure) return Promise.reject(this.failure);
    assert(transactionEnds.length > 0 && transactionEnds[transactionEnds.length - 1] === batch.recordCount, 'transactions cover the batch');
    assert(batch.firstPosition === this.reservedPosition, () => `batch starts at position ${batch.firstPosition}, the log reserved up to ${this.reservedPosition}`);
    this.reservedPosition += batch.recordCount;
    const plan = this.planned.then(() => this.reserveAndWrite(batch, transactionEnds, nowMs, mayBlock));
    this.planned = plan.catch(() => undefined);
    return plan
      .then(async (segments) => {
        await Promise.all(segments.map((s) => s.durable));
        return segments.map(({ chunkNumber, firstRecord, recordCount, fileOffset, batchOffset }) => ({ chunkNumber, firstRecord, recordCount, fileOffset, batchOffset }));
      })
      .catch((error: unknown) => {
        throw this.fail(error, 'append');
      });
  }

  /** Reserves space for the batch's transactions (rolling over as needed) and starts their writes. */
  private async reserveAndWrite(batch: EncodedBatch, transactionEnds: readonly number[], nowMs: number, mayBlock: boolean): Promise<PlannedSegment[]> {
    if (this.failure) throw this.failure;
    const offsets = batch.recordOffsets;
    const segments: PlannedSegment[] = [];
    let first = 0;
    let tx = 0;
    while (first < batch.recordCount) {
      const active = this.chunks.last;
      const room = this.options.chunkSizeBytes - this.reservedOffset;
      let end = first;
      while (tx < transactionEnds.length && offsets[transactionEnds[tx]] - offsets[first] <= room) end = transactionEnds[tx++];
      if (end === first) {
        assert(this.reservedOffset > CHUNK_HEADER_BYTES, 'a transaction always fits an empty chunk');
        await this.rollOver(active, nowMs);
        continue;
      }
      const length = offsets[end] - offsets[first];
      const fileOffset = this.reservedOffset;
      this.reservedOffset += length;
      for (let i = first; i < end; i++) this.activeOffsets.push(fileOffset + offsets[i] - offsets[first]);
      // File order is reservation order, so the running body checksum is computed here.
      this.bodyChecksum = batch.decoder.bodyChecksum(this.bodyChecksum, batch.wasmBase, first, end - first);
      const durable = this.issue(active, batch.bytes.subarray(offsets[first], offsets[end]), fileOffset, end - first, mayBlock);
      segments.push({ chunkNumber: active.header.chunkNumber, firstRecord: first, recordCount: end - first, fileOffset, batchOffset: offsets[first], durable });
      first = end;
    }
    return segments;
  }

  /** Starts a write; the promise resolves once it and every earlier write are durable. */
  private issue(chunk: ChunkInfo, bytes: Uint8Array, fileOffset: number, records: number, mayBlock: boolean): Promise<void> {
    const durable = this.start(chunk, bytes, fileOffset, records, mayBlock);
    // A failure also fails the writer, which every later step reports; the batch may never get to
    // wait on this promise (a rollover after it can fail first), so its rejection is not left unhandled.
    durable.catch(() => undefined);
    return durable;
  }

  private start(chunk: ChunkInfo, bytes: Uint8Array, fileOffset: number, records: number, mayBlock: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry: IssuedWrite = { chunk, bytes: bytes.length, records, done: false, resolve, reject };
      const alone = this.issued.length === 0;
      this.issued.push(entry);
      if (mayBlock && alone && bytes.length <= BLOCKING_WRITE_BYTES_MAX && chunk.handle.syncWrites) {
        // Nothing else is on its way to the disk and the caller has nothing to prepare meanwhile:
        // writing on this thread saves the thread-pool round trip, a fifth of a lone append's time.
        try {
          chunk.handle.writeNow(bytes, fileOffset);
        } catch (error) {
          this.failWrites(error);
          return;
        }
        entry.done = true;
        this.advance();
        return;
      }
      void (async () => {
        // The active chunk is opened with syncWrites (O_DSYNC): the write is durable when it resolves.
        await chunk.handle.write(bytes, fileOffset);
        if (!chunk.handle.syncWrites) await chunk.handle.datasync();
      })().then(
        () => {
          entry.done = true;
          this.advance();
        },
        (error: unknown) => this.failWrites(error),
      );
    });
  }

  private failWrites(error: unknown): void {
    const failure = this.fail(error, 'append');
    for (const pending of this.issued.splice(0)) pending.reject(failure);
    this.wakeDrained();
  }

  /** Counts completed writes at the head of the file order as durable: the chunk's end moves on. */
  private advance(): void {
    while (this.issued.length > 0 && this.issued[0].done) {
      const entry = this.issued.shift()!;
      entry.chunk.endOffset += entry.bytes;
      entry.chunk.nextPosition += entry.records;
      entry.resolve();
    }
    if (this.issued.length === 0) this.wakeDrained();
  }

  private wakeDrained(): void {
    for (const resolve of this.drained.splice(0)) resolve();
  }

  /** Resolves when no write is in flight. */
  private settled(): Promise<void> {
    if (this.issued.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Waits for the chunk's writes, seals it and creates the next one. */
  private async rollOver(active: ChunkInfo, nowMs: number): Promise<void> {
    await this.settled();
    if (this.failure) throw this.failure;
    assert(active.endOffset === this.reservedOffset, 'every reserved byte is durable before sealing');
    await sealChunk(active, this.activeOffsets.toArray(), this.bodyChecksum, this.crc);
    await createChunk(this.fs, this.chunks, this.crc, active.nextPosition, this.options.chunkSizeBytes, nowMs);
    this.activeOffsets = new GrowableUint32Array(1024);
    this.bodyChecksum = 0;
    this.reservedOffset = CHUNK_HEADER_BYTES;
    await this.writeCheckpoint(false, nowMs);
  }

  /**
   * Rewrites the checkpoint to the durable end when `checkpointIntervalMs` has passed since the
   * last one. Call only between appends' completions (it reads the durable end).
   */
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

  /** Waits for outstanding appends, writes a clean-shutdown checkpoint (unless failed) and closes every file. */
  async close(nowMs: number): Promise<void> {
    try {
      await this.planned;
      await this.settled();
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
