// Finding a sealed chunk's footer: right after its records (what recovery relies on, never
// trusting the file size) or from the trailer in the file's last bytes; and reading part of its
// position → offset map for the global index. format-spec/log.md §4.

import { assert } from '../util/assert.js';
import { CorruptionError } from '../util/errors.js';
import type { Crc32c } from '../wasm/crc32c.js';
import {
  CHUNK_HEADER_BYTES, FOOTER_FIXED_BYTES, FOOTER_MAGIC, FOOTER_TRAILER_BYTES, decodeChunkFooter, decodeFooterTrailer,
  footerBytes, footerOffsetMapAt, type ChunkFooter,
} from '../format/chunk-layout.js';
import { RECORD_BYTES_MIN } from '../format/record-layout.js';
import type { ChunkInfo } from './chunk-set.js';
import { readFully, type FileHandle } from './file-system.js';

/**
 * The footer that starts at `at`, or null when no footer magic is there (an active chunk).
 * Throws CorruptionError when the magic is there but the footer is not valid.
 */
export function readFooterAt(handle: FileHandle, fileName: string, at: number, crc: Crc32c): ChunkFooter | null {
  const fixed = new Uint8Array(FOOTER_FIXED_BYTES);
  if (readFully(handle, fixed, 0, FOOTER_FIXED_BYTES, at) !== FOOTER_FIXED_BYTES) return null;
  if (Buffer.from(fixed.subarray(0, 8)).toString('latin1') !== FOOTER_MAGIC) return null;
  const count = Number(new DataView(fixed.buffer).getBigUint64(8, true));
  if (!Number.isSafeInteger(count) || count > 0xffffffff / RECORD_BYTES_MIN) {
    throw new CorruptionError({ file: fileName, offset: at + 8, reason: 'chunk footer: record count out of range' });
  }
  const bytes = new Uint8Array(footerBytes(count));
  if (readFully(handle, bytes, 0, bytes.length, at) !== bytes.length) {
    throw new CorruptionError({ file: fileName, offset: at, reason: `chunk footer: truncated (${count} records need ${bytes.length} bytes)` });
  }
  return decodeChunkFooter(bytes, fileName, at, crc);
}

/** The valid footer the trailer in the file's last `sizeBytes` bytes leads to, or null. */
export function readFooterAtEnd(handle: FileHandle, fileName: string, sizeBytes: number, crc: Crc32c): ChunkFooter | null {
  if (sizeBytes < CHUNK_HEADER_BYTES + footerBytes(0)) return null;
  const trailer = new Uint8Array(FOOTER_TRAILER_BYTES);
  if (readFully(handle, trailer, 0, FOOTER_TRAILER_BYTES, sizeBytes - FOOTER_TRAILER_BYTES) !== FOOTER_TRAILER_BYTES) return null;
  const total = decodeFooterTrailer(trailer);
  if (total === null || total > sizeBytes - CHUNK_HEADER_BYTES) return null;
  const bytes = new Uint8Array(total);
  if (readFully(handle, bytes, 0, total, sizeBytes - total) !== total) return null;
  try {
    return decodeChunkFooter(bytes, fileName, sizeBytes - total, crc);
  } catch {
    return null;
  }
}

/**
 * Reads `count` entries of sealed file `chunk`'s footer offset map, starting at file offset
 * `fileOffset` (which must lie in the map), into target[targetIndex..]; returns how many were read
 * whole. Synchronous: the global index pages offsets through this on the read path. The footer's
 * CRC is not checked here (it covers the whole footer): it was checked when the chunk was opened,
 * or this process wrote the footer; format-spec/index.md §12 says what protects a page read later.
 */
export function readFooterOffsets(chunk: ChunkInfo, fileOffset: number, count: number, target: Uint32Array, targetIndex: number): number {
  assert(chunk.sealed, () => `${chunk.fileName} is sealed`);
  const mapAt = footerOffsetMapAt(chunk.endOffset);
  const mapEnd = mapAt + 4 * (chunk.nextPosition - chunk.header.firstPosition);
  assert(fileOffset >= mapAt && (fileOffset - mapAt) % 4 === 0 && fileOffset + 4 * count <= mapEnd && targetIndex + count <= target.length,
    () => `offsets [${fileOffset}, ${fileOffset + 4 * count}) lie in the offset map [${mapAt}, ${mapEnd}) of ${chunk.fileName}`);
  // The map's u32s are little-endian, as are the words of the host (Annal's kernels and index
  // blocks assume it too): the bytes are read straight into the words.
  const bytes = new Uint8Array(target.buffer, target.byteOffset + 4 * targetIndex, 4 * count);
  return Math.floor(readFully(chunk.handle, bytes, 0, bytes.length, fileOffset) / 4);
}
