// Record codec kernels: batch encoding, and decode + validation of many records per call.
// format-spec/log.md §3 "Record". Constants mirror src/format/record-layout.ts one to one.

import { crc32cUpdate } from './crc32c';

// §3 record layout (byte offsets inside a record).
const LENGTH_AT: usize = 0;
const CRC_AT: usize = 4;
const POSITION_AT: usize = 8;
const REVISION_AT: usize = 16;
const CREATED_AT: usize = 24;
const ID_AT: usize = 32;
const FLAGS_AT: usize = 48;
const STREAM_ID_BYTES_AT: usize = 50;
const EVENT_TYPE_BYTES_AT: usize = 52;
const RESERVED_AT: usize = 54;
const METADATA_BYTES_AT: usize = 56;
const DATA_BYTES_AT: usize = 60;
const HEADER_BYTES: usize = 64;
const TRAILER_BYTES: usize = 4;
const CRC_FROM: usize = 8; // the CRC covers [8, recordBytes): everything after the leading length and CRC
const MIN_RECORD_BYTES: u32 = <u32>(HEADER_BYTES + TRAILER_BYTES);
const KNOWN_FLAGS: u32 = 0x3f;

// Encode descriptor, written by src/format/record-batch-encoder.ts (80 bytes each).
const ENC_POSITION: usize = 0;
const ENC_REVISION: usize = 8;
const ENC_CREATED: usize = 16;
const ENC_ID: usize = 24;
const ENC_FLAGS: usize = 40;
const ENC_STREAM_PTR: usize = 44;
const ENC_STREAM_LEN: usize = 48;
const ENC_TYPE_PTR: usize = 52;
const ENC_TYPE_LEN: usize = 56;
const ENC_META_PTR: usize = 60;
const ENC_META_LEN: usize = 64;
const ENC_DATA_PTR: usize = 68;
const ENC_DATA_LEN: usize = 72;
const ENC_OUT_OFFSET: usize = 76;
const ENC_DESC_BYTES: usize = 80;

// Decoded descriptor, read by src/format/record-decoder.ts (56 bytes each).
const DEC_OFFSET: usize = 0;
const DEC_RECORD_BYTES: usize = 4;
const DEC_POSITION: usize = 8;
const DEC_REVISION: usize = 16;
const DEC_CREATED: usize = 24;
const DEC_FLAGS: usize = 32;
const DEC_STREAM_LEN: usize = 34;
const DEC_TYPE_LEN: usize = 36;
const DEC_META_LEN: usize = 40;
const DEC_DATA_LEN: usize = 44;
const DEC_DESC_BYTES: usize = 56;

// Stop reasons written to the status area (u32 reason, u32 offset, u32 expected crc, u32 actual crc).
const STOP_END: u32 = 0; // every byte of the region was consumed by valid records
const STOP_INCOMPLETE: u32 = 1; // the last record runs past the region: read more and retry
const STOP_ZERO: u32 = 2; // a zero length field: unwritten space
const STOP_BAD_LENGTH: u32 = 3;
const STOP_BAD_TRAILER: u32 = 4;
const STOP_BAD_CRC: u32 = 5;
const STOP_BAD_POSITION: u32 = 6;
const STOP_BAD_FIELDS: u32 = 7;
const STOP_MAX_RECORDS: u32 = 8;

const ENCODE_OUT_OF_SPACE: i32 = -1;
const ENCODE_BAD_FIELDS: i32 = -2;

/**
 * Encodes `count` records described at `descPtr` into `outPtr` (capacity `outCapacity` bytes),
 * back to back, with CRCs. Writes each record's offset (relative to outPtr) into its descriptor,
 * and a decoded descriptor per record at `decPtr` (what scanRecords would produce), so the batch
 * can be indexed without decoding it again. Returns the bytes written, or a negative code.
 */
export function encodeRecords(descPtr: usize, count: u32, outPtr: usize, outCapacity: usize, decPtr: usize): i32 {
  let at: usize = 0;
  for (let i: u32 = 0; i < count; i++) {
    const d = descPtr + <usize>i * ENC_DESC_BYTES;
    const streamLen = load<u32>(d, ENC_STREAM_LEN);
    const typeLen = load<u32>(d, ENC_TYPE_LEN);
    const metaLen = load<u32>(d, ENC_META_LEN);
    const dataLen = load<u32>(d, ENC_DATA_LEN);
    const flags = load<u32>(d, ENC_FLAGS);
    if (streamLen == 0 || streamLen > 0xffff || typeLen > 0xffff || (flags & ~KNOWN_FLAGS) != 0) {
      return ENCODE_BAD_FIELDS;
    }
    const total = <u64>HEADER_BYTES + <u64>streamLen + <u64>typeLen + <u64>metaLen + <u64>dataLen + <u64>TRAILER_BYTES;
    if (total > 0xffffffff || <u64>at + total > <u64>outCapacity) return ENCODE_OUT_OF_SPACE;
    const r = outPtr + at;
    const recordBytes = <u32>total;
    store<u32>(r, recordBytes, LENGTH_AT);
    store<u64>(r, <u64>load<f64>(d, ENC_POSITION), POSITION_AT);
    store<u64>(r, <u64>load<f64>(d, ENC_REVISION), REVISION_AT);
    store<i64>(r, <i64>load<f64>(d, ENC_CREATED), CREATED_AT);
    store<u64>(r, load<u64>(d, ENC_ID), ID_AT);
    store<u64>(r, load<u64>(d, ENC_ID + 8), ID_AT + 8);
    store<u16>(r, <u16>flags, FLAGS_AT);
    store<u16>(r, <u16>streamLen, STREAM_ID_BYTES_AT);
    store<u16>(r, <u16>typeLen, EVENT_TYPE_BYTES_AT);
    store<u16>(r, 0, RESERVED_AT);
    store<u32>(r, metaLen, METADATA_BYTES_AT);
    store<u32>(r, dataLen, DATA_BYTES_AT);
    let p = r + HEADER_BYTES;
    memory.copy(p, <usize>load<u32>(d, ENC_STREAM_PTR), streamLen);
    p += streamLen;
    memory.copy(p, <usize>load<u32>(d, ENC_TYPE_PTR), typeLen);
    p += typeLen;
    memory.copy(p, <usize>load<u32>(d, ENC_META_PTR), metaLen);
    p += metaLen;
    memory.copy(p, <usize>load<u32>(d, ENC_DATA_PTR), dataLen);
    p += dataLen;
    store<u32>(p, recordBytes);
    store<u32>(r, crc32cUpdate(0, r + CRC_FROM, <usize>recordBytes - CRC_FROM), CRC_AT);
    store<u32>(d, <u32>at, ENC_OUT_OFFSET);
    const o = decPtr + <usize>i * DEC_DESC_BYTES;
    store<u32>(o, <u32>at, DEC_OFFSET);
    store<u32>(o, recordBytes, DEC_RECORD_BYTES);
    store<f64>(o, load<f64>(d, ENC_POSITION), DEC_POSITION);
    store<f64>(o, load<f64>(d, ENC_REVISION), DEC_REVISION);
    store<f64>(o, <f64><i64>load<f64>(d, ENC_CREATED), DEC_CREATED);
    store<u16>(o, <u16>flags, DEC_FLAGS);
    store<u16>(o, <u16>streamLen, DEC_STREAM_LEN);
    store<u16>(o, <u16>typeLen, DEC_TYPE_LEN);
    store<u32>(o, metaLen, DEC_META_LEN);
    store<u32>(o, dataLen, DEC_DATA_LEN);
    at += <usize>recordBytes;
  }
  return <i32>at;
}

function stop(statusPtr: usize, reason: u32, offset: usize, expectedCrc: u32, actualCrc: u32): void {
  store<u32>(statusPtr, reason, 0);
  store<u32>(statusPtr, <u32>offset, 4);
  store<u32>(statusPtr, expectedCrc, 8);
  store<u32>(statusPtr, actualCrc, 12);
}

/**
 * Validates the record at base+offset (region of `regionBytes`), expecting global position
 * `expectedPosition`, and fills descriptor `d`. Returns STOP_END when valid, else the stop reason
 * (the status area gets the reason, offset and CRCs).
 */
function validateOne(
  base: usize, regionBytes: usize, offset: usize, expectedPosition: f64,
  maxRecordBytes: u32, d: usize, statusPtr: usize, checkCrc: bool = true,
): u32 {
  const remaining = regionBytes - offset;
  if (remaining < 4) {
    stop(statusPtr, STOP_INCOMPLETE, offset, 0, 0);
    return STOP_INCOMPLETE;
  }
  const r = base + offset;
  const recordBytes = load<u32>(r, LENGTH_AT);
  if (recordBytes == 0) {
    stop(statusPtr, STOP_ZERO, offset, 0, 0);
    return STOP_ZERO;
  }
  if (recordBytes < MIN_RECORD_BYTES || recordBytes > maxRecordBytes) {
    stop(statusPtr, STOP_BAD_LENGTH, offset, 0, 0);
    return STOP_BAD_LENGTH;
  }
  if (<usize>recordBytes > remaining) {
    stop(statusPtr, STOP_INCOMPLETE, offset, 0, 0);
    return STOP_INCOMPLETE;
  }
  if (load<u32>(r + <usize>recordBytes - TRAILER_BYTES) != recordBytes) {
    stop(statusPtr, STOP_BAD_TRAILER, offset, 0, 0);
    return STOP_BAD_TRAILER;
  }
  if (checkCrc) {
    const expectedCrc = load<u32>(r, CRC_AT);
    const actualCrc = crc32cUpdate(0, r + CRC_FROM, <usize>recordBytes - CRC_FROM);
    if (expectedCrc != actualCrc) {
      stop(statusPtr, STOP_BAD_CRC, offset, expectedCrc, actualCrc);
      return STOP_BAD_CRC;
    }
  }
  const flags = <u32>load<u16>(r, FLAGS_AT);
  const streamLen = <u32>load<u16>(r, STREAM_ID_BYTES_AT);
  const typeLen = <u32>load<u16>(r, EVENT_TYPE_BYTES_AT);
  const metaLen = load<u32>(r, METADATA_BYTES_AT);
  const dataLen = load<u32>(r, DATA_BYTES_AT);
  const sum = <u64>HEADER_BYTES + <u64>streamLen + <u64>typeLen + <u64>metaLen + <u64>dataLen + <u64>TRAILER_BYTES;
  if (
    sum != <u64>recordBytes || streamLen == 0 || (flags & ~KNOWN_FLAGS) != 0 ||
    load<u16>(r, RESERVED_AT) != 0
  ) {
    stop(statusPtr, STOP_BAD_FIELDS, offset, 0, 0);
    return STOP_BAD_FIELDS;
  }
  const position = load<u64>(r, POSITION_AT);
  if (<f64>position != expectedPosition) {
    stop(statusPtr, STOP_BAD_POSITION, offset, 0, 0);
    return STOP_BAD_POSITION;
  }
  store<u32>(d, <u32>offset, DEC_OFFSET);
  store<u32>(d, recordBytes, DEC_RECORD_BYTES);
  store<f64>(d, <f64>position, DEC_POSITION);
  store<f64>(d, <f64>load<u64>(r, REVISION_AT), DEC_REVISION);
  store<f64>(d, <f64>load<i64>(r, CREATED_AT), DEC_CREATED);
  store<u16>(d, <u16>flags, DEC_FLAGS);
  store<u16>(d, <u16>streamLen, DEC_STREAM_LEN);
  store<u16>(d, <u16>typeLen, DEC_TYPE_LEN);
  store<u32>(d, metaLen, DEC_META_LEN);
  store<u32>(d, dataLen, DEC_DATA_LEN);
  return STOP_END;
}

/**
 * Scans back-to-back records in [base, base+regionBytes), the first expected at `firstPosition`
 * and each next one at the following position. Decodes at most `maxRecords` descriptors into
 * `outPtr`. Returns how many records are valid; the status area says why the scan stopped.
 * `checkCrc` 0 skips the records' CRCs (a rebuild of indexes from sealed chunks whose footers
 * were checked: every read checks them again); every other field is still validated.
 */
export function scanRecords(
  base: usize, regionBytes: usize, firstPosition: f64, maxRecordBytes: u32,
  maxRecords: u32, outPtr: usize, statusPtr: usize, checkCrc: u32,
): u32 {
  let offset: usize = 0;
  let n: u32 = 0;
  let position = firstPosition;
  while (true) {
    if (offset == regionBytes) {
      stop(statusPtr, STOP_END, offset, 0, 0);
      return n;
    }
    if (n == maxRecords) {
      stop(statusPtr, STOP_MAX_RECORDS, offset, 0, 0);
      return n;
    }
    const d = outPtr + <usize>n * DEC_DESC_BYTES;
    if (validateOne(base, regionBytes, offset, position, maxRecordBytes, d, statusPtr, checkCrc != 0) != STOP_END) return n;
    offset += <usize>load<u32>(d, DEC_RECORD_BYTES);
    position += 1;
    n++;
  }
}

/**
 * Validates `count` records whose offsets (relative to base) and expected positions the caller
 * wrote into the descriptors at `descPtr`; fills the rest of each descriptor. Returns how many
 * leading records are valid; on a failure the status area names the reason and offset.
 */
export function validateRecordsAt(
  base: usize, regionBytes: usize, maxRecordBytes: u32, descPtr: usize, count: u32, statusPtr: usize,
): u32 {
  for (let i: u32 = 0; i < count; i++) {
    const d = descPtr + <usize>i * DEC_DESC_BYTES;
    const offset = <usize>load<u32>(d, DEC_OFFSET);
    if (offset > regionBytes) {
      stop(statusPtr, STOP_BAD_LENGTH, offset, 0, 0);
      return i;
    }
    const reason = validateOne(base, regionBytes, offset, load<f64>(d, DEC_POSITION), maxRecordBytes, d, statusPtr);
    if (reason != STOP_END) return i;
  }
  stop(statusPtr, STOP_END, regionBytes, 0, 0);
  return count;
}

/**
 * Continues a chunk's body checksum over `count` records described at `descPtr` (decoded
 * descriptors, offsets relative to `base`): CRC32C of each record's first 8 bytes (its length and
 * CRC) in order. Each record's CRC covers the rest of the record, so this commits to every byte.
 */
export function bodyChecksumUpdate(crc: u32, base: usize, descPtr: usize, count: u32): u32 {
  for (let i: u32 = 0; i < count; i++) {
    const d = descPtr + <usize>i * DEC_DESC_BYTES;
    crc = crc32cUpdate(crc, base + <usize>load<u32>(d, DEC_OFFSET), CRC_FROM);
  }
  return crc;
}
