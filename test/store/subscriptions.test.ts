// store.subscribeToStream and store.subscribeToAll: start points, filters, the switch from history
// to live events, falling behind a small live buffer, checkpoints, unsubscribe, close, deletes,
// access and bad options. The random interleavings are in subscriptions-property.test.ts.

import { describe, expect, it } from 'vitest';
import {
  AccessDeniedError, EventStore, InvalidArgumentError, StoreClosedError, StoreOverloadedError, StreamDeletedError,
  type EventStoreOptions, type RecordedEvent, type StoreSubscription, type SubscriptionFilter,
} from '../../src/annal.js';
import { CatchUpSubscription } from '../../src/store/store-subscription.js';
import { silentLogger } from '../../src/util/logger.js';
import { SUBSCRIPTIONS_OPEN_MAX, SUBSCRIPTION_LIVE_BUFFER_EVENTS_MAX } from '../../src/util/limits.js';
import { tempDir } from '../support/temp-dir.js';
import { SimDisk } from '../harness/sim-disk.js';
import { DATA_DIR, storeOptions } from '../harness/workload.js';

async function openStore(options: EventStoreOptions = {}): Promise<EventStore> {
  return EventStore.open(tempDir(), { logger: silentLogger, ...options });
}

/** A missing event shows as a failure with what did arrive, not as a test timeout. */
const TAKE_TIMEOUT_MS = 5000;

/** The next `count` events of a subscription. */
async function take(subscription: StoreSubscription, count: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  const deadline = Date.now() + TAKE_TIMEOUT_MS;
  while (out.length < count) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()))));
    const result = await Promise.race([subscription.next(), timeout]);
    clearTimeout(timer);
    if (result === 'timeout') throw new Error(`only ${out.length} of ${count} events arrived (last position ${out.at(-1)?.position ?? 'none'})`);
    if (result.done) throw new Error(`the subscription ended after ${out.length} of ${count} events`);
    out.push(result.value);
  }
  return out;
}

const ticks = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Whether the promise is still pending after the feed and the reads had time to run. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  await ticks();
  return !settled;
}

const positions = (events: readonly RecordedEvent[]): number[] => events.map((e) => Number(e.position));
const revisions = (events: readonly RecordedEvent[]): number[] => events.map((e) => Number(e.revision));

async function appendEach(store: EventStore, streams: readonly string[], type = 'T'): Promise<void> {
  for (const [i, streamId] of streams.entries()) await store.appendToStream(streamId, [{ type, data: { i } }]);
}

/** The internals a test may look at (bounded buffer, live or not, fallbacks). */
const internals = (subscription: StoreSubscription): CatchUpSubscription => {
  expect(subscription).toBeInstanceOf(CatchUpSubscription);
  return subscription as CatchUpSubscription;
};

describe('subscriptions - start points', () => {
  it('subscriptions - a stream from start delivers its history, then live events; caughtUp resolves in between', async () => {
    const store = await openStore();
    await appendEach(store, ['a-1', 'b-1', 'a-1', 'a-1']);
    const subscription = store.subscribeToStream('a-1');
    let caughtUp = false;
    void subscription.caughtUp.then(() => (caughtUp = true));
    expect(revisions(await take(subscription, 3))).toEqual([0, 1, 2]);
    const next = subscription.next();
    expect(await pending(next)).toBe(true);
    expect(caughtUp).toBe(true);
    await appendEach(store, ['b-1', 'a-1']);
    expect((await next).value?.revision).toBe(3n);
    await store.close();
  });

  it("subscriptions - fromRevision 'end' delivers only events appended after the call", async () => {
    const store = await openStore();
    await appendEach(store, ['a-1', 'a-1']);
    const subscription = store.subscribeToStream('a-1', { fromRevision: 'end' });
    await subscription.caughtUp;
    await appendEach(store, ['a-1', 'b-1', 'a-1']);
    expect(revisions(await take(subscription, 2))).toEqual([2, 3]);
    await store.close();
  });

  it('subscriptions - fromRevision n delivers the events after revision n (exclusive), also when n is not there yet', async () => {
    const store = await openStore();
    await appendEach(store, ['a-1', 'a-1', 'a-1', 'a-1']);
    expect(revisions(await take(store.subscribeToStream('a-1', { fromRevision: 1n }), 2))).toEqual([2, 3]);
    const ahead = store.subscribeToStream('a-1', { fromRevision: 5n });
    await appendEach(store, ['a-1', 'a-1', 'a-1']);
    expect(revisions(await take(ahead, 1))).toEqual([6]);
    await store.close();
  });

  it("subscriptions - $all from 'start', 'end' and an exclusive position", async () => {
    const store = await openStore();
    await appendEach(store, ['a-1', 'b-1', 'c-1']);
    const fromStart = store.subscribeToAll();
    const fromEnd = store.subscribeToAll({ fromPosition: 'end' });
    const afterOne = store.subscribeToAll({ fromPosition: 1n });
    await appendEach(store, ['d-1', 'e-1']);
    expect(positions(await take(fromStart, 5))).toEqual([0, 1, 2, 3, 4]);
    expect(positions(await take(fromEnd, 2))).toEqual([3, 4]);
    expect(positions(await take(afterOne, 3))).toEqual([2, 3, 4]);
    await store.close();
  });

  it('subscriptions - an empty store: from start the subscription is live at once and sees the first append', async () => {
    const store = await openStore();
    const subscription = store.subscribeToAll();
    const next = subscription.next();
    await subscription.caughtUp;
    await store.appendToStream('a-1', [{ type: 'T', data: {} }]);
    expect((await next).value?.position).toBe(0n);
    await store.close();
  });

  it('subscriptions - events appended in one batch while catching up arrive once each, in order, across pages', async () => {
    const store = await openStore({ chunkSizeBytes: 1024 * 1024 });
    const batch = (n: number): { type: string; data: unknown }[] => Array.from({ length: n }, (_, i) => ({ type: 'T', data: { i } }));
    await store.appendToStream('a-1', batch(2500));
    const subscription = store.subscribeToAll();
    const first = await take(subscription, 1200);
    await Promise.all([store.appendToStream('a-1', batch(700)), store.appendToStream('b-1', batch(300))]);
    const rest = await take(subscription, 2300);
    expect(positions([...first, ...rest])).toEqual(Array.from({ length: 3500 }, (_, i) => i));
    await store.close();
  });
});

describe('subscriptions - filters', () => {
  const STREAMS = ['order-1', 'order-10', 'orderly', 'account-x-1', '-dash', 'order'];
  const TYPES = ['OrderPlaced', 'OrderShipped', 'Paid'];

  /** The test's own reading of each filter (not the store's code). */
  const cases: { filter: SubscriptionFilter; accepts: (e: RecordedEvent) => boolean }[] = [
    { filter: { category: 'order' }, accepts: (e) => e.streamId.indexOf('-') > 0 && e.streamId.slice(0, e.streamId.indexOf('-')) === 'order' },
    { filter: { eventType: 'Paid' }, accepts: (e) => e.type === 'Paid' },
    { filter: { streamPrefix: ['order-1', 'acc'] }, accepts: (e) => e.streamId.startsWith('order-1') || e.streamId.startsWith('acc') },
    { filter: { eventTypePrefix: ['Order'] }, accepts: (e) => e.type.startsWith('Order') },
    { filter: { streamRegex: '^order-\\d+$' }, accepts: (e) => /^order-\d+$/.test(e.streamId) },
    { filter: { eventTypeRegex: 'Shipped|Paid' }, accepts: (e) => /Shipped|Paid/.test(e.type) },
  ];

  for (const { filter, accepts } of cases) {
    it(`subscriptions - filter ${JSON.stringify(filter)} selects the same events in history and live`, async () => {
      const store = await openStore();
      let i = 0;
      const appendRound = async (): Promise<void> => {
        for (const streamId of STREAMS) for (const type of TYPES) await store.appendToStream(streamId, [{ type, data: { i: i++ } }]);
      };
      await appendRound();
      const subscription = store.subscribeToAll({ filter });
      const history = (await store.readAll()).filter(accepts);
      expect(history.length).toBeGreaterThan(0);
      const seenHistory = await take(subscription, history.length);
      await appendRound();
      const all = (await store.readAll()).filter(accepts);
      const seenLive = await take(subscription, all.length - history.length);
      expect(positions([...seenHistory, ...seenLive])).toEqual(positions(all));
      expect(await pending(subscription.next())).toBe(true);
      await store.close();
    });
  }

  it('subscriptions - $all shows events as written: a soft-deleted stream still shows in a category subscription', async () => {
    const store = await openStore();
    await appendEach(store, ['order-1', 'order-2']);
    await store.deleteStream('order-1');
    // readAll by category hides the deleted stream's event; the subscription does not, so that
    // what it delivers does not depend on when it read it.
    expect(positions(await store.readAll({ filter: { category: 'order' } }))).toEqual([1]);
    expect(positions(await take(store.subscribeToAll({ filter: { category: 'order' } }), 2))).toEqual([0, 1]);
    await store.close();
  });
});

describe('subscriptions - checkpoints', () => {
  it('subscriptions - checkpoints come every checkpointIntervalEvents examined and when live, never past an undelivered event', async () => {
    const store = await openStore();
    // Rare events at positions 5, 37 and 38 of 60.
    for (let p = 0; p < 60; p++) await store.appendToStream(`s-${p % 3}`, [{ type: p === 5 || p === 37 || p === 38 ? 'Rare' : 'Common', data: {} }]);
    const seen: bigint[] = [];
    const checkpoints: { position: bigint; seen: number }[] = [];
    const subscription = store.subscribeToAll({
      filter: { eventType: 'Rare' }, checkpointIntervalEvents: 10,
      onCheckpoint: (position) => checkpoints.push({ position, seen: seen.length }),
    });
    for (let i = 0; i < 3; i++) seen.push((await take(subscription, 1))[0].position);
    expect(await pending(subscription.next())).toBe(true);
    // Each checkpoint is reported once every rare event at or before it was taken.
    for (const { position, seen: taken } of checkpoints) expect(taken).toBe([5n, 37n, 38n].filter((p) => p <= position).length);
    const reported = checkpoints.map((c) => c.position);
    expect(reported).toEqual([...reported].sort((a, b) => Number(a - b)));
    expect(reported.at(-1)).toBe(59n);
    // The index finds the rare events without a scan: a checkpoint comes at the first
    // opportunity after 10 positions (before position 37, at 36), then when live (59).
    expect(reported).toEqual([36n, 59n]);
    await store.close();
  });

  it('subscriptions - a scan filter reports checkpoints while nothing matches, and live ones as events go by', async () => {
    const store = await openStore();
    for (let p = 0; p < 25; p++) await store.appendToStream('s-1', [{ type: 'Common', data: {} }]);
    const checkpoints: bigint[] = [];
    const subscription = store.subscribeToAll({ filter: { eventTypePrefix: ['Rare'] }, checkpointIntervalEvents: 10, onCheckpoint: (p) => checkpoints.push(p) });
    const next = subscription.next();
    await subscription.caughtUp;
    expect(await pending(next)).toBe(true);
    expect(checkpoints.at(-1)).toBe(24n);
    for (let p = 25; p < 40; p++) await store.appendToStream('s-1', [{ type: 'Common', data: {} }]);
    await ticks();
    // 15 more examined: at least one checkpoint, at 34 or later (checkpoints reached together are
    // reported once, as the latest).
    expect(checkpoints.at(-1)).toBeGreaterThanOrEqual(34n);
    expect(checkpoints.at(-1)).toBeLessThanOrEqual(39n);
    await store.appendToStream('s-1', [{ type: 'Rare', data: {} }]);
    expect((await next).value?.position).toBe(40n);
    expect(checkpoints.every((p, i) => p <= 39n && (i === 0 || p > checkpoints[i - 1]))).toBe(true);
    await store.close();
  });

  it('subscriptions - an onCheckpoint that throws ends the subscription with its error', async () => {
    const store = await openStore();
    await appendEach(store, ['a-1', 'a-1']);
    const boom = new Error('boom');
    const subscription = store.subscribeToAll({ onCheckpoint: () => { throw boom; }, checkpointIntervalEvents: 1 });
    expect((await subscription.next()).value?.position).toBe(0n);
    await expect(subscription.next()).rejects.toBe(boom);
    expect((await subscription.next()).done).toBe(true);
    await store.close();
  });
});

describe('subscriptions - falling behind', () => {
  it('subscriptions - a consumer behind its live buffer is served from the log: every event once, in order', async () => {
    const store = await openStore();
    const subscription = internals(store.subscribeToAll({ liveBufferEvents: 3 }));
    const first = subscription.next();
    await subscription.caughtUp;
    for (let i = 0; i < 40; i++) await store.appendToStream(`s-${i % 4}`, [{ type: 'T', data: { i } }, { type: 'T', data: { i } }]);
    await ticks();
    expect(subscription.bufferedEventCount).toBeLessThanOrEqual(3);
    expect(subscription.isLive).toBe(false);
    expect(subscription.fallbackCount).toBe(1);
    const events = [(await first).value as RecordedEvent, ...await take(subscription, 79)];
    expect(positions(events)).toEqual(Array.from({ length: 80 }, (_, i) => i));
    expect(await pending(subscription.next())).toBe(true);
    expect(subscription.isLive).toBe(true);
    await store.close();
  });

  it('subscriptions - memory: a subscriber that never consumes while 50,000 events are appended holds at most its bound', async () => {
    const store = await openStore();
    const BOUND = 100;
    const idle = internals(store.subscribeToAll({ fromPosition: 'end', liveBufferEvents: BOUND }));
    const idleStream = internals(store.subscribeToStream('s-0', { fromRevision: 'end', liveBufferEvents: BOUND }));
    const reader = store.subscribeToAll({ fromPosition: 'end' });
    const batch = Array.from({ length: 500 }, (_, i) => ({ type: 'T', data: { i } }));
    let largest = 0;
    const TOTAL = 50_000;
    const counting = (async () => {
      let seen = 0;
      while (seen < TOTAL) {
        await reader.next();
        seen++;
        if (seen % 1000 === 0) largest = Math.max(largest, idle.bufferedEventCount, idleStream.bufferedEventCount);
      }
    })();
    for (let i = 0; i < TOTAL / batch.length; i++) await store.appendToStream(`s-${i % 2}`, batch);
    await counting;
    expect(largest).toBeLessThanOrEqual(BOUND);
    expect(idle.bufferedEventCount).toBeLessThanOrEqual(BOUND);
    expect(idleStream.bufferedEventCount).toBeLessThanOrEqual(BOUND);
    // Dropped from the feed: the feed holds nothing for them either.
    expect(idle.isLive).toBe(false);
    expect(idleStream.isLive).toBe(false);
    // And nothing was lost: they read the rest from the log.
    const all = await take(idle, TOTAL);
    expect(all.every((e, i) => e.position === BigInt(i))).toBe(true);
    const stream = await take(idleStream, TOTAL / 2);
    expect(stream.every((e, i) => e.revision === BigInt(i))).toBe(true);
    await store.close();
  }, 30_000);
});

describe('subscriptions - ending', () => {
  it('subscriptions - at most SUBSCRIPTIONS_OPEN_MAX are open at once: one more fails with StoreOverloadedError until one ends', async () => {
    const store = await openStore();
    const open = Array.from({ length: SUBSCRIPTIONS_OPEN_MAX }, () => store.subscribeToAll({ fromPosition: 'end' }));
    await expect(store.subscribeToStream('a-1').next()).rejects.toBeInstanceOf(StoreOverloadedError);
    await open[0].unsubscribe();
    await appendEach(store, ['a-1']);
    expect((await store.subscribeToStream('a-1').next()).value?.revision).toBe(0n);
    for (const subscription of open) await subscription.unsubscribe();
    await store.close();
  });

  it('subscriptions - unsubscribe: a pending next() and every later one are done; caughtUp resolves', async () => {
    const store = await openStore();
    await appendEach(store, ['a-1']);
    const subscription = store.subscribeToAll();
    expect((await subscription.next()).value?.position).toBe(0n);
    const next = subscription.next();
    await subscription.unsubscribe();
    expect((await next).done).toBe(true);
    expect((await subscription.next()).done).toBe(true);
    await subscription.caughtUp;
    await store.close();
  });

  it('subscriptions - breaking out of for await unsubscribes', async () => {
    const store = await openStore();
    await appendEach(store, ['a-1', 'a-1', 'a-1']);
    const subscription = internals(store.subscribeToStream('a-1'));
    for await (const event of subscription) if (event.revision === 1n) break;
    expect((await subscription.next()).done).toBe(true);
    expect(subscription.isLive).toBe(false);
    await store.close();
  });

  it('subscriptions - closing the store: a pending next() rejects with StoreClosedError, later ones are done', async () => {
    const store = await openStore();
    const subscription = store.subscribeToAll();
    const next = subscription.next();
    const loop = (async () => {
      for await (const _ of store.subscribeToStream('a-1')) { /* nothing comes */ }
    })();
    await subscription.caughtUp;
    const nextEnds = expect(next).rejects.toBeInstanceOf(StoreClosedError);
    const loopEnds = expect(loop).rejects.toBeInstanceOf(StoreClosedError);
    await store.close();
    await nextEnds;
    await loopEnds;
    expect((await subscription.next()).done).toBe(true);
    await expect(store.subscribeToAll().next()).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('subscriptions - a hard-deleted stream: refused at the start, and ended after its last event when deleted while live', async () => {
    const store = await openStore();
    await appendEach(store, ['gone-1', 'gone-2']);
    await store.deleteStream('gone-1', { hard: true });
    const refused = store.subscribeToStream('gone-1');
    await expect(refused.next()).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(refused.caughtUp).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(store.subscribeToStream('$$gone-1').next()).rejects.toBeInstanceOf(StreamDeletedError);

    const live = store.subscribeToStream('gone-2');
    expect(revisions(await take(live, 1))).toEqual([0]);
    await appendEach(store, ['gone-2']);
    await store.deleteStream('gone-2', { hard: true });
    expect(revisions(await take(live, 1))).toEqual([1]);
    await expect(live.next()).rejects.toBeInstanceOf(StreamDeletedError);
    expect((await live.next()).done).toBe(true);
    await store.close();
  });

  it('subscriptions - a soft delete does not end a stream subscription; the stream brought back continues it', async () => {
    const store = await openStore();
    await appendEach(store, ['soft-1', 'soft-1']);
    const subscription = store.subscribeToStream('soft-1');
    expect(revisions(await take(subscription, 2))).toEqual([0, 1]);
    await store.deleteStream('soft-1');
    await appendEach(store, ['soft-1']);
    expect(revisions(await take(subscription, 1))).toEqual([2]);
    // From the start after the soft delete, only what the stream shows now.
    expect(revisions(await take(store.subscribeToStream('soft-1'), 1))).toEqual([2]);
    await store.close();
  });
});

describe('subscriptions - a failed read', () => {
  it('subscriptions - a live read that fails ends the live subscriptions with its error; later ones get a new feed', async () => {
    const disk = new SimDisk();
    const store = await EventStore.open(DATA_DIR, storeOptions(disk));
    await store.appendToStream('a-1', [{ type: 'T', data: {} }]);
    const subscription = store.subscribeToAll({ fromPosition: 'end' });
    const next = subscription.next();
    await subscription.caughtUp;
    disk.faults = [{ kind: 'read', nth: disk.callsOf('read') + 1, persistent: true, code: 'EIO' }];
    const ends = expect(next).rejects.toThrow(/EIO/);
    await store.appendToStream('a-1', [{ type: 'T', data: {} }]);
    await ends;
    expect((await subscription.next()).done).toBe(true);
    disk.faults = [];
    const later = store.subscribeToStream('a-1', { fromRevision: 'end' });
    await later.caughtUp;
    await store.appendToStream('a-1', [{ type: 'T', data: {} }]);
    expect(revisions(await take(later, 1))).toEqual([2]);
    await store.close();
  });
});

describe('subscriptions - refusals', () => {
  const ALICE = { name: 'alice', groups: [] };

  it('subscriptions - access is checked as readStream and readAll check it', async () => {
    const store = await openStore();
    await store.setStreamMetadata('secret-1', { $acl: { $r: ['bob'] } });
    await expect(store.subscribeToStream('secret-1', { principal: ALICE }).next()).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(store.subscribeToAll({ principal: ALICE }).next()).rejects.toBeInstanceOf(AccessDeniedError);
    const bob = store.subscribeToStream('secret-1', { principal: { name: 'bob', groups: [] }, fromRevision: 'end' });
    await store.appendToStream('secret-1', [{ type: 'T', data: {} }]);
    expect(revisions(await take(bob, 1))).toEqual([0]);
    const admin = store.subscribeToAll({ principal: { name: 'admin', groups: ['$admins'] } });
    expect((await take(admin, 1))[0].position).toBe(0n);
    await store.close();
  });

  it('subscriptions - bad options reject the first next() (and caughtUp) with InvalidArgumentError', async () => {
    const store = await openStore();
    const bad: (() => StoreSubscription)[] = [
      () => store.subscribeToAll({ fromPosition: -1n }),
      () => store.subscribeToAll({ fromPosition: 3 as unknown as bigint }),
      () => store.subscribeToAll({ unknown: 1 } as never),
      () => store.subscribeToAll('x' as never),
      () => store.subscribeToAll({ filter: { category: 'a', eventType: 'b' } as never }),
      () => store.subscribeToAll({ filter: { category: '' } }),
      () => store.subscribeToAll({ filter: { streamPrefix: [] } }),
      () => store.subscribeToAll({ filter: { streamPrefix: 'order' as never } }),
      () => store.subscribeToAll({ filter: { streamRegex: '(?<=a)b' } }),
      () => store.subscribeToAll({ filter: { eventTypeRegex: 'a'.repeat(257) } }),
      () => store.subscribeToAll({ filter: { nope: 'x' } as never }),
      () => store.subscribeToAll({ checkpointIntervalEvents: 10 }),
      () => store.subscribeToAll({ onCheckpoint: () => undefined, checkpointIntervalEvents: 0 }),
      () => store.subscribeToAll({ onCheckpoint: 'no' as never }),
      () => store.subscribeToAll({ liveBufferEvents: 0 }),
      () => store.subscribeToAll({ liveBufferEvents: SUBSCRIPTION_LIVE_BUFFER_EVENTS_MAX + 1 }),
      () => store.subscribeToAll({ principal: { name: 1 } as never }),
      () => store.subscribeToStream('a-1', { fromRevision: 'middle' as never }),
      () => store.subscribeToStream('a-1', { fromPosition: 0n } as never),
      () => store.subscribeToStream('$all'),
    ];
    for (const make of bad) {
      const subscription = make();
      await expect(subscription.next(), make.toString()).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(subscription.caughtUp).rejects.toBeInstanceOf(InvalidArgumentError);
      expect((await subscription.next()).done).toBe(true);
    }
    await expect(store.subscribeToStream('').next()).rejects.toThrow(/stream/i);
    await store.close();
  });
});
