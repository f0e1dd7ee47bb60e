// Codecs of an immutable sorted index file: header, data blocks, fence table and footer, and the
// geometry that places them. format-spec/index.md §2–§6 (constants name their section). Pure: bytes
// in, values out; every failed check is a CorruptionError naming the file and the byte offset.

import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import { compareKeySeqAt, ENTRY_WORDS, isU64 } from './index-entry.js';
import { INDEX_BLOCK_BYTES_MAX, INDEX_BLOCK_BYTES_MIN, INDEX_FILE_ENTRIES_MAX, INDEX_LEVEL_MAX } from './index-limits.js';

export const INDEX_FORMAT_VERSION = 1;

// §2 header: 64 bytes at offset 0; the rest of the first block is zeros.
export const INDEX_MAGIC = 'ANNALIDX';
export const INDEX_HEADER_BYTES = 64;
const H_VERSION = 8; // u32
const H_HEADER_BYTES = 12; // u32
const H_BLOCK_BYTES = 16; // u32, a power of two in [512, 65536]
const H_LEVEL = 20; // u32
const H_ENTRY_COUNT = 24; // u64
const H_FROM_POSITION = 32; // u64, first log position covered
const H_TO_POSITION = 40; // u64, first log position not covered
const H_RESERVED = 48; // 12 bytes of zeros
const H_CRC = 60; // u32 CRC32C of [0, 60)

// §3 data block: a 16-byte block header, then entries, then zeros to the block's end.
export const BLOCK_HEADER_BYTES = 16;
export const BLOCK_HEADER_WORDS = BLOCK_HEADER_BYTES / 4;
const B_CRC = 0; // u32 CRC32C of block bytes [4, blockSizeBytes)
const B_ENTRY_COUNT = 4; // u32
const B_BLOCK_INDEX = 8; // u64, the block's own index: a misplaced intact block is caught
// §4 entry: key, seq, value, u64 each.
export const ENTRY_BYTES = 24;

// §5 fence table: the first (key, seq) of every block, then a CRC and 4 zero bytes.
export const FENCE_ENTRY_BYTES = 16;
export const FENCE_ENTRY_WORDS = 4;
export const FENCE_TRAILER_BYTES = 8;

// §6 footer: the file's last 64 bytes.
export const INDEX_FOOTER_MAGIC = 'ANNALIXF';
export const INDEX_FOOTER_BYTES = 64;
const F_ENTRY_COUNT = 8; // u64, equals the header's
const F_BLOCK_COUNT = 16; // u64
const F_FENCE_OFFSET = 24; // u64
const F_LAST_KEY = 32; // u64, key of the file's greatest entry (0 when empty)
const F_LAST_SEQ = 40; // u64, its seq
const F_RESERVED = 48; // 8 bytes of zeros
const F_HEADER_CRC = 56; // u32, the header's CRC: binds this footer to its header
const F_CRC = 60; // u32 CRC32C of [0, 60)

/** What a CRC32C is computed with (src/wasm/crc32c.ts's Crc32c in production). */
export interface Crc32cOf {
  of(bytes: Uint8Array, crc?: number): number;
}

export interface IndexFileHeader {
  readonly blockSizeBytes: number;
  readonly level: number;
  readonly entryCount: number;
  /** The log positions this file covers: [fromPosition, toPosition). */
  readonly fromPosition: bigint;
  readonly toPosition: bigint;
}

export interface IndexFileFooter {
  readonly entryCount: number;
  readonly blockCount: number;
  readonly fenceOffset: number;
  readonly lastKey: bigint;
  readonly lastSeq: bigint;
  readonly headerCrc: number;
}

/** Where everything of a file lies, derived from its block size and entry count alone (§2.1). */
export interface IndexGeometry {
  readonly blockSizeBytes: number;
  readonly entriesPerBlock: number;
  readonly entryCount: number;
  readonly blockCount: number;
  readonly fenceOffset: number;
  readonly footerOffset: number;
  readonly fileBytes: number;
}

export function isValidBlockSize(blockSizeBytes: number): boolean {
  return Number.isInteger(blockSizeBytes) && blockSizeBytes >= INDEX_BLOCK_BYTES_MIN && blockSizeBytes <= INDEX_BLOCK_BYTES_MAX && (blockSizeBytes & (blockSizeBytes - 1)) === 0;
}

export function entriesPerBlock(blockSizeBytes: number): number {
  return Math.floor((blockSizeBytes - BLOCK_HEADER_BYTES) / ENTRY_BYTES);
}

export function indexGeometry(blockSizeBytes: number, entryCount: number): IndexGeometry {
  assert(isValidBlockSize(blockSizeBytes), () => `block size ${blockSizeBytes} is a power of two in [${INDEX_BLOCK_BYTES_MIN}, ${INDEX_BLOCK_BYTES_MAX}]`);
  assert(Number.isInteger(entryCount) && entryCount >= 0 && entryCount <= INDEX_FILE_ENTRIES_MAX, () => `entry count ${entryCount} within bounds`);
  const perBlock = entriesPerBlock(blockSizeBytes);
  const blockCount = Math.ceil(entryCount / perBlock);
  const fenceOffset = (1 + blockCount) * blockSizeBytes;
  const footerOffset = fenceOffset + blockCount * FENCE_ENTRY_BYTES + FENCE_TRAILER_BYTES;
  return { blockSizeBytes, entriesPerBlock: perBlock, entryCount, blockCount, fenceOffset, footerOffset, fileBytes: footerOffset + INDEX_FOOTER_BYTES };
}

/** File offset of block `blockIndex`: block 0 follows the first block, which holds the header. */
export function blockOffset(geometry: IndexGeometry, blockIndex: number): number {
  return (1 + blockIndex) * geometry.blockSizeBytes;
}

/** Entries block `blockIndex` holds: every block is full except perhaps the last. */
export function blockEntryCount(geometry: IndexGeometry, blockIndex: number): number {
  return blockIndex < geometry.blockCount - 1 ? geometry.entriesPerBlock : geometry.entryCount - (geometry.blockCount - 1) * geometry.entriesPerBlock;
}

const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const MAGIC_BYTES = ascii(INDEX_MAGIC);
const FOOTER_MAGIC_BYTES = ascii(INDEX_FOOTER_MAGIC);

function magicAt(bytes: Uint8Array, at: number, magic: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false;
  return true;
}

function zerosAt(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** A u64 field as a number, or NaN when it is beyond a safe integer. */
function u64Number(dv: DataView, at: number): number {
  const value = dv.getBigUint64(at, true);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : Number.NaN;
}

type Fail = (offset: number, reason: string, crc?: { expectedCrc: number; actualCrc: number }) => never;

function failer(file: string, base: number, what: string): Fail {
  return (offset, reason, crc) => {
    throw new CorruptionError({ file, offset: base + offset, reason: `${what}: ${reason}`, ...crc });
  };
}

export function encodeIndexHeader(header: IndexFileHeader, crc: Crc32cOf): Uint8Array {
  assert(isValidBlockSize(header.blockSizeBytes), 'header block size is valid');
  assert(Number.isInteger(header.level) && header.level >= 0 && header.level <= INDEX_LEVEL_MAX, 'header level within bounds');
  assert(isU64(header.fromPosition) && isU64(header.toPosition) && header.fromPosition <= header.toPosition, 'covered positions are a u64 range');
  const bytes = new Uint8Array(INDEX_HEADER_BYTES);
  const dv = new DataView(bytes.buffer);
  bytes.set(MAGIC_BYTES, 0);
  dv.setUint32(H_VERSION, INDEX_FORMAT_VERSION, true);
  dv.setUint32(H_HEADER_BYTES, INDEX_HEADER_BYTES, true);
  dv.setUint32(H_BLOCK_BYTES, header.blockSizeBytes, true);
  dv.setUint32(H_LEVEL, header.level, true);
  dv.setBigUint64(H_ENTRY_COUNT, BigInt(header.entryCount), true);
  dv.setBigUint64(H_FROM_POSITION, header.fromPosition, true);
  dv.setBigUint64(H_TO_POSITION, header.toPosition, true);
  dv.setUint32(H_CRC, crc.of(bytes.subarray(0, H_CRC)), true);
  return bytes;
}

/** The CRC field of an encoded header (the footer repeats it). */
export function headerCrcOf(headerBytes: Uint8Array): number {
  return new DataView(headerBytes.buffer, headerBytes.byteOffset, INDEX_HEADER_BYTES).getUint32(H_CRC, true);
}

/** Decodes and checks the header (`bytes` = what was read at offset 0, up to 64 bytes). §2.2. */
export function decodeIndexHeader(bytes: Uint8Array, file: string, crc: Crc32cOf): IndexFileHeader {
  const fail = failer(file, 0, 'index header');
  if (bytes.length < INDEX_HEADER_BYTES) fail(bytes.length, `file shorter than the ${INDEX_HEADER_BYTES}-byte header`);
  if (!magicAt(bytes, 0, MAGIC_BYTES)) fail(0, 'bad magic');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, INDEX_HEADER_BYTES);
  const expectedCrc = dv.getUint32(H_CRC, true);
  const actualCrc = crc.of(bytes.subarray(0, H_CRC));
  if (expectedCrc !== actualCrc) fail(H_CRC, 'CRC mismatch', { expectedCrc, actualCrc });
  const version = dv.getUint32(H_VERSION, true);
  if (version !== INDEX_FORMAT_VERSION) fail(H_VERSION, `unsupported format version ${version}`);
  if (dv.getUint32(H_HEADER_BYTES, true) !== INDEX_HEADER_BYTES) fail(H_HEADER_BYTES, `header size ${dv.getUint32(H_HEADER_BYTES, true)}, expected ${INDEX_HEADER_BYTES}`);
  const blockSizeBytes = dv.getUint32(H_BLOCK_BYTES, true);
  if (!isValidBlockSize(blockSizeBytes)) fail(H_BLOCK_BYTES, `block size ${blockSizeBytes} is not a power of two in [${INDEX_BLOCK_BYTES_MIN}, ${INDEX_BLOCK_BYTES_MAX}]`);
  const level = dv.getUint32(H_LEVEL, true);
  if (level > INDEX_LEVEL_MAX) fail(H_LEVEL, `level ${level} above ${INDEX_LEVEL_MAX}`);
  const entryCount = u64Number(dv, H_ENTRY_COUNT);
  if (!(entryCount <= INDEX_FILE_ENTRIES_MAX)) fail(H_ENTRY_COUNT, `entry count ${dv.getBigUint64(H_ENTRY_COUNT, true)} above ${INDEX_FILE_ENTRIES_MAX}`);
  const fromPosition = dv.getBigUint64(H_FROM_POSITION, true);
  const toPosition = dv.getBigUint64(H_TO_POSITION, true);
  if (fromPosition > toPosition) fail(H_FROM_POSITION, `covered range [${fromPosition}, ${toPosition}) is reversed`);
  if (!zerosAt(bytes, H_RESERVED, H_CRC)) fail(H_RESERVED, 'reserved bytes are not zero');
  return { blockSizeBytes, level, entryCount, fromPosition, toPosition };
}

export function encodeIndexFooter(footer: IndexFileFooter, crc: Crc32cOf): Uint8Array {
  const bytes = new Uint8Array(INDEX_FOOTER_BYTES);
  const dv = new DataView(bytes.buffer);
  bytes.set(FOOTER_MAGIC_BYTES, 0);
  dv.setBigUint64(F_ENTRY_COUNT, BigInt(footer.entryCount), true);
  dv.setBigUint64(F_BLOCK_COUNT, BigInt(footer.blockCount), true);
  dv.setBigUint64(F_FENCE_OFFSET, BigInt(footer.fenceOffset), true);
  dv.setBigUint64(F_LAST_KEY, footer.lastKey, true);
  dv.setBigUint64(F_LAST_SEQ, footer.lastSeq, true);
  dv.setUint32(F_HEADER_CRC, footer.headerCrc, true);
  dv.setUint32(F_CRC, crc.of(bytes.subarray(0, F_CRC)), true);
  return bytes;
}

/**
 * Decodes the footer read at `geometry.footerOffset` and checks it against the header (§6):
 * counts and offsets must be the ones the header implies, and it must name the header's CRC.
 */
export function decodeIndexFooter(bytes: Uint8Array, file: string, geometry: IndexGeometry, headerCrc: number, crc: Crc32cOf): IndexFileFooter {
  const fail = failer(file, geometry.footerOffset, 'index footer');
  if (bytes.length < INDEX_FOOTER_BYTES) fail(bytes.length, `truncated: ${bytes.length} of ${INDEX_FOOTER_BYTES} bytes`);
  if (!magicAt(bytes, 0, FOOTER_MAGIC_BYTES)) fail(0, 'bad magic');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, INDEX_FOOTER_BYTES);
  const expectedCrc = dv.getUint32(F_CRC, true);
  const actualCrc = crc.of(bytes.subarray(0, F_CRC));
  if (expectedCrc !== actualCrc) fail(F_CRC, 'CRC mismatch', { expectedCrc, actualCrc });
  if (dv.getUint32(F_HEADER_CRC, true) !== headerCrc) fail(F_HEADER_CRC, 'names a different header (header CRC differs)');
  const entryCount = u64Number(dv, F_ENTRY_COUNT);
  if (entryCount !== geometry.entryCount) fail(F_ENTRY_COUNT, `entry count ${dv.getBigUint64(F_ENTRY_COUNT, true)}, header says ${geometry.entryCount}`);
  const blockCount = u64Number(dv, F_BLOCK_COUNT);
  if (blockCount !== geometry.blockCount) fail(F_BLOCK_COUNT, `block count ${dv.getBigUint64(F_BLOCK_COUNT, true)}, expected ${geometry.blockCount}`);
  const fenceOffset = u64Number(dv, F_FENCE_OFFSET);
  if (fenceOffset !== geometry.fenceOffset) fail(F_FENCE_OFFSET, `fence offset ${dv.getBigUint64(F_FENCE_OFFSET, true)}, expected ${geometry.fenceOffset}`);
  if (!zerosAt(bytes, F_RESERVED, F_HEADER_CRC)) fail(F_RESERVED, 'reserved bytes are not zero');
  const lastKey = dv.getBigUint64(F_LAST_KEY, true);
  const lastSeq = dv.getBigUint64(F_LAST_SEQ, true);
  if (entryCount === 0 && (lastKey !== 0n || lastSeq !== 0n)) fail(F_LAST_KEY, 'an empty file names a last entry');
  return { entryCount, blockCount, fenceOffset, lastKey, lastSeq, headerCrc };
}

/** Bytes of the fence table with its trailer, for `blockCount` blocks. */
export function fenceTableBytes(blockCount: number): number {
  return blockCount * FENCE_ENTRY_BYTES + FENCE_TRAILER_BYTES;
}

/** Writes the fence trailer (CRC of the table, then zeros) after `table` (blockCount × 16 bytes). */
export function encodeFenceTrailer(table: Uint8Array, crc: Crc32cOf): Uint8Array {
  const trailer = new Uint8Array(FENCE_TRAILER_BYTES);
  new DataView(trailer.buffer).setUint32(0, crc.of(table), true);
  return trailer;
}

/**
 * Checks the fence table read at `geometry.fenceOffset` (§5): its CRC, zero padding, and strictly
 * increasing (key, seq). Returns its words, FENCE_ENTRY_WORDS per block (a view of `bytes`).
 */
export function decodeFenceTable(bytes: Uint8Array, file: string, geometry: IndexGeometry, crc: Crc32cOf): Uint32Array {
  const fail = failer(file, geometry.fenceOffset, 'index fence table');
  const tableBytes = geometry.blockCount * FENCE_ENTRY_BYTES;
  if (bytes.length < tableBytes + FENCE_TRAILER_BYTES) fail(bytes.length, `truncated: ${bytes.length} of ${tableBytes + FENCE_TRAILER_BYTES} bytes`);
  assert(bytes.byteOffset % 4 === 0, 'fence bytes are word-aligned');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, tableBytes + FENCE_TRAILER_BYTES);
  const expectedCrc = dv.getUint32(tableBytes, true);
  const actualCrc = crc.of(bytes.subarray(0, tableBytes));
  if (expectedCrc !== actualCrc) fail(tableBytes, 'CRC mismatch', { expectedCrc, actualCrc });
  if (!zerosAt(bytes, tableBytes + 4, tableBytes + FENCE_TRAILER_BYTES)) fail(tableBytes + 4, 'reserved bytes are not zero');
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, geometry.blockCount * FENCE_ENTRY_WORDS);
  for (let b = 1; b < geometry.blockCount; b++) {
    if (compareKeySeqAt(words, (b - 1) * FENCE_ENTRY_WORDS, words, b * FENCE_ENTRY_WORDS) >= 0) {
      fail(b * FENCE_ENTRY_BYTES, `block ${b} does not start after block ${b - 1}`);
    }
  }
  return words;
}

/** Fills in a block's header (entry count, index) and then its CRC. `block` is one whole block. */
export function sealBlock(block: Uint8Array, blockIndex: number, entryCount: number, crc: Crc32cOf): void {
  const dv = new DataView(block.buffer, block.byteOffset, block.length);
  dv.setUint32(B_ENTRY_COUNT, entryCount, true);
  dv.setBigUint64(B_BLOCK_INDEX, BigInt(blockIndex), true);
  dv.setUint32(B_CRC, crc.of(block.subarray(B_CRC + 4)), true);
}

/**
 * Checks one block as read (§3.2): CRC, entry count and index where the geometry expects them,
 * strictly increasing entries, zero padding. `words` views the same bytes. `offset` is its file offset.
 */
export function checkBlock(block: Uint8Array, words: Uint32Array, file: string, offset: number, geometry: IndexGeometry, blockIndex: number, crc: Crc32cOf): void {
  const fail = failer(file, offset, `index block ${blockIndex}`);
  if (block.length < geometry.blockSizeBytes) fail(block.length, `truncated: ${block.length} of ${geometry.blockSizeBytes} bytes`);
  const dv = new DataView(block.buffer, block.byteOffset, geometry.blockSizeBytes);
  const expectedCrc = dv.getUint32(B_CRC, true);
  const actualCrc = crc.of(block.subarray(B_CRC + 4, geometry.blockSizeBytes));
  if (expectedCrc !== actualCrc) fail(B_CRC, 'CRC mismatch', { expectedCrc, actualCrc });
  const count = dv.getUint32(B_ENTRY_COUNT, true);
  const expectedCount = blockEntryCount(geometry, blockIndex);
  if (count !== expectedCount) fail(B_ENTRY_COUNT, `holds ${count} entries, expected ${expectedCount}`);
  const index = u64Number(dv, B_BLOCK_INDEX);
  if (index !== blockIndex) fail(B_BLOCK_INDEX, `names itself block ${dv.getBigUint64(B_BLOCK_INDEX, true)}`);
  for (let i = 1; i < count; i++) {
    const at = BLOCK_HEADER_WORDS + i * ENTRY_WORDS;
    if (compareKeySeqAt(words, at - ENTRY_WORDS, words, at) >= 0) fail(BLOCK_HEADER_BYTES + i * ENTRY_BYTES, `entry ${i} does not follow entry ${i - 1}`);
  }
  const end = BLOCK_HEADER_BYTES + count * ENTRY_BYTES;
  if (!zerosAt(block, end, geometry.blockSizeBytes)) fail(end, 'padding after the entries is not zero');
}
