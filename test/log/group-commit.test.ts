// Group commit and write failures, observed through a file-system wrapper that counts and can fail
// the writes to chunk files.

import { describe, expect, test } from 'vitest';
import { EventStore, StoreFailedError, type FileHandle, type FileSystem } from '../../src/annal.js';
import { nodeFileSystem } from '../../src/log/node-file-system.js';
import type { GlobalIndex } from '../../src/index/global-index.js';
import { tempDir } from '../support/temp-dir.js';

interface Probe {
  fs: FileSystem;
  /** Completed durable writes to chunk files: [file name, fileOffset, length]. */
  durable: [string, number, number][];
  writes: number;
  /** Fail every chunk write from the n-th (1-based) on. */
  failFrom: number;
}

function probe(): Probe {
  const p: Probe = { fs: nodeFileSystem, durable: [], writes: 0, failFrom: Infinity };
  const wrap = (handle: FileHandle): FileHandle => {
    const before = (offset: number): boolean => {
      const isRecordWrite = handle.path.endsWith('.annal') && handle.path.includes('chunk-') && offset >= 128;
      if (isRecordWrite) {
        p.writes++;
        if (p.writes >= p.failFrom) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
      }
      return isRecordWrite;
    };
    const after = (isRecordWrite: boolean, offset: number, length: number): void => {
      if (isRecordWrite && handle.syncWrites) p.durable.push([handle.path.slice(handle.path.lastIndexOf('/') + 1), offset, length]);
    };
    return {
    path: handle.path,
    syncWrites: handle.syncWrites,
    read: (...args) => handle.read(...args),
    async write(buffer, offset) {
      const isRecordWrite = before(offset);
      await handle.write(buffer, offset);
      after(isRecordWrite, offset, buffer.length);
    },
    writeNow(buffer, offset) {
      const isRecordWrite = before(offset);
      handle.writeNow(buffer, offset);
      after(isRecordWrite, offset, buffer.length);
    },
    datasync: () => handle.datasync(),
    sync: () => handle.sync(),
    truncate: (size) => handle.truncate(size),
    size: () => handle.size(),
    close: () => handle.close(),
    };
  };
  p.fs = { ...nodeFileSystem, open: async (path, mode, options) => wrap(await nodeFileSystem.open(path, mode, options)) };
  return p;
}

describe('group commit', () => {
  test('group commit - concurrent appends share writes', async () => {
    const p = probe();
    const store = await EventStore.open(tempDir(), { fileSystem: p.fs });
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.appendToStream(`s-${i % 10}`, [{ type: 'T', data: { i } }])));
    expect(p.writes).toBeGreaterThan(0);
    expect(p.writes).toBeLessThanOrEqual(20);
    expect(await store.headPosition()).toBe(199n);
    await store.close();
  });

  test('group commit - no append resolves before its record is durable', async () => {
    const p = probe();
    const store = await EventStore.open(tempDir(), { fileSystem: p.fs, chunkSizeBytes: 64 * 1024 });
    const global = (store as unknown as { parts: { indexes: { global: GlobalIndex } } }).parts.indexes.global;
    const covered = (position: bigint): boolean => {
      const { chunkNumber, offset, recordBytes } = global.locate(Number(position));
      const file = `chunk-${String(chunkNumber).padStart(6, '0')}.annal`;
      return p.durable.some(([name, at, length]) => name === file && at <= offset && offset + recordBytes <= at + length);
    };
    const acks = await Promise.all(Array.from({ length: 300 }, async (_, i) => {
      const result = await store.appendToStream(`s-${i % 7}`, [{ type: 'T', data: { i, pad: 'p'.repeat(i % 50) } }]);
      // Checked synchronously at the moment the append resolved.
      return covered(result.position);
    }));
    expect(acks).toEqual(acks.map(() => true));
    expect(p.durable.length).toBeLessThan(300);
    await store.close();
  });

  test('group commit - a failed write fails every pending append and refuses writes until reopened', async () => {
    const p = probe();
    const dir = tempDir();
    const store = await EventStore.open(dir, { fileSystem: p.fs });
    const acked: number[] = [];
    for (let i = 0; i < 5; i++) {
      await store.appendToStream('s', [{ type: 'T', data: { i } }]);
      acked.push(i);
    }
    p.failFrom = p.writes + 1;
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.appendToStream('s', [{ type: 'T', data: { i: 100 + i } }])));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof StoreFailedError)).toBe(true);
    // No retry-and-pretend: later appends fail at once, even though the disk would work again.
    p.failFrom = Infinity;
    await expect(store.appendToStream('s', [{ type: 'T', data: {} }])).rejects.toBeInstanceOf(StoreFailedError);
    // Durable data stays readable.
    expect((await store.readStream('s')).map((e) => (e.data as { i: number }).i)).toEqual(acked);
    await store.close();
    const reopened = await EventStore.open(dir);
    expect((await reopened.readStream('s')).map((e) => (e.data as { i: number }).i)).toEqual(acked);
    await reopened.appendToStream('s', [{ type: 'T', data: { i: 5 } }], { expectedRevision: 4n });
    await reopened.close();
  });
});
