// Persistent subscriptions: delivery within windows, acks, naks (retry, park, skip, stop), timeouts,
// parking after maxRetryCount, replay of parked events, the embedded iterator and drop reasons.

import { afterEach, describe, expect, test } from 'vitest';
import { Fixture, RecordingSink, numbered, settle, until } from './persistent-fixture.js';

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

async function withEvents(count: number, settings = {}): Promise<Fixture> {
  fixture = await Fixture.open();
  if (count > 0) await fixture.store.appendToStream('s-1', numbered(0, count));
  await fixture.create('s-1', 'g', settings);
  return fixture;
}

describe('persistent delivery', () => {
  test('persistent delivery - a consumer gets events in order, never more than its window in flight', async () => {
    await withEvents(10);
    const sink = fixture.connect('s-1', 'g', 3);
    await until(() => sink.deliveries.length === 3);
    await settle();
    expect(sink.values()).toEqual([0, 1, 2]);
    expect(fixture.groups.info('s-1', 'g').inFlightCount).toBe(3);
    sink.ack(sink.idOf(1));
    await until(() => sink.deliveries.length === 4);
    await settle();
    expect(sink.values()).toEqual([0, 1, 2, 3]);
    sink.ackAll();
    await until(() => sink.deliveries.length === 7);
    sink.ackAll();
    await until(() => sink.deliveries.length === 10);
    sink.ackAll();
    expect(sink.values()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sink.deliveries.every((d) => d.retryCount === 0)).toBe(true);
    const info = fixture.groups.info('s-1', 'g');
    expect(info).toMatchObject({ deliveredCount: 10, ackedCount: 10, inFlightCount: 0, status: 'live', lastKnownEvent: 9n });
    expect(info.connections).toEqual([expect.objectContaining({ inFlight: 0, windowEvents: 3, deliveredCount: 10, ackedCount: 10 })]);
  });

  test('persistent delivery - events appended later are delivered live; unknown ack ids are ignored', async () => {
    await withEvents(0);
    const sink = fixture.connect('s-1', 'g', 10);
    await settle();
    expect(sink.deliveries).toEqual([]);
    await fixture.store.appendToStream('s-1', numbered(0, 2));
    await fixture.store.appendToStream('other', numbered(100, 2));
    await until(() => sink.deliveries.length === 2);
    sink.handle.ack(['00000000-0000-4000-8000-000000000000', 'not even a uuid']);
    sink.ackAll();
    await fixture.store.appendToStream('s-1', numbered(2, 1));
    await until(() => sink.deliveries.length === 3);
    expect(sink.values()).toEqual([0, 1, 2]);
    expect(fixture.groups.info('s-1', 'g').ackedCount).toBe(2);
  });

  test('persistent delivery - nak retry redelivers the event with retryCount + 1', async () => {
    await withEvents(2);
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 2);
    sink.nak('retry', sink.idOf(0));
    await until(() => sink.deliveries.length === 3);
    expect(sink.deliveries[2]).toMatchObject({ retryCount: 1 });
    expect(sink.values()).toEqual([0, 1, 0]);
    expect(fixture.groups.info('s-1', 'g').nakedCount).toBe(1);
  });

  test('persistent delivery - nak skip counts the event as done; nak park appends a copy first', async () => {
    await withEvents(3, { checkpointMaxCount: 1, checkpointMinCount: 1 });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 3);
    sink.nak('skip', sink.idOf(0));
    sink.nak('park', sink.idOf(1));
    sink.ack(sink.idOf(2));
    await until(async () => (await fixture.checkpoint('s-1', 'g')) === 2n, 'checkpoint 2');
    const parked = await fixture.parked('s-1', 'g');
    expect(parked).toEqual([expect.objectContaining({ originalEventId: sink.idOf(1), reason: 'test park', data: { n: 1 } })]);
    expect(parked[0].id).not.toBe(sink.idOf(1));
    expect(fixture.groups.info('s-1', 'g').parkedCount).toBe(1n);
    await settle();
    expect(sink.deliveries).toHaveLength(3);
  });

  test('persistent delivery - nak stop drops the consumer and its in-flight events go to another', async () => {
    await withEvents(4);
    const first = fixture.connect('s-1', 'g', 2, 'first');
    await until(() => first.deliveries.length === 2);
    const second = fixture.connect('s-1', 'g', 10, 'second');
    await until(() => second.deliveries.length === 2);
    expect(second.values()).toEqual([2, 3]);
    first.nak('stop', first.idOf(0));
    expect(first.droppedReason).toBe('stopRequested');
    await until(() => second.deliveries.length === 4);
    expect(second.values().slice(2).sort()).toEqual([0, 1]);
    expect(second.deliveries.slice(2).every((d) => d.retryCount === 1)).toBe(true);
    expect(fixture.groups.info('s-1', 'g').connections.map((c) => c.name)).toEqual(['second']);
  });

  test('persistent delivery - closing a consumer sends its in-flight events to the next one with retryCount + 1', async () => {
    await withEvents(3);
    const first = fixture.connect('s-1', 'g', 10);
    await until(() => first.deliveries.length === 3);
    first.ack(first.idOf(1));
    first.handle.close();
    expect(first.droppedReason).toBe('unsubscribed');
    const second = fixture.connect('s-1', 'g', 10);
    await until(() => second.deliveries.length === 2);
    expect(second.values()).toEqual([0, 2]);
    expect(second.deliveries.map((d) => d.retryCount)).toEqual([1, 1]);
  });

  test('persistent delivery - an event not acked within messageTimeoutMs is redelivered with retryCount + 1', async () => {
    await withEvents(2, { messageTimeoutMs: 1000 });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 2);
    sink.ack(sink.idOf(1));
    fixture.advance(999, ['s-1', 'g']);
    await settle();
    expect(sink.deliveries).toHaveLength(2);
    fixture.advance(1, ['s-1', 'g']);
    await until(() => sink.deliveries.length === 3);
    expect(sink.deliveries[2]).toMatchObject({ retryCount: 1 });
    expect(sink.values()).toEqual([0, 1, 0]);
    // The redelivery has a deadline of its own.
    fixture.advance(1000, ['s-1', 'g']);
    await until(() => sink.deliveries.length === 4);
    expect(sink.deliveries[3]).toMatchObject({ retryCount: 2 });
  });

  test('persistent delivery - the group timer finds timeouts by itself (deadlines on the clock seam)', async () => {
    await withEvents(1, { messageTimeoutMs: 1000 });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 1);
    fixture.clock.advance(1000);
    await until(() => sink.deliveries.length === 2, 'the timer redelivers');
  });

  test('persistent delivery - messageTimeoutMs 0 never times out', async () => {
    await withEvents(1, { messageTimeoutMs: 0 });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 1);
    fixture.advance(10 ** 9, ['s-1', 'g']);
    await settle();
    expect(sink.deliveries).toHaveLength(1);
  });

  test('persistent delivery - an event returned more than maxRetryCount times is parked and not delivered again', async () => {
    await withEvents(2, { maxRetryCount: 2, checkpointMaxCount: 1, checkpointMinCount: 1 });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 2);
    sink.ack(sink.idOf(1));
    for (let retry = 1; retry <= 2; retry++) {
      sink.nak('retry', sink.idOf(0));
      await until(() => sink.deliveries.length === 2 + retry);
      expect(sink.deliveries.at(-1)).toMatchObject({ retryCount: retry });
    }
    sink.nak('retry', sink.idOf(0));
    await until(async () => (await fixture.parked('s-1', 'g')).length === 1, 'parked');
    await until(async () => (await fixture.checkpoint('s-1', 'g')) === 1n, 'checkpoint past the parked event');
    const [parked] = await fixture.parked('s-1', 'g');
    expect(parked.reason).toMatch(/retried 2 times, maxRetryCount 2/);
    await settle();
    expect(sink.deliveries).toHaveLength(4);
    expect(fixture.groups.info('s-1', 'g').parkedCount).toBe(1n);
  });

  test('persistent delivery - maxRetryCount 0 parks on the first timeout', async () => {
    await withEvents(1, { maxRetryCount: 0, messageTimeoutMs: 10 });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 1);
    fixture.advance(10, ['s-1', 'g']);
    await until(async () => (await fixture.parked('s-1', 'g')).length === 1, 'parked');
    expect((await fixture.parked('s-1', 'g'))[0].reason).toMatch(/message timeout/);
  });

  test('persistent delivery - replayParked redelivers parked events as the originals with retryCount 0, then truncates them', async () => {
    await withEvents(4);
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 4);
    sink.nak('park', sink.idOf(0), sink.idOf(2));
    sink.ack(sink.idOf(1), sink.idOf(3));
    await until(() => fixture.groups.info('s-1', 'g').parkedCount === 2n);
    const original = sink.deliveries[0].event;
    expect(await fixture.groups.replayParked('s-1', 'g')).toEqual({ replayed: 2 });
    await until(() => sink.deliveries.length === 6);
    const replayed = sink.deliveries.slice(4);
    expect(replayed.map((d) => d.retryCount)).toEqual([0, 0]);
    expect(replayed.map((d) => d.event.id)).toEqual([sink.idOf(0), sink.idOf(2)]);
    expect(replayed[0].event).toMatchObject({ streamId: 's-1', revision: 0n, position: original.position, type: 'Numbered' });
    // Not truncated while a replayed event is not done.
    sink.ack(replayed[0].event.id);
    await settle();
    expect(await fixture.parked('s-1', 'g')).toHaveLength(2);
    sink.ack(replayed[1].event.id);
    await until(async () => (await fixture.parked('s-1', 'g')).length === 0, 'truncated');
    await until(() => fixture.groups.info('s-1', 'g').parkedCount === 0n);
  });

  test('persistent delivery - replayParked with stopAt replays that many; an event parked again stays parked', async () => {
    await withEvents(3);
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 3);
    sink.nak('park', sink.idOf(0), sink.idOf(1), sink.idOf(2));
    await until(() => fixture.groups.info('s-1', 'g').parkedCount === 3n);
    expect(await fixture.groups.replayParked('s-1', 'g', { stopAt: 2 })).toEqual({ replayed: 2 });
    await until(() => sink.deliveries.length === 5);
    expect(sink.values().slice(3)).toEqual([0, 1]);
    sink.ack(sink.deliveries[3].event.id);
    sink.nak('park', sink.deliveries[4].event.id);
    await until(async () => (await fixture.parked('s-1', 'g')).map((p) => p.data).length === 2
      && fixture.groups.info('s-1', 'g').parkedCount === 2n, 'event 0 truncated, event 1 parked again');
    expect((await fixture.parked('s-1', 'g')).map((p) => p.data)).toEqual([{ n: 2 }, { n: 1 }]);
    expect(await fixture.groups.replayParked('s-1', 'g', { stopAt: 0 })).toEqual({ replayed: 0 });
  });

  test('persistent delivery - a replayed event whose original is gone is delivered as its parked copy', async () => {
    await withEvents(2);
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 2);
    sink.nak('park', sink.idOf(0));
    sink.ack(sink.idOf(1));
    await until(() => fixture.groups.info('s-1', 'g').parkedCount === 1n);
    await fixture.store.setStreamMetadata('s-1', { $tb: 2 });
    await fixture.groups.replayParked('s-1', 'g');
    await until(() => sink.deliveries.length === 3);
    const copy = sink.deliveries[2].event;
    expect(copy.streamId).toBe('$persistentsubscription-s-1::g-parked');
    expect(copy.data).toEqual({ n: 0 });
    expect(copy.metadata).toMatchObject({ originalStreamId: 's-1', originalRevision: '0', originalEventId: sink.idOf(0) });
    sink.ack(copy.id);
    await until(async () => (await fixture.parked('s-1', 'g')).length === 0);
  });

  test('persistent delivery - a sink that acks inside deliver() gets everything', async () => {
    await withEvents(50);
    const sink = fixture.connect('s-1', 'g', 1);
    sink.onDeliver = (delivery, s) => s.ack(delivery.event.id);
    await until(() => sink.deliveries.length === 50);
    expect(sink.values()).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  test('persistent delivery - subscribe() iterates deliveries with ack and nak; break unsubscribes', async () => {
    await withEvents(5);
    const subscription = fixture.groups.subscribe('s-1', 'g', { windowEvents: 2 });
    const seen: [number, number][] = [];
    for await (const delivery of subscription) {
      const n = (delivery.event.data as { n: number }).n;
      seen.push([n, delivery.retryCount]);
      if (n === 1 && delivery.retryCount === 0) subscription.nak('retry', 'again', delivery);
      else subscription.ack(delivery);
      if (seen.length === 6) break;
    }
    expect(seen).toEqual([[0, 0], [1, 0], [2, 0], [1, 1], [3, 0], [4, 0]]);
    expect(await subscription.dropped).toBe('unsubscribed');
    expect(fixture.groups.info('s-1', 'g').connections).toEqual([]);
  });

  test('persistent delivery - consumers are dropped with groupUpdated, groupDeleted and storeClosed', async () => {
    await withEvents(1);
    const a = fixture.connect('s-1', 'g');
    await fixture.groups.update('s-1', 'g', { messageTimeoutMs: 5 });
    expect(a.droppedReason).toBe('groupUpdated');
    const b = fixture.connect('s-1', 'g');
    const iterator = fixture.groups.subscribe('s-1', 'g');
    await fixture.groups.delete('s-1', 'g');
    expect(b.droppedReason).toBe('groupDeleted');
    expect(await iterator.dropped).toBe('groupDeleted');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    await fixture.create('s-1', 'h');
    const c = fixture.connect('s-1', 'h');
    await fixture.groups.close();
    expect(c.droppedReason).toBe('storeClosed');
  });

  test('persistent delivery - a principal without read access is dropped with accessDenied before any delivery', async () => {
    await withEvents(2);
    await fixture.store.setStreamMetadata('s-1', { $acl: { $r: ['ann'] } });
    const sink = new RecordingSink();
    sink.handle = fixture.groups.connect('s-1', 'g', sink, { windowEvents: 5, principal: { name: 'bob', groups: [] } });
    await until(() => sink.droppedReason !== null);
    expect(sink.droppedReason).toBe('accessDenied');
    expect(sink.deliveries).toEqual([]);
    const ann = new RecordingSink();
    ann.handle = fixture.groups.connect('s-1', 'g', ann, { windowEvents: 5, principal: { name: 'ann', groups: [] } });
    await until(() => ann.deliveries.length === 2);
  });
});

describe('persistent delivery failures', () => {
  test('persistent delivery failures - a store closed under the groups stops them: the failed checkpoint write does not spin', async () => {
    await withEvents(2, { checkpointMinCount: 1, checkpointMaxCount: 1, checkpointAfterMs: 0 });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 2);
    await fixture.store.close();
    sink.ack(sink.idOf(0));
    await until(() => sink.droppedReason !== null);
    expect(sink.droppedReason).toBe('storeClosed');
  });

  test('persistent delivery failures - a park that fails is redelivered after the next tick, not at once', async () => {
    await withEvents(1);
    await fixture.store.deleteStream('$persistentsubscription-s-1::g-parked', { hard: true });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 1);
    sink.nak('park', sink.idOf(0));
    await settle();
    expect(sink.deliveries).toHaveLength(1);
    fixture.advance(0, ['s-1', 'g']);
    await until(() => sink.deliveries.length === 2);
    expect(sink.deliveries[1]).toMatchObject({ retryCount: 0 });
    expect(fixture.groups.info('s-1', 'g').parkedCount).toBe(0n);
  });
});
