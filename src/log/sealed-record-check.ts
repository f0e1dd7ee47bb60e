// The check a scavenge makes of a sealed file's records before it copies any (format-spec/log.md
// §9): spans of back-to-back records go into WASM memory in one copy and through one scanRecords
// call (length, trailer, fields, CRC and position, §3), and their offsets are held to the footer's (§4).

import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import type { Wasm } from '../wasm/kernels.js';
import { WasmRegion } from '../wasm/region.js';
import { DF64_CREATED, DF64_REVISION, DU32_FLAGS_STREAM, DU32_OFFSET, DU32_RECORD_BYTES, RecordDecoder } from '../format/record-decoder.js';
import { DEC_F64_STRIDE, DEC_U32_STRIDE, RECORD_LENGTH_AT, RECORD_POSITION_AT, StopReason, stopReasonName } from '../format/record-layout.js';

/**
 * Checks a sealed file's records span by span. After `check` returns a count, the checked records'
 * fields are in the arrays below at 0..count-1 (JavaScript memory, so they stay valid while WASM
 * memory grows) until the next call.
 */
export class SealedRecordCheck {
  readonly recordBytes: Uint32Array;
  readonly flags: Uint16Array;
  readonly streamIdBytes: Uint16Array;
  readonly revision: Float64Array;
  readonly createdMs: Float64Array;
  private readonly span: WasmRegion;
  private readonly decoder: RecordDecoder;

  /**
   * `spanRecordsMax` and `spanBytesMax` bound one span (a span holds at least one record, however
   * large): one call holds the event loop for about as long as checking that many records takes.
   */
  constructor(private readonly wasm: Wasm, maxRecordBytes: number, private readonly spanRecordsMax: number, private readonly spanBytesMax: number) {
    assert(spanRecordsMax > 0 && spanBytesMax > 0, 'a span holds records');
    this.recordBytes = new Uint32Array(spanRecordsMax);
    this.flags = new Uint16Array(spanRecordsMax);
    this.streamIdBytes = new Uint16Array(spanRecordsMax);
    this.revision = new Float64Array(spanRecordsMax);
    this.createdMs = new Float64Array(spanRecordsMax);
    this.span = new WasmRegion(wasm, spanBytesMax);
    this.decoder = new RecordDecoder(wasm, spanRecordsMax, maxRecordBytes);
  }

  /**
   * Checks the records of file `file` from record `first` on, as many as one span holds. `bytes`
   * is the file from offset 0, `offsets` the footer's record offsets, `endOffset` where the last
   * record ends, `firstPosition` the file's first position. Every record must begin at its footer
   * offset, end where the next begins and pass scanRecords at its position; otherwise throws
   * CorruptionError naming the first bad record (a record no longer tiling the footer's offsets is
   * named by its own offset, as the per-record check before it did). Returns the records checked.
   */
  check(file: string, bytes: Uint8Array, offsets: Uint32Array, first: number, endOffset: number, firstPosition: number): number {
    assert(first < offsets.length && endOffset <= bytes.length, 'a span within the file');
    const spanStart = offsets[first];
    // The span ends at a record boundary the footer gives; offsets not increasing within the
    // records' bytes cannot be a valid footer, whatever the records say.
    let to = first;
    let spanEnd = spanStart;
    while (to < offsets.length && to - first < this.spanRecordsMax) {
      const next = to + 1 < offsets.length ? offsets[to + 1] : endOffset;
      if (next <= offsets[to] || next > endOffset) {
        throw new CorruptionError({ file, offset: offsets[to], reason: `footer puts the record after this one at ${next}, the records end at ${endOffset}` });
      }
      if (to > first && next - spanStart > this.spanBytesMax) break;
      spanEnd = next;
      to++;
    }
    const count = to - first;
    const spanBytes = spanEnd - spanStart;
    this.span.ensure(spanBytes);
    this.wasm.u8.set(bytes.subarray(spanStart, spanEnd), this.span.ptr);
    const valid = this.decoder.scan(this.span.ptr, spanBytes, firstPosition + first, count, true);
    const { u32, f64, u32At, f64At } = this.decoder.views();
    for (let k = 0; k < valid; k++) {
      const u = u32At + k * DEC_U32_STRIDE;
      if (u32[u + DU32_OFFSET] !== offsets[first + k] - spanStart) this.throwMisfit(file, bytes, offsets, first + k - 1);
      const flagsStream = u32[u + DU32_FLAGS_STREAM];
      this.recordBytes[k] = u32[u + DU32_RECORD_BYTES];
      this.flags[k] = flagsStream & 0xffff;
      this.streamIdBytes[k] = flagsStream >>> 16;
      this.revision[k] = f64[f64At + k * DEC_F64_STRIDE + DF64_REVISION];
      this.createdMs[k] = f64[f64At + k * DEC_F64_STRIDE + DF64_CREATED];
    }
    const stop = this.decoder.lastStop();
    const expectedStop = (first + valid < to ? offsets[first + valid] : spanEnd) - spanStart;
    if (stop.offset !== expectedStop) this.throwMisfit(file, bytes, offsets, first + valid - 1);
    if (valid === count) return count;
    const at = offsets[first + valid];
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    switch (stop.reason) {
      case StopReason.BadCrc:
        throw new CorruptionError({ file, offset: at, reason: 'record CRC mismatch', expectedCrc: stop.expectedCrc, actualCrc: stop.actualCrc });
      case StopReason.BadPosition: {
        const position = Number(dv.getBigUint64(at + RECORD_POSITION_AT, true));
        throw new CorruptionError({ file, offset: at, reason: `record holds position ${position}, expected ${firstPosition + first + valid}` });
      }
      case StopReason.Incomplete:
      case StopReason.Zero:
      case StopReason.BadLength:
        return this.throwMisfit(file, bytes, offsets, first + valid);
      default:
        throw new CorruptionError({ file, offset: at, reason: `record: ${stopReasonName(stop.reason)}` });
    }
  }

  /** Gives the WASM memory back. */
  free(): void {
    this.span.free();
    this.decoder.free();
  }

  /** Record `i` does not end where the footer puts the next record. */
  private throwMisfit(file: string, bytes: Uint8Array, offsets: Uint32Array, i: number): never {
    assert(i >= 0, 'the first record of a span begins at its offset');
    const at = offsets[i];
    const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(at + RECORD_LENGTH_AT, true);
    const next = i + 1 < offsets.length ? offsets[i + 1] : 'the end of the records';
    throw new CorruptionError({ file, offset: at, reason: `record of ${length} bytes does not end where the next begins (${next})` });
  }
}
