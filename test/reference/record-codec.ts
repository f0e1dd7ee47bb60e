// A plain encoder and decoder of one record, written from the layout alone (format-spec/log.md §3,
// src/format/record-layout.ts): the reference the record kernels in assembly/record.ts must equal.
// Field by field through a DataView, bigints for the 64-bit fields, the reference CRC32C.

import { RECORD_BYTES_MAX } from '../../src/util/limits.js';
import { crc32c } from './crc32c.js';

const HEADER_BYTES = 64;
const TRAILER_BYTES = 4;
const CRC_FROM = 8;
const MIN_RECORD_BYTES = HEADER_BYTES + TRAILER_BYTES;
const KNOWN_FLAGS = 0x3f;
const ID_BYTES = 16;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

/** Every field of one record; payload fields are raw bytes (the format does not check UTF-8). */
export interface RecordFields {
  position: bigint; // u64
  revision: bigint; // u64
  createdMs: bigint; // i64
  id: Uint8Array; // 16 bytes
  flags: number; // u16, known flags only
  streamId: Uint8Array; // 1..65535 bytes
  eventType: Uint8Array; // 0..65535 bytes
  metadata: Uint8Array; // empty when the event has none
  data: Uint8Array;
}

/** A record the decoder accepted: its fields, where it lies and its size. */
export interface DecodedFields extends RecordFields {
  offset: number;
  recordBytes: number;
  crc: number;
}

/**
 * Why a record is rejected, in the order the checks run: nothing after the length can be trusted
 * until the trailer and CRC agree, so the field checks come after them.
 */
export type RejectReason =
  | 'incomplete' // the bytes end inside the record (or inside its length field)
  | 'zero length' // a zero length field: unwritten space
  | 'bad length' // shorter than a header and trailer, or longer than the maximum
  | 'trailer mismatch' // the trailing length differs from the leading one
  | 'crc mismatch'
  | 'inconsistent fields' // the field sizes do not add up to the length, or the stream id is empty
  | 'unknown flags'
  | 'nonzero reserved'
  | 'wrong position';

export type DecodeResult =
  | { ok: true; record: DecodedFields }
  | { ok: false; reason: RejectReason; expectedCrc: number; actualCrc: number };

/** Bytes of the record encoding `fields`. */
export function encodedBytes(fields: RecordFields): number {
  return HEADER_BYTES + fields.streamId.length + fields.eventType.length + fields.metadata.length + fields.data.length + TRAILER_BYTES;
}

/** The bytes of one record. Throws when the fields cannot be represented in the format. */
export function encodeRecord(fields: RecordFields): Uint8Array {
  const { streamId, eventType, metadata, data } = fields;
  if (fields.id.length !== ID_BYTES) throw new RangeError(`id must be ${ID_BYTES} bytes, got ${fields.id.length}`);
  if (streamId.length < 1 || streamId.length > U16_MAX) throw new RangeError(`stream id bytes ${streamId.length} outside 1..${U16_MAX}`);
  if (eventType.length > U16_MAX) throw new RangeError(`event type bytes ${eventType.length} above ${U16_MAX}`);
  if ((fields.flags & ~KNOWN_FLAGS) !== 0) throw new RangeError(`unknown flags 0x${fields.flags.toString(16)}`);
  const total = encodedBytes(fields);
  if (total > U32_MAX) throw new RangeError(`record of ${total} bytes exceeds u32`);

  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, total, true);
  // bytes 4..8: the CRC, written last
  view.setBigUint64(8, fields.position, true);
  view.setBigUint64(16, fields.revision, true);
  view.setBigInt64(24, fields.createdMs, true);
  bytes.set(fields.id, 32);
  view.setUint16(48, fields.flags, true);
  view.setUint16(50, streamId.length, true);
  view.setUint16(52, eventType.length, true);
  view.setUint16(54, 0, true);
  view.setUint32(56, metadata.length, true);
  view.setUint32(60, data.length, true);
  let at = HEADER_BYTES;
  for (const part of [streamId, eventType, metadata, data]) {
    bytes.set(part, at);
    at += part.length;
  }
  view.setUint32(at, total, true);
  sealRecord(bytes, 0);
  return bytes;
}

/** Rewrites the CRC of the record at `offset` (its length field must be right): for tests that tamper with fields. */
export function sealRecord(bytes: Uint8Array, offset: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const total = view.getUint32(offset, true);
  view.setUint32(offset + 4, crc32c(bytes.subarray(offset + CRC_FROM, offset + total)), true);
}

/**
 * Decodes the record at `offset` in `bytes`, which must carry global position `expectedPosition`
 * and be at most `maxRecordBytes` long. Never throws: a bad record is a reason.
 */
export function decodeRecord(bytes: Uint8Array, offset: number, expectedPosition: bigint, maxRecordBytes = RECORD_BYTES_MAX): DecodeResult {
  const reject = (reason: RejectReason, expectedCrc = 0, actualCrc = 0): DecodeResult => ({ ok: false, reason, expectedCrc, actualCrc });
  const available = bytes.length - offset;
  if (available < 4) return reject('incomplete');
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, available);
  const total = view.getUint32(0, true);
  if (total === 0) return reject('zero length');
  if (total < MIN_RECORD_BYTES || total > maxRecordBytes) return reject('bad length');
  if (total > available) return reject('incomplete');
  if (view.getUint32(total - TRAILER_BYTES, true) !== total) return reject('trailer mismatch');
  const storedCrc = view.getUint32(4, true);
  const computedCrc = crc32c(bytes.subarray(offset + CRC_FROM, offset + total));
  if (storedCrc !== computedCrc) return reject('crc mismatch', storedCrc, computedCrc);

  const flags = view.getUint16(48, true);
  const streamIdBytes = view.getUint16(50, true);
  const eventTypeBytes = view.getUint16(52, true);
  const metadataBytes = view.getUint32(56, true);
  const dataBytes = view.getUint32(60, true);
  if (HEADER_BYTES + streamIdBytes + eventTypeBytes + metadataBytes + dataBytes + TRAILER_BYTES !== total || streamIdBytes === 0) {
    return reject('inconsistent fields');
  }
  if ((flags & ~KNOWN_FLAGS) !== 0) return reject('unknown flags');
  if (view.getUint16(54, true) !== 0) return reject('nonzero reserved');
  const position = view.getBigUint64(8, true);
  if (position !== expectedPosition) return reject('wrong position');

  // Copies, as plain Uint8Arrays: a Buffer's slice() would share memory with the input.
  const copy = (from: number, length: number): Uint8Array => Uint8Array.from(bytes.subarray(from, from + length));
  const body = offset + HEADER_BYTES;
  const slice = (from: number, length: number): Uint8Array => copy(body + from, length);
  return {
    ok: true,
    record: {
      offset,
      recordBytes: total,
      crc: storedCrc,
      position,
      revision: view.getBigUint64(16, true),
      createdMs: view.getBigInt64(24, true),
      id: copy(offset + 32, ID_BYTES),
      flags,
      streamId: slice(0, streamIdBytes),
      eventType: slice(streamIdBytes, eventTypeBytes),
      metadata: slice(streamIdBytes + eventTypeBytes, metadataBytes),
      data: slice(streamIdBytes + eventTypeBytes + metadataBytes, dataBytes),
    },
  };
}

/** Where a scan of back-to-back records stopped: 'end' when every byte was a valid record. */
export interface ScanResult {
  records: DecodedFields[];
  stop: RejectReason | 'end';
  stopOffset: number;
  expectedCrc: number;
  actualCrc: number;
}

/** Decodes back-to-back records from offset 0, the first at `firstPosition`, until the bytes end or one is rejected. */
export function scanRecords(bytes: Uint8Array, firstPosition: bigint, maxRecordBytes = RECORD_BYTES_MAX): ScanResult {
  const records: DecodedFields[] = [];
  let offset = 0;
  let position = firstPosition;
  while (offset < bytes.length) {
    const result = decodeRecord(bytes, offset, position, maxRecordBytes);
    if (!result.ok) return { records, stop: result.reason, stopOffset: offset, expectedCrc: result.expectedCrc, actualCrc: result.actualCrc };
    records.push(result.record);
    offset += result.record.recordBytes;
    position += 1n;
  }
  return { records, stop: 'end', stopOffset: offset, expectedCrc: 0, actualCrc: 0 };
}
