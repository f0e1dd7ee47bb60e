// Durable write throughput of the embedded store (W1–W3): closed loops of appendToStream with
// 200-byte JSON events, each case in its own fresh store; an append counts once it is acknowledged.

import { EventStore, type AppendResult, type EventData, type ExpectedRevision } from '../src/annal.js';
import { eventRecordBytes, sampleEvents, withStore } from './fixture.js';
import { perSecond, quantile, timed, type Figure, type Timed } from './figure.js';

/** W1 is measured in this many slices, so a baseline can be measured between them. */
export const W1_SLICES = 6;
export const W2_WRITERS = 64;
export const W3_BATCH_EVENTS = 100;
export const W3_IN_FLIGHT_MAX = 8;

export interface WriteTiming {
  readonly durationMs: number;
  readonly warmupMs: number;
}

/** A writer that owns one stream and appends with the exact expected revision each time. */
class StreamWriter {
  private expected: ExpectedRevision = 'no_stream';

  constructor(private readonly store: EventStore, readonly streamId: string, private readonly events: EventData[]) {}

  async appendUntil(deadlineMs: number, latenciesMs: number[] | null): Promise<number> {
    let ops = 0;
    while (performance.now() < deadlineMs) {
      const started = performance.now();
      const result = await this.store.appendToStream(this.streamId, this.events, { expectedRevision: this.expected });
      this.expected = result.nextExpectedRevision;
      latenciesMs?.push(performance.now() - started);
      ops++;
    }
    return ops;
  }
}

function latencyDetails(latenciesMs: number[]): Record<string, number> {
  return { p50LatencyMs: quantile(latenciesMs, 0.5), p99LatencyMs: quantile(latenciesMs, 0.99), maxLatencyMs: quantile(latenciesMs, 1) };
}

function timingDetails(t: Timed, eventsPerAppend: number, streamId: string): Record<string, unknown> {
  return {
    events: t.events, appends: t.ops, elapsedMs: t.elapsedMs, eventsPerAppend,
    appendBytes: eventsPerAppend * eventRecordBytes(streamId), appendsPerSecond: perSecond(t.ops, t.elapsedMs),
  };
}

/**
 * W1: one writer, one event per append, each append awaited before the next. `between` runs
 * before each of the W1_SLICES timed slices and once after the last (the caller measures the
 * baseline there, so both see the same moments of a noisy machine); it is not timed.
 */
export async function w1Sequential(timing: WriteTiming, between: () => void = () => undefined): Promise<Figure> {
  return withStore('w1', async (store) => {
    const writer = new StreamWriter(store, 'w1-account', sampleEvents(1));
    await writer.appendUntil(performance.now() + timing.warmupMs, null);
    const latenciesMs: number[] = [];
    let appends = 0;
    let elapsedMs = 0;
    for (let slice = 0; slice < W1_SLICES; slice++) {
      between();
      const t = await timed(timing.durationMs / W1_SLICES, async (deadline) => {
        const ops = await writer.appendUntil(deadline, latenciesMs);
        return { events: ops, ops };
      });
      appends += t.ops;
      elapsedMs += t.elapsedMs;
    }
    between();
    const t: Timed = { events: appends, ops: appends, elapsedMs, eventsPerSecond: perSecond(appends, elapsedMs) };
    return {
      id: 'W1', name: '1 writer, 1 event/append, sequential', value: t.eventsPerSecond, unit: 'events/s',
      comparesToBaseline: true, target: { kind: 'baseline', min: 0.85 },
      details: { slices: W1_SLICES, ...timingDetails(t, 1, writer.streamId), ...latencyDetails(latenciesMs) },
    };
  });
}

/** W2: W2_WRITERS writers, each on its own stream, one event per append, each awaiting its own. */
export async function w2Concurrent(timing: WriteTiming): Promise<Figure> {
  return withStore('w2', async (store) => {
    const writers = Array.from({ length: W2_WRITERS }, (_, w) => new StreamWriter(store, `w2-account-${w}`, sampleEvents(1)));
    const all = async (deadline: number, latenciesMs: number[] | null): Promise<number> => {
      const counts = await Promise.all(writers.map((writer) => writer.appendUntil(deadline, latenciesMs)));
      return counts.reduce((sum, n) => sum + n, 0);
    };
    await all(performance.now() + timing.warmupMs, null);
    const latenciesMs: number[] = [];
    const t = await timed(timing.durationMs, async (deadline) => {
      const ops = await all(deadline, latenciesMs);
      return { events: ops, ops };
    });
    return {
      id: 'W2', name: `${W2_WRITERS} concurrent writers, 1 event/append`, value: t.eventsPerSecond, unit: 'events/s',
      comparesToBaseline: true, target: { kind: 'absolute', min: 100_000 },
      details: { writers: W2_WRITERS, ...timingDetails(t, 1, writers[0].streamId), ...latencyDetails(latenciesMs) },
    };
  });
}

/** W3a: one writer, W3_BATCH_EVENTS events per append, each append awaited before the next. */
export async function w3Sequential(timing: WriteTiming): Promise<Figure> {
  return withStore('w3a', async (store) => {
    const writer = new StreamWriter(store, 'w3-orders', sampleEvents(W3_BATCH_EVENTS));
    await writer.appendUntil(performance.now() + timing.warmupMs, null);
    const latenciesMs: number[] = [];
    const t = await timed(timing.durationMs, async (deadline) => {
      const ops = await writer.appendUntil(deadline, latenciesMs);
      return { events: ops * W3_BATCH_EVENTS, ops };
    });
    return {
      id: 'W3a', name: `1 writer, ${W3_BATCH_EVENTS} events/append, sequential`, value: t.eventsPerSecond, unit: 'events/s',
      comparesToBaseline: true,
      details: { ...timingDetails(t, W3_BATCH_EVENTS, writer.streamId), ...latencyDetails(latenciesMs) },
    };
  });
}

/**
 * Appends batches to one stream ('any' revision) keeping up to W3_IN_FLIGHT_MAX appends
 * unacknowledged, until the deadline; then waits for the rest. Returns the appends acknowledged.
 */
async function pipelinedAppends(store: EventStore, streamId: string, events: EventData[], deadlineMs: number): Promise<number> {
  const inFlight: Promise<AppendResult>[] = [];
  let acknowledged = 0;
  while (performance.now() < deadlineMs) {
    inFlight.push(store.appendToStream(streamId, events, { expectedRevision: 'any' }));
    if (inFlight.length === W3_IN_FLIGHT_MAX) {
      await inFlight.shift();
      acknowledged++;
    }
  }
  for (const append of inFlight) {
    await append;
    acknowledged++;
  }
  return acknowledged;
}

/** W3b: one writer, W3_BATCH_EVENTS events per append, up to W3_IN_FLIGHT_MAX appends in flight. */
export async function w3Pipelined(timing: WriteTiming): Promise<Figure> {
  return withStore('w3b', async (store) => {
    const streamId = 'w3-orders';
    const events = sampleEvents(W3_BATCH_EVENTS);
    await pipelinedAppends(store, streamId, events, performance.now() + timing.warmupMs);
    const t = await timed(timing.durationMs, async (deadline) => {
      const ops = await pipelinedAppends(store, streamId, events, deadline);
      return { events: ops * W3_BATCH_EVENTS, ops };
    });
    return {
      id: 'W3b', name: `1 writer, ${W3_BATCH_EVENTS} events/append, ${W3_IN_FLIGHT_MAX} in flight`, value: t.eventsPerSecond, unit: 'events/s',
      comparesToBaseline: true, target: { kind: 'absolute', min: 400_000 },
      details: { inFlightMax: W3_IN_FLIGHT_MAX, ...timingDetails(t, W3_BATCH_EVENTS, streamId) },
    };
  });
}
