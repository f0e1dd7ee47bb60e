// Read throughput of the embedded store (R1, R2) over one store of READ_STORE_EVENTS 200-byte JSON
// events, filled, closed and reopened first; every record's CRC is checked by the read path.

import { EventStore, type AppendRequest, type RecordedEvent } from '../src/annal.js';
import { EVENT_TYPE, sampleEvents, withFreshDir, pipeline } from './fixture.js';
import { perSecond, quantile, type Figure } from './figure.js';

export const READ_STORE_EVENTS = 1_000_000;
export const R1_PAGE_EVENTS = 10_000;
export const R2_STREAM_EVENTS = 10_000;
/** The interleaved stream shares its stretch of the log with this many streams, one event each in turn. */
export const R2_NEIGHBOURS = 9;
const FILL_BATCH_EVENTS = 1000;
const FILL_STREAMS = 100;
const FILL_IN_FLIGHT_MAX = 8;
const INTERLEAVE_IN_FLIGHT_MAX = 64;

const CONTIGUOUS = 'r2-contiguous';
const INTERLEAVED = 'r2-interleaved';

export interface ReadTiming {
  readonly durationMs: number;
  readonly warmupMs: number;
}

/** Fills the store: the contiguous R2 stream, the interleaved one and its neighbours, then filler streams. */
async function fill(store: EventStore): Promise<void> {
  const batch = sampleEvents(FILL_BATCH_EVENTS);
  for (let i = 0; i < R2_STREAM_EVENTS / FILL_BATCH_EVENTS; i++) await store.appendToStream(CONTIGUOUS, batch);
  // Each request appends one event to the interleaved stream, then one to each neighbour.
  const one = sampleEvents(1);
  const request: AppendRequest[] = [INTERLEAVED, ...Array.from({ length: R2_NEIGHBOURS }, (_, n) => `r2-neighbour-${n + 1}`)]
    .map((streamId) => ({ streamId, events: one }));
  await pipeline(R2_STREAM_EVENTS, INTERLEAVE_IN_FLIGHT_MAX, () => store.appendMulti(request));
  const [first, second] = await store.readStream(INTERLEAVED, { maxCount: 2 });
  if (second.position - first.position !== BigInt(R2_NEIGHBOURS + 1)) throw new Error('the interleaved stream is not interleaved');
  const fillerAppends = (READ_STORE_EVENTS - Number((await store.headPosition()) + 1n)) / FILL_BATCH_EVENTS;
  await pipeline(fillerAppends, FILL_IN_FLIGHT_MAX, (i) => store.appendToStream(`r1-filler-${i % FILL_STREAMS}`, batch));
  const count = Number((await store.headPosition()) + 1n);
  if (count !== READ_STORE_EVENTS) throw new Error(`the read store holds ${count} events, expected ${READ_STORE_EVENTS}`);
}

/** Touches every event's type (so the read is not optimised into nothing); returns the events seen. */
function touch(events: readonly RecordedEvent[]): number {
  let typeChars = 0;
  for (const event of events) typeChars += event.type.length;
  if (typeChars !== events.length * EVENT_TYPE.length) throw new Error('an event came back with the wrong type');
  return events.length;
}

/** One forwards pass over $all in pages of R1_PAGE_EVENTS. */
async function readAllPaged(store: EventStore): Promise<number> {
  let events = 0;
  let from = 0n;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: R1_PAGE_EVENTS });
    events += touch(page);
    if (page.length < R1_PAGE_EVENTS) return events;
    from = page[page.length - 1].position + 1n;
  }
}

/** One forwards pass over $all through iterateAll. */
async function readAllIterated(store: EventStore): Promise<number> {
  let events = 0;
  let typeChars = 0;
  for await (const event of store.iterateAll()) {
    typeChars += event.type.length;
    events++;
  }
  if (typeChars !== events * EVENT_TYPE.length) throw new Error('an event came back with the wrong type');
  return events;
}

/**
 * Repeats `pass` for `warmupMs` unmeasured (at least once, so the read path is compiled), then
 * until `durationMs` has passed (at least once); the rate pools every measured pass.
 */
async function passes(timing: ReadTiming, expected: number, pass: () => Promise<number>): Promise<{ rate: number; details: Record<string, unknown> }> {
  const warmupStarted = performance.now();
  do await pass(); while (performance.now() - warmupStarted < timing.warmupMs);
  const durationMs = timing.durationMs;
  const passRates: number[] = [];
  let events = 0;
  const started = performance.now();
  let now = started;
  while (passRates.length === 0 || now - started < durationMs) {
    const passStarted = now;
    const n = await pass();
    if (n !== expected) throw new Error(`a read pass returned ${n} events, expected ${expected}`);
    now = performance.now();
    passRates.push(perSecond(n, now - passStarted));
    events += n;
  }
  const details = {
    events, elapsedMs: now - started, passes: passRates.length,
    bestPassRate: Math.max(...passRates), medianPassRate: quantile(passRates, 0.5), worstPassRate: Math.min(...passRates),
  };
  return { rate: perSecond(events, now - started), details };
}

/** Fills a fresh store, reopens it, and measures R1 (paged and iterated) and R2 (contiguous and interleaved). */
export async function reads(timing: ReadTiming): Promise<Figure[]> {
  return withFreshDir('reads', async (dir) => {
    const figures: Figure[] = [];
    let started = performance.now();
    const writer = await EventStore.open(dir);
    try {
      await fill(writer);
    } finally {
      await writer.close();
    }
    const fillMs = performance.now() - started;
    figures.push({
      id: 'R0a', name: `fill of the read store (${FILL_BATCH_EVENTS}-event appends)`, value: perSecond(READ_STORE_EVENTS, fillMs), unit: 'events/s',
      comparesToBaseline: false, details: { events: READ_STORE_EVENTS, elapsedMs: fillMs },
    });
    started = performance.now();
    const store = await EventStore.open(dir);
    const openMs = performance.now() - started;
    figures.push({ id: 'R0b', name: `reopen (recovery + index rebuild) of ${READ_STORE_EVENTS.toLocaleString('en-US')} events`, value: openMs, unit: 'ms', comparesToBaseline: false });
    try {
      const paged = await passes(timing, READ_STORE_EVENTS, () => readAllPaged(store));
      figures.push({ id: 'R1a', name: `readAll forwards, pages of ${R1_PAGE_EVENTS}`, value: paged.rate, unit: 'events/s', comparesToBaseline: false, target: { kind: 'absolute', min: 2_000_000 }, details: paged.details });
      const iterated = await passes(timing, READ_STORE_EVENTS, () => readAllIterated(store));
      figures.push({ id: 'R1b', name: 'iterateAll forwards', value: iterated.rate, unit: 'events/s', comparesToBaseline: false, target: { kind: 'absolute', min: 2_000_000 }, details: iterated.details });
      for (const [id, streamId, what] of [['R2a', CONTIGUOUS, 'contiguous'], ['R2b', INTERLEAVED, `interleaved with ${R2_NEIGHBOURS} streams`]] as const) {
        const r = await passes(timing, R2_STREAM_EVENTS, async () => touch(await store.readStream(streamId)));
        figures.push({ id, name: `readStream forwards, ${R2_STREAM_EVENTS} events, ${what}`, value: r.rate, unit: 'events/s', comparesToBaseline: false, target: { kind: 'absolute', min: 1_000_000 }, details: r.details });
      }
    } finally {
      await store.close();
    }
    return figures;
  });
}
