// The checkpoint file: where the durable log ends, rewritten in alternating slots.
// format-spec/log.md §5. Recovery treats data before it as committed and never truncates it.

import { join } from 'node:path';
import { assert } from '../util/assert.js';
import type { Crc32c } from '../wasm/crc32c.js';
import {
  CHECKPOINT_FILE, CHECKPOINT_FILE_BYTES, checkpointSlotOffset, decodeCheckpointFile, encodeCheckpoint,
  type Checkpoint,
} from '../format/checkpoint.js';
import { readFully, type FileHandle, type FileSystem } from './file-system.js';

export type CheckpointPoint = Omit<Checkpoint, 'sequence'>;

export class CheckpointFile {
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(private readonly handle: FileHandle, private readonly crc: Crc32c, private sequence: number, private latest: CheckpointPoint | null) {}

  /**
   * Opens the checkpoint of `dir`, creating it (durably, with a directory fsync) when absent.
   * Returns the newest valid checkpoint, or null when there is none or both slots are damaged.
   */
  static async open(fs: FileSystem, dir: string, crc: Crc32c, exists: boolean): Promise<{ file: CheckpointFile; checkpoint: Checkpoint | null }> {
    const path = join(dir, CHECKPOINT_FILE);
    if (!exists) {
      const handle = await fs.open(path, 'create');
      await handle.truncate(CHECKPOINT_FILE_BYTES);
      await handle.sync();
      await fs.syncDir(dir);
      return { file: new CheckpointFile(handle, crc, 0, null), checkpoint: null };
    }
    const handle = await fs.open(path, 'readwrite');
    // The slot read below must be durable before recovery relies on it (its write's sync may have failed).
    await handle.sync();
    const bytes = new Uint8Array(CHECKPOINT_FILE_BYTES);
    const read = readFully(handle, bytes, 0, CHECKPOINT_FILE_BYTES, 0);
    const checkpoint = decodeCheckpointFile(bytes.subarray(0, read), crc);
    return { file: new CheckpointFile(handle, crc, checkpoint?.sequence ?? 0, checkpoint), checkpoint };
  }

  /** The last point written (or read at open). */
  get current(): CheckpointPoint | null {
    return this.latest;
  }

  /** Durably records a new end of the log. Resolves after the slot is fdatasync'd. Writes are serialised. */
  write(point: CheckpointPoint): Promise<void> {
    const next = this.writing.then(() => this.writeNow(point));
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async writeNow(point: CheckpointPoint): Promise<void> {
    if (this.latest) {
      assert(point.nextPosition >= this.latest.nextPosition, 'the checkpoint never moves backwards');
    }
    const sequence = this.sequence + 1;
    const bytes = encodeCheckpoint({ ...point, sequence }, this.crc);
    await this.handle.write(bytes, checkpointSlotOffset(sequence));
    await this.handle.datasync();
    this.sequence = sequence;
    this.latest = point;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
