// The stream directory file (`streams-<covered position>.dir`, format-spec/index.md "Stream
// directory"): every stream id with its revision count and category, and the category and
// event-type names, as of the position the index files cover. Open loads it instead of
// rebuilding the stream table from the log.

import { CorruptionError } from '../util/errors.js';
import type { Crc32cOf } from './index-file-format.js';
import type { IndexDirectory } from './store-indexes.js';

export const DIRECTORY_MAGIC = 'ANNALSDR';
export const DIRECTORY_FORMAT_VERSION = 1;
export const DIRECTORY_HEADER_BYTES = 48;

const D_VERSION = 8; // u32
const D_STREAM_COUNT = 12; // u32
const D_COVERED_POSITION = 16; // u64
const D_STREAM_BYTES = 24; // u32 length of the stream entries
const D_CATEGORY_COUNT = 28; // u32
const D_EVENT_TYPE_COUNT = 32; // u32
const D_NAME_BYTES = 36; // u32 length of the names section
const D_RECENT_ID_COUNT = 40; // u32 entries of the idempotency window
/** Bytes of one idempotency-window entry: event id (16), u32 stream number, u32 revision. */
export const DIRECTORY_RECENT_ID_BYTES = 24;
const D_HEADER_CRC = 44; // u32 CRC32C of [0, 44)

/** The greatest high u32 of a u64 that is a safe integer (2^53 - 1 = 0x1FFFFF_FFFFFFFF). */
const U64_HIGH_SAFE_MAX = 0x1f_ffff;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The directory file name for a covered position: fixed-width hex, so names sort by position. */
export function directoryFileName(coveredPosition: number): string {
  return `streams-${coveredPosition.toString(16).padStart(16, '0')}.dir`;
}

export function encodeDirectory(directory: IndexDirectory, crc: Crc32cOf): Uint8Array {
  const names = [...directory.categoryNames, ...directory.eventTypeNames].map((name) => utf8.encode(name));
  const nameBytes = names.reduce((sum, n) => sum + 2 + n.length, 0);
  const recentBytes = directory.recentIds.length;
  const total = DIRECTORY_HEADER_BYTES + directory.streamBytes.length + 12 * directory.streamCount + nameBytes + recentBytes + 4;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(utf8.encode(DIRECTORY_MAGIC), 0);
  view.setUint32(D_VERSION, DIRECTORY_FORMAT_VERSION, true);
  view.setUint32(D_STREAM_COUNT, directory.streamCount, true);
  view.setBigUint64(D_COVERED_POSITION, BigInt(directory.coveredPosition), true);
  view.setUint32(D_STREAM_BYTES, directory.streamBytes.length, true);
  view.setUint32(D_CATEGORY_COUNT, directory.categoryNames.length, true);
  view.setUint32(D_EVENT_TYPE_COUNT, directory.eventTypeNames.length, true);
  view.setUint32(D_NAME_BYTES, nameBytes, true);
  view.setUint32(D_RECENT_ID_COUNT, recentBytes / DIRECTORY_RECENT_ID_BYTES, true);
  view.setUint32(D_HEADER_CRC, crc.of(bytes.subarray(0, D_HEADER_CRC)), true);
  let at = DIRECTORY_HEADER_BYTES;
  bytes.set(directory.streamBytes, at);
  at += directory.streamBytes.length;
  for (let i = 0; i < directory.streamCount; i++, at += 4) view.setUint32(at, directory.streamCategories[i], true);
  for (let i = 0; i < directory.streamCount; i++, at += 8) view.setBigUint64(at, BigInt(directory.streamRecordBytes[i]), true);
  for (const name of names) {
    view.setUint16(at, name.length, true);
    bytes.set(name, at + 2);
    at += 2 + name.length;
  }
  bytes.set(directory.recentIds, at);
  at += recentBytes;
  view.setUint32(at, crc.of(bytes.subarray(DIRECTORY_HEADER_BYTES, at)), true);
  return bytes;
}

/** Decodes a directory file; CorruptionError naming the file and offset when any check fails. */
export function decodeDirectory(bytes: Uint8Array, file: string, crc: Crc32cOf): IndexDirectory {
  const fail = (offset: number, reason: string): never => {
    throw new CorruptionError({ file, offset, reason: `stream directory: ${reason}` });
  };
  if (bytes.length < DIRECTORY_HEADER_BYTES + 4) fail(0, `${bytes.length} bytes is shorter than a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== DIRECTORY_MAGIC) fail(0, 'bad magic');
  if (view.getUint32(D_HEADER_CRC, true) !== crc.of(bytes.subarray(0, D_HEADER_CRC))) fail(D_HEADER_CRC, 'header CRC mismatch');
  if (view.getUint32(D_VERSION, true) !== DIRECTORY_FORMAT_VERSION) fail(D_VERSION, `unknown format version ${view.getUint32(D_VERSION, true)}`);
  const streamCount = view.getUint32(D_STREAM_COUNT, true);
  const covered = view.getBigUint64(D_COVERED_POSITION, true);
  if (covered > BigInt(Number.MAX_SAFE_INTEGER)) fail(D_COVERED_POSITION, 'covered position out of range');
  const streamBytes = view.getUint32(D_STREAM_BYTES, true);
  const categoryCount = view.getUint32(D_CATEGORY_COUNT, true);
  const eventTypeCount = view.getUint32(D_EVENT_TYPE_COUNT, true);
  const nameBytes = view.getUint32(D_NAME_BYTES, true);
  const recentBytes = view.getUint32(D_RECENT_ID_COUNT, true) * DIRECTORY_RECENT_ID_BYTES;
  const total = DIRECTORY_HEADER_BYTES + streamBytes + 12 * streamCount + nameBytes + recentBytes + 4;
  if (total !== bytes.length) fail(0, `sections add up to ${total} bytes, the file has ${bytes.length}`);
  const bodyEnd = total - 4;
  if (view.getUint32(bodyEnd, true) !== crc.of(bytes.subarray(DIRECTORY_HEADER_BYTES, bodyEnd))) fail(bodyEnd, 'body CRC mismatch');
  let at = DIRECTORY_HEADER_BYTES;
  const streams = bytes.slice(at, at + streamBytes);
  at += streamBytes;
  const categories = new Uint32Array(streamCount);
  for (let i = 0; i < streamCount; i++, at += 4) categories[i] = view.getUint32(at, true);
  const recordBytes = new Float64Array(streamCount);
  for (let i = 0; i < streamCount; i++, at += 8) {
    // Two u32 halves rather than a bigint each: a million streams made a million bigints.
    const low = view.getUint32(at, true);
    const high = view.getUint32(at + 4, true);
    if (high > U64_HIGH_SAFE_MAX) fail(at, `stream ${i} has ${view.getBigUint64(at, true)} bytes of records`);
    recordBytes[i] = high * 2 ** 32 + low;
  }
  const names: string[] = [];
  for (let i = 0; i < categoryCount + eventTypeCount; i++) {
    if (at + 2 > bodyEnd) fail(at, 'names section ends early');
    const length = view.getUint16(at, true);
    if (at + 2 + length > bodyEnd) fail(at, 'name runs past the names section');
    try {
      names.push(utf8Strict.decode(bytes.subarray(at + 2, at + 2 + length)));
    } catch {
      fail(at, 'a name is not UTF-8');
    }
    at += 2 + length;
  }
  if (at + recentBytes !== bodyEnd) fail(at, 'the names section does not end where its length says');
  const recentIds = bytes.slice(at, bodyEnd);
  return {
    coveredPosition: Number(covered),
    streamCount,
    streamBytes: streams,
    streamCategories: categories,
    streamRecordBytes: recordBytes,
    categoryNames: names.slice(0, categoryCount),
    eventTypeNames: names.slice(categoryCount),
    recentIds,
  };
}
