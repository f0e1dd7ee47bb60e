// Reads a chunk's records front to back in spans through the WASM validator, handing each span's
// committed records to a visitor. Finds where the chunk's valid, committed records end.
// format-spec/log.md §6 "Recovery".

import { GrowableUint32Array } from '../util/growable-array.js';
import { READ_SPAN_BYTES } from '../util/limits.js';
import type { Wasm } from '../wasm/kernels.js';
import { WasmRegion } from '../wasm/region.js';
import { CHUNK_HEADER_BYTES, type ChunkHeader } from '../format/chunk-layout.js';
import { RecordDecoder, emptyDecodedRecord } from '../format/record-decoder.js';
import { DEC_DESC_BYTES, DEC_FLAGS, DEC_RECORD_BYTES, FLAG_COMMIT, StopReason } from '../format/record-layout.js';
import { readFully, type FileHandle } from './file-system.js';

/** Committed records of one span, described by `decoder` descriptors 0..count-1. */
export interface ScannedSpan {
  readonly chunkNumber: number;
  /** File offset of `base`. */
  readonly fileOffset: number;
  /** WASM pointer of the span's first byte. */
  readonly base: number;
  readonly bytes: number;
  readonly decoder: RecordDecoder;
  readonly count: number;
  /** Bytes from `base` to the end of the last committed record. */
  readonly committedBytes: number;
}

export type SpanVisitor = (span: ScannedSpan) => void;

export interface ChunkScan {
  /** File offset just past the last valid record that completes a transaction. */
  endOffset: number;
  /** Position of the record after the last committed one. */
  nextPosition: number;
  /** File offsets of the committed records, in position order. */
  recordOffsets: GrowableUint32Array;
  /** Why the scan stopped, at which file offset (the first byte not accepted). */
  stopReason: StopReason;
  stopOffset: number;
  expectedCrc: number;
  actualCrc: number;
  /** Valid records after the last commit flag: an incomplete transaction that is dropped. */
  uncommittedRecords: number;
}

export class ChunkScanner {
  private readonly span: WasmRegion;
  private readonly decoder: RecordDecoder;

  /** `maxSpanBytes` bounds the span: the largest transaction must fit (maxAppendBytes). */
  constructor(private readonly wasm: Wasm, maxRecordBytes: number, private readonly maxSpanBytes: number) {
    this.span = new WasmRegion(wasm, READ_SPAN_BYTES);
    this.decoder = new RecordDecoder(wasm, 16 * 1024, maxRecordBytes);
  }

  /**
   * Scans records from the header to `limitOffset` (the chunk's capacity) and reports where the
   * committed records end. Never trusts the file size: reads past the end just come back short.
   */
  scan(handle: FileHandle, header: ChunkHeader, limitOffset: number, visit?: SpanVisitor, checkCrc = true): ChunkScan {
    const result: ChunkScan = {
      endOffset: CHUNK_HEADER_BYTES,
      nextPosition: header.firstPosition,
      recordOffsets: new GrowableUint32Array(1024),
      stopReason: StopReason.End,
      stopOffset: CHUNK_HEADER_BYTES,
      expectedCrc: 0,
      actualCrc: 0,
      uncommittedRecords: 0,
    };
    let spanBytes = Math.min(READ_SPAN_BYTES, this.maxSpanBytes);
    const record = emptyDecodedRecord();
    for (;;) {
      const offset = result.endOffset;
      const want = Math.min(spanBytes, limitOffset - offset);
      if (want <= 0) {
        result.stopOffset = offset;
        result.stopReason = StopReason.End;
        return result;
      }
      this.span.ensure(want);
      const got = readFully(handle, this.wasm.u8, this.span.ptr, want, offset);
      const spanLimited = got === want && offset + got < limitOffset;
      // A span holds at most one descriptor per minimal record.
      this.decoder.reserve(Math.ceil(got / 68));
      const n = this.decoder.scan(this.span.ptr, got, result.nextPosition, undefined, checkCrc);
      const stop = this.decoder.lastStop();
      // Find the last record that completes a transaction: only whole transactions are visited.
      let committed = 0;
      let committedBytes = 0;
      let bytes = 0;
      const dv = this.wasm.dv;
      for (let i = 0; i < n; i++) {
        const d = this.decoder.descPtr + i * DEC_DESC_BYTES;
        bytes += dv.getUint32(d + DEC_RECORD_BYTES, true);
        if (dv.getUint16(d + DEC_FLAGS, true) & FLAG_COMMIT) {
          committed = i + 1;
          committedBytes = bytes;
        }
      }
      if (committed > 0) {
        for (let i = 0; i < committed; i++) result.recordOffsets.push(offset + this.decoder.read(i, record).offset);
        visit?.({ chunkNumber: header.chunkNumber, fileOffset: offset, base: this.span.ptr, bytes: got, decoder: this.decoder, count: committed, committedBytes });
        result.endOffset = offset + committedBytes;
        result.nextPosition += committed;
      }
      const moreData = spanLimited && (stop.reason === StopReason.Incomplete || stop.reason === StopReason.End || stop.reason === StopReason.MaxRecords);
      // Nothing committed in a full span means one transaction is larger than the span: widen it,
      // up to the largest transaction the format allows; past that the bytes cannot be a valid log.
      if (moreData && committed > 0) continue;
      if (moreData && spanBytes < this.maxSpanBytes) {
        spanBytes = Math.min(spanBytes * 2, this.maxSpanBytes);
        continue;
      }
      result.uncommittedRecords = n - committed;
      result.stopReason = stop.reason;
      result.stopOffset = offset + stop.offset;
      result.expectedCrc = stop.expectedCrc;
      result.actualCrc = stop.actualCrc;
      return result;
    }
  }

  free(): void {
    this.span.free();
    this.decoder.free();
  }
}
