// Whole-file reads and durable replacements of the small files beside the index files (the
// manifest and the stream directory), through the file-system seam.

import { join } from 'node:path';
import type { FileSystem } from '../log/file-system.js';

/** The file's bytes (its reported size, read until a short read ends it). */
export async function readWholeFile(fs: FileSystem, dir: string, name: string): Promise<Uint8Array> {
  const handle = await fs.open(join(dir, name), 'read');
  try {
    const bytes = new Uint8Array(handle.size());
    let done = 0;
    while (done < bytes.length) {
      const n = handle.read(bytes, done, bytes.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return bytes.subarray(0, done);
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
