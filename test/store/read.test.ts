// readStream, readAll (with filters), readCategory, the async iterators, streamInfo and
// headPosition, on small stores and across chunk and page boundaries.

import { describe, expect, it } from 'vitest';
import { EventStore, type EventStoreOptions, type RecordedEvent } from '../../src/annal.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../support/temp-dir.js';

async function openStore(options: EventStoreOptions = {}, dir = tempDir()): Promise<EventStore> {
  return EventStore.open(dir, { logger: silentLogger, ...options });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const positions = (events: readonly RecordedEvent[]): number[] => events.map((e) => Number(e.position));
const revisions = (events: readonly RecordedEvent[]): number[] => events.map((e) => Number(e.revision));
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/**
 * Positions 0..8: order-1 gets 0, 2, 5, 7; order-10 gets 1, 6; account-x-1 gets 3; 'order' (no
 * dash, no category) gets 4; '-dash' (no category) gets 8. Types alternate Created / Updated.
 */
async function smallStore(): Promise<EventStore> {
  const store = await openStore();
  const layout = ['order-1', 'order-10', 'order-1', 'account-x-1', 'order', 'order-1', 'order-10', 'order-1', '-dash'];
  for (const [i, streamId] of layout.entries()) await store.appendToStream(streamId, [{ type: i % 2 ? 'Updated' : 'Created', data: { i } }]);
  return store;
}

describe('read', () => {
  it('read - an empty store has head -1n and reads as empty', async () => {
    const store = await openStore();
    expect(await store.headPosition()).toBe(-1n);
    expect(await store.readAll()).toEqual([]);
    expect(await store.readAll({ direction: 'backwards' })).toEqual([]);
    expect(await store.readAll({ filter: { category: 'order' } })).toEqual([]);
    expect(await store.readStream('nothing')).toEqual([]);
    expect(await collect(store.iterateAll())).toEqual([]);
    expect(await store.streamInfo('nothing')).toEqual({ streamId: 'nothing', exists: false, deleted: false, lastRevision: -1n, eventCount: 0n, lastPosition: -1n, bytes: 0n });
    await store.close();
  });

  it('read - readStream forwards and backwards honours fromRevision and maxCount', async () => {
    const store = await smallStore();
    const s = 'order-1';
    expect(positions(await store.readStream(s))).toEqual([0, 2, 5, 7]);
    expect(revisions(await store.readStream(s, { fromRevision: 1n }))).toEqual([1, 2, 3]);
    expect(revisions(await store.readStream(s, { fromRevision: 1n, maxCount: 2 }))).toEqual([1, 2]);
    expect(revisions(await store.readStream(s, { fromRevision: 1n, maxCount: 2n }))).toEqual([1, 2]);
    expect(revisions(await store.readStream(s, { maxCount: 0 }))).toEqual([]);
    expect(revisions(await store.readStream(s, { fromRevision: 4n }))).toEqual([]);
    expect(revisions(await store.readStream(s, { fromRevision: 'end' }))).toEqual([]);
    expect(revisions(await store.readStream(s, { fromRevision: 'start' }))).toEqual([0, 1, 2, 3]);
    expect(revisions(await store.readStream(s, { direction: 'backwards' }))).toEqual([3, 2, 1, 0]);
    expect(revisions(await store.readStream(s, { direction: 'backwards', fromRevision: 2n }))).toEqual([2, 1, 0]);
    expect(revisions(await store.readStream(s, { direction: 'backwards', fromRevision: 2n, maxCount: 2 }))).toEqual([2, 1]);
    expect(revisions(await store.readStream(s, { direction: 'backwards', fromRevision: 99n }))).toEqual([3, 2, 1, 0]);
    expect(revisions(await store.readStream(s, { direction: 'backwards', fromRevision: 'start' }))).toEqual([0]);
    expect(revisions(await store.readStream(s, { direction: 'backwards', fromRevision: 'end', maxCount: 1 }))).toEqual([3]);
    expect(await store.readStream('order-2')).toEqual([]);
    const [event] = await store.readStream(s, { fromRevision: 3n });
    expect({ streamId: event.streamId, revision: event.revision, position: event.position, type: event.type, data: event.data })
      .toEqual({ streamId: s, revision: 3n, position: 7n, type: 'Updated', data: { i: 7 } });
    await store.close();
  });

  it('read - readAll forwards and backwards honours fromPosition and maxCount', async () => {
    const store = await smallStore();
    expect(positions(await store.readAll())).toEqual(range(0, 9));
    expect(positions(await store.readAll({ fromPosition: 4n }))).toEqual(range(4, 9));
    expect(positions(await store.readAll({ fromPosition: 4n, maxCount: 3 }))).toEqual([4, 5, 6]);
    expect(positions(await store.readAll({ fromPosition: 9n }))).toEqual([]);
    expect(positions(await store.readAll({ fromPosition: 'end' }))).toEqual([]);
    expect(positions(await store.readAll({ direction: 'backwards' }))).toEqual(range(0, 9).reverse());
    expect(positions(await store.readAll({ direction: 'backwards', fromPosition: 4n, maxCount: 2 }))).toEqual([4, 3]);
    expect(positions(await store.readAll({ direction: 'backwards', fromPosition: 100n, maxCount: 2 }))).toEqual([8, 7]);
    expect(positions(await store.readAll({ direction: 'backwards', fromPosition: 'start' }))).toEqual([0]);
    expect((await store.readAll({ fromPosition: 3n, maxCount: 1 }))[0].streamId).toBe('account-x-1');
    await store.close();
  });

  it('read - filters select by event type, category and stream prefix, in $all order both ways', async () => {
    const store = await smallStore();
    expect(positions(await store.readAll({ filter: { eventType: 'Updated' } }))).toEqual([1, 3, 5, 7]);
    expect(positions(await store.readAll({ filter: { eventType: 'Missing' } }))).toEqual([]);
    // A category is the stream id before its first dash: 'order' itself and '-dash' have none.
    expect(positions(await store.readAll({ filter: { category: 'order' } }))).toEqual([0, 1, 2, 5, 6, 7]);
    expect(positions(await store.readAll({ filter: { category: 'account' } }))).toEqual([3]);
    expect(positions(await store.readAll({ filter: { category: 'account-x' } }))).toEqual([]);
    expect(positions(await store.readAll({ filter: { streamPrefix: 'order' } }))).toEqual([0, 1, 2, 4, 5, 6, 7]);
    expect(positions(await store.readAll({ filter: { streamPrefix: 'order-1' } }))).toEqual([0, 1, 2, 5, 6, 7]);
    expect(positions(await store.readAll({ filter: { streamPrefix: 'order-10' } }))).toEqual([1, 6]);
    expect(positions(await store.readAll({ filter: { streamPrefix: '-' } }))).toEqual([8]);
    for (const filter of [{ eventType: 'Created' }, { category: 'order' }, { streamPrefix: 'order' }]) {
      const all = positions(await store.readAll({ filter }));
      expect(positions(await store.readAll({ filter, direction: 'backwards' })), JSON.stringify(filter)).toEqual([...all].reverse());
      expect(positions(await store.readAll({ filter, fromPosition: 2n, maxCount: 2 })), JSON.stringify(filter)).toEqual(all.filter((p) => p >= 2).slice(0, 2));
      expect(positions(await store.readAll({ filter, direction: 'backwards', fromPosition: 5n, maxCount: 2 })), JSON.stringify(filter))
        .toEqual(all.filter((p) => p <= 5).reverse().slice(0, 2));
      expect(positions(await store.readAll({ filter, maxCount: 0 }))).toEqual([]);
    }
    await store.close();
  });

  it('read - readCategory gives what the category filter gives', async () => {
    const store = await smallStore();
    expect(positions(await store.readCategory('order'))).toEqual([0, 1, 2, 5, 6, 7]);
    expect(positions(await store.readCategory('order', { direction: 'backwards', maxCount: 2 }))).toEqual([7, 6]);
    expect(positions(await store.readCategory('order', { fromPosition: 3n }))).toEqual([5, 6, 7]);
    expect(positions(await store.readCategory('nobody'))).toEqual([]);
    await store.close();
  });

  it('read - streamInfo reports existence, last revision, count and last position; headPosition the last event', async () => {
    const store = await smallStore();
    expect(await store.streamInfo('order-1')).toMatchObject({ streamId: 'order-1', exists: true, deleted: false, lastRevision: 3n, eventCount: 4n, lastPosition: 7n });
    expect(await store.streamInfo('order')).toMatchObject({ streamId: 'order', exists: true, deleted: false, lastRevision: 0n, eventCount: 1n, lastPosition: 4n });
    expect(await store.streamInfo('order-2')).toEqual({ streamId: 'order-2', exists: false, deleted: false, lastRevision: -1n, eventCount: 0n, lastPosition: -1n, bytes: 0n });
    expect(await store.headPosition()).toBe(8n);
    await store.close();
  });

  it('read - an append is invisible to reads until it is durable', async () => {
    const store = await smallStore();
    const appending = store.appendToStream('order-1', [{ type: 'Late', data: 1 }]);
    expect(await store.headPosition()).toBe(8n);
    expect(await store.streamInfo('order-1')).toMatchObject({ eventCount: 4n });
    expect(positions(await store.readAll({ fromPosition: 8n }))).toEqual([8]);
    await appending;
    expect(positions(await store.readAll({ fromPosition: 8n }))).toEqual([8, 9]);
    await store.close();
  });

  it('read - reads from every position across small chunks match the full log', async () => {
    const store = await openStore({ chunkSizeBytes: 8 * 1024 });
    for (let i = 0; i < 40; i++) {
      await store.appendToStream(`c-${i % 3}`, Array.from({ length: 1 + (i % 4) }, (_, k) => ({ type: 'T', data: 'd'.repeat(((i * 7 + k * 13) % 11) * 150) })));
    }
    const all = positions(await store.readAll());
    const head = Number(await store.headPosition());
    expect(all).toEqual(range(0, head + 1));
    for (let p = 0; p <= head; p++) {
      expect(positions(await store.readAll({ fromPosition: BigInt(p), maxCount: 5 }))).toEqual(range(p, Math.min(p + 5, head + 1)));
      expect(positions(await store.readAll({ fromPosition: BigInt(p), maxCount: 5, direction: 'backwards' }))).toEqual(range(Math.max(0, p - 4), p + 1).reverse());
    }
    for (const streamId of ['c-0', 'c-1', 'c-2']) {
      const info = await store.streamInfo(streamId);
      const forwards = await store.readStream(streamId);
      expect(revisions(forwards)).toEqual(range(0, Number(info.eventCount)));
      expect(forwards[forwards.length - 1].position).toBe(info.lastPosition);
      for (let r = 0; r < forwards.length; r += 3) {
        expect(positions(await store.readStream(streamId, { fromRevision: BigInt(r), direction: 'backwards', maxCount: 4 })))
          .toEqual(positions(forwards.slice(Math.max(0, r - 3), r + 1)).reverse());
      }
    }
    await store.close();
  });

  it('read - iterators page through more than one page and agree with readAll and readStream', async () => {
    const store = await openStore();
    // 2,500 events: two full pages of 1,000 and a partial one; streams interleave.
    for (let batch = 0; batch < 25; batch++) {
      await store.appendMulti([
        { streamId: 'it-a', events: Array.from({ length: 60 }, (_, i) => ({ type: i % 3 ? 'Minor' : 'Major', data: batch * 100 + i })) },
        { streamId: 'it-b', events: Array.from({ length: 40 }, (_, i) => ({ type: 'Minor', data: batch * 100 + 60 + i })) },
      ]);
    }
    expect(positions(await collect(store.iterateAll()))).toEqual(range(0, 2500));
    expect(positions(await collect(store.iterateAll({ direction: 'backwards' })))).toEqual(range(0, 2500).reverse());
    expect(positions(await collect(store.iterateAll({ fromPosition: 700n, maxCount: 1500 })))).toEqual(range(700, 2200));
    expect(positions(await collect(store.iterateAll({ fromPosition: 1999n, direction: 'backwards', maxCount: 1001 })))).toEqual(range(999, 2000).reverse());
    expect(positions(await collect(store.iterateAll({ fromPosition: 1000n, maxCount: 1000 })))).toEqual(range(1000, 2000));
    for (const filter of [{ eventType: 'Minor' }, { streamPrefix: 'it-a' }, { category: 'it' }]) {
      expect(positions(await collect(store.iterateAll({ filter }))), JSON.stringify(filter)).toEqual(positions(await store.readAll({ filter })));
      expect(positions(await collect(store.iterateAll({ filter, direction: 'backwards', fromPosition: 2000n }))), JSON.stringify(filter))
        .toEqual(positions(await store.readAll({ filter, direction: 'backwards', fromPosition: 2000n })));
    }
    expect(revisions(await collect(store.iterateStream('it-a')))).toEqual(range(0, 1500));
    expect(revisions(await collect(store.iterateStream('it-a', { direction: 'backwards' })))).toEqual(range(0, 1500).reverse());
    expect(revisions(await collect(store.iterateStream('it-b', { fromRevision: 10n, maxCount: 999 })))).toEqual(range(10, 1000));
    expect(revisions(await collect(store.iterateStream('it-b', { fromRevision: 1000n, direction: 'backwards' })))).toEqual(range(0, 1000).reverse());
    expect(await collect(store.iterateStream('missing'))).toEqual([]);
    // Stopping early reads no further pages.
    let seen = 0;
    for await (const event of store.iterateAll()) if (++seen === 3 || event.position < 0n) break;
    expect(seen).toBe(3);
    await store.close();
  });

  it('read - a stream prefix filter scans past many read batches of other streams', async () => {
    const store = await openStore();
    // 20,000 events of which every 2,000th is 'needle-…': the filter must page through $all.
    for (let batch = 0; batch < 20; batch++) {
      await store.appendToStream(`hay-${batch}`, Array.from({ length: 999 }, () => ({ type: 'Hay', data: 0 })));
      await store.appendToStream(`needle-${batch % 2}`, [{ type: 'Needle', data: batch }]);
    }
    const needles = range(0, 20).map((b) => b * 1000 + 999);
    expect(positions(await store.readAll({ filter: { streamPrefix: 'needle-' } }))).toEqual(needles);
    expect(positions(await store.readAll({ filter: { streamPrefix: 'needle-' }, direction: 'backwards' }))).toEqual([...needles].reverse());
    expect(positions(await store.readAll({ filter: { streamPrefix: 'needle-1' }, fromPosition: 5000n, maxCount: 3 }))).toEqual([5999, 7999, 9999]);
    expect(positions(await store.readAll({ filter: { streamPrefix: 'needle-' }, direction: 'backwards', fromPosition: 10_500n, maxCount: 2 }))).toEqual([9999, 8999]);
    expect((await store.readAll({ filter: { streamPrefix: 'needle-0' } })).map((e) => e.data)).toEqual(range(0, 10).map((k) => 2 * k));
    await store.close();
  });

  it('read - events stay intact after later reads reuse the read buffers', async () => {
    const store = await openStore();
    await store.appendToStream('keep', Array.from({ length: 20 }, (_, i) => ({ type: 'Bytes', data: new Uint8Array(100).fill(i) })));
    await store.appendToStream('other', Array.from({ length: 20 }, () => ({ type: 'Bytes', data: new Uint8Array(100).fill(255) })));
    const first = await store.readStream('keep');
    const views = first.map((e) => e.data as Uint8Array);
    await store.readStream('other');
    await store.readAll({ direction: 'backwards' });
    views.forEach((view, i) => expect(view.every((b) => b === i), `event ${i}`).toBe(true));
    expect(first.map((e) => e.type)).toEqual(Array.from({ length: 20 }, () => 'Bytes'));
    await store.close();
  });
});
