// Whole-file reads and durable replacements of the small files beside the index files (the
// manifest and the stream directory), through the file-system seam.

import { join } from 'node:path';
import type { FileHandle, FileSystem } from '../log/file-system.js';

/**
 * Reads `length` bytes at `fileOffset` into buffer[bufferOffset…], repeating short reads; fewer
 * only at the end of the file. (log/file-system.ts has the same helper, but the index layer may
 * not import the log at run time.)
 */
export function readFully(handle: FileHandle, buffer: Uint8Array, bufferOffset: number, length: number, fileOffset: number): number {
  let done = 0;
  while (done < length) {
    const n = handle.read(buffer, bufferOffset + done, length - done, fileOffset + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** The file's bytes (its reported size, read until a short read ends it). */
export async function readWholeFile(fs: FileSystem, dir: string, name: string): Promise<Uint8Array> {
  const handle = await fs.open(join(dir, name), 'read');
  try {
    const bytes = new Uint8Array(handle.size());
    return bytes.subarray(0, readFully(handle, bytes, 0, bytes.length, 0));
  } finally {
    await handle.close();
  }
}

/**
 * Writes `bytes` as `dir/name` so that a crash leaves either the old file or the whole new one:
 * a temporary file, fdatasync'd, renamed over the name, then the directory fsync'd.
 */
export async function replaceFileDurably(fs: FileSystem, dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dir, `${name}.tmp`);
  await fs.unlink(temp).catch(() => undefined);
  const handle = await fs.open(temp, 'create');
  try {
    await handle.write(bytes, 0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, join(dir, name));
  await fs.syncDir(dir);
}
