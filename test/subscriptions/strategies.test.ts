// Persistent subscriptions: how each consumer strategy spreads events (RoundRobin,
// DispatchToSingle, Pinned, Ordered), and Ordered's bounded head-of-line blocking.

import { afterEach, describe, expect, test } from 'vitest';
import type { ConsumerStrategy, EventData } from '../../src/annal.js';
import { pinnedIndex } from '../../src/subscriptions/persistent/consumer.js';
import { Fixture, numbered, settle, until, type RecordingSink } from './persistent-fixture.js';

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

async function open(strategy: ConsumerStrategy, settings = {}): Promise<Fixture> {
  fixture = await Fixture.open();
  await fixture.create('$all', 'g', { consumerStrategy: strategy, ...settings });
  return fixture;
}

/** Appends `n` events to each of `streams`, interleaved: s0#0, s1#0, …, s0#1, … */
async function interleaved(streams: string[], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (const stream of streams) await fixture.store.appendToStream(stream, [{ type: 'E', data: { n: i, stream } } satisfies EventData]);
  }
}

const streamsOf = (sink: RecordingSink): string[] => sink.deliveries.map((d) => d.event.streamId);

describe('persistent strategies', () => {
  test('persistent strategies - RoundRobin rotates among consumers with room', async () => {
    await open('RoundRobin');
    await fixture.store.appendToStream('s-1', numbered(0, 6));
    const a = fixture.connect('$all', 'g', 10);
    const b = fixture.connect('$all', 'g', 10);
    await until(() => a.deliveries.length + b.deliveries.length === 6);
    expect(a.values()).toEqual([0, 2, 4]);
    expect(b.values()).toEqual([1, 3, 5]);
    // A full consumer is passed over.
    const c = fixture.connect('$all', 'g', 1);
    await fixture.store.appendToStream('s-1', numbered(6, 6));
    await until(() => a.deliveries.length + b.deliveries.length + c.deliveries.length === 12);
    expect(c.deliveries).toHaveLength(1);
    expect(a.deliveries.length + b.deliveries.length).toBe(11);
  });

  test('persistent strategies - DispatchToSingle fills the first consumer, then the next', async () => {
    await open('DispatchToSingle');
    await fixture.store.appendToStream('s-1', numbered(0, 7));
    const a = fixture.connect('$all', 'g', 3);
    const b = fixture.connect('$all', 'g', 3);
    await until(() => a.deliveries.length + b.deliveries.length === 6);
    expect(a.values()).toEqual([0, 1, 2]);
    expect(b.values()).toEqual([3, 4, 5]);
    a.ack(a.idOf(0));
    await until(() => a.deliveries.length === 4);
    expect(a.values()).toEqual([0, 1, 2, 6]);
  });

  test('persistent strategies - Pinned sends each stream to one consumer and waits for it when it is full', async () => {
    await open('Pinned');
    // Two streams that hash to different consumers of two.
    const streams: string[] = [];
    for (let i = 0; streams.length < 2; i++) {
      const id = `p-${i}`;
      if (streams.length === 0 || pinnedIndex(id, 2) !== pinnedIndex(streams[0], 2)) streams.push(id);
    }
    const a = fixture.connect('$all', 'g', 2);
    const b = fixture.connect('$all', 'g', 2);
    await interleaved(streams, 4);
    await until(() => a.deliveries.length === 2 && b.deliveries.length === 2);
    await settle();
    for (const sink of [a, b]) expect(new Set(streamsOf(sink)).size).toBe(1);
    expect(new Set([...streamsOf(a), ...streamsOf(b)])).toEqual(new Set(streams));
    // a is full and keeps its stream's events waiting; b's acks do not hand them to b.
    const bStream = streamsOf(b)[0];
    b.ackAll();
    await until(() => b.deliveries.length === 4);
    b.ackAll();
    await settle();
    expect(new Set(streamsOf(b))).toEqual(new Set([bStream]));
    expect(a.deliveries).toHaveLength(2);
    a.ackAll();
    await until(() => a.deliveries.length === 4);
    expect(new Set(streamsOf(a)).size).toBe(1);
  });

  test('persistent strategies - Pinned spreads the streams again when a consumer leaves', async () => {
    await open('Pinned');
    const a = fixture.connect('$all', 'g', 1);
    const b = fixture.connect('$all', 'g', 1);
    await interleaved(['x-1', 'x-2', 'x-3', 'x-4', 'x-5'], 2);
    await until(() => a.deliveries.length === 1 && b.deliveries.length === 1);
    a.handle.close();
    let acked = 0;
    b.onDeliver = (d, s) => {
      acked++;
      s.ack(d.event.id);
    };
    b.ackAll();
    await until(() => acked === 9, 'b gets every other event');
  });

  test('persistent strategies - Ordered keeps one event per stream in flight and runs streams in parallel', async () => {
    await open('Ordered');
    await interleaved(['o-1', 'o-2', 'o-3'], 3);
    const a = fixture.connect('$all', 'g', 10);
    const b = fixture.connect('$all', 'g', 10);
    await until(() => a.deliveries.length + b.deliveries.length === 3);
    await settle();
    const all = [...a.deliveries, ...b.deliveries].map((d) => `${d.event.streamId}#${d.event.revision}`);
    expect(all.sort()).toEqual(['o-1#0', 'o-2#0', 'o-3#0']);
    expect(a.deliveries.length).toBeGreaterThan(0);
    expect(b.deliveries.length).toBeGreaterThan(0);
  });

  test('persistent strategies - Ordered: a retry keeps its stream blocked; ack, skip and park release it', async () => {
    await open('Ordered');
    await interleaved(['o-1', 'o-2', 'o-3'], 3);
    const a = fixture.connect('$all', 'g', 10);
    const inFlight = (): string[] => [...a.inFlight.values()].map((d) => `${d.event.streamId}#${d.event.revision}`).sort();
    const idOf = (stream: string): string => [...a.inFlight.values()].find((d) => d.event.streamId === stream)!.event.id;
    await until(() => a.deliveries.length === 3);
    expect(inFlight()).toEqual(['o-1#0', 'o-2#0', 'o-3#0']);
    a.nak('retry', idOf('o-1'));
    a.ack(idOf('o-2'));
    await until(() => a.deliveries.length === 5);
    await settle();
    expect(inFlight()).toEqual(['o-1#0', 'o-2#1', 'o-3#0']);
    expect(a.deliveries.find((d) => d.event.streamId === 'o-1' && d.retryCount === 1)).toBeDefined();
    a.nak('skip', idOf('o-3'));
    a.nak('park', idOf('o-1'));
    await until(() => a.deliveries.length === 7);
    await settle();
    expect(inFlight()).toEqual(['o-1#1', 'o-2#1', 'o-3#1']);
  });

  test('persistent strategies - Ordered: a stuck stream fills the bounded buffer and stops the reads (head-of-line)', async () => {
    await open('Ordered', { historyBufferEvents: 5, liveBufferEvents: 5, readBatchEvents: 5 });
    await fixture.store.appendToStream('stuck', numbered(0, 20));
    await fixture.store.appendToStream('free', numbered(100, 1));
    const a = fixture.connect('$all', 'g', 10);
    await until(() => a.deliveries.length === 1);
    await settle();
    // stuck#0 is in flight; the buffer holds five more stuck events and nothing else is read.
    expect(a.values()).toEqual([0]);
    const group = fixture.group('$all', 'g');
    expect(group.heldCount).toBeLessThanOrEqual(5 + 10);
    expect(fixture.groups.info('$all', 'g').lastKnownEvent).toBeLessThan(20n);
    a.onDeliver = (d, s) => s.ack(d.event.id);
    a.ackAll();
    await until(() => a.deliveries.length === 21);
    expect(a.values()).toEqual([...Array.from({ length: 20 }, (_, i) => i), 100]);
  });
});
