// Byte layout of a record, its flags, and the descriptor layouts shared with the WASM kernels.
// format-spec/log.md §3 "Record". Mirrors assembly/record.ts one to one.

import { assert } from '../util/assert.js';

// §3.1 fields (offsets inside a record, little-endian).
export const RECORD_LENGTH_AT = 0; // u32 recordBytes
export const RECORD_CRC_AT = 4; // u32 CRC32C of [RECORD_CRC_FROM, recordBytes)
export const RECORD_POSITION_AT = 8; // u64 global position
export const RECORD_REVISION_AT = 16; // u64 stream revision
export const RECORD_CREATED_AT = 24; // i64 Unix epoch milliseconds
export const RECORD_ID_AT = 32; // 16 bytes event id (UUID, RFC 4122 byte order)
export const RECORD_FLAGS_AT = 48; // u16
export const RECORD_STREAM_ID_BYTES_AT = 50; // u16
export const RECORD_EVENT_TYPE_BYTES_AT = 52; // u16
export const RECORD_RESERVED_AT = 54; // u16, zero
export const RECORD_METADATA_BYTES_AT = 56; // u32
export const RECORD_DATA_BYTES_AT = 60; // u32
export const RECORD_HEADER_BYTES = 64; // stream id, event type, metadata, data follow
export const RECORD_TRAILER_BYTES = 4; // u32 recordBytes again, for backward scans
export const RECORD_CRC_FROM = 8;
export const RECORD_BYTES_MIN = RECORD_HEADER_BYTES + RECORD_TRAILER_BYTES;

// §3.2 flags.
export const FLAG_COMMIT = 0x01; // last record of an atomic append: the transaction is complete
export const FLAG_DATA_JSON = 0x02; // data is UTF-8 JSON text
export const FLAG_METADATA_JSON = 0x04; // metadata is UTF-8 JSON text
export const FLAG_METADATA_PRESENT = 0x08; // the event was appended with metadata
export const FLAG_ID_GIVEN = 0x10; // the appender chose the event id (it may retry with it)
export const FLAG_SCAVENGED = 0x20; // a hole left by scavenging: type, metadata and data removed
export const FLAGS_KNOWN = 0x3f;

/** Bytes of a record with these field sizes. */
export function recordBytes(streamIdBytes: number, eventTypeBytes: number, metadataBytes: number, dataBytes: number): number {
  return RECORD_HEADER_BYTES + streamIdBytes + eventTypeBytes + metadataBytes + dataBytes + RECORD_TRAILER_BYTES;
}

// Encode descriptor (input of encodeRecords), 80 bytes.
export const ENC_POSITION = 0; // f64
export const ENC_REVISION = 8; // f64
export const ENC_CREATED = 16; // f64
export const ENC_ID = 24; // 16 bytes
export const ENC_FLAGS = 40; // u32
export const ENC_STREAM_PTR = 44;
export const ENC_STREAM_LEN = 48;
export const ENC_TYPE_PTR = 52;
export const ENC_TYPE_LEN = 56;
export const ENC_META_PTR = 60;
export const ENC_META_LEN = 64;
export const ENC_DATA_PTR = 68;
export const ENC_DATA_LEN = 72;
export const ENC_OUT_OFFSET = 76;
export const ENC_DESC_BYTES = 80;

// Decoded descriptor (output of scanRecords / validateRecordsAt, input of indexRecords), 56 bytes.
export const DEC_OFFSET = 0; // u32, relative to the region base
export const DEC_RECORD_BYTES = 4; // u32
export const DEC_POSITION = 8; // f64
export const DEC_REVISION = 16; // f64
export const DEC_CREATED = 24; // f64
export const DEC_FLAGS = 32; // u16
export const DEC_STREAM_LEN = 34; // u16
export const DEC_TYPE_LEN = 36; // u16
export const DEC_META_LEN = 40; // u32
export const DEC_DATA_LEN = 44; // u32
export const DEC_STREAM_NO = 48; // u32, written by indexRecords
export const DEC_DESC_BYTES = 56;
/** Descriptor stride in u32 and f64 units, for typed-array access (descriptors are 8-aligned). */
export const DEC_U32_STRIDE = DEC_DESC_BYTES / 4;
export const DEC_F64_STRIDE = DEC_DESC_BYTES / 8;

/** Why a scan or validation stopped (status area word 0). */
export const enum StopReason {
  End = 0,
  Incomplete = 1,
  Zero = 2,
  BadLength = 3,
  BadTrailer = 4,
  BadCrc = 5,
  BadPosition = 6,
  BadFields = 7,
  MaxRecords = 8,
}

const STOP_NAMES = ['end', 'incomplete record', 'zero length', 'bad length', 'trailing length mismatch', 'CRC mismatch', 'wrong position', 'inconsistent fields', 'descriptor limit'];

export function stopReasonName(reason: number): string {
  return STOP_NAMES[reason] ?? `unknown stop reason ${reason}`;
}

assert(RECORD_DATA_BYTES_AT + 4 === RECORD_HEADER_BYTES, 'header fields fill the header');
assert(ENC_OUT_OFFSET + 4 === ENC_DESC_BYTES && DEC_STREAM_NO + 8 === DEC_DESC_BYTES, 'descriptor sizes');
