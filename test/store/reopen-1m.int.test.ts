// A million events (ANNAL_TEST_EVENTS=10000000 for the opt-in 10M run): appended in pipelined
// batches, then the store is closed and reopened twice — once loading the persisted index files,
// once rebuilding every index from the chunks (rebuildIndexes) — and random positions and whole
// streams must read back exactly as before each time. Prints how long the reopens took.

import { describe, expect, it } from 'vitest';
import { EventStore, type RecordedEvent } from '../../src/annal.js';
import { silentLogger } from '../../src/util/logger.js';
import { seededRandom, withSeed } from '../support/random.js';
import { plainEvent } from '../support/store-model.js';
import { tempDir } from '../support/temp-dir.js';

const EVENTS = Number(process.env.ANNAL_TEST_EVENTS ?? 1_000_000);
if (!Number.isSafeInteger(EVENTS) || EVENTS < 100_000 || EVENTS % 100_000 !== 0) throw new Error('ANNAL_TEST_EVENTS is a multiple of 100,000');
const BATCH_EVENTS = 1000;
const STREAMS = 100;
const PIPELINES = 8;
const DATA_BYTES = 200;
const SAMPLE_POSITIONS = 2000;
const OPTIONS = { chunkSizeBytes: 64 * 1024 * 1024, logger: silentLogger };

/** The data of a stream's event at `revision`: JSON of exactly DATA_BYTES bytes. */
function dataOf(stream: number, revision: number): { s: number; r: number; pad: string } {
  const bare = JSON.stringify({ s: stream, r: revision, pad: '' }).length;
  return { s: stream, r: revision, pad: 'x'.repeat(DATA_BYTES - bare) };
}

function expectWellFormed(event: RecordedEvent): void {
  const stream = Number(event.streamId.slice('bulk-'.length));
  expect(event.type).toBe(Number(event.revision) % 2 ? 'Odd' : 'Even');
  expect(event.data).toEqual(dataOf(stream, Number(event.revision)));
}

describe('reopen 1m', () => {
  it('reopen 1m - a million events survive close and reopen and read back identically', async () => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      const dir = tempDir('annal-1m-');
      let store = await EventStore.open(dir, OPTIONS);

      let started = performance.now();
      let nextBatch = 0;
      const revisions = new Array<number>(STREAMS).fill(0);
      await Promise.all(Array.from({ length: PIPELINES }, async () => {
        while (nextBatch < EVENTS / BATCH_EVENTS) {
          const stream = nextBatch++ % STREAMS;
          const first = revisions[stream];
          revisions[stream] += BATCH_EVENTS;
          const events = Array.from({ length: BATCH_EVENTS }, (_, k) => ({ type: (first + k) % 2 ? 'Odd' : 'Even', data: dataOf(stream, first + k) }));
          await store.appendToStream(`bulk-${stream}`, events);
        }
      }));
      const appendMs = performance.now() - started;
      expect(await store.headPosition()).toBe(BigInt(EVENTS - 1));

      const sample = Array.from({ length: SAMPLE_POSITIONS }, () => Math.floor(random() * EVENTS));
      sample.push(0, EVENTS - 1);
      const readSample = async (s: EventStore): Promise<Record<string, unknown>[]> => {
        const out: Record<string, unknown>[] = [];
        for (const p of sample) {
          const [event] = await s.readAll({ fromPosition: BigInt(p), maxCount: 1 });
          expect(event.position).toBe(BigInt(p));
          out.push(plainEvent(event));
        }
        return out;
      };
      const checkedStreams = [0, 1 + Math.floor(random() * (STREAMS - 2)), STREAMS - 1].map((k) => `bulk-${k}`);
      const before = await readSample(store);
      const streamsBefore = await Promise.all(checkedStreams.map(async (id) => (await store.readStream(id)).map(plainEvent)));
      await store.close();

      for (const rebuildIndexes of [true, false]) {
        started = performance.now();
        store = await EventStore.open(dir, { ...OPTIONS, rebuildIndexes });
        const reopenMs = performance.now() - started;
        console.log(`reopen 1m: appended ${EVENTS.toLocaleString('en-US')} events in ${appendMs.toFixed(0)} ms; reopen ${rebuildIndexes ? 'rebuilding the indexes from the log' : 'with the index files'} took ${reopenMs.toFixed(0)} ms`);

        expect(await store.headPosition()).toBe(BigInt(EVENTS - 1));
        expect(await readSample(store)).toEqual(before);
        for (const [i, id] of checkedStreams.entries()) {
          const events = await store.readStream(id);
          expect(events.length).toBe(EVENTS / STREAMS);
          expect(events.map(plainEvent)).toEqual(streamsBefore[i]);
          events.forEach((event, r) => {
            expect(event.revision).toBe(BigInt(r));
            if (r % 97 === 0) expectWellFormed(event);
          });
          expect(await store.streamInfo(id)).toMatchObject({
            streamId: id, exists: true, deleted: false, lastRevision: BigInt(EVENTS / STREAMS - 1), eventCount: BigInt(EVENTS / STREAMS), lastPosition: events[events.length - 1].position,
          });
        }
        for (const p of sample.slice(0, 200)) expectWellFormed((await store.readAll({ fromPosition: BigInt(p), maxCount: 1 }))[0]);
        expect((await store.readAll({ filter: { eventType: 'Odd' }, maxCount: 3 })).map((e) => e.type)).toEqual(['Odd', 'Odd', 'Odd']);
        if (rebuildIndexes) {
          await store.close();
          continue;
        }
        // The reopened store keeps appending where the log ended.
        expect(await store.appendToStream('bulk-0', [{ type: 'Even', data: dataOf(0, EVENTS / STREAMS) }], { expectedRevision: BigInt(EVENTS / STREAMS - 1) }))
          .toEqual({ nextExpectedRevision: BigInt(EVENTS / STREAMS), position: BigInt(EVENTS) });
        await store.close();
      }
    });
  }, 120_000 * (EVENTS / 1_000_000));
});
