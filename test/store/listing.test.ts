// Listing and counting without a projection: countEvents, listStreams (prefix, cursor, limit,
// deleted streams left out, access), categories and streamInfo's byte size, before and after a
// reopen that loads them from the persisted indexes.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AccessDeniedError, EventStore, InvalidArgumentError } from '../../src/annal.js';
import { silentLogger } from '../../src/util/logger.js';
import { propertyParams } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';
import { eventRecordBytes } from '../support/store-model.js';

// Small: flushes every few appends, and the stream table keeps two streams after each.
const OPTIONS = { logger: silentLogger, indexMemtableEntries: 7, streamCacheEntries: 2 };

describe('listing', () => {
  test('listing - listStreams pages through ids by prefix in order, as a sorted model does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.stringMatching(/^[ab][a-cé\u{1F600}\uFF21-]{0,4}$/u), { minLength: 1, maxLength: 30 }),
        fc.constantFrom('', 'a', 'ab', 'b-', 'z'),
        fc.integer({ min: 1, max: 7 }),
        async (ids, prefix, limit) => {
          const dir = tempDir('annal-list-');
          let store = await EventStore.open(dir, OPTIONS);
          try {
            const half = Math.ceil(ids.length / 2);
            for (const id of ids.slice(0, half)) await store.appendToStream(id, [{ type: 'T', data: {} }]);
            // Half the streams come back from the index files, half arrive after the first listing.
            await store.close();
            store = await EventStore.open(dir, OPTIONS);
            await store.listStreams();
            for (const id of ids.slice(half)) await store.appendToStream(id, [{ type: 'T', data: {} }]);
            // Bytewise UTF-8 order is code point order (JavaScript's sort() is code-unit order).
            const expected = ids.filter((id) => id.startsWith(prefix)).map((id) => Buffer.from(id)).sort(Buffer.compare).map(String);
            const pages: string[] = [];
            let after: string | undefined;
            for (;;) {
              const page = await store.listStreams({ prefix, limit, ...(after === undefined ? {} : { after }) });
              expect(page.length).toBeLessThanOrEqual(limit);
              pages.push(...page);
              if (page.length < limit) break;
              after = page[page.length - 1];
            }
            expect(pages).toEqual(expected);
          } finally {
            await store.close();
          }
        },
      ),
      propertyParams(40),
    );
  });

  test('listing - deleted streams are left out, metadata streams of live ones listed; bad options refused', async () => {
    const store = await EventStore.open(tempDir('annal-list-'), OPTIONS);
    for (const id of ['keep-1', 'soft-1', 'hard-1']) await store.appendToStream(id, [{ type: 'T', data: {} }]);
    await store.setStreamMetadata('keep-1', { owner: 'ann' });
    await store.deleteStream('soft-1');
    await store.deleteStream('hard-1', { hard: true });
    expect(await store.listStreams()).toEqual(['$$keep-1', '$$soft-1', 'keep-1']);
    await expect(store.listStreams({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.listStreams({ limit: 10_001 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.listStreams({ colour: 'red' } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(store.listStreams({ principal: { name: 'bob', groups: [] } })).rejects.toBeInstanceOf(AccessDeniedError);
    expect(await store.listStreams({ principal: { name: 'admin', groups: ['$admins'] }, prefix: 'k' })).toEqual(['keep-1']);
    await store.close();
  });

  test('listing - countEvents, categories and stream byte sizes survive a reopen', async () => {
    const dir = tempDir('annal-list-');
    let store = await EventStore.open(dir, OPTIONS);
    const events = [{ type: 'Placed', data: { total: 5 } }, { type: 'Shipped', data: new Uint8Array(100), metadata: { by: 'ann' } }];
    await store.appendToStream('order-1', events);
    await store.appendToStream('invoice-7', [events[0]]);
    await store.appendToStream('plain', [events[1]]);
    const bytes = eventRecordBytes('order-1', events[0]) + eventRecordBytes('order-1', events[1]);
    for (let round = 0; round < 2; round++) {
      expect(await store.countEvents()).toBe(4n);
      expect(await store.categories()).toEqual(['invoice', 'order']);
      expect((await store.streamInfo('order-1')).bytes).toBe(BigInt(bytes));
      expect((await store.streamInfo('plain')).bytes).toBe(BigInt(eventRecordBytes('plain', events[1])));
      expect((await store.streamInfo('none')).bytes).toBe(0n);
      await store.close();
      store = await EventStore.open(dir, OPTIONS);
    }
    await store.close();
  });
});

describe('delete-aware category and event-type reads', () => {
  test('category and event-type reads leave out what stream metadata hides; $all keeps every event', async () => {
    const dir = tempDir('annal-list-');
    let store = await EventStore.open(dir, OPTIONS);
    for (const id of ['order-1', 'order-2', 'order-3', 'order-4']) {
      await store.appendToStream(id, [0, 1, 2].map((n) => ({ type: n === 0 ? 'Placed' : 'Updated', data: { n } })));
    }
    await store.deleteStream('order-2');
    await store.deleteStream('order-3', { hard: true });
    await store.setStreamMetadata('order-4', { $maxCount: 1 });
    for (let round = 0; round < 2; round++) {
      const shown = (await store.readCategory('order')).map((e) => `${e.streamId}@${e.revision}`);
      expect(shown).toEqual(['order-1@0', 'order-1@1', 'order-1@2', 'order-4@2']);
      const placed = (await store.readAll({ filter: { eventType: 'Placed' } })).map((e) => e.streamId);
      expect(placed).toEqual(['order-1']);
      // maxCount counts shown events, in both directions.
      expect((await store.readCategory('order', { direction: 'backwards', maxCount: 2 })).map((e) => `${e.streamId}@${e.revision}`)).toEqual(['order-4@2', 'order-1@2']);
      expect((await store.readAll({ filter: { streamPrefix: 'order-' } })).length).toBe(12);
      await store.close();
      store = await EventStore.open(dir, OPTIONS);
    }
    await store.close();
  });
});
