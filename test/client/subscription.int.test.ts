// Catch-up subscriptions through the client against a real server: from the start while a writer
// appends, from a revision / position / the end, filtered $all, a consumer too slow for the live
// queue, and across cut connections and a server restart: every event once, in order.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { AnnalClient, type RecordedEvent, type Subscription } from '../../src/client/index.js';
import { CuttingProxy } from './support/cutting-proxy.js';
import { ADMIN, TestServer } from './support/test-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { proxy?: boolean } = {}): Promise<{ server: TestServer; client: AnnalClient; writer: AnnalClient; proxy: CuttingProxy | null }> {
  const server = await TestServer.start();
  cleanups.push(() => server.close());
  const proxy = options.proxy ? await CuttingProxy.start(server.port) : null;
  if (proxy) cleanups.push(() => proxy.close());
  const client = await AnnalClient.connect({ host: '127.0.0.1', port: proxy?.port ?? server.port, credentials: ADMIN, reconnectDelayMs: 10 });
  cleanups.push(() => client.close());
  const writer = await AnnalClient.connect({ host: server.host, port: server.port, credentials: ADMIN, reconnectDelayMs: 10 });
  cleanups.push(() => writer.close());
  return { server, client, writer, proxy };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Appends `total` events to `streams` in small batches, round robin, as fast as they are acknowledged. */
async function write(writer: AnnalClient, streams: string[], total: number, from = 0): Promise<void> {
  let n = from;
  while (n < from + total) {
    const batch = Math.min(1 + (n % 5), from + total - n);
    const stream = streams[n % streams.length];
    await writer.appendToStream(stream, Array.from({ length: batch }, (_, i) => ({ type: 'w', data: { n: n + i } })));
    n += batch;
  }
}

/** Takes `count` events from a subscription (failing after `timeoutMs`). */
async function take(subscription: Subscription, count: number, timeoutMs = 30_000): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    while (out.length < count) {
      const next = await Promise.race([subscription.next(), timeout]);
      if (next === 'timeout') throw new Error(`only ${out.length} of ${count} events within ${timeoutMs} ms`);
      if (next.done) throw new Error(`the subscription ended after ${out.length} of ${count} events`);
      out.push(next.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

const numbers = (events: RecordedEvent[]): number[] => events.map((e) => (e.data as { n: number }).n);
const upTo = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

describe('client subscriptions', () => {
  test('client subscription - from the start while a writer appends: every event once, in order, then live', async () => {
    const { client, writer } = await setup();
    const s = `catch-up-${randomUUID()}`;
    for (let b = 0; b < 5; b++) await writer.appendToStream(s, Array.from({ length: 1_000 }, (_, i) => ({ type: 'w', data: { n: b * 1_000 + i } })));
    const subscription = client.subscribeToStream(s, { fromRevision: 'start' });
    let writing = true;
    let wentLiveWhileWriting = false;
    void subscription.caughtUp.then(() => (wentLiveWhileWriting = writing));
    const appending = write(writer, [s], 2_000, 5_000).finally(() => (writing = false));
    const events = await take(subscription, 7_000);
    await appending;
    expect(wentLiveWhileWriting).toBe(true);
    expect(numbers(events)).toEqual(upTo(7_000));
    expect(events.map((e) => e.revision)).toEqual(upTo(7_000).map(BigInt));
    await writer.appendToStream(s, [{ type: 'w', data: { n: 7_000 } }]);
    const [live] = await take(subscription, 1);
    expect(live.revision).toBe(7_000n);
    expect(live.position).toBeGreaterThan(0n); // live events carry their $all position
    await subscription.unsubscribe();
    expect(await subscription.next()).toEqual({ value: undefined, done: true });
  });

  test('client subscription - $all from the start while a writer appends matches the store, position by position', async () => {
    const { server, client, writer } = await setup();
    const streams = ['a-1', 'b-1', 'a-2'];
    await write(writer, streams, 1_500);
    const subscription = client.subscribeToAll();
    const writing = write(writer, streams, 2_500, 1_500);
    await writing;
    const stored = await server.store.readAll();
    const events = await take(subscription, stored.length);
    expect(events.map((e) => [e.position, e.id])).toEqual(stored.map((e) => [e.position, e.id]));
    await subscription.unsubscribe();
  });

  test('client subscription - from a revision, from a position, and from the end', async () => {
    const { client, writer } = await setup();
    const s = `from-${randomUUID()}`;
    await write(writer, [s], 100);
    const fromRevision = client.subscribeToStream(s, { fromRevision: 60n });
    expect(numbers(await take(fromRevision, 40))).toEqual(upTo(100).slice(60));
    const fromEnd = client.subscribeToStream(s, { fromRevision: 'end' });
    const allFromEnd = client.subscribeToAll({ fromPosition: 'end' });
    await Promise.all([fromEnd.caughtUp, allFromEnd.caughtUp]);
    await write(writer, [s], 10, 100);
    expect(numbers(await take(fromEnd, 10))).toEqual(upTo(110).slice(100));
    expect(numbers(await take(allFromEnd, 10))).toEqual(upTo(110).slice(100));
    expect(numbers(await take(fromRevision, 10))).toEqual(upTo(110).slice(100));
    const head = await client.headPosition();
    const fromPosition = client.subscribeToAll({ fromPosition: head - 4n });
    expect((await take(fromPosition, 5)).map((e) => e.position)).toEqual([head - 4n, head - 3n, head - 2n, head - 1n, head]);
    for (const subscription of [fromRevision, fromEnd, allFromEnd, fromPosition]) await subscription.unsubscribe();
  });

  test('client subscription - $all filtered by event type and category, history and live', async () => {
    const { server, client, writer } = await setup();
    const typed = (stream: string, type: string, n: number) => writer.appendToStream(stream, [{ type, data: { n } }]);
    for (let n = 0; n < 300; n++) await typed(n % 2 === 0 ? `cart-${n % 7}` : `cartline-${n % 5}`, n % 3 === 0 ? 'Added' : 'AddedTwice', n);
    const byType = client.subscribeToAll({ filter: { eventType: 'Added' } });
    const byCategory = client.subscribeToAll({ filter: { category: 'cart' } });
    const history = { type: (await server.store.readAll({ filter: { eventType: 'Added' } })).length, category: (await server.store.readAll({ filter: { category: 'cart' } })).length };
    const [typeEvents, categoryEvents] = await Promise.all([take(byType, history.type), take(byCategory, history.category)]);
    await Promise.all([byType.caughtUp, byCategory.caughtUp]);
    for (let n = 300; n < 330; n++) await typed(n % 2 === 0 ? `cart-${n % 7}` : `cartline-${n % 5}`, n % 3 === 0 ? 'Added' : 'AddedTwice', n);
    typeEvents.push(...(await take(byType, 10)));
    categoryEvents.push(...(await take(byCategory, 15)));
    const stored = { type: await server.store.readAll({ filter: { eventType: 'Added' } }), category: await server.store.readAll({ filter: { category: 'cart' } }) };
    expect(typeEvents.map((e) => e.id)).toEqual(stored.type.map((e) => e.id));
    expect(categoryEvents.map((e) => e.id)).toEqual(stored.category.map((e) => e.id));
    await byType.unsubscribe();
    await byCategory.unsubscribe();
  });

  test('client subscription - a consumer too slow for the live queue still gets every event once, in order', async () => {
    const { client, writer } = await setup();
    const s = `slow-${randomUUID()}`;
    const subscription = client.subscribeToStream(s);
    await subscription.caughtUp;
    // 15,000 live events while the consumer takes nothing: past the live queue's 10,000.
    for (let b = 0; b < 30; b++) await writer.appendToStream(s, Array.from({ length: 500 }, (_, i) => ({ type: 'w', data: { n: b * 500 + i } })));
    await sleep(200);
    expect(numbers(await take(subscription, 15_000))).toEqual(upTo(15_000));
    await subscription.unsubscribe();
  });

  test('client subscription - catches up across cut connections while a writer appends', async () => {
    const { client, writer, proxy } = await setup({ proxy: true });
    const s = `reconnect-${randomUUID()}`;
    await write(writer, [s], 2_000);
    const subscription = client.subscribeToStream(s, { fromRevision: 'start' });
    const all = client.subscribeToAll({ filter: { streamPrefix: s } });
    const writing = write(writer, [s], 4_000, 2_000);
    let cuts = 0;
    const cutting = (async () => {
      for (let i = 0; i < 6; i++) {
        await sleep(60);
        cuts += proxy!.cutAll();
      }
    })();
    const [events, allEvents] = await Promise.all([take(subscription, 6_000), take(all, 6_000)]);
    await Promise.all([writing, cutting]);
    expect(cuts).toBeGreaterThan(1);
    expect(proxy!.accepted).toBeGreaterThan(2);
    expect(numbers(events)).toEqual(upTo(6_000));
    expect(numbers(allEvents)).toEqual(upTo(6_000));
    await writer.appendToStream(s, [{ type: 'w', data: { n: 6_000 } }]);
    expect(numbers(await take(subscription, 1))).toEqual([6_000]);
    await subscription.unsubscribe();
    await all.unsubscribe();
  });

  test('client subscription - a live subscription resumes without gaps after the server restarts', async () => {
    const { server, client } = await setup();
    const s = `restart-${randomUUID()}`;
    const subscription = client.subscribeToStream(s, { fromRevision: 'end' });
    await subscription.caughtUp;
    await server.store.appendToStream(s, [{ type: 'w', data: { n: 0 } }]);
    expect(numbers(await take(subscription, 1))).toEqual([0]);
    await server.stop();
    // Written while the client cannot hear: read on reconnect rather than lost.
    await server.store.appendToStream(s, [1, 2, 3].map((n) => ({ type: 'w', data: { n } })));
    await server.resume();
    expect(numbers(await take(subscription, 3))).toEqual([1, 2, 3]);
    await server.store.appendToStream(s, [{ type: 'w', data: { n: 4 } }]);
    expect(numbers(await take(subscription, 1))).toEqual([4]);
    await subscription.unsubscribe();
  });
});
