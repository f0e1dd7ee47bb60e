// Persistent subscriptions: a slow or stuck consumer never makes a group hold more than its
// buffer plus the consumers' windows, however far behind it is.

import { afterEach, describe, expect, test } from 'vitest';
import type { ConsumerStrategy } from '../../src/annal.js';
import { Fixture, numbered, settle, until } from './persistent-fixture.js';

const EVENTS = 20_000;
const APPEND_EVENTS = 1000;
const WINDOW_EVENTS = 50;
const BUFFER_EVENTS = 500;

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

async function appendMany(streamOf: (i: number) => string): Promise<void> {
  for (let from = 0; from < EVENTS; from += APPEND_EVENTS) {
    const stream = streamOf(from / APPEND_EVENTS);
    await fixture.store.appendToStream(stream, numbered(from, APPEND_EVENTS));
  }
}

describe('persistent memory', () => {
  for (const [strategy, streamId] of [['RoundRobin', 's-1'], ['Ordered', '$all']] as [ConsumerStrategy, string][]) {
    test(`persistent memory - ${EVENTS} events and a consumer that never acks: the ${strategy} group holds at most its buffer and window`, async () => {
      fixture = await Fixture.open();
      await fixture.create(streamId, 'g', { consumerStrategy: strategy, historyBufferEvents: BUFFER_EVENTS, liveBufferEvents: BUFFER_EVENTS, messageTimeoutMs: 0 });
      await appendMany((i) => (streamId === '$all' ? `s-${i % 7}` : streamId));
      const sink = fixture.connect(streamId, 'g', WINDOW_EVENTS);
      const group = fixture.group(streamId, 'g');
      // Ordered: the first 1000 events are all of s-0, so the buffer fills with events behind s-0#0
      // and nothing else is read (the documented head-of-line effect).
      await until(() => sink.deliveries.length === (strategy === 'Ordered' ? 1 : WINDOW_EVENTS));
      await settle(200);
      expect(group.heldCount).toBeLessThanOrEqual(BUFFER_EVENTS + WINDOW_EVENTS);
      expect(Number(fixture.groups.info(streamId, 'g').lastKnownEvent)).toBeLessThan(BUFFER_EVENTS + WINDOW_EVENTS + 20);
      // More appends while it is stuck change nothing.
      await fixture.store.appendToStream('s-1', numbered(EVENTS, APPEND_EVENTS));
      await settle(200);
      expect(group.heldCount).toBeLessThanOrEqual(BUFFER_EVENTS + WINDOW_EVENTS);
    });
  }

  test('persistent memory - a slow consumer that acks one event at a time stays within the bound, timeouts and retries included', async () => {
    fixture = await Fixture.open();
    await fixture.create('s-1', 'g', { historyBufferEvents: 100, liveBufferEvents: 100, readBatchEvents: 20, messageTimeoutMs: 1000, maxRetryCount: 1000 });
    await fixture.store.appendToStream('s-1', numbered(0, 2000));
    const slow = fixture.connect('s-1', 'g', 10);
    const group = fixture.group('s-1', 'g');
    let maxHeld = 0;
    for (let i = 0; i < 300; i++) {
      await until(() => slow.inFlight.size > 0);
      slow.ack([...slow.inFlight.keys()][0]);
      if (i % 50 === 0) fixture.advance(1000, ['s-1', 'g']);
      await settle(2);
      maxHeld = Math.max(maxHeld, group.heldCount);
    }
    expect(maxHeld).toBeLessThanOrEqual(100 + 10);
  });
});
