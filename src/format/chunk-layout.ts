// Chunk file header and footer codecs, and chunk file names. format-spec/log.md §0, §2 and §4.
// Pure: bytes in, values out; decoding failures are CorruptionErrors naming the file and offset.

import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import { POSITION_MAX } from '../util/limits.js';
import type { Crc32c } from '../wasm/crc32c.js';

/** Version of a chunk file that covers one chunk number: every chunk the writer creates. */
export const FORMAT_VERSION = 1;
/**
 * Version of a chunk file a scavenge merged from several (§2.3, §9): it covers chunk numbers
 * chunkNumber..lastChunkNumber. A version-1 reader refuses it rather than misread the directory.
 */
export const MERGED_FORMAT_VERSION = 2;

// §2 chunk header, 128 bytes at offset 0.
export const CHUNK_MAGIC = 'ANNALCHK';
export const CHUNK_HEADER_BYTES = 128;
const H_VERSION = 8; // u32
const H_HEADER_BYTES = 12; // u32
const H_CHUNK_NUMBER = 16; // u64
const H_FIRST_POSITION = 24; // u64
const H_CHUNK_SIZE = 32; // u64 capacity: records end at or before this file offset
const H_CREATED = 40; // i64 ms
const H_LAST_CHUNK_NUMBER = 48; // u64, version 2 only (reserved zeros in version 1)
const H_CRC = 124; // u32 CRC32C of [0, 124)

// §4 chunk footer: fixed part, u32 offset per record, 16-byte trailer at the very end of the file.
export const FOOTER_MAGIC = 'ANNALFTR';
export const TRAILER_MAGIC = 'ANNALEND';
export const FOOTER_FIXED_BYTES = 40;
export const FOOTER_TRAILER_BYTES = 16;
const F_RECORD_COUNT = 8; // u64
const F_NEXT_POSITION = 16; // u64
const F_BODY_BYTES = 24; // u64
const F_BODY_CHECKSUM = 32; // u32
const T_FOOTER_BYTES = 0; // u32, whole footer including trailer
const T_CRC = 4; // u32 CRC32C of footer bytes [0, footerBytes - 12)
const T_MAGIC = 8;

export interface ChunkHeader {
  /** The first chunk number the file covers; its file name carries it. */
  chunkNumber: number;
  /** The last chunk number it covers: chunkNumber, or more for a file merged by a scavenge (version 2). */
  lastChunkNumber: number;
  firstPosition: number;
  chunkSizeBytes: number;
  createdMs: number;
}

export interface ChunkFooter {
  recordCount: number;
  nextPosition: number;
  bodyBytes: number;
  bodyChecksum: number;
  /** File offset of each record, in position order. */
  recordOffsets: Uint32Array;
}

const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const CHUNK_MAGIC_BYTES = ascii(CHUNK_MAGIC);
const FOOTER_MAGIC_BYTES = ascii(FOOTER_MAGIC);
const TRAILER_MAGIC_BYTES = ascii(TRAILER_MAGIC);

function magicAt(bytes: Uint8Array, at: number, magic: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false;
  return true;
}

function u64(dv: DataView, at: number): number {
  const value = dv.getBigUint64(at, true);
  return value <= BigInt(POSITION_MAX) ? Number(value) : Number.NaN;
}

export function encodeChunkHeader(header: ChunkHeader, crc: Crc32c): Uint8Array {
  const bytes = new Uint8Array(CHUNK_HEADER_BYTES);
  const dv = new DataView(bytes.buffer);
  assert(header.lastChunkNumber >= header.chunkNumber, 'a chunk file covers at least its own number');
  const merged = header.lastChunkNumber > header.chunkNumber;
  bytes.set(CHUNK_MAGIC_BYTES, 0);
  // A file of one chunk keeps version 1, byte for byte: only merged files need a newer reader.
  dv.setUint32(H_VERSION, merged ? MERGED_FORMAT_VERSION : FORMAT_VERSION, true);
  dv.setUint32(H_HEADER_BYTES, CHUNK_HEADER_BYTES, true);
  dv.setBigUint64(H_CHUNK_NUMBER, BigInt(header.chunkNumber), true);
  if (merged) dv.setBigUint64(H_LAST_CHUNK_NUMBER, BigInt(header.lastChunkNumber), true);
  dv.setBigUint64(H_FIRST_POSITION, BigInt(header.firstPosition), true);
  dv.setBigUint64(H_CHUNK_SIZE, BigInt(header.chunkSizeBytes), true);
  dv.setBigInt64(H_CREATED, BigInt(Math.trunc(header.createdMs)), true);
  dv.setUint32(H_CRC, crc.of(bytes.subarray(0, H_CRC)), true);
  return bytes;
}

export function decodeChunkHeader(bytes: Uint8Array, file: string, crc: Crc32c): ChunkHeader {
  const fail = (offset: number, reason: string, extra?: { expectedCrc: number; actualCrc: number }): never => {
    throw new CorruptionError({ file, offset, reason: `chunk header: ${reason}`, ...extra });
  };
  if (bytes.length < CHUNK_HEADER_BYTES) fail(bytes.length, `file shorter than the ${CHUNK_HEADER_BYTES}-byte header`);
  if (!magicAt(bytes, 0, CHUNK_MAGIC_BYTES)) fail(0, 'bad magic');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, CHUNK_HEADER_BYTES);
  const expectedCrc = dv.getUint32(H_CRC, true);
  const actualCrc = crc.of(bytes.subarray(0, H_CRC));
  if (expectedCrc !== actualCrc) fail(H_CRC, 'CRC mismatch', { expectedCrc, actualCrc });
  const version = dv.getUint32(H_VERSION, true);
  if (version !== FORMAT_VERSION && version !== MERGED_FORMAT_VERSION) fail(H_VERSION, `unsupported format version ${version}`);
  if (dv.getUint32(H_HEADER_BYTES, true) !== CHUNK_HEADER_BYTES) fail(H_HEADER_BYTES, 'unexpected header size');
  const chunkNumber = u64(dv, H_CHUNK_NUMBER);
  const header = {
    chunkNumber,
    lastChunkNumber: version === MERGED_FORMAT_VERSION ? u64(dv, H_LAST_CHUNK_NUMBER) : chunkNumber,
    firstPosition: u64(dv, H_FIRST_POSITION),
    chunkSizeBytes: u64(dv, H_CHUNK_SIZE),
    createdMs: Number(dv.getBigInt64(H_CREATED, true)),
  };
  if (Number.isNaN(header.chunkNumber) || Number.isNaN(header.firstPosition) || Number.isNaN(header.chunkSizeBytes)) {
    fail(H_CHUNK_NUMBER, 'number out of range');
  }
  if (version === MERGED_FORMAT_VERSION && !(header.lastChunkNumber > header.chunkNumber)) {
    fail(H_LAST_CHUNK_NUMBER, `a merged chunk file must cover chunks after ${header.chunkNumber}, not up to ${header.lastChunkNumber}`);
  }
  if (header.chunkSizeBytes <= CHUNK_HEADER_BYTES || header.chunkSizeBytes > 0xffffffff) fail(H_CHUNK_SIZE, 'chunk size out of range');
  return header;
}

export function footerBytes(recordCount: number): number {
  return FOOTER_FIXED_BYTES + 4 * recordCount + FOOTER_TRAILER_BYTES;
}

/** §4: file offset of a sealed chunk's recordOffsets (u32 each), its footer starting at `endOffset`. */
export function footerOffsetMapAt(endOffset: number): number {
  return endOffset + FOOTER_FIXED_BYTES;
}

export function encodeChunkFooter(footer: ChunkFooter, crc: Crc32c): Uint8Array {
  assert(footer.recordOffsets.length === footer.recordCount, 'one offset per record');
  const total = footerBytes(footer.recordCount);
  const bytes = new Uint8Array(total);
  const dv = new DataView(bytes.buffer);
  bytes.set(FOOTER_MAGIC_BYTES, 0);
  dv.setBigUint64(F_RECORD_COUNT, BigInt(footer.recordCount), true);
  dv.setBigUint64(F_NEXT_POSITION, BigInt(footer.nextPosition), true);
  dv.setBigUint64(F_BODY_BYTES, BigInt(footer.bodyBytes), true);
  dv.setUint32(F_BODY_CHECKSUM, footer.bodyChecksum, true);
  for (let i = 0; i < footer.recordCount; i++) dv.setUint32(FOOTER_FIXED_BYTES + 4 * i, footer.recordOffsets[i], true);
  const t = total - FOOTER_TRAILER_BYTES;
  dv.setUint32(t + T_FOOTER_BYTES, total, true);
  dv.setUint32(t + T_CRC, crc.of(bytes.subarray(0, t + T_CRC)), true);
  bytes.set(TRAILER_MAGIC_BYTES, t + T_MAGIC);
  return bytes;
}

/** Reads the footer length from a file's last 16 bytes, or null when they are not a trailer. */
export function decodeFooterTrailer(trailer: Uint8Array): number | null {
  if (trailer.length !== FOOTER_TRAILER_BYTES || !magicAt(trailer, T_MAGIC, TRAILER_MAGIC_BYTES)) return null;
  const total = new DataView(trailer.buffer, trailer.byteOffset, trailer.length).getUint32(T_FOOTER_BYTES, true);
  return total >= footerBytes(0) && (total - footerBytes(0)) % 4 === 0 ? total : null;
}

/** Decodes a whole footer (`bytes` = the file's last footerBytes); `at` is its file offset. */
export function decodeChunkFooter(bytes: Uint8Array, file: string, at: number, crc: Crc32c): ChunkFooter {
  const fail = (offset: number, reason: string, extra?: { expectedCrc: number; actualCrc: number }): never => {
    throw new CorruptionError({ file, offset: at + offset, reason: `chunk footer: ${reason}`, ...extra });
  };
  const total = bytes.length;
  const t = total - FOOTER_TRAILER_BYTES;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, total);
  if (!magicAt(bytes, 0, FOOTER_MAGIC_BYTES)) fail(0, 'bad magic');
  // The end magic lies outside the footer CRC: check it and the length field on their own.
  if (!magicAt(bytes, t + T_MAGIC, TRAILER_MAGIC_BYTES)) fail(t + T_MAGIC, 'bad end magic');
  if (dv.getUint32(t + T_FOOTER_BYTES, true) !== total) fail(t + T_FOOTER_BYTES, 'trailer length disagrees with the footer');
  const expectedCrc = dv.getUint32(t + T_CRC, true);
  const actualCrc = crc.of(bytes.subarray(0, t + T_CRC));
  if (expectedCrc !== actualCrc) fail(t + T_CRC, 'CRC mismatch', { expectedCrc, actualCrc });
  const recordCount = u64(dv, F_RECORD_COUNT);
  if (footerBytes(recordCount) !== total) fail(F_RECORD_COUNT, 'record count disagrees with footer size');
  // The map's u32s are little-endian like the host's words (log/footer-reader.ts reads pages of
  // it the same way): where the map lies word-aligned in memory it is copied whole.
  const mapAt = bytes.byteOffset + FOOTER_FIXED_BYTES;
  const recordOffsets = mapAt % 4 === 0 ? new Uint32Array(bytes.buffer.slice(mapAt, mapAt + 4 * recordCount)) : new Uint32Array(recordCount);
  if (mapAt % 4 !== 0) for (let i = 0; i < recordCount; i++) recordOffsets[i] = dv.getUint32(FOOTER_FIXED_BYTES + 4 * i, true);
  return {
    recordCount,
    nextPosition: u64(dv, F_NEXT_POSITION),
    bodyBytes: u64(dv, F_BODY_BYTES),
    bodyChecksum: dv.getUint32(F_BODY_CHECKSUM, true),
    recordOffsets,
  };
}

// §0 file names: chunk-<number, at least 6 digits>.annal (a merged file is named by its first
// chunk number); a chunk being created has ".tmp" appended.
const CHUNK_NAME = /^chunk-(\d{6,})\.annal$/;

export function chunkFileName(chunkNumber: number): string {
  return `chunk-${String(chunkNumber).padStart(6, '0')}.annal`;
}

export function parseChunkFileName(name: string): number | null {
  const match = CHUNK_NAME.exec(name);
  return match ? Number(match[1]) : null;
}
