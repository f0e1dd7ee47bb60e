// Reads bounded in bytes (`maxBytes`): a page stops before the event that would take its records
// past the budget, always after at least one event, in every kind of read; the iterators and
// catch-up subscriptions page on after a cut. Checked against a model of the events' record sizes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventStore, InvalidArgumentError, type RecordedEvent } from '../../src/annal.js';
import { recordBytes } from '../../src/format/record-layout.js';
import { silentLogger } from '../../src/util/logger.js';
import { propertyParams } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';

const STREAMS = ['a-1', 'a-2', 'b-1'];
const TYPE = 'Sized';

interface Written {
  readonly streamId: string;
  readonly revision: number;
  readonly bytes: number;
}

/** The events a budgeted page holds, by the documented rule, from `candidates` in read order. */
function expectedPage(candidates: readonly Written[], maxCount: number, maxBytes: number): Written[] {
  const out: Written[] = [];
  let left = maxBytes;
  for (const event of candidates) {
    if (out.length === maxCount) break;
    if (event.bytes > left && out.length > 0) break;
    left -= event.bytes;
    out.push(event);
  }
  return out;
}

const key = (e: RecordedEvent | Written): string => `${e.streamId}@${'revision' in e ? Number(e.revision) : ''}`;

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('reads bounded by maxBytes', () => {
  it('read bytes - every page is the longest prefix within maxBytes (at least one event), for streams, $all and its filters; iterators see everything', async () => {
    const dir = tempDir();
    // Small chunks so that reads cross chunk files; sizes from tiny to 20 KiB.
    const store = await EventStore.open(dir, { logger: silentLogger, chunkSizeBytes: 256 * 1024 });
    const written: Written[] = [];
    const counts = new Map<string, number>();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ stream: fc.constantFrom(...STREAMS, 'a-1', 'a-2'), size: fc.oneof(fc.nat(200), fc.integer({ min: 1000, max: 20_000 })) }), { minLength: 1, maxLength: 12 }),
          fc.integer({ min: 1, max: 60_000 }),
          fc.integer({ min: 1, max: 30 }),
          fc.boolean(),
          async (appends, maxBytes, maxCount, forwards) => {
            for (const { stream, size } of appends) {
              await store.appendToStream(stream, [{ type: TYPE, data: new Uint8Array(size) }]);
              const revision = counts.get(stream) ?? 0;
              counts.set(stream, revision + 1);
              written.push({ streamId: stream, revision, bytes: recordBytes(Buffer.byteLength(stream), TYPE.length, 0, size) });
            }
            const direction = forwards ? 'forwards' : 'backwards';
            const inOrder = (events: readonly Written[]): Written[] => (forwards ? [...events] : [...events].reverse());
            // $all
            const all = await store.readAll({ direction, maxCount, maxBytes });
            expect(all.map(key)).toEqual(expectedPage(inOrder(written), maxCount, maxBytes).map(key));
            expect(all.map((e) => e.recordBytes)).toEqual(expectedPage(inOrder(written), maxCount, maxBytes).map((e) => e.bytes));
            // readAllPage says whether the budget, not maxCount or the end, stopped the page.
            const page = await store.readAllPage({ direction, maxCount, maxBytes });
            expect(page.events.map(key)).toEqual(all.map(key));
            expect(page.cut).toBe(all.length < Math.min(maxCount, written.length));
            // One stream
            const streamId = STREAMS[maxBytes % STREAMS.length];
            const stream = await store.readStream(streamId, { direction, maxCount, maxBytes });
            expect(stream.map(key)).toEqual(expectedPage(inOrder(written.filter((e) => e.streamId === streamId)), maxCount, maxBytes).map(key));
            const streamPage = await store.readStreamPage(streamId, { direction, maxCount, maxBytes });
            expect(streamPage.cut).toBe(stream.length < Math.min(maxCount, counts.get(streamId) ?? 0));
            // Category index and stream-prefix scan
            const category = await store.readAll({ direction, maxCount, maxBytes, filter: { category: 'a' } });
            expect(category.map(key)).toEqual(expectedPage(inOrder(written.filter((e) => e.streamId.startsWith('a-'))), maxCount, maxBytes).map(key));
            // A prefix scan counts the records it examined: its page is at most the filtered model's.
            const prefixed = await store.readAll({ direction, maxCount, maxBytes, filter: { streamPrefix: 'b-' } });
            const prefixModel = expectedPage(inOrder(written.filter((e) => e.streamId.startsWith('b-'))), maxCount, Infinity).map(key);
            expect(prefixModel.slice(0, prefixed.length)).toEqual(prefixed.map(key));
            // …and holds an event whenever one matches, however much it had to examine first.
            expect(prefixed.length > 0).toBe(prefixModel.length > 0 && maxCount > 0);
            // The iterators page on after every cut and see everything.
            expect((await collect(store.iterateAll({ direction, maxBytes }))).map(key)).toEqual(inOrder(written).map(key));
            expect((await collect(store.iterateStream(streamId, { direction, maxBytes }))).map(key)).toEqual(inOrder(written.filter((e) => e.streamId === streamId)).map(key));
            expect((await collect(store.iterateAll({ direction, maxBytes, filter: { streamPrefix: 'b-' } }))).map(key)).toEqual(inOrder(written.filter((e) => e.streamId.startsWith('b-'))).map(key));
          },
        ),
        propertyParams(40),
      );
    } finally {
      await store.close();
    }
  });

  it('read bytes - a catch-up subscription pages through history larger than its byte budget', async () => {
    const store = await EventStore.open(tempDir(), { logger: silentLogger });
    try {
      // 20 events of 1 MiB: 20 MiB of history, pages of at most 8 MiB (READ_PAGE_BYTES).
      for (let i = 0; i < 20; i++) await store.appendToStream('big', [{ type: TYPE, data: new Uint8Array(1024 * 1024).fill(i) }]);
      const subscription = store.subscribeToStream('big', { fromRevision: 'start' });
      const seen: number[] = [];
      for await (const item of subscription) {
        seen.push((item.data as Uint8Array)[0]);
        if (seen.length === 20) break;
      }
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    } finally {
      await store.close();
    }
  });

  it('read bytes - maxBytes must be a positive safe integer', async () => {
    const store = await EventStore.open(tempDir(), { logger: silentLogger });
    try {
      for (const maxBytes of [0, -1, 1.5, Number.NaN, '10' as unknown as number, 2 ** 60]) {
        await expect(store.readAll({ maxBytes })).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(store.readStream('s', { maxBytes })).rejects.toBeInstanceOf(InvalidArgumentError);
      }
    } finally {
      await store.close();
    }
  });
});
