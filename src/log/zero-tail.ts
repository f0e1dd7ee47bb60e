// Zeroes the bytes after the end of the log in the active chunk, where a torn or unacknowledged
// write may have left data. format-spec/log.md §6 step 5.

import { readFully, type FileHandle } from './file-system.js';

const BLOCK_BYTES = 1024 * 1024;
const ZEROS = new Uint8Array(BLOCK_BYTES);

/**
 * Overwrites every non-zero block in [from, to) with zeros and fdatasyncs once if anything
 * changed. Returns how many bytes were non-zero blocks (0 when the tail was already clean).
 */
export async function zeroTail(handle: FileHandle, from: number, to: number): Promise<number> {
  const block = new Uint8Array(BLOCK_BYTES);
  let dirty = 0;
  for (let at = from; at < to; at += BLOCK_BYTES) {
    const length = Math.min(BLOCK_BYTES, to - at);
    const read = readFully(handle, block, 0, length, at);
    if (read === 0) break;
    if (!isZero(block, read)) {
      await handle.write(ZEROS.subarray(0, read), at);
      dirty += read;
    }
  }
  if (dirty > 0) await handle.datasync();
  return dirty;
}

function isZero(bytes: Uint8Array, length: number): boolean {
  return Buffer.compare(bytes.subarray(0, length), ZEROS.subarray(0, length)) === 0;
}
