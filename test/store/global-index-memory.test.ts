// Bounded memory of the global index (issue 5; format-spec/index.md §12): however many sealed
// chunks a store holds, the global index keeps in memory only the active chunk's offsets and the
// footer pages its cache budget (globalIndexCacheBytes) allows — while appending, after reads of
// everything, after a reopen from the index files and after a rebuild from the log.

import { describe, expect, test } from 'vitest';
import { EventStore } from '../../src/annal.js';
import type { GlobalIndex } from '../../src/index/global-index.js';
import { RECORD_BYTES_MIN } from '../../src/format/record-layout.js';
import { silentLogger } from '../../src/util/logger.js';
import { seededRandom, withSeed } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';

const CHUNK_BYTES = 8 * 1024;
const CACHE_BYTES = 8 * 1024;
const OPTIONS = { chunkSizeBytes: CHUNK_BYTES, globalIndexCacheBytes: CACHE_BYTES, indexMemtableEntries: 5000, logger: silentLogger };
const STREAMS = 50;
const ROUNDS = 3;
const EVENTS_PER_ROUND = 4000;
const EVENTS_PER_APPEND = 20;
/** The active chunk's offset array: 4096 offsets to start with, doubling, for at most a chunk's records. */
const ACTIVE_BYTES_MAX = 4 * Math.max(4096, 2 * Math.ceil(CHUNK_BYTES / RECORD_BYTES_MIN));

function globalIndex(store: EventStore): GlobalIndex {
  return (store as unknown as { parts: { indexes: { global: GlobalIndex } } }).parts.indexes.global;
}

/** Reads every event forwards and a random sample of streams, and checks what the reads saw. */
async function readEverything(store: EventStore, random: () => number, events: number): Promise<void> {
  const all = await store.readAll();
  expect(all).toHaveLength(events);
  all.forEach((event, i) => expect(event.position).toBe(BigInt(i)));
  for (let k = 0; k < 100; k++) {
    const stream = Math.floor(random() * STREAMS);
    const read = await store.readStream(`s-${stream}`, { direction: random() < 0.5 ? 'forwards' : 'backwards', maxCount: 50 });
    for (const event of read) expect((event.data as { s: number }).s).toBe(stream);
  }
}

/** The index's own accounting stays within the cache budget plus the active chunk, whatever the store's size. */
function expectBounded(store: EventStore, events: number, context: string): void {
  const memory = globalIndex(store).memory();
  expect(memory.cachedPageBytes, `${context}: cached pages`).toBeLessThanOrEqual(CACHE_BYTES);
  expect(memory.cacheAllocatedBytes, `${context}: cache slabs`).toBeLessThanOrEqual(CACHE_BYTES);
  expect(memory.offsetArrayBytes, `${context}: offset arrays`).toBeLessThanOrEqual(ACTIVE_BYTES_MAX);
  // Every chunk but the last (the active one, when it has records) reads its offsets from its footer.
  expect(memory.pagedChunks, context).toBeGreaterThanOrEqual(memory.chunks - 1);
  // Sanity: the store is large enough that holding every offset (4 bytes each) would not fit.
  if (events >= EVENTS_PER_ROUND * ROUNDS) expect(4 * events, context).toBeGreaterThan(CACHE_BYTES + ACTIVE_BYTES_MAX);
}

describe('global index memory', () => {
  test('global index memory - sealed chunks cost their footer pages within the budget, not memory per event', async () => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      const dir = tempDir('annal-global-memory-');
      let store = await EventStore.open(dir, OPTIONS);
      let events = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        for (let a = 0; a < EVENTS_PER_ROUND / EVENTS_PER_APPEND; a++) {
          const stream = Math.floor(random() * STREAMS);
          await store.appendToStream(`s-${stream}`, Array.from({ length: EVENTS_PER_APPEND }, (_, k) => ({ type: 'T', data: { s: stream, k, pad: 'p'.repeat(80) } })));
          events += EVENTS_PER_APPEND;
        }
        expectBounded(store, events, `round ${round}, appended`);
        await readEverything(store, random, events);
        expectBounded(store, events, `round ${round}, read`);
        expect(globalIndex(store).memory().chunks).toBeGreaterThan(50 * round);
      }
      await store.close();
      for (const rebuildIndexes of [false, true]) {
        store = await EventStore.open(dir, { ...OPTIONS, rebuildIndexes });
        const context = rebuildIndexes ? 'rebuilt from the log' : 'reopened from the index files';
        expect(globalIndex(store).memory(), context).toMatchObject({ cachedPageBytes: 0 });
        expectBounded(store, events, `${context}, opened`);
        await readEverything(store, random, events);
        expectBounded(store, events, `${context}, read`);
        await store.close();
      }
    });
  });
});
