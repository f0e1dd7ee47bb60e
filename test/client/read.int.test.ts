// The client's reads against a real in-process server, checked against the embedded store that
// serves them: streams both ways with paging past the protocol's 4096-event pages, single events,
// $all with positions and filters, and the head position.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AnnalClient, InvalidArgumentError, POSITION_UNKNOWN, type RecordedEvent } from '../../src/client/index.js';
import type { RecordedEvent as StoredEvent } from '../../src/annal.js';
import { ADMIN, TestServer } from './support/test-server.js';

let server: TestServer;
let client: AnnalClient;
const big = `paged-${randomUUID()}`;
const BIG_EVENTS = 10_000;

beforeAll(async () => {
  server = await TestServer.start();
  client = await AnnalClient.connect({ host: server.host, port: server.port, credentials: ADMIN });
  for (let batch = 0; batch < BIG_EVENTS / 1000; batch++) {
    await client.appendToStream(big, Array.from({ length: 1000 }, (_, i) => ({ type: 'n', data: { n: batch * 1000 + i } })));
  }
  for (let i = 0; i < 30; i++) {
    await client.appendToStream(`order-${i % 3}`, [{ type: i % 2 === 0 ? 'OrderPlaced' : 'OrderPlacedLate', data: { i } }]);
    await client.appendToStream(`orderline-${i % 2}`, [{ type: 'LineAdded', data: { i } }]);
    await client.appendToStream(`invoice-${i % 4}`, [{ type: 'Invoiced', data: { i }, metadata: { by: 'test' } }]);
  }
});

afterAll(async () => {
  await client?.close();
  await server?.close();
});

const ns = (events: RecordedEvent[]): number[] => events.map((e) => (e.data as { n: number }).n);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const same = (events: RecordedEvent[], stored: StoredEvent[]): void => {
  expect(events.map((e) => [e.id, e.position, e.streamId, e.revision, e.type])).toEqual(stored.map((e) => [e.id, e.position, e.streamId, e.revision, e.type]));
};

describe('client read', () => {
  test('client read - a stream pages past 4096 events forwards and backwards', async () => {
    const forwards = await client.readStream(big);
    expect(forwards).toHaveLength(BIG_EVENTS);
    expect(ns(forwards)).toEqual(range(0, BIG_EVENTS));
    expect(forwards.every((e, i) => e.revision === BigInt(i) && e.streamId === big && e.position === POSITION_UNKNOWN)).toBe(true);
    const backwards = await client.readStream(big, { direction: 'backwards' });
    expect(ns(backwards)).toEqual(range(0, BIG_EVENTS).reverse());
    expect(ns(await client.readStream(big, { fromRevision: 4000n, maxCount: 5000 }))).toEqual(range(4000, 9000));
    expect(ns(await client.readStream(big, { fromRevision: 8999n, direction: 'backwards', maxCount: 4500n }))).toEqual(range(4500, 9000).reverse());
    expect(ns(await client.readStream(big, { fromRevision: 'start', direction: 'backwards' }))).toEqual([0]);
    expect(await client.readStream(big, { fromRevision: 'end' })).toEqual([]);
    expect(await client.readStream(big, { fromRevision: 20_000n })).toEqual([]);
    expect(ns(await client.readStream(big, { fromRevision: 20_000n, direction: 'backwards', maxCount: 3 }))).toEqual([9999, 9998, 9997]);
    expect(await client.readStream(big, { maxCount: 0 })).toEqual([]);
  });

  test('client read - events carry the embedded fields; missing streams and events read as empty', async () => {
    const [event] = await client.readStream('invoice-1', { maxCount: 1 });
    const [stored] = await server.store.readStream('invoice-1', { maxCount: 1 });
    expect({ ...event.toJSON(), position: String(stored.position), metadata: null }).toEqual({ ...stored.toJSON(), metadata: null });
    // JSON metadata comes back parsed (the server stores TCP metadata as bytes, flagged by the data's type).
    expect(event.metadata).toEqual({ by: 'test' });
    expect(Buffer.from(event.metadataBytes() as Uint8Array).toString()).toBe('{"by":"test"}');
    expect(Object.isFrozen(event)).toBe(true);
    expect(await client.readStream(`missing-${randomUUID()}`)).toEqual([]);
    expect(await client.readEvent(`missing-${randomUUID()}`, 0n)).toBeNull();
    expect(await client.readEvent(big, 10_000n)).toBeNull();
    expect((await client.readEvent(big, 1234n))?.data).toEqual({ n: 1234 });
    expect((await client.readEvent(big, 'end'))?.revision).toBe(9999n);
    await expect(client.readStream(big, { direction: 'sideways' } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.readStream(big, { fromRevision: -1n })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.readEvent(big, -1n)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  test('client read - $all both ways, from inclusive positions, as the store reads it', async () => {
    const all = await client.readAll();
    same(all, await server.store.readAll());
    expect(all.length).toBeGreaterThan(BIG_EVENTS);
    same(await client.readAll({ direction: 'backwards' }), await server.store.readAll({ direction: 'backwards' }));
    const middle = all[5000].position;
    same(await client.readAll({ fromPosition: middle, maxCount: 4200 }), await server.store.readAll({ fromPosition: middle, maxCount: 4200 }));
    same(await client.readAll({ fromPosition: middle, direction: 'backwards', maxCount: 4200 }), await server.store.readAll({ fromPosition: middle, direction: 'backwards', maxCount: 4200 }));
    same(await client.readAll({ fromPosition: 'start', direction: 'backwards' }), await server.store.readAll({ fromPosition: 'start', direction: 'backwards' }));
    expect(await client.readAll({ fromPosition: 'end' })).toEqual([]);
    expect(await client.headPosition()).toBe(await server.store.headPosition());
  });

  test('client read - $all filtered by event type (exactly), stream prefix and category, as the store filters', async () => {
    for (const filter of [{ eventType: 'OrderPlaced' }, { streamPrefix: 'order' }, { category: 'order' }, { category: 'invoice' }, { eventType: 'Nothing' }] as const) {
      same(await client.readAll({ filter }), await server.store.readAll({ filter }));
      same(await client.readAll({ filter, direction: 'backwards', maxCount: 7 }), await server.store.readAll({ filter, direction: 'backwards', maxCount: 7 }));
    }
    expect((await client.readAll({ filter: { eventType: 'OrderPlaced' } })).every((e) => e.type === 'OrderPlaced')).toBe(true);
    expect((await client.readAll({ filter: { category: 'order' } })).map((e) => e.streamId)).not.toContain('orderline-0');
    await expect(client.readAll({ filter: { eventType: 'a', category: 'b' } as never })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
