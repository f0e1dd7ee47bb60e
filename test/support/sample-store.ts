// A seeded mixed workload for tests that need a realistic store: JSON and binary events, with and
// without metadata, single- and multi-event appends and multi-stream transactions, over categories.

import type { EventData, EventStore } from '../../src/annal.js';
import type { Clock } from '../../src/util/clock.js';

export const SAMPLE_STREAMS = ['order-1', 'order-2', 'order-3', 'account-1', 'account-2', 'ledger'] as const;

/** A clock that advances 7 ms per reading from a fixed instant: created stamps repeat per seed. */
export function steppingClock(startMs = 1_764_288_000_000): Clock {
  let now = startMs;
  return { nowMs: () => (now += 7) };
}

function seededUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((Math.floor(random() * 4)) + 8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** One random event; ids are always given so that the bytes repeat per seed. */
export function sampleEvent(random: () => number, n: number): EventData {
  const pick = random();
  const event: EventData = pick < 0.25
    ? { id: seededUuid(random), type: 'Blob', data: randomBytes(random, Math.floor(random() * 500)) }
    : { id: seededUuid(random), type: pick < 0.6 ? 'Placed' : 'Paid', data: { n, note: 'x'.repeat(Math.floor(random() * 400)), amount: Math.floor(random() * 1e6) / 100 } };
  const meta = random();
  if (meta < 0.3) event.metadata = { correlationId: seededUuid(random) };
  else if (meta < 0.4) event.metadata = randomBytes(random, Math.floor(random() * 40));
  return event;
}

/** Appends random transactions (awaited one by one) until `stop()` holds; returns the events appended. */
export async function appendSample(store: EventStore, random: () => number, stop: () => boolean, counter = { n: 0 }): Promise<number> {
  const stream = (): string => SAMPLE_STREAMS[Math.floor(random() * SAMPLE_STREAMS.length)];
  const events = (): EventData[] => Array.from({ length: 1 + Math.floor(random() * (random() < 0.3 ? 6 : 2)) }, () => sampleEvent(random, counter.n++));
  const before = counter.n;
  while (!stop()) {
    if (random() < 0.15) {
      const a = stream();
      const b = SAMPLE_STREAMS[(SAMPLE_STREAMS.indexOf(a as (typeof SAMPLE_STREAMS)[number]) + 1) % SAMPLE_STREAMS.length];
      await store.appendMulti([{ streamId: a, events: events() }, { streamId: b, events: events() }]);
    } else {
      await store.appendToStream(stream(), events());
    }
  }
  return counter.n - before;
}
