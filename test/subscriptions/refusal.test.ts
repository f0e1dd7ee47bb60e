// Persistent subscriptions: a consumer sink that says "not now" (deliver returns false). The event
// was not delivered: it goes to the next consumer at once, keeps its retry count, runs no timeout;
// the refusing consumer gets nothing until resume(). format-spec/subscriptions.md §6.

import { afterEach, describe, expect, test } from 'vitest';
import type { EventData, PersistentEvent } from '../../src/annal.js';
import { pinnedIndex } from '../../src/subscriptions/persistent/consumer.js';
import { Fixture, numbered, settle, until, type RecordingSink } from './persistent-fixture.js';

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

async function open(streamId: string, settings = {}): Promise<Fixture> {
  fixture = await Fixture.open();
  await fixture.create(streamId, 'g', settings);
  return fixture;
}

const nameOf = (d: PersistentEvent): string => `${d.event.streamId}#${d.event.revision}`;
const refuseAll = (): boolean => true;

/** Acks every delivery as it arrives, logging it in `log`. */
function autoAck(sink: RecordingSink, log: string[]): void {
  sink.onDeliver = (d, s) => {
    log.push(nameOf(d));
    s.ack(d.event.id);
  };
}

describe('persistent refusal', () => {
  test('persistent refusal - a consumer that refused gets nothing until resume(), then the refused event first', async () => {
    await open('s-1');
    await fixture.store.appendToStream('s-1', numbered(0, 5));
    const a = fixture.connect('s-1', 'g', 10);
    a.refuse = refuseAll;
    await until(() => a.refused.length === 1);
    await fixture.store.appendToStream('s-1', numbered(5, 2));
    await settle();
    // One refusal, then silence: appends, and a resume() of nothing, do not wake it.
    expect(a.refused.map((d) => (d.event.data as { n: number }).n)).toEqual([0]);
    expect(a.deliveries).toEqual([]);
    expect(fixture.groups.info('s-1', 'g')).toMatchObject({ inFlightCount: 0, deliveredCount: 0 });
    a.resume();
    await until(() => a.deliveries.length === 7);
    expect(a.values()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(a.deliveries.every((d) => d.retryCount === 0)).toBe(true);
    expect(fixture.groups.info('s-1', 'g')).toMatchObject({ inFlightCount: 7, deliveredCount: 7 });
    // resume() when not paused, and after close, changes nothing.
    a.handle.resume();
    a.handle.close();
    a.handle.resume();
    await settle();
    expect(a.deliveries).toHaveLength(7);
  });

  test('persistent refusal - a refused event goes to another consumer at once, with its retry count', async () => {
    await open('s-1', { consumerStrategy: 'RoundRobin' });
    await fixture.store.appendToStream('s-1', numbered(0, 4));
    const a = fixture.connect('s-1', 'g', 10);
    const b = fixture.connect('s-1', 'g', 10);
    a.refuse = refuseAll;
    await until(() => b.deliveries.length === 4);
    await settle();
    // RoundRobin offered event 0 to a first; it reached b in the same hand-out, not after a tick.
    expect(a.refused).toHaveLength(1);
    expect(a.deliveries).toEqual([]);
    expect(b.values()).toEqual([0, 1, 2, 3]);
    expect(b.deliveries.every((d) => d.retryCount === 0)).toBe(true);
    // A retried event refused by a keeps retryCount 1 (a refusal is not a retry).
    b.refuse = refuseAll;
    a.resume();
    b.nak('retry', b.idOf(0));
    await until(() => a.deliveries.length === 1);
    expect(a.deliveries[0]).toMatchObject({ retryCount: 1 });
    a.refuse = refuseAll;
    a.nak('retry', a.deliveries[0].event.id);
    await until(() => a.refused.length === 2);
    b.resume();
    await until(() => b.deliveries.length === 5);
    expect(b.deliveries[4]).toMatchObject({ retryCount: 2 });
    expect((b.deliveries[4].event.data as { n: number }).n).toBe(0);
  });

  test('persistent refusal - refused events run no timeout and are never redelivered for it; a paused consumer gets no retries either', async () => {
    await open('s-1', { messageTimeoutMs: 1000 });
    await fixture.store.appendToStream('s-1', numbered(0, 3));
    const a = fixture.connect('s-1', 'g', 10);
    // a takes event 0, then refuses event 1 and pauses.
    a.refuse = () => a.deliveries.length >= 1;
    await until(() => a.refused.length === 1);
    await settle();
    expect(a.values()).toEqual([0]);
    fixture.advance(5000, ['s-1', 'g']);
    await settle();
    // Event 0 timed out (retryCount 1), but a is paused: nothing reached it, events 1 and 2 waited.
    expect(a.deliveries).toHaveLength(1);
    expect(a.refused).toHaveLength(1);
    expect(fixture.groups.info('s-1', 'g')).toMatchObject({ inFlightCount: 0, deliveredCount: 1 });
    a.resume();
    await until(() => a.deliveries.length === 4);
    // The refused event was first in line, before event 0 came back from its timeout.
    const pairs = (): number[][] => a.deliveries.map((d) => [(d.event.data as { n: number }).n, d.retryCount]);
    expect(pairs()).toEqual([[0, 0], [1, 0], [0, 1], [2, 0]]);
    // Once taken, deliveries time out as always.
    fixture.advance(5000, ['s-1', 'g']);
    await until(() => a.deliveries.length === 7);
    expect(pairs().slice(4)).toEqual([[1, 1], [0, 2], [2, 1]]);
  });

  test('persistent refusal - Ordered keeps each stream in revision order across a refusal, alone or with another consumer', async () => {
    await open('$all', { consumerStrategy: 'Ordered' });
    for (let i = 0; i < 3; i++) {
      for (const stream of ['o-1', 'o-2']) await fixture.store.appendToStream(stream, [{ type: 'E', data: { n: i } } satisfies EventData]);
    }
    // Alone: a refuses o-1#1 once; after resume() each stream still comes in order, each event once.
    const log: string[] = [];
    const a = fixture.connect('$all', 'g', 10);
    a.refuse = (d) => nameOf(d) === 'o-1#1' && a.refused.length === 0;
    autoAck(a, log);
    await until(() => a.refused.length === 1);
    await settle();
    const before = log.length;
    expect(log).not.toContain('o-1#2');
    a.resume();
    await until(() => log.length === 6);
    expect(before).toBeLessThan(6);
    expect(log.filter((n) => n.startsWith('o-1'))).toEqual(['o-1#0', 'o-1#1', 'o-1#2']);
    expect(log.filter((n) => n.startsWith('o-2'))).toEqual(['o-2#0', 'o-2#1', 'o-2#2']);
    a.handle.close();

    // With another consumer: c refuses o-1#1 and stays paused; d gets it at once and the stream goes on in order.
    for (let i = 3; i < 6; i++) {
      for (const stream of ['o-1', 'o-2']) await fixture.store.appendToStream(stream, [{ type: 'E', data: { n: i } } satisfies EventData]);
    }
    const both: string[] = [];
    const c = fixture.connect('$all', 'g', 10);
    const d = fixture.connect('$all', 'g', 10);
    c.refuse = (delivery) => nameOf(delivery) === 'o-1#4';
    autoAck(c, both);
    autoAck(d, both);
    await until(() => both.length === 6);
    await settle();
    expect(c.refused.map(nameOf)).toEqual(['o-1#4']);
    expect(d.deliveries.map(nameOf)).toContain('o-1#4');
    expect(d.deliveries.find((x) => nameOf(x) === 'o-1#4')!.retryCount).toBe(0);
    expect(both.filter((n) => n.startsWith('o-1'))).toEqual(['o-1#3', 'o-1#4', 'o-1#5']);
    expect(both.filter((n) => n.startsWith('o-2'))).toEqual(['o-2#3', 'o-2#4', 'o-2#5']);
  });

  test('persistent refusal - Pinned: an event refused by its pinned consumer waits for it; other streams flow', async () => {
    await open('$all', { consumerStrategy: 'Pinned' });
    const streams: string[] = [];
    for (let i = 0; streams.length < 2; i++) {
      const id = `p-${i}`;
      if (pinnedIndex(id, 2) === streams.length) streams.push(id);
    }
    const [toA, toB] = streams;
    const a = fixture.connect('$all', 'g', 10);
    const b = fixture.connect('$all', 'g', 10);
    a.refuse = refuseAll;
    for (let i = 0; i < 2; i++) {
      for (const stream of streams) await fixture.store.appendToStream(stream, [{ type: 'E', data: { n: i } } satisfies EventData]);
    }
    await until(() => b.deliveries.length === 2 && a.refused.length === 1);
    await settle();
    expect(a.refused.map(nameOf)).toEqual([`${toA}#0`]);
    expect(b.deliveries.map(nameOf)).toEqual([`${toB}#0`, `${toB}#1`]);
    a.resume();
    await until(() => a.deliveries.length === 2);
    expect(a.deliveries.map(nameOf)).toEqual([`${toA}#0`, `${toA}#1`]);
    expect(b.deliveries).toHaveLength(2);
  });
});
