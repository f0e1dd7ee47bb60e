// One EventStore per data directory: a LOCK file naming the owner (pid, boot id, start time),
// created exclusively.
// A lock left by a process that no longer runs (killed, or from before a reboot) is taken over.

import { join } from 'node:path';
import { StoreLockedError } from '../util/errors.js';
import { bootId, processStartTime } from '../util/process-identity.js';
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

/** The owner line written into LOCK: pid, boot id and start time. */
function ownerLine(): string {
  return `${process.pid} ${bootId()} ${processStartTime(process.pid) ?? '-'}\n`;
}

/**
 * Whether the LOCK content names a process that runs now. Unreadable or torn content (the file is
 * never fsync'd, so a power loss may leave anything), another boot, or a pid now owned by a process
 * started at another time all mean the lock is stale.
 */
function ownerRuns(content: string): number | null {
  const match = /^(\d+) (\S+) (\S+)\n$/.exec(content);
  if (!match) return null;
  const pid = Number(match[1]);
  if (match[2] !== bootId()) return null;
  const started = processStartTime(pid);
  if (started === null || (match[3] !== '-' && started !== '-' && started !== match[3])) return null;
  return pid;
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
          await handle.write(Buffer.from(ownerLine()), 0);
        } finally {
          await handle.close();
        }
        held(fs).add(path);
        return new StoreLock(fs, path);
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
        const owner = ownerRuns(await readOwner(fs, path));
        // The same pid is this process: the in-process check above already covers a second open.
        if (owner !== null && owner !== process.pid) throw new StoreLockedError(`${dir} is open in process ${owner}`);
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

async function readOwner(fs: FileSystem, path: string): Promise<string> {
  const handle = await fs.open(path, 'read');
  try {
    const bytes = new Uint8Array(256);
    const n = readFully(handle, bytes, 0, bytes.length, 0);
    return Buffer.from(bytes.subarray(0, n)).toString('latin1');
  } finally {
    await handle.close();
  }
}
