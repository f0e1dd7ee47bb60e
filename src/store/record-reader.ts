// Turns a list of global positions into RecordedEvents: neighbouring records are read with one
// pread into WASM memory, validated there in one call per span (CRC, length, position), then
// copied into a buffer the events own. format-spec/log.md §3.3 "Reading".

import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import { READ_BATCH_RECORDS_MAX, READ_SPAN_BYTES } from '../util/limits.js';
import type { Wasm } from '../wasm/kernels.js';
import { WasmRegion } from '../wasm/region.js';
import { RecordDecoder, emptyDecodedRecord } from '../format/record-decoder.js';
import { StopReason, stopReasonName } from '../format/record-layout.js';
import type { LogReader } from '../log/log-reader.js';
import type { GlobalIndex } from '../index/global-index.js';
import { RecordedEvent } from './recorded-event.js';

/** Records further apart than this are read separately rather than with the bytes between them. */
const SPAN_GAP_BYTES_MAX = 16 * 1024;

export class RecordReader {
  private readonly span: WasmRegion;
  private readonly decoder: RecordDecoder;
  private readonly scratch = emptyDecodedRecord();
  // Per-span working arrays, reused across calls.
  private readonly offsets = new Uint32Array(READ_BATCH_RECORDS_MAX);

  constructor(private readonly wasm: Wasm, private readonly log: LogReader, private readonly global: GlobalIndex, maxRecordBytes: number) {
    this.span = new WasmRegion(wasm, READ_SPAN_BYTES);
    this.decoder = new RecordDecoder(wasm, READ_BATCH_RECORDS_MAX, maxRecordBytes);
  }

  /**
   * Reads the events at positions[from..to) in that order (ascending or descending) and pushes
   * them to `out`. `streamId`, when known, saves decoding it per event. Throws CorruptionError
   * when a record fails validation; never returns bytes that differ from what was written.
   */
  read(positions: ArrayLike<number>, from: number, to: number, streamId: string | null, out: RecordedEvent[]): void {
    let i = from;
    while (i < to) i = this.readSpan(positions, i, to, streamId, out);
  }

  /** Reads one span starting at positions[i]; returns the index after the last one it covered. */
  private readSpan(positions: ArrayLike<number>, i: number, to: number, streamId: string | null, out: RecordedEvent[]): number {
    const global = this.global;
    const chunkIndex = global.chunkIndexOf(positions[i]);
    let lo = global.offsetOf(chunkIndex, positions[i]);
    let hi = global.endOf(chunkIndex, positions[i]);
    let j = i + 1;
    // Extend while the next record is in the same chunk, close by, and the span stays bounded.
    const chunkStart = global.chunkStartPosition(chunkIndex);
    const chunkEnd = global.chunkEndPosition(chunkIndex);
    while (j < to && j - i < READ_BATCH_RECORDS_MAX) {
      const p = positions[j];
      if (p < chunkStart || p >= chunkEnd) break;
      const start = global.offsetOf(chunkIndex, p);
      const end = global.endOf(chunkIndex, p);
      const newLo = Math.min(lo, start);
      const newHi = Math.max(hi, end);
      if (newHi - newLo > READ_SPAN_BYTES || (start >= hi ? start - hi : lo - end) > SPAN_GAP_BYTES_MAX) break;
      lo = newLo;
      hi = newHi;
      j++;
    }
    const bytes = hi - lo;
    this.span.ensure(bytes);
    const chunkNumber = global.chunkNumberAt(chunkIndex);
    const got = this.log.read(chunkNumber, lo, bytes, this.wasm.u8, this.span.ptr);
    if (got !== bytes) {
      throw new CorruptionError({ file: this.log.fileName(chunkNumber), offset: lo + got, reason: `short read: ${got} of ${bytes} bytes` });
    }
    const count = j - i;
    for (let k = 0; k < count; k++) {
      const offset = global.offsetOf(chunkIndex, positions[i + k]) - lo;
      this.offsets[k] = offset;
      this.decoder.expect(k, offset, positions[i + k]);
    }
    const valid = this.decoder.validateAt(this.span.ptr, bytes, count);
    if (valid !== count) {
      const stop = this.decoder.lastStop();
      throw new CorruptionError({
        file: this.log.fileName(chunkNumber),
        offset: lo + stop.offset,
        reason: `record at position ${positions[i + valid]}: ${stopReasonName(stop.reason)}`,
        ...(stop.reason === StopReason.BadCrc ? { expectedCrc: stop.expectedCrc, actualCrc: stop.actualCrc } : {}),
      });
    }
    const owned = Buffer.allocUnsafe(bytes);
    owned.set(this.wasm.u8.subarray(this.span.ptr, this.span.ptr + bytes));
    const r = this.scratch;
    for (let k = 0; k < count; k++) {
      this.decoder.read(k, r);
      assert(r.offset === this.offsets[k], 'descriptor order');
      out.push(new RecordedEvent(owned, r.offset, streamId, r.streamIdBytes, r.eventTypeBytes, r.metadataBytes, r.dataBytes, r.flags, r.position, r.revision, r.createdMs));
    }
    return j;
  }

  free(): void {
    this.span.free();
    this.decoder.free();
  }
}
