// One EventStore per data directory: a LOCK file holding the owner's pid, created exclusively.
// A lock left by a process that no longer runs (killed) is taken over.

import { join } from 'node:path';
import { StoreLockedError } from '../util/errors.js';
import { errorCode, readFully, type FileSystem } from './file-system.js';

export const LOCK_FILE = 'LOCK';
// Per file system: a simulated disk is another machine, and its paths are not this machine's.
const heldInThisProcess = new WeakMap<FileSystem, Set<string>>();

function held(fs: FileSystem): Set<string> {
  let paths = heldInThisProcess.get(fs);
  if (paths === undefined) {
    paths = new Set();
    heldInThisProcess.set(fs, paths);
  }
  return paths;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

export class StoreLock {
  private constructor(private readonly fs: FileSystem, private readonly path: string) {}

  /** Takes the lock of `dir` (which must exist) or throws StoreLockedError. */
  static async acquire(fs: FileSystem, dir: string): Promise<StoreLock> {
    const path = join(dir, LOCK_FILE);
    if (held(fs).has(path)) throw new StoreLockedError(`${dir} is already open in this process`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await fs.open(path, 'create');
        try {
          await handle.write(Buffer.from(`${process.pid}\n`), 0);
        } finally {
          await handle.close();
        }
        held(fs).add(path);
        return new StoreLock(fs, path);
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
        const owner = await readOwner(fs, path);
        if (owner !== null && owner !== process.pid && processRuns(owner)) {
          throw new StoreLockedError(`${dir} is open in process ${owner}`);
        }
        await fs.unlink(path);
      }
    }
    throw new StoreLockedError(`${dir}: could not take the lock`);
  }

  async release(): Promise<void> {
    held(this.fs).delete(this.path);
    await this.fs.unlink(this.path);
  }
}

async function readOwner(fs: FileSystem, path: string): Promise<number | null> {
  const handle = await fs.open(path, 'read');
  try {
    const bytes = new Uint8Array(32);
    const n = readFully(handle, bytes, 0, bytes.length, 0);
    const pid = Number.parseInt(Buffer.from(bytes.subarray(0, n)).toString('ascii'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } finally {
    await handle.close();
  }
}
