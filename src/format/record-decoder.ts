// Decoding and validation of records in WASM memory through the record kernels: a scan of
// back-to-back records (recovery, $all) or a check of records at known offsets (stream reads).
// format-spec/log.md §3, §6.

import { assert } from '../util/assert.js';
import type { Wasm } from '../wasm/kernels.js';
import { WasmRegion } from '../wasm/region.js';
import {
  DEC_CREATED, DEC_DATA_LEN, DEC_DESC_BYTES, DEC_FLAGS, DEC_META_LEN, DEC_OFFSET, DEC_POSITION,
  DEC_F64_STRIDE, DEC_RECORD_BYTES, DEC_REVISION, DEC_STREAM_LEN, DEC_STREAM_NO, DEC_TYPE_LEN, DEC_U32_STRIDE, StopReason,
} from './record-layout.js';

export interface DecodeStop {
  reason: StopReason;
  /** Offset of the record where decoding stopped, relative to the region base. */
  offset: number;
  expectedCrc: number;
  actualCrc: number;
}

/** Owns a descriptor array in WASM memory; descriptor accessors read the last decode's results. */
export class RecordDecoder {
  private readonly descs: WasmRegion;
  private readonly status: WasmRegion;

  constructor(private readonly wasm: Wasm, initialRecords: number, private readonly maxRecordBytes: number) {
    this.descs = new WasmRegion(wasm, initialRecords * DEC_DESC_BYTES);
    this.status = new WasmRegion(wasm, 16);
  }

  /** How many descriptors fit without growing. */
  get capacity(): number {
    return Math.floor(this.descs.capacity / DEC_DESC_BYTES);
  }

  /** Grows the descriptor array to hold `count` records (may move WASM regions: re-read pointers). */
  reserve(count: number): void {
    this.descs.ensure(count * DEC_DESC_BYTES);
  }

  get descPtr(): number {
    return this.descs.ptr;
  }

  get descBytes(): number {
    return this.descs.capacity;
  }

  /**
   * Decodes back-to-back records in [base, base+regionBytes) expecting positions firstPosition,
   * firstPosition+1, … Returns the count of valid records; `lastStop()` says why it stopped.
   * `checkCrc` false skips the record CRCs (only for sealed chunks whose footer was checked).
   */
  scan(base: number, regionBytes: number, firstPosition: number, maxRecords = this.capacity, checkCrc = true): number {
    assert(maxRecords <= this.capacity, 'scan within descriptor capacity');
    this.wasm.checkRange(base, regionBytes);
    return this.wasm.k.scanRecords(base, regionBytes, firstPosition, this.maxRecordBytes, maxRecords, this.descs.ptr, this.status.ptr, checkCrc ? 1 : 0);
  }

  /**
   * Continues a chunk body checksum (format-spec/log.md §4) over descriptors [first, first+count)
   * of the last decode, whose records lie at `base`.
   */
  bodyChecksum(crc: number, base: number, first: number, count: number): number {
    assert(first + count <= this.capacity, 'descriptors within capacity');
    return this.wasm.k.bodyChecksumUpdate(crc, base, this.descs.ptr + first * DEC_DESC_BYTES, count) >>> 0;
  }

  /** Sets descriptor i's input: the record's offset in the region and its expected position. */
  expect(i: number, offset: number, position: number): void {
    assert(i < this.capacity, 'descriptor within capacity');
    this.wasm.u32[(this.descs.ptr >>> 2) + i * DEC_U32_STRIDE + DU32_OFFSET] = offset;
    this.wasm.f64[(this.descs.ptr >>> 3) + i * DEC_F64_STRIDE + DF64_POSITION] = position;
  }

  /** Validates the `count` records described by expect(); returns how many leading ones are valid. */
  validateAt(base: number, regionBytes: number, count: number): number {
    assert(count <= this.capacity, 'validate within descriptor capacity');
    this.wasm.checkRange(base, regionBytes);
    return this.wasm.k.validateRecordsAt(base, regionBytes, this.maxRecordBytes, this.descs.ptr, count, this.status.ptr);
  }

  lastStop(): DecodeStop {
    const dv = this.wasm.dv;
    const s = this.status.ptr;
    return {
      reason: dv.getUint32(s, true) as StopReason,
      offset: dv.getUint32(s + 4, true),
      expectedCrc: dv.getUint32(s + 8, true),
      actualCrc: dv.getUint32(s + 12, true),
    };
  }

  /**
   * Typed views of the descriptor array for hot loops: descriptor i's u32 fields start at
   * u32[u32At + i * DEC_U32_STRIDE] and its f64 fields at f64[f64At + i * DEC_F64_STRIDE].
   * Valid until the next WASM allocation.
   */
  views(): DescriptorViews {
    return { u32: this.wasm.u32, f64: this.wasm.f64, u32At: this.descs.ptr >>> 2, f64At: this.descs.ptr >>> 3 };
  }

  /** Reads descriptor i of the last decode into `out` (reused by callers to avoid allocation). */
  read(i: number, out: DecodedRecord): DecodedRecord {
    const dv = this.wasm.dv;
    const d = this.descs.ptr + i * DEC_DESC_BYTES;
    out.offset = dv.getUint32(d + DEC_OFFSET, true);
    out.recordBytes = dv.getUint32(d + DEC_RECORD_BYTES, true);
    out.position = dv.getFloat64(d + DEC_POSITION, true);
    out.revision = dv.getFloat64(d + DEC_REVISION, true);
    out.createdMs = dv.getFloat64(d + DEC_CREATED, true);
    out.flags = dv.getUint16(d + DEC_FLAGS, true);
    out.streamIdBytes = dv.getUint16(d + DEC_STREAM_LEN, true);
    out.eventTypeBytes = dv.getUint16(d + DEC_TYPE_LEN, true);
    out.metadataBytes = dv.getUint32(d + DEC_META_LEN, true);
    out.dataBytes = dv.getUint32(d + DEC_DATA_LEN, true);
    out.streamNo = dv.getUint32(d + DEC_STREAM_NO, true);
    return out;
  }

  free(): void {
    this.descs.free();
    this.status.free();
  }
}

export interface DescriptorViews {
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly u32At: number;
  readonly f64At: number;
}

// Field indexes inside one descriptor, matching record-layout.ts DEC_* byte offsets.
export const DU32_OFFSET = 0;
export const DU32_RECORD_BYTES = 1;
export const DU32_FLAGS_STREAM = 8; // low 16 bits: flags, high 16 bits: stream id bytes
export const DU32_TYPE = 9; // low 16 bits: event type bytes
export const DU32_META = 10;
export const DU32_DATA = 11;
export const DU32_STREAM_NO = 12;
export const DF64_POSITION = 1;
export const DF64_REVISION = 2;
export const DF64_CREATED = 3;

/** The decoded header of one record; payload fields follow at offset + RECORD_HEADER_BYTES. */
export interface DecodedRecord {
  offset: number;
  recordBytes: number;
  position: number;
  revision: number;
  createdMs: number;
  flags: number;
  streamIdBytes: number;
  eventTypeBytes: number;
  metadataBytes: number;
  dataBytes: number;
  streamNo: number;
}

export function emptyDecodedRecord(): DecodedRecord {
  return { offset: 0, recordBytes: 0, position: 0, revision: 0, createdMs: 0, flags: 0, streamIdBytes: 0, eventTypeBytes: 0, metadataBytes: 0, dataBytes: 0, streamNo: 0 };
}
