// Encodes a group commit's records in one WASM call (assembly/record.ts encodeRecords), which
// also emits the decoded descriptors the indexes consume. format-spec/log.md §3.

import { assert } from '../util/assert.js';
import type { Wasm } from '../wasm/kernels.js';
import { WasmRegion } from '../wasm/region.js';
import { RecordDecoder } from './record-decoder.js';
import {
  ENC_CREATED, ENC_DATA_LEN, ENC_DATA_PTR, ENC_DESC_BYTES, ENC_FLAGS, ENC_ID, ENC_META_LEN,
  ENC_META_PTR, ENC_OUT_OFFSET, ENC_POSITION, ENC_REVISION, ENC_STREAM_LEN, ENC_STREAM_PTR,
  ENC_TYPE_LEN, ENC_TYPE_PTR, DEC_DESC_BYTES, FLAG_COMMIT, recordBytes,
} from './record-layout.js';

/** An event ready to encode: sizes are known and validated by the store. */
export interface PreparedEvent {
  readonly id: Uint8Array; // 16 bytes
  readonly type: string;
  readonly typeBytes: number;
  readonly data: Uint8Array | string; // string = UTF-8 text to encode (JSON)
  readonly dataBytes: number;
  readonly metadata: Uint8Array | string | null;
  readonly metadataBytes: number;
  readonly flags: number; // content flags; the encoder adds FLAG_COMMIT
  readonly recordBytes: number;
}

/** Consecutive events of one stream inside a batch. */
export interface EncodePart {
  readonly streamId: string;
  readonly streamIdBytes: number;
  readonly events: readonly PreparedEvent[];
  readonly firstPosition: number;
  readonly firstRevision: number;
  /** True on the last part of an atomic append: its last record gets FLAG_COMMIT. */
  readonly endsTransaction: boolean;
}

/** The encoded records of one batch. `bytes` is a copy the caller owns; `recordOffsets` has count+1 entries. */
export interface EncodedBatch {
  readonly bytes: Buffer;
  readonly recordOffsets: Uint32Array;
  readonly recordCount: number;
  readonly firstPosition: number;
  /** The encoder's decoder, whose descriptors describe this batch until the next encode(). */
  readonly decoder: RecordDecoder;
  /** The encoded bytes still in WASM memory, valid until the next encode() (for indexing). */
  readonly wasmBase: number;
}

export class RecordBatchEncoder {
  private readonly staging: WasmRegion;
  private readonly descs: WasmRegion;
  private readonly out: WasmRegion;
  /** Descriptors of the last encoded batch, written by the encode kernel (used to index it). */
  readonly decoder: RecordDecoder;

  constructor(private readonly wasm: Wasm, maxRecordBytes: number) {
    this.staging = new WasmRegion(wasm, 64 * 1024);
    this.descs = new WasmRegion(wasm, 64 * ENC_DESC_BYTES);
    this.out = new WasmRegion(wasm, 64 * 1024);
    this.decoder = new RecordDecoder(wasm, 1024, maxRecordBytes);
  }

  /** Encodes the parts in order into one region; pure CPU. */
  encode(parts: readonly EncodePart[], createdMs: number): EncodedBatch {
    let recordCount = 0;
    let stagingBytes = 0;
    let outBytes = 0;
    for (const part of parts) {
      assert(part.firstPosition === parts[0].firstPosition + recordCount, 'parts of a batch hold consecutive positions');
      stagingBytes += part.streamIdBytes;
      for (const e of part.events) {
        assert(recordBytes(part.streamIdBytes, e.typeBytes, e.metadataBytes, e.dataBytes) === e.recordBytes, 'record size measured');
        stagingBytes += e.typeBytes + e.dataBytes + e.metadataBytes;
        outBytes += e.recordBytes;
        recordCount++;
      }
    }
    assert(recordCount > 0, 'a batch holds records');
    // Allocate everything first: an allocation may move regions and replace memory views.
    this.decoder.reserve(recordCount);
    this.staging.ensure(stagingBytes);
    this.descs.ensure(recordCount * ENC_DESC_BYTES);
    this.out.ensure(outBytes);
    const u8 = this.wasm.u8;
    const buf = this.wasm.buf;
    const u32 = this.wasm.u32;
    const f64 = this.wasm.f64;
    let s = this.staging.ptr;
    const put = (value: Uint8Array | string, bytes: number): number => {
      const at = s;
      if (typeof value === 'string') {
        const written = buf.write(value, at, bytes, 'utf8');
        assert(written === bytes, 'string byte length was measured before encoding');
      } else {
        assert(value.length === bytes, 'binary length was measured before encoding');
        u8.set(value, at);
      }
      s += bytes;
      return at;
    };
    // Event types repeat within a batch: stage each distinct one once.
    const typePtrs = new Map<string, number>();
    let d = this.descs.ptr;
    for (const part of parts) {
      const streamPtr = put(part.streamId, part.streamIdBytes);
      for (let i = 0; i < part.events.length; i++) {
        const e = part.events[i];
        const commit = part.endsTransaction && i === part.events.length - 1 ? FLAG_COMMIT : 0;
        let typePtr = typePtrs.get(e.type);
        if (typePtr === undefined) {
          typePtr = put(e.type, e.typeBytes);
          typePtrs.set(e.type, typePtr);
        }
        const f = d >>> 3;
        const u = d >>> 2;
        f64[f + ENC_POSITION / 8] = part.firstPosition + i;
        f64[f + ENC_REVISION / 8] = part.firstRevision + i;
        f64[f + ENC_CREATED / 8] = createdMs;
        u8.set(e.id, d + ENC_ID);
        u32[u + ENC_FLAGS / 4] = e.flags | commit;
        u32[u + ENC_STREAM_PTR / 4] = streamPtr;
        u32[u + ENC_STREAM_LEN / 4] = part.streamIdBytes;
        u32[u + ENC_TYPE_PTR / 4] = typePtr;
        u32[u + ENC_TYPE_LEN / 4] = e.typeBytes;
        u32[u + ENC_META_LEN / 4] = e.metadataBytes;
        u32[u + ENC_META_PTR / 4] = e.metadata === null ? 0 : put(e.metadata, e.metadataBytes);
        u32[u + ENC_DATA_LEN / 4] = e.dataBytes;
        u32[u + ENC_DATA_PTR / 4] = put(e.data, e.dataBytes);
        d += ENC_DESC_BYTES;
      }
    }
    this.wasm.checkRange(this.descs.ptr, recordCount * ENC_DESC_BYTES);
    this.wasm.checkRange(this.out.ptr, outBytes);
    this.wasm.checkRange(this.decoder.descPtr, recordCount * DEC_DESC_BYTES);
    const written = this.wasm.k.encodeRecords(this.descs.ptr, recordCount, this.out.ptr, outBytes, this.decoder.descPtr);
    assert(written === outBytes, () => `encodeRecords wrote ${written} of ${outBytes} bytes`);

    const recordOffsets = new Uint32Array(recordCount + 1);
    const out32 = this.wasm.u32;
    for (let i = 0; i < recordCount; i++) recordOffsets[i] = out32[((this.descs.ptr + i * ENC_DESC_BYTES) >>> 2) + ENC_OUT_OFFSET / 4];
    recordOffsets[recordCount] = outBytes;
    const bytes = Buffer.allocUnsafe(outBytes);
    bytes.set(this.wasm.u8.subarray(this.out.ptr, this.out.ptr + outBytes));
    return { bytes, recordOffsets, recordCount, firstPosition: parts[0].firstPosition, decoder: this.decoder, wasmBase: this.out.ptr };
  }

  free(): void {
    this.staging.free();
    this.descs.free();
    this.out.free();
    this.decoder.free();
  }
}
