// Scavenging: events that metadata or deletes made unreadable become holes; everything readable
// reads back the same (same positions), before and after a reopen with and without index files;
// the log gets smaller and verifies clean; appends go on during it; a retry of an append whose
// events were scavenged is still recognised. Neighbouring chunks left small are merged into one
// file (and merged files merged further by a later scavenge), with the same guarantees.

import { closeSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CorruptionError, EventStore, InvalidArgumentError, type RecordedEvent } from '../../src/annal.js';
import { CHUNK_HEADER_BYTES, decodeChunkHeader, parseChunkFileName } from '../../src/format/chunk-layout.js';
import { verifyStore } from '../../src/store/verify.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { silentLogger } from '../../src/util/logger.js';
import { seededRandom, withSeed } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';
import { SimDisk } from '../harness/sim-disk.js';

// Small memtables flush often; a stream cache of two leaves most streams to the directory file.
const OPTIONS = { chunkSizeBytes: 16 * 1024, indexMemtableEntries: 100, streamCacheEntries: 2, logger: silentLogger };
const STREAMS = ['keep-1', 'keep-2', 'count-1', 'count-2', 'soft-1', 'hard-1', 'age-1'];

const brief = (e: RecordedEvent): string => `${e.position}:${e.streamId}@${e.revision}:${e.type}:${JSON.stringify(e.data)}`;

/** Every read a user can make of the store, as text. */
async function visible(store: EventStore): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const s of STREAMS) {
    out[s] = await store.readStream(s).then((events) => events.map(brief), (error: unknown) => [String(error)]);
    out[`${s} backwards`] = await store.readStream(s, { direction: 'backwards', maxCount: 3 }).then((events) => events.map(brief), (error: unknown) => [String(error)]);
  }
  for (const c of ['keep', 'count', 'soft', 'hard', 'age']) out[`category ${c}`] = (await store.readCategory(c)).map(brief);
  out['type A'] = (await store.readAll({ filter: { eventType: 'A' } })).map(brief);
  return out;
}

function logBytes(dir: string): number {
  return readdirSync(dir).filter((n) => n.startsWith('chunk-')).reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);
}

const crc = new Crc32c(new Wasm());

/** The chunk numbers each chunk file covers, from its header: `first..last`, in order. */
function chunkRanges(dir: string): string[] {
  const out: [number, string][] = [];
  for (const name of readdirSync(dir)) {
    const n = parseChunkFileName(name);
    if (n === null) continue;
    const bytes = new Uint8Array(CHUNK_HEADER_BYTES);
    const fd = openSync(join(dir, name), 'r');
    try {
      readSync(fd, bytes, 0, CHUNK_HEADER_BYTES, 0);
    } finally {
      closeSync(fd);
    }
    const header = decodeChunkHeader(bytes, name, crc);
    out.push([n, `${header.chunkNumber}..${header.lastChunkNumber}`]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, range]) => range);
}

const rangeOf = (range: string): [number, number] => range.split('..').map(Number) as [number, number];
const isMerged = (range: string): boolean => rangeOf(range)[0] < rangeOf(range)[1];

/** Every event of $all forwards and backwards, and a page read by position from the middle. */
async function wholeLog(store: EventStore): Promise<Record<string, string[]>> {
  const forwards = (await store.readAll()).map(brief);
  const middle = BigInt(Number(await store.headPosition()) >> 1);
  return {
    forwards,
    backwards: (await store.readAll({ direction: 'backwards' })).map(brief),
    middle: (await store.readAll({ fromPosition: middle, maxCount: 25 })).map(brief),
  };
}

describe('scavenge', () => {
  test('scavenge - unreadable events become holes; every readable one reads back the same, also after reopens', async () => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      const dir = tempDir('annal-scavenge-');
      let now = 1_764_288_000_000;
      const clock = { nowMs: () => now };
      let store = await EventStore.open(dir, { ...OPTIONS, clock });
      for (let i = 0; i < 600; i++) {
        const s = STREAMS[Math.floor(random() * STREAMS.length)];
        await store.appendToStream(s, [{ type: random() < 0.5 ? 'A' : 'B', data: { i, pad: 'p'.repeat(Math.floor(random() * 200)) } }]);
        if (i === 300) now += 10 * 60_000; // age-1's earlier events are older than its $maxAge
      }
      await store.setStreamMetadata('count-1', { $maxCount: 3 });
      await store.setStreamMetadata('count-2', { $tb: 5 });
      await store.setStreamMetadata('age-1', { $maxAge: 300 });
      await store.deleteStream('soft-1');
      await store.deleteStream('hard-1', { hard: true });
      // Enough appends after the metadata to seal the chunks that hold the streams' events.
      for (let i = 0; i < 200; i++) await store.appendToStream('keep-1', [{ type: 'A', data: { late: i, pad: 'q'.repeat(60) } }]);
      const before = await visible(store);
      const allBefore = (await store.readAll()).map(brief);
      const bytesBefore = logBytes(dir);
      const result = await store.scavenge();
      expect(result.chunksScanned).toBeGreaterThan(3);
      expect(result.chunksRewritten).toBeGreaterThan(0);
      expect(result.eventsRemoved).toBeGreaterThan(0);
      expect(result.bytesReclaimed).toBe(bytesBefore - logBytes(dir));
      expect(await visible(store)).toEqual(before);
      const allAfter = (await store.readAll()).map(brief);
      expect(allAfter.length).toBe(allBefore.length - result.eventsRemoved);
      // What is left of $all is what was there, in order, at the same positions.
      const remaining = new Set(allAfter);
      expect(allBefore.filter((e) => remaining.has(e))).toEqual(allAfter);
      // Nothing of the hard-deleted stream is left but its tombstone in $$hard-1.
      expect(allAfter.some((e) => e.includes(':hard-1@'))).toBe(false);
      // A second scavenge finds nothing more.
      expect((await store.scavenge()).eventsRemoved).toBe(0);
      const sizes = async (s: EventStore): Promise<bigint[]> => Promise.all(STREAMS.map(async (id) => (await s.streamInfo(id)).bytes));
      const bytesAfter = await sizes(store);
      await store.close();
      for (const withIndex of [true, false]) {
        if (!withIndex) rmSync(join(dir, 'index'), { recursive: true });
        store = await EventStore.open(dir, { ...OPTIONS, clock });
        expect(await visible(store), `reopened, index files ${withIndex}`).toEqual(before);
        expect((await store.readAll()).map(brief)).toEqual(allAfter);
        // Byte sizes count holes as the log holds them, whether kept by the index or rebuilt.
        expect(await sizes(store), `stream bytes, index files ${withIndex}`).toEqual(bytesAfter);
        await store.close();
      }
      const report = await verifyStore(dir);
      expect(report.errors).toEqual([]);
    });
  });

  test('scavenge - appends go on while it runs; a retried append whose events were scavenged is still recognised', async () => {
    const dir = tempDir('annal-scavenge-');
    const store = await EventStore.open(dir, OPTIONS);
    const id = '0000beef-0000-4000-8000-0000000000aa';
    const first = await store.appendToStream('count-1', [{ id, type: 'A', data: { n: 0 } }], { expectedRevision: 'no_stream' });
    for (let i = 0; i < 300; i++) await store.appendToStream('count-1', [{ type: 'A', data: { i, pad: 'x'.repeat(100) } }]);
    await store.setStreamMetadata('count-1', { $maxCount: 1 });
    for (let i = 0; i < 100; i++) await store.appendToStream('keep-1', [{ type: 'A', data: { i, pad: 'x'.repeat(100) } }]);
    const scavenging = store.scavenge({ maxBytesPerSecond: 2 * 1024 * 1024 });
    const appends = Array.from({ length: 50 }, (_, i) => store.appendToStream('keep-2', [{ type: 'B', data: { i } }]));
    const [result] = await Promise.all([scavenging, ...appends]);
    expect(result.eventsRemoved).toBeGreaterThan(200);
    expect((await store.readStream('keep-2')).length).toBe(50);
    expect(await store.readStream('count-1')).toHaveLength(1);
    // The exact-revision retry compares ids at the expected revisions: the hole kept its id.
    expect(await store.appendToStream('count-1', [{ id, type: 'A', data: { n: 0 } }], { expectedRevision: 'no_stream' })).toEqual(first);
    await expect(store.scavenge({ maxBytesPerSecond: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.scavenge({ fast: true } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await store.close();
  });

  test('scavenge - reads running all through a scavenge see every readable event (offsets move with the file)', async () => {
    const dir = tempDir('annal-scavenge-');
    let store = await EventStore.open(dir, { chunkSizeBytes: 64 * 1024, logger: silentLogger });
    for (let i = 0; i < 2000; i++) await store.appendToStream(`r-${i % 20}`, [{ type: 'T', data: { i, pad: 'r'.repeat(80) } }]);
    for (let k = 0; k < 20; k += 2) await store.setStreamMetadata(`r-${k}`, { $maxCount: 1 });
    await store.close();
    store = await EventStore.open(dir, { chunkSizeBytes: 64 * 1024, logger: silentLogger });
    const expected = new Map<string, string[]>();
    for (let k = 1; k < 20; k += 2) expected.set(`r-${k}`, (await store.readStream(`r-${k}`)).map(brief));
    let reading = true;
    let reads = 0;
    const failures: unknown[] = [];
    const reader = (async () => {
      while (reading) {
        for (const [id, events] of expected) {
          try {
            expect((await store.readStream(id)).map(brief)).toEqual(events);
          } catch (error) {
            failures.push(error);
          }
          reads++;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const result = await store.scavenge();
    reading = false;
    await reader;
    expect(result.chunksRewritten).toBeGreaterThan(0);
    expect(reads).toBeGreaterThan(20);
    expect(failures).toEqual([]);
    await store.close();
  });
  test('scavenge - neighbouring chunks left small are merged into one file; reads stay the same, also after reopens; a later scavenge merges merged files further', async () => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      const dir = tempDir('annal-scavenge-');
      const options = { ...OPTIONS, clock: { nowMs: () => 1_764_288_000_000 } };
      let store = await EventStore.open(dir, options);
      // 70 % of the events go to count-1 and 20 % to count-2, which $maxCount 1 will hide in turn;
      // keep-* survive. Events are large beside the holes they leave (75 bytes), so a chunk keeps
      // about a third of its bytes after the first scavenge and a fifth after the second.
      const pad = (): string => 'm'.repeat(600 + Math.floor(random() * 300));
      for (let i = 0; i < 400; i++) {
        const r = random();
        const s = r < 0.7 ? 'count-1' : r < 0.9 ? 'count-2' : `keep-${1 + (i % 2)}`;
        await store.appendToStream(s, [{ type: random() < 0.5 ? 'A' : 'B', data: { i, pad: pad() } }]);
      }
      await store.setStreamMetadata('count-1', { $maxCount: 1 });
      // Enough appends after it to seal the chunk holding count-1's last events.
      for (let i = 0; i < 30; i++) await store.appendToStream('keep-2', [{ type: 'A', data: { late: i, pad: pad() } }]);
      const before = await visible(store);
      const logBefore = await wholeLog(store);
      const bytesBefore = logBytes(dir);
      const filesBefore = chunkRanges(dir);
      expect(filesBefore.every((r) => !isMerged(r))).toBe(true);

      const first = await store.scavenge();
      const filesAfterFirst = chunkRanges(dir);
      expect(first.chunksMerged).toBeGreaterThan(0);
      expect(first.chunkFilesBefore).toBe(filesBefore.length);
      expect(first.chunkFilesAfter).toBe(filesAfterFirst.length);
      expect(first.chunkFilesAfter).toBeLessThan(first.chunkFilesBefore);
      expect(first.bytesReclaimed).toBe(bytesBefore - logBytes(dir));
      expect(filesAfterFirst.filter(isMerged)).toHaveLength(first.chunksMerged);
      // The files still cover every chunk number once, in order.
      expect(filesAfterFirst.flatMap((r) => { const [a, b] = rangeOf(r); return Array.from({ length: b - a + 1 }, (_, i) => a + i); }))
        .toEqual(filesBefore.map((r) => rangeOf(r)[0]));
      expect(await visible(store)).toEqual(before);
      const logAfterFirst = await wholeLog(store);
      expect(logAfterFirst.forwards).toEqual(logBefore.forwards.filter((e) => !e.includes(':count-1@') || e === before['count-1'][0]));

      // count-2 too: the merged files shrink again and fit together.
      await store.setStreamMetadata('count-2', { $maxCount: 1 });
      for (let i = 0; i < 120; i++) await store.appendToStream('keep-1', [{ type: 'A', data: { late: i, pad: pad() } }]);
      const beforeSecond = await visible(store);
      const logBeforeSecond = await wholeLog(store);
      const second = await store.scavenge();
      const filesAfterSecond = chunkRanges(dir);
      expect(second.chunksMerged).toBeGreaterThan(0);
      expect(second.chunkFilesAfter).toBe(filesAfterSecond.length);
      // Some new file covers a file merged by the first scavenge and more.
      const grown = filesAfterSecond.filter((r) => filesAfterFirst.some((old) => isMerged(old) && old !== r && rangeOf(r)[0] <= rangeOf(old)[0] && rangeOf(old)[1] <= rangeOf(r)[1]));
      expect(grown.length, `files after the first scavenge ${filesAfterFirst.join(' ')}, after the second ${filesAfterSecond.join(' ')}`).toBeGreaterThan(0);
      expect(await visible(store)).toEqual(beforeSecond);
      const logAfterSecond = await wholeLog(store);
      expect(logAfterSecond.forwards).toEqual(logBeforeSecond.forwards.filter((e) => !e.includes(':count-2@') || e === beforeSecond['count-2'][0]));

      // Nothing is left to remove or merge: a third scavenge writes nothing.
      const third = await store.scavenge();
      expect(third.chunksRewritten).toBe(0);
      expect(chunkRanges(dir)).toEqual(filesAfterSecond);
      await store.close();

      for (const reopen of ['index files', 'rebuildIndexes'] as const) {
        store = await EventStore.open(dir, { ...options, rebuildIndexes: reopen === 'rebuildIndexes' });
        expect(await visible(store), `reopened with ${reopen}`).toEqual(beforeSecond);
        expect(await wholeLog(store), `reopened with ${reopen}`).toEqual(logAfterSecond);
        await store.close();
      }
      const report = await verifyStore(dir);
      expect(report.errors).toEqual([]);
      expect(report.warnings).toEqual([]);
      expect(report.sealedChunks).toBe(filesAfterSecond.length - 1); // all but the active chunk
    });
  });

  test('scavenge - appends and reads go on while a merging scavenge runs', async () => {
    const dir = tempDir('annal-scavenge-');
    const options = { chunkSizeBytes: 16 * 1024, logger: silentLogger };
    let store = await EventStore.open(dir, options);
    for (let i = 0; i < 1500; i++) await store.appendToStream(i % 5 === 0 ? `keep-${i % 3}` : 'gone', [{ type: 'T', data: { i, pad: 'g'.repeat(120) } }]);
    await store.deleteStream('gone', { hard: true });
    await store.close();
    store = await EventStore.open(dir, options);
    const expected = new Map<string, string[]>();
    for (let k = 0; k < 3; k++) expected.set(`keep-${k}`, (await store.readStream(`keep-${k}`)).map(brief));
    const keep = async (): Promise<string[]> => (await store.readAll({ filter: { category: 'keep' } })).map(brief);
    const allBefore = await keep();
    let reading = true;
    let reads = 0;
    const failures: unknown[] = [];
    const reader = (async () => {
      while (reading) {
        try {
          for (const [id, events] of expected) expect((await store.readStream(id)).map(brief)).toEqual(events);
          expect(await keep()).toEqual(allBefore);
        } catch (error) {
          failures.push(error);
        }
        reads++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const scavenging = store.scavenge({ maxBytesPerSecond: 4 * 1024 * 1024 });
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) appends.push(store.appendToStream('live', [{ type: 'L', data: { i, pad: 'l'.repeat(100) } }]));
    const [result] = await Promise.all([scavenging, ...appends]);
    reading = false;
    await reader;
    expect(result.chunksMerged).toBeGreaterThan(0);
    expect(result.chunkFilesAfter).toBeLessThan(result.chunkFilesBefore);
    expect(reads).toBeGreaterThan(5);
    expect(failures).toEqual([]);
    expect((await store.readStream('live')).map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await store.close();
    store = await EventStore.open(dir, options);
    expect(await keep()).toEqual(allBefore);
    expect(await store.readStream('live')).toHaveLength(200);
    await store.close();
    expect((await verifyStore(dir)).errors).toEqual([]);
  });

  test('scavenge - the stream byte counts it changed survive a power loss right after it (memtable empty or not)', async () => {
    for (const appendAfterReopen of [false, true]) {
      const disk = new SimDisk();
      const dir = '/annal';
      // A memtable that never fills: index files are written only by close() and the scavenge.
      const options = { ...OPTIONS, fileSystem: disk.fs, indexMemtableEntries: 1_000_000 };
      let store = await EventStore.open(dir, options);
      for (let i = 0; i < 300; i++) await store.appendToStream(i % 3 === 0 ? 'keep-1' : 'count-1', [{ type: 'A', data: { i, pad: 'x'.repeat(100) } }]);
      await store.setStreamMetadata('count-1', { $maxCount: 2 });
      await store.close();
      store = await EventStore.open(dir, options);
      if (appendAfterReopen) for (let i = 0; i < 20; i++) await store.appendToStream('keep-2', [{ type: 'A', data: { i } }]);
      const sizes = async (s: EventStore): Promise<bigint[]> => Promise.all(['keep-1', 'count-1', 'keep-2'].map(async (id) => (await s.streamInfo(id)).bytes));
      const before = await sizes(store);
      expect((await store.scavenge()).eventsRemoved).toBeGreaterThan(100);
      const after = await sizes(store);
      expect(after[1]).toBeLessThan(before[1]);
      // The power goes before close(): whatever was not made durable is lost.
      const image = disk.image([], 0, (n) => new Uint8Array(n));
      const reopened = await EventStore.open(dir, { ...options, fileSystem: image.fs });
      expect(await sizes(reopened), `memtable ${appendAfterReopen ? 'not empty' : 'empty'} at the scavenge`).toEqual(after);
      await reopened.close();
      await store.close();
    }
  });

  test('scavenge - a damaged record in a sealed chunk fails it with CorruptionError, and no chunk file changes', async () => {
    // Each damage hits the fifth record of the first chunk: its payload (the CRC no longer
    // matches) or its length field (it no longer ends where the next record begins).
    const damages = [
      { name: 'payload byte', at: (record: number) => record + 80, reason: /CRC mismatch/ },
      { name: 'length field', at: (record: number) => record, reason: /./ },
    ];
    for (const damage of damages) {
      const dir = tempDir('annal-scavenge-damaged-');
      let store = await EventStore.open(dir, OPTIONS);
      for (let i = 0; i < 300; i++) await store.appendToStream(i % 2 === 0 ? 'keep-1' : 'count-1', [{ type: 'A', data: { i, pad: 'x'.repeat(100) } }]);
      await store.setStreamMetadata('count-1', { $maxCount: 1 });
      await store.close();
      const first = join(dir, 'chunk-000000.annal');
      const bytes = readFileSync(first);
      let record = CHUNK_HEADER_BYTES;
      for (let r = 0; r < 4; r++) record += bytes.readUInt32LE(record);
      bytes[damage.at(record)] ^= 0x10;
      writeFileSync(first, bytes);
      const chunkFiles = (): Record<string, string> =>
        Object.fromEntries(readdirSync(dir).filter((n) => parseChunkFileName(n) !== null).map((n) => [n, readFileSync(join(dir, n)).toString('base64')]));
      const filesBefore = chunkFiles();
      store = await EventStore.open(dir, OPTIONS);
      const failure = await store.scavenge().then(() => null, (error: unknown) => error);
      expect(failure, damage.name).toBeInstanceOf(CorruptionError);
      expect((failure as CorruptionError).file, damage.name).toBe('chunk-000000.annal');
      expect((failure as CorruptionError).offset, damage.name).toBe(record);
      expect((failure as CorruptionError).reason, damage.name).toMatch(damage.reason);
      await store.close();
      expect(chunkFiles(), damage.name).toEqual(filesBefore);
    }
  });
});
