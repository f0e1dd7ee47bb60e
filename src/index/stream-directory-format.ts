// Codecs of the stream directory file, format version 2 (format-spec/index.md §13): header, data
// blocks of variable-length entries with an offset table, fence table and names. Pure: bytes in,
// values out; every failed check is a CorruptionError naming the file and the byte offset.

import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import { STREAM_ID_BYTES_MAX } from '../util/limits.js';
import type { Crc32cOf } from './index-file-format.js';

export const DIRECTORY_FORMAT_VERSION = 2;

/** One entry of the directory: a stream id and what the store keeps about the stream. */
export interface DirectoryEntry {
  /** UTF-8 bytes of the stream id: 1 .. DIRECTORY_ID_BYTES_MAX bytes. */
  readonly id: Uint8Array;
  /** The stream's number (u32), dense over the store: keys of the stream index entries. */
  readonly streamNo: number;
  /** Last revision + 1 (u32). */
  readonly revisionCount: number;
  /** Category number + 1 (u32); 0 when the id has no '-'. */
  readonly category: number;
  /** Bytes of the stream's records in the log, a safe integer >= 0 (u64 on disk). */
  readonly recordBytes: number;
}

// §13.1 limits.
/** Every data block (and the header's block) is this long, and blocks start at multiples of it. */
export const DIRECTORY_BLOCK_BYTES = 4096;
/** A stream id of the longest length plus the `$$` of its metadata stream. */
export const DIRECTORY_ID_BYTES_MAX = STREAM_ID_BYTES_MAX + 2;
/** The store's opaque idempotency-window bytes. */
export const DIRECTORY_RECENT_IDS_BYTES_MAX = 64 * 1024 * 1024;
/** Blocks are read (at open, and by a rewrite) and written in spans of this many bytes. */
export const DIRECTORY_SPAN_BYTES = 1024 * 1024;
export const DIRECTORY_SPAN_BLOCKS = DIRECTORY_SPAN_BYTES / DIRECTORY_BLOCK_BYTES;

/** Bounds of the stream filter section (a power of two in between, or none): §13.6. */
export const DIRECTORY_FILTER_BYTES_MIN = 32;
export const DIRECTORY_FILTER_BYTES_MAX = 512 * 1024 * 1024;

// §13.2 header: 64 bytes at offset 0; the rest of the first block is zeros.
export const DIRECTORY_MAGIC = 'ANNALSDR';
export const DIRECTORY_HEADER_BYTES = 64;
const H_VERSION = 8; // u32 = 2
const H_BLOCK_BYTES = 12; // u32 = 4096
const H_COVERED_POSITION = 16; // u64
const H_STREAM_COUNT = 24; // u32, = number of entries
const H_BLOCK_COUNT = 28; // u32
const H_CATEGORY_COUNT = 32; // u32
const H_EVENT_TYPE_COUNT = 36; // u32
const H_FENCE_BYTES = 40; // u32, length of the fence section
const H_NAME_BYTES = 44; // u32, length of the names section
const H_RECENT_IDS_BYTES = 48; // u32, length of the recent-ids section
const H_TAIL_CRC = 52; // u32 CRC32C of [fenceOffset, end of file)
const H_FILTER_BYTES = 56; // u32, length of the stream filter section (0, or a power of two >= 32)
const H_CRC = 60; // u32 CRC32C of [0, 60)

// §13.3 data block: CRC, block index, entry count, then an offset per entry, then the entries.
const B_CRC = 0; // u32 CRC32C of block bytes [4, 4096): padding included
const B_BLOCK_INDEX = 4; // u32: an intact block in the wrong place is caught
const B_ENTRY_COUNT = 8; // u16, >= 1
export const BLOCK_HEADER_BYTES = 10; // then u16 offsets[entryCount], each from the block's start

// §13.4 entry: u16 id length, id, u32 streamNo, u32 revisionCount, u32 category, u64 recordBytes.
export const ENTRY_FIXED_BYTES = 22;
const E_STREAM_NO = 0; // relative to the end of the id
const E_REVISION_COUNT = 4;
const E_CATEGORY = 8;
const E_RECORD_BYTES_LO = 12;
const E_RECORD_BYTES_HI = 16;
/** The greatest high u32 of a u64 that is still a safe integer (2^53 - 1 = 0x1FFFFF_FFFFFFFF). */
const U64_HIGH_SAFE_MAX = 0x1f_ffff;

/** An entry plus its slot in the offset table. */
export const ENTRY_SLOT_BYTES_MAX = 2 + ENTRY_FIXED_BYTES + DIRECTORY_ID_BYTES_MAX;
/** The most entries a block can hold (ids of one byte). */
export const BLOCK_ENTRIES_MAX = Math.floor((DIRECTORY_BLOCK_BYTES - BLOCK_HEADER_BYTES) / (2 + ENTRY_FIXED_BYTES + 1));

assert(BLOCK_HEADER_BYTES + ENTRY_SLOT_BYTES_MAX <= DIRECTORY_BLOCK_BYTES, 'the largest entry fits a block on its own');
assert(BLOCK_ENTRIES_MAX <= 0xffff && DIRECTORY_BLOCK_BYTES <= 0x10000, 'entry counts and in-block offsets fit a u16');
assert(DIRECTORY_SPAN_BYTES % DIRECTORY_BLOCK_BYTES === 0 && DIRECTORY_HEADER_BYTES <= DIRECTORY_BLOCK_BYTES, 'spans are whole blocks; the header fits its block');
assert(DIRECTORY_RECENT_IDS_BYTES_MAX <= 0xffffffff, 'the recent-ids length fits its u32 field');

export function entryBytes(idLength: number): number {
  return ENTRY_FIXED_BYTES + idLength;
}

/** Order of ids in the file: bytewise (Buffer.compare), which is Unicode code point order for UTF-8. */
export function compareIds(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Bytewise comparison of a[aAt, aAt + aLength) with b[bAt, bAt + bLength), without allocating. */
export function compareBytesAt(a: Uint8Array, aAt: number, aLength: number, b: Uint8Array, bAt: number, bLength: number): number {
  const n = aLength < bLength ? aLength : bLength;
  for (let i = 0; i < n; i++) {
    const d = a[aAt + i] - b[bAt + i];
    if (d !== 0) return d;
  }
  return aLength - bLength;
}

/** The directory file name for a covered position: fixed-width hex, so names sort by position. */
export function streamDirectoryFileName(coveredPosition: number): string {
  assert(Number.isSafeInteger(coveredPosition) && coveredPosition >= 0, () => `covered position ${coveredPosition} is a safe integer >= 0`);
  return `streams-${coveredPosition.toString(16).padStart(16, '0')}.dir`;
}

export const u16At = (b: Uint8Array, at: number): number => b[at] | (b[at + 1] << 8);
export const u32At = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

export function setU16(b: Uint8Array, at: number, value: number): void {
  b[at] = value & 0xff;
  b[at + 1] = value >>> 8;
}

export function setU32(b: Uint8Array, at: number, value: number): void {
  b[at] = value & 0xff;
  b[at + 1] = (value >>> 8) & 0xff;
  b[at + 2] = (value >>> 16) & 0xff;
  b[at + 3] = value >>> 24;
}

// ---- header (§13.2) ----

export interface DirectoryHeader {
  readonly coveredPosition: number;
  readonly streamCount: number;
  readonly blockCount: number;
  readonly categoryCount: number;
  readonly eventTypeCount: number;
  readonly fenceBytes: number;
  readonly nameBytes: number;
  readonly recentIdsBytes: number;
  readonly filterBytes: number;
  readonly tailCrc: number;
}

/** Where each section lies: everything follows from the header (§13.1). */
export interface DirectoryLayout {
  readonly fenceOffset: number;
  readonly namesOffset: number;
  readonly recentIdsOffset: number;
  readonly filterOffset: number;
  readonly fileBytes: number;
}

export function directoryLayout(header: DirectoryHeader): DirectoryLayout {
  const fenceOffset = (1 + header.blockCount) * DIRECTORY_BLOCK_BYTES;
  const namesOffset = fenceOffset + header.fenceBytes;
  const recentIdsOffset = namesOffset + header.nameBytes;
  const filterOffset = recentIdsOffset + header.recentIdsBytes;
  return { fenceOffset, namesOffset, recentIdsOffset, filterOffset, fileBytes: filterOffset + header.filterBytes };
}

/** File offset of data block `blockIndex`: block 0 follows the header's block. */
export function directoryBlockOffset(blockIndex: number): number {
  return (1 + blockIndex) * DIRECTORY_BLOCK_BYTES;
}

const MAGIC_BYTES = new Uint8Array(Buffer.from(DIRECTORY_MAGIC, 'latin1'));

/** The first block of the file: the header, then zeros. */
export function encodeDirectoryHeaderBlock(header: DirectoryHeader, crc: Crc32cOf): Uint8Array {
  const block = new Uint8Array(DIRECTORY_BLOCK_BYTES);
  const dv = new DataView(block.buffer);
  block.set(MAGIC_BYTES, 0);
  dv.setUint32(H_VERSION, DIRECTORY_FORMAT_VERSION, true);
  dv.setUint32(H_BLOCK_BYTES, DIRECTORY_BLOCK_BYTES, true);
  dv.setBigUint64(H_COVERED_POSITION, BigInt(header.coveredPosition), true);
  dv.setUint32(H_STREAM_COUNT, header.streamCount, true);
  dv.setUint32(H_BLOCK_COUNT, header.blockCount, true);
  dv.setUint32(H_CATEGORY_COUNT, header.categoryCount, true);
  dv.setUint32(H_EVENT_TYPE_COUNT, header.eventTypeCount, true);
  dv.setUint32(H_FENCE_BYTES, header.fenceBytes, true);
  dv.setUint32(H_NAME_BYTES, header.nameBytes, true);
  dv.setUint32(H_RECENT_IDS_BYTES, header.recentIdsBytes, true);
  dv.setUint32(H_FILTER_BYTES, header.filterBytes, true);
  dv.setUint32(H_TAIL_CRC, header.tailCrc, true);
  dv.setUint32(H_CRC, crc.of(block.subarray(0, H_CRC)), true);
  return block;
}

type Fail = (offset: number, reason: string, crc?: { expectedCrc: number; actualCrc: number }) => never;

export function failer(file: string, what: string): Fail {
  return (offset, reason, crc) => {
    throw new CorruptionError({ file, offset, reason: `stream directory ${what}: ${reason}`, ...crc });
  };
}

/** Decodes and checks the header block (`block` = what was read at offset 0, up to one block). */
export function decodeDirectoryHeaderBlock(block: Uint8Array, file: string, crc: Crc32cOf): DirectoryHeader {
  const fail = failer(file, 'header');
  if (block.length < DIRECTORY_BLOCK_BYTES) fail(block.length, `file shorter than the ${DIRECTORY_BLOCK_BYTES}-byte header block`);
  for (let i = 0; i < MAGIC_BYTES.length; i++) if (block[i] !== MAGIC_BYTES[i]) fail(0, 'bad magic');
  const dv = new DataView(block.buffer, block.byteOffset, DIRECTORY_HEADER_BYTES);
  const expectedCrc = dv.getUint32(H_CRC, true);
  const actualCrc = crc.of(block.subarray(0, H_CRC));
  if (expectedCrc !== actualCrc) fail(H_CRC, 'CRC mismatch', { expectedCrc, actualCrc });
  const version = dv.getUint32(H_VERSION, true);
  if (version !== DIRECTORY_FORMAT_VERSION) fail(H_VERSION, `unsupported format version ${version}`);
  if (dv.getUint32(H_BLOCK_BYTES, true) !== DIRECTORY_BLOCK_BYTES) fail(H_BLOCK_BYTES, `block size ${dv.getUint32(H_BLOCK_BYTES, true)}, expected ${DIRECTORY_BLOCK_BYTES}`);
  const covered = dv.getBigUint64(H_COVERED_POSITION, true);
  if (covered > BigInt(Number.MAX_SAFE_INTEGER)) fail(H_COVERED_POSITION, `covered position ${covered} is beyond a safe integer`);
  const header: DirectoryHeader = {
    coveredPosition: Number(covered),
    streamCount: dv.getUint32(H_STREAM_COUNT, true),
    blockCount: dv.getUint32(H_BLOCK_COUNT, true),
    categoryCount: dv.getUint32(H_CATEGORY_COUNT, true),
    eventTypeCount: dv.getUint32(H_EVENT_TYPE_COUNT, true),
    fenceBytes: dv.getUint32(H_FENCE_BYTES, true),
    nameBytes: dv.getUint32(H_NAME_BYTES, true),
    recentIdsBytes: dv.getUint32(H_RECENT_IDS_BYTES, true),
    filterBytes: dv.getUint32(H_FILTER_BYTES, true),
    tailCrc: dv.getUint32(H_TAIL_CRC, true),
  };
  // Every block holds at least one entry, so there are no more blocks than streams, and some when there are streams.
  if (header.blockCount > header.streamCount || (header.blockCount === 0) !== (header.streamCount === 0)) {
    fail(H_BLOCK_COUNT, `${header.blockCount} blocks cannot hold ${header.streamCount} streams`);
  }
  const fenceMin = header.blockCount * 3;
  const fenceMax = header.blockCount * (2 + DIRECTORY_ID_BYTES_MAX);
  if (header.fenceBytes < fenceMin || header.fenceBytes > fenceMax) fail(H_FENCE_BYTES, `fence section of ${header.fenceBytes} bytes for ${header.blockCount} blocks`);
  if (header.nameBytes < 2 * (header.categoryCount + header.eventTypeCount)) fail(H_NAME_BYTES, `names section of ${header.nameBytes} bytes for ${header.categoryCount + header.eventTypeCount} names`);
  if (header.recentIdsBytes > DIRECTORY_RECENT_IDS_BYTES_MAX) fail(H_RECENT_IDS_BYTES, `recent ids of ${header.recentIdsBytes} bytes, above ${DIRECTORY_RECENT_IDS_BYTES_MAX}`);
  const filter = header.filterBytes;
  if (filter !== 0 && (filter < DIRECTORY_FILTER_BYTES_MIN || filter > DIRECTORY_FILTER_BYTES_MAX || (filter & (filter - 1)) !== 0)) {
    fail(H_FILTER_BYTES, `a stream filter of ${filter} bytes (0, or a power of two in ${DIRECTORY_FILTER_BYTES_MIN} .. ${DIRECTORY_FILTER_BYTES_MAX})`);
  }
  for (let i = DIRECTORY_HEADER_BYTES; i < DIRECTORY_BLOCK_BYTES; i++) if (block[i] !== 0) fail(i, 'the header block is not zero after the header');
  return header;
}

// ---- fence table (§13.5) ----

/**
 * The first id of every block, resident while the file is open: one buffer of the ids back to back
 * and their start offsets (starts[b + 1] is where block b's id ends), not one object per block.
 */
export class FenceTable {
  constructor(readonly ids: Uint8Array, readonly starts: Uint32Array) {}

  get blockCount(): number {
    return this.starts.length - 1;
  }

  /** Compares block b's fence id with bytes[at, at + length). */
  compareWith(blockIndex: number, bytes: Uint8Array, at: number, length: number): number {
    const from = this.starts[blockIndex];
    return compareBytesAt(this.ids, from, this.starts[blockIndex + 1] - from, bytes, at, length);
  }

  /** The last block whose first id is <= `id`, or -1 when `id` precedes every block (or there is none). */
  blockOf(id: Uint8Array): number {
    let lo = 0;
    let hi = this.blockCount - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compareWith(mid, id, 0, id.length) <= 0) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  get residentBytes(): number {
    return this.ids.byteLength + this.starts.byteLength;
  }
}

/** Decodes the fence section (`bytes`, at file offset `base`): blockCount × (u16 length, id), strictly increasing. */
export function decodeFenceTable(bytes: Uint8Array, blockCount: number, file: string, base: number): FenceTable {
  const fail = failer(file, 'fence table');
  const starts = new Uint32Array(blockCount + 1);
  const ids = new Uint8Array(bytes.length - 2 * blockCount);
  let at = 0;
  let to = 0;
  for (let b = 0; b < blockCount; b++) {
    if (at + 2 > bytes.length) fail(base + at, `ends before the id of block ${b}`);
    const length = u16At(bytes, at);
    if (length < 1 || length > DIRECTORY_ID_BYTES_MAX) fail(base + at, `id of block ${b} has ${length} bytes`);
    if (at + 2 + length > bytes.length) fail(base + at, `id of block ${b} runs past the section`);
    if (b > 0 && compareBytesAt(ids, starts[b - 1], to - starts[b - 1], bytes, at + 2, length) >= 0) fail(base + at, `id of block ${b} does not follow the previous block's`);
    ids.set(bytes.subarray(at + 2, at + 2 + length), to);
    at += 2 + length;
    to += length;
    starts[b + 1] = to;
  }
  if (at !== bytes.length) fail(base + at, `${bytes.length - at} bytes after the last fence id`);
  return new FenceTable(ids, starts);
}

// ---- names (§13.6) ----

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Category names then event-type names, each u16 length then UTF-8. */
export function encodeNames(names: readonly string[]): Uint8Array {
  const encoded = names.map((name) => utf8.encode(name));
  const out = new Uint8Array(encoded.reduce((sum, n) => sum + 2 + n.length, 0));
  let at = 0;
  for (const name of encoded) {
    assert(name.length <= 0xffff, () => `a name of ${name.length} bytes fits a u16 length`);
    setU16(out, at, name.length);
    out.set(name, at + 2);
    at += 2 + name.length;
  }
  return out;
}

export function decodeNames(bytes: Uint8Array, count: number, file: string, base: number): string[] {
  const fail = failer(file, 'names');
  const names: string[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 2 > bytes.length) fail(base + at, `section ends before name ${i}`);
    const length = u16At(bytes, at);
    if (at + 2 + length > bytes.length) fail(base + at, `name ${i} runs past the section`);
    try {
      names.push(utf8Strict.decode(bytes.subarray(at + 2, at + 2 + length)));
    } catch {
      fail(base + at + 2, `name ${i} is not well-formed UTF-8`);
    }
    at += 2 + length;
  }
  if (at !== bytes.length) fail(base + at, `${bytes.length - at} bytes after the last name`);
  return names;
}

// ---- entries and blocks (§13.3, §13.4) ----

/** Writes `entry` at out[at..]; returns its length. The caller checked its fields. */
export function encodeEntryAt(out: Uint8Array, at: number, entry: DirectoryEntry): number {
  const length = entry.id.length;
  setU16(out, at, length);
  out.set(entry.id, at + 2);
  const f = at + 2 + length;
  setU32(out, f + E_STREAM_NO, entry.streamNo);
  setU32(out, f + E_REVISION_COUNT, entry.revisionCount);
  setU32(out, f + E_CATEGORY, entry.category);
  setU32(out, f + E_RECORD_BYTES_LO, entry.recordBytes % 2 ** 32);
  setU32(out, f + E_RECORD_BYTES_HI, Math.floor(entry.recordBytes / 2 ** 32));
  return entryBytes(length);
}

/** The entry at block[at..] (the block was checked), its id copied out of the block. */
export function decodeEntryAt(block: Uint8Array, at: number): DirectoryEntry {
  const length = u16At(block, at);
  const f = at + 2 + length;
  return {
    id: block.slice(at + 2, f),
    streamNo: u32At(block, f + E_STREAM_NO),
    revisionCount: u32At(block, f + E_REVISION_COUNT),
    category: u32At(block, f + E_CATEGORY),
    recordBytes: u32At(block, f + E_RECORD_BYTES_HI) * 2 ** 32 + u32At(block, f + E_RECORD_BYTES_LO),
  };
}

export const blockEntryCount = (block: Uint8Array): number => u16At(block, B_ENTRY_COUNT);
/** Offset in the block of entry i. */
export const entryOffset = (block: Uint8Array, i: number): number => u16At(block, BLOCK_HEADER_BYTES + 2 * i);
/** Stream number of the entry at block[at..]. */
export const entryStreamNo = (block: Uint8Array, at: number): number => u32At(block, at + 2 + u16At(block, at) + E_STREAM_NO);

/**
 * Finishes a block whose entries lie back to back from BLOCK_HEADER_BYTES + 2·count, at the
 * in-block offsets `offsets[0..count)`, and zero padding after them: writes the header and CRC.
 */
export function sealDirectoryBlock(block: Uint8Array, blockIndex: number, offsets: Uint16Array, count: number, crc: Crc32cOf): void {
  assert(block.length === DIRECTORY_BLOCK_BYTES && count >= 1 && count <= BLOCK_ENTRIES_MAX, 'a block of 1..BLOCK_ENTRIES_MAX entries');
  setU32(block, B_BLOCK_INDEX, blockIndex);
  setU16(block, B_ENTRY_COUNT, count);
  for (let i = 0; i < count; i++) setU16(block, BLOCK_HEADER_BYTES + 2 * i, offsets[i]);
  setU32(block, B_CRC, crc.of(block.subarray(4)));
}

/**
 * Stream numbers seen, checked against "exactly 0 .. streamCount - 1, each once" without a bit per
 * stream: the count, every number below streamCount, and the sums of the numbers and of their
 * squares modulo 2^32. One duplicate in place of a missing number always changes the first sum; two
 * or more cancel in both sums only by an arithmetic coincidence no plausible bug produces.
 */
export class StreamNoTally {
  count = 0;
  private sum = 0;
  private sumOfSquares = 0;

  constructor(readonly streamCount: number) {}

  /** False when `streamNo` is out of range. */
  add(streamNo: number): boolean {
    if (streamNo >= this.streamCount) return false;
    this.count++;
    this.sum = (this.sum + streamNo) >>> 0;
    this.sumOfSquares = (this.sumOfSquares + Math.imul(streamNo, streamNo)) >>> 0;
    return true;
  }

  /** Whether the numbers seen can be exactly 0 .. streamCount - 1. */
  complete(): boolean {
    const n = BigInt(this.streamCount);
    const mod = 1n << 32n;
    const sum = n === 0n ? 0n : ((n * (n - 1n)) / 2n) % mod;
    const squares = n === 0n ? 0n : (((n - 1n) * n * (2n * n - 1n)) / 6n) % mod;
    return this.count === this.streamCount && BigInt(this.sum) === sum && BigInt(this.sumOfSquares) === squares;
  }
}

/** What a block is checked against: the file and its header's counts and fence table. */
export interface BlockCheckContext {
  readonly file: string;
  readonly crc: Crc32cOf;
  readonly streamCount: number;
  readonly categoryCount: number;
  readonly fence: FenceTable;
}

/**
 * Checks a data block read from `fileOffset` (§13.3): CRC over the whole block, its index, entry
 * count, that the offset table places the entries back to back from its end, each entry's id
 * length and fields, ids strictly increasing, zero padding, first id = the fence id, last id below
 * the next block's fence id. Adds the stream numbers to `tally` when given. Returns the entry count.
 */
export function checkDirectoryBlock(block: Uint8Array, blockIndex: number, context: BlockCheckContext, tally: StreamNoTally | null): number {
  const fileOffset = directoryBlockOffset(blockIndex);
  const fail = failer(context.file, `block ${blockIndex}`);
  const expectedCrc = u32At(block, B_CRC);
  const actualCrc = context.crc.of(block.subarray(4, DIRECTORY_BLOCK_BYTES));
  if (expectedCrc !== actualCrc) fail(fileOffset + B_CRC, 'CRC mismatch', { expectedCrc, actualCrc });
  if (u32At(block, B_BLOCK_INDEX) !== blockIndex) fail(fileOffset + B_BLOCK_INDEX, `says it is block ${u32At(block, B_BLOCK_INDEX)}`);
  const count = blockEntryCount(block);
  if (count < 1 || count > BLOCK_ENTRIES_MAX) fail(fileOffset + B_ENTRY_COUNT, `${count} entries`);
  let expectedAt = BLOCK_HEADER_BYTES + 2 * count;
  let previousId = 0;
  let previousLength = 0;
  for (let i = 0; i < count; i++) {
    const at = entryOffset(block, i);
    if (at !== expectedAt) fail(fileOffset + BLOCK_HEADER_BYTES + 2 * i, `entry ${i} at ${at}, expected ${expectedAt}`);
    if (at + 2 > DIRECTORY_BLOCK_BYTES) fail(fileOffset + at, `entry ${i} runs past the block`);
    const length = u16At(block, at);
    if (length < 1 || length > DIRECTORY_ID_BYTES_MAX) fail(fileOffset + at, `entry ${i} has an id of ${length} bytes`);
    const end = at + entryBytes(length);
    if (end > DIRECTORY_BLOCK_BYTES) fail(fileOffset + at, `entry ${i} runs past the block`);
    if (i > 0 && compareBytesAt(block, previousId, previousLength, block, at + 2, length) >= 0) fail(fileOffset + at, `entry ${i} does not follow entry ${i - 1}`);
    const f = at + 2 + length;
    const streamNo = u32At(block, f + E_STREAM_NO);
    if (tally !== null ? !tally.add(streamNo) : streamNo >= context.streamCount) fail(fileOffset + f + E_STREAM_NO, `entry ${i}: stream number ${streamNo} of ${context.streamCount} streams`);
    if (u32At(block, f + E_CATEGORY) > context.categoryCount) fail(fileOffset + f + E_CATEGORY, `entry ${i}: category ${u32At(block, f + E_CATEGORY)} of ${context.categoryCount}`);
    if (u32At(block, f + E_RECORD_BYTES_HI) > U64_HIGH_SAFE_MAX) fail(fileOffset + f + E_RECORD_BYTES_HI, `entry ${i}: record bytes beyond a safe integer`);
    previousId = at + 2;
    previousLength = length;
    expectedAt = end;
  }
  for (let i = expectedAt; i < DIRECTORY_BLOCK_BYTES; i++) if (block[i] !== 0) fail(fileOffset + i, 'padding is not zero');
  const { fence } = context;
  const firstAt = BLOCK_HEADER_BYTES + 2 * count;
  if (fence.compareWith(blockIndex, block, firstAt + 2, u16At(block, firstAt)) !== 0) fail(fileOffset + firstAt, 'first id disagrees with the fence table');
  if (blockIndex + 1 < fence.blockCount && fence.compareWith(blockIndex + 1, block, previousId, previousLength) <= 0) {
    fail(fileOffset + previousId - 2, 'last id does not precede the next block\'s fence id');
  }
  return count;
}

/** Index of the first entry of a checked block whose id is >= `id` (the entry count when none is). */
export function lowerBoundInBlock(block: Uint8Array, id: Uint8Array): number {
  let lo = 0;
  let hi = blockEntryCount(block);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = entryOffset(block, mid);
    if (compareBytesAt(block, at + 2, u16At(block, at), id, 0, id.length) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
