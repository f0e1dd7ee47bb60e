// Persistent subscriptions: an event parked again after a replay truncated its earlier copy.

import { afterEach, expect, test } from 'vitest';
import { Fixture, numbered, until } from './persistent-fixture.js';

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

test('persistent parking - an event redelivered after a restart and parked again is visible in the parked stream, though a replay truncated its first copy', async () => {
  fixture = await Fixture.open();
  await fixture.store.appendToStream('s-1', numbered(0, 2));
  await fixture.create('s-1', 'g');
  const first = fixture.connect('s-1', 'g', 10);
  await until(() => first.deliveries.length === 2);
  // Event 0 stays in flight, so the checkpoint cannot pass event 1 either.
  const id1 = first.idOf(1);
  first.nak('park', id1);
  await until(() => fixture.groups.info('s-1', 'g').parkedCount === 1n);
  expect(await fixture.groups.replayParked('s-1', 'g')).toEqual({ replayed: 1 });
  await until(() => first.deliveries.length === 3);
  first.ack(id1);
  await until(async () => (await fixture.parked('s-1', 'g')).length === 0, 'truncated');
  await fixture.restart();
  const second = fixture.connect('s-1', 'g', 10);
  await until(() => second.deliveries.length === 2);
  expect(second.values()).toEqual([0, 1]);
  second.nak('park', second.idOf(1));
  second.ack(second.idOf(0));
  await until(() => fixture.group('s-1', 'g').heldCount === 0, 'both done');
  expect((await fixture.parked('s-1', 'g')).map((p) => p.originalEventId)).toEqual([id1]);
  expect(fixture.groups.info('s-1', 'g').parkedCount).toBe(1n);
  expect(await fixture.groups.replayParked('s-1', 'g')).toEqual({ replayed: 1 });
});
