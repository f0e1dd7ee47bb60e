// The persisted side of the store's indexes: the manifest codec (round trip, every damage
// refused; the stream directory file has its own test), and what open does with the files: a clean reopen reads no record back,
// damaged or missing index files are rebuilt from the log, a retry after reopen is still known.

import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EventStore, verifyStore, type FileHandle, type FileSystem } from '../../src/annal.js';
import { decodeManifest, encodeManifest } from '../../src/index/index-manifest.js';
import { nodeFileSystem } from '../../src/log/node-file-system.js';
import { CorruptionError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/logger.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { tempDir } from '../support/temp-dir.js';

const crc = new Crc32c(new Wasm());

/** A file system that counts the bytes read from each file name. */
function countingReads(): { fs: FileSystem; bytesRead: Map<string, number> } {
  const bytesRead = new Map<string, number>();
  const fs: FileSystem = {
    ...nodeFileSystem,
    open: async (path, mode, options) => {
      const handle = await nodeFileSystem.open(path, mode, options);
      const name = path.split('/').at(-1)!;
      return new Proxy(handle, {
        get(target, key: keyof FileHandle) {
          if (key === 'read') {
            return (buffer: Uint8Array, offset: number, length: number, at: number) => {
              const n = target.read(buffer, offset, length, at);
              bytesRead.set(name, (bytesRead.get(name) ?? 0) + n);
              return n;
            };
          }
          const value = target[key];
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  };
  return { fs, bytesRead };
}

describe('index persistence', () => {
  test('index persistence - manifest: round trip, and any flipped bit is a CorruptionError', () => {
    const manifest = { coveredPosition: 1234, directory: 'streams-00000000000004d2.dir', files: ['L01-a-b.idx', 'L00-b-c.idx'] };
    const bytes = encodeManifest(manifest, crc);
    expect(decodeManifest(bytes, 'manifest.annal', crc)).toEqual(manifest);
    for (let at = 0; at < bytes.length; at++) {
      const damaged = bytes.slice();
      damaged[at] ^= 0x20;
      expect(() => decodeManifest(damaged, 'manifest.annal', crc), `byte ${at}`).toThrow(CorruptionError);
    }
  });

  test('index persistence - open after a clean close reads headers and footers of sealed chunks, not their records', async () => {
    const dir = tempDir('annal-persist-');
    const options = { chunkSizeBytes: 64 * 1024, indexMemtableEntries: 500, logger: silentLogger };
    const store = await EventStore.open(dir, options);
    for (let i = 0; i < 40; i++) {
      await store.appendToStream(`order-${i % 13}`, Array.from({ length: 50 }, (_, k) => ({ type: k % 2 ? 'Shipped' : 'Placed', data: { i, k, pad: 'x'.repeat(100) } })));
    }
    await store.close();
    const chunks = readdirSync(dir).filter((n) => n.startsWith('chunk-')).sort();
    expect(chunks.length).toBeGreaterThan(4);
    const { fs, bytesRead } = countingReads();
    const reopened = await EventStore.open(dir, { ...options, fileSystem: fs });
    for (const name of chunks.slice(0, -1)) {
      const footerAndHeader = 128 + 64 + 4 * 2000;
      expect(bytesRead.get(name) ?? 0, name).toBeLessThan(footerAndHeader);
    }
    const events = await reopened.readAll();
    expect(events).toHaveLength(2000);
    const stream = await reopened.readStream('order-5');
    expect(stream.map((e) => e.revision)).toEqual(Array.from({ length: stream.length }, (_, i) => BigInt(i)));
    expect(stream.every((e) => e.streamId === 'order-5')).toBe(true);
    expect(await reopened.readAll({ filter: { eventType: 'Shipped' }, direction: 'backwards', maxCount: 3 })).toEqual(events.filter((e) => e.type === 'Shipped').slice(-3).reverse());
    expect((await reopened.readCategory('order')).length).toBe(2000);
    await reopened.close();
  });

  test('index persistence - damaged or missing index files are rebuilt from the log, and a retry after reopen is still recognised', async () => {
    const dir = tempDir('annal-persist-');
    const options = { chunkSizeBytes: 64 * 1024, indexMemtableEntries: 50, logger: silentLogger };
    let store = await EventStore.open(dir, options);
    const id = '0000beef-0000-4000-8000-000000000001';
    const first = await store.appendToStream('retry-1', [{ id, type: 'T', data: {} }]);
    for (let i = 0; i < 300; i++) await store.appendToStream(`s-${i % 7}`, [{ type: 'T', data: { i } }]);
    const expected = (await store.readAll()).map((e) => [e.streamId, e.revision, e.type]);
    await store.close();
    const indexDir = join(dir, 'index');
    const damage = [
      () => undefined,
      () => { const f = join(indexDir, readdirSync(indexDir).find((n) => n.endsWith('.idx'))!); const b = readFileSync(f); b[b.length >> 1] ^= 4; writeFileSync(f, b); },
      () => { const f = join(indexDir, readdirSync(indexDir).find((n) => n.endsWith('.dir'))!); const b = readFileSync(f); b[60] ^= 1; writeFileSync(f, b); },
      () => rmSync(join(indexDir, readdirSync(indexDir).find((n) => n.endsWith('.idx'))!)),
      () => rmSync(indexDir, { recursive: true }),
    ];
    for (const [i, hurt] of damage.entries()) {
      hurt();
      store = await EventStore.open(dir, options);
      expect((await store.readAll()).map((e) => [e.streamId, e.revision, e.type]), `case ${i}`).toEqual(expected);
      expect(await store.appendToStream('retry-1', [{ id, type: 'T', data: {} }]), `case ${i}`).toEqual(first);
      await store.close();
    }
  });

  test('index persistence - a rebuild from the log flushes as it goes (bounded memtable), and the result reads right', async () => {
    const dir = tempDir('annal-persist-');
    const options = { chunkSizeBytes: 32 * 1024, indexMemtableEntries: 300, logger: silentLogger };
    let store = await EventStore.open(dir, options);
    for (let i = 0; i < 60; i++) await store.appendToStream(`c-${i % 5}`, Array.from({ length: 20 }, (_, k) => ({ type: `T${k % 3}`, data: { i, k, pad: 'y'.repeat(60) } })));
    const expected = (await store.readAll()).map((e) => [e.streamId, e.revision, e.type]);
    await store.close();
    rmSync(join(dir, 'index'), { recursive: true });
    store = await EventStore.open(dir, options);
    // Files were written while the chunks were scanned, before any append or close.
    expect(readdirSync(join(dir, 'index')).filter((n) => n.endsWith('.idx')).length).toBeGreaterThan(0);
    expect((await store.readAll()).map((e) => [e.streamId, e.revision, e.type])).toEqual(expected);
    expect((await store.readStream('c-3')).map((e) => e.revision)).toEqual(Array.from({ length: 240 }, (_, i) => BigInt(i)));
    expect((await store.readAll({ filter: { eventType: 'T1' } })).length).toBe(expected.filter((e) => e[2] === 'T1').length);
    await store.close();
  });

  test('index persistence - annal verify reads every index block: clean files pass, damaged or stray ones are warnings, never errors', async () => {
    const dir = tempDir('annal-persist-');
    const store = await EventStore.open(dir, { chunkSizeBytes: 32 * 1024, indexMemtableEntries: 200, logger: silentLogger });
    for (let i = 0; i < 400; i++) await store.appendToStream(`v-${i % 9}`, [{ type: 'T', data: { i } }]);
    await store.close();
    const clean = await verifyStore(dir);
    expect([clean.errors, clean.warnings]).toEqual([[], []]);
    const indexDir = join(dir, 'index');
    const file = readdirSync(indexDir).find((n) => n.endsWith('.idx'))!;
    const bytes = readFileSync(join(indexDir, file));
    bytes[4096 + 100] ^= 0x40; // inside the first data block
    writeFileSync(join(indexDir, file), bytes);
    writeFileSync(join(indexDir, 'L00-stray.idx'), 'x');
    const damaged = await verifyStore(dir);
    expect(damaged.errors).toEqual([]);
    expect(damaged.warnings.map((w) => w.file)).toEqual(expect.arrayContaining([`index/${file}`, 'index/L00-stray.idx']));
    expect(damaged.warnings.find((w) => w.file === `index/${file}`)?.reason).toMatch(/rebuilds them from the log/);
  });
});
