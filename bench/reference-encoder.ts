// A plain TypeScript encoder of Annal's record format (format-spec/log.md §3, layout in
// src/format/record-layout.ts): the benchmark's yardstick for the WASM batch encoder.

import type { EncodePart } from '../src/format/record-batch-encoder.js';
import {
  FLAG_COMMIT, RECORD_CREATED_AT, RECORD_CRC_AT, RECORD_CRC_FROM, RECORD_DATA_BYTES_AT, RECORD_EVENT_TYPE_BYTES_AT,
  RECORD_FLAGS_AT, RECORD_HEADER_BYTES, RECORD_ID_AT, RECORD_LENGTH_AT, RECORD_METADATA_BYTES_AT, RECORD_POSITION_AT,
  RECORD_RESERVED_AT, RECORD_REVISION_AT, RECORD_STREAM_ID_BYTES_AT,
} from '../src/format/record-layout.js';
import { crc32cSlicing8 } from './reference-crc32c.js';

const U32_SPAN = 0x1_0000_0000;

export interface ReferenceBatch {
  readonly bytes: Buffer;
  /** Offset of each record in `bytes`, plus the total length at the end. */
  readonly recordOffsets: Uint32Array;
}

/** Little-endian u64 of a non-negative safe integer. */
function writeU64(out: Buffer, value: number, at: number): void {
  out.writeUInt32LE(value >>> 0, at);
  out.writeUInt32LE(Math.floor(value / U32_SPAN), at + 4);
}

function writePayload(out: Buffer, value: Uint8Array | string | null, bytes: number, at: number): number {
  if (value === null) return at;
  if (typeof value === 'string') out.write(value, at, bytes, 'utf8');
  else out.set(value, at);
  return at + bytes;
}

/**
 * Encodes the parts' events back to back, exactly as RecordBatchEncoder.encode does (same bytes
 * for the same input), but in JavaScript: header, stream id, type, metadata, data, trailer, CRC32C.
 */
export function encodeBatchReference(parts: readonly EncodePart[], createdMs: number): ReferenceBatch {
  let totalBytes = 0;
  let count = 0;
  for (const part of parts) {
    for (const e of part.events) totalBytes += e.recordBytes;
    count += part.events.length;
  }
  const out = Buffer.allocUnsafe(totalBytes);
  const recordOffsets = new Uint32Array(count + 1);
  let at = 0;
  let k = 0;
  for (const part of parts) {
    for (let i = 0; i < part.events.length; i++) {
      const e = part.events[i];
      const size = e.recordBytes;
      const commit = part.endsTransaction && i === part.events.length - 1 ? FLAG_COMMIT : 0;
      recordOffsets[k++] = at;
      out.writeUInt32LE(size, at + RECORD_LENGTH_AT);
      writeU64(out, part.firstPosition + i, at + RECORD_POSITION_AT);
      writeU64(out, part.firstRevision + i, at + RECORD_REVISION_AT);
      writeU64(out, createdMs, at + RECORD_CREATED_AT);
      out.set(e.id, at + RECORD_ID_AT);
      out.writeUInt16LE(e.flags | commit, at + RECORD_FLAGS_AT);
      out.writeUInt16LE(part.streamIdBytes, at + RECORD_STREAM_ID_BYTES_AT);
      out.writeUInt16LE(e.typeBytes, at + RECORD_EVENT_TYPE_BYTES_AT);
      out.writeUInt16LE(0, at + RECORD_RESERVED_AT);
      out.writeUInt32LE(e.metadataBytes, at + RECORD_METADATA_BYTES_AT);
      out.writeUInt32LE(e.dataBytes, at + RECORD_DATA_BYTES_AT);
      let p = writePayload(out, part.streamId, part.streamIdBytes, at + RECORD_HEADER_BYTES);
      p = writePayload(out, e.type, e.typeBytes, p);
      p = writePayload(out, e.metadata, e.metadataBytes, p);
      p = writePayload(out, e.data, e.dataBytes, p);
      if (p + 4 !== at + size) throw new Error(`record ${k - 1} measured ${size} bytes but its fields take ${p + 4 - at}`);
      out.writeUInt32LE(size, p);
      out.writeUInt32LE(crc32cSlicing8(out, 0, at + RECORD_CRC_FROM, at + size), at + RECORD_CRC_AT);
      at += size;
    }
  }
  recordOffsets[count] = at;
  return { bytes: out, recordOffsets };
}
