// Persistent subscriptions over events large enough that their read pages are cut by bytes
// (READ_PAGE_BYTES, 8 MiB) before their count: every event is still delivered, in order, and a
// replay of parked copies goes through all of them.

import { afterEach, expect, test } from 'vitest';
import { Fixture, until } from './persistent-fixture.js';

const MiB = 1024 * 1024;

/** `count` events of `bytes` of padding with data { n, pad }. */
function large(from: number, count: number, bytes: number): { type: string; data: { n: number; pad: string } }[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'Large', data: { n: from + i, pad: 'x'.repeat(bytes) } }));
}

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

test('persistent large events - pages of 20 events of 1 MiB are cut at 8 MiB and the group reads on: all 30 delivered in order, then the parked ones replayed', async () => {
  fixture = await Fixture.open();
  for (let i = 0; i < 30; i++) await fixture.store.appendToStream('s-1', large(i, 1, MiB));
  await fixture.create('s-1', 'g', { readBatchEvents: 20 });
  const sink = fixture.connect('s-1', 'g', 30);
  await until(() => sink.deliveries.length === 30, 'all 30 delivered');
  expect(sink.values()).toEqual(Array.from({ length: 30 }, (_, i) => i));
  // Park all but the first: their copies (1 MiB each) are replayed a byte-cut page at a time.
  sink.ack(sink.idOf(0));
  sink.nak('park', ...Array.from({ length: 29 }, (_, i) => sink.idOf(i + 1)));
  await until(() => fixture.groups.info('s-1', 'g').parkedCount === 29n, '29 parked');
  expect(await fixture.groups.replayParked('s-1', 'g')).toEqual({ replayed: 29 });
  await until(() => sink.deliveries.length === 59, 'all 29 replayed');
  expect(sink.values().slice(30)).toEqual(Array.from({ length: 29 }, (_, i) => i + 1));
});
