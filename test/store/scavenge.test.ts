// Scavenging: events that metadata or deletes made unreadable become holes; everything readable
// reads back the same (same positions), before and after a reopen with and without index files;
// the log gets smaller and verifies clean; appends go on during it; a retry of an append whose
// events were scavenged is still recognised.

import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EventStore, InvalidArgumentError, type RecordedEvent } from '../../src/annal.js';
import { verifyStore } from '../../src/store/verify.js';
import { silentLogger } from '../../src/util/logger.js';
import { seededRandom, withSeed } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';

const OPTIONS = { chunkSizeBytes: 16 * 1024, indexMemtableEntries: 100, logger: silentLogger };
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
});
