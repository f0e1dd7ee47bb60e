// The subscriptions group (SU0–SU6): delivery to catch-up subscribers while 64 writers append
// (SU0 is the same writers with no subscriber, measured in the same run), catch-up through
// history, persistent-subscription throughput with acks, and the latency from an append's call to
// its delivery. Each case runs in its own fresh store.

import { EventStore, PersistentSubscriptions, type EventData, type ExpectedRevision, type StoreSubscription } from '../src/annal.js';
import { sampleEvents, withStore, pipeline, EVENT_DATA, EVENT_TYPE } from './fixture.js';
import { perSecond, quantile, type Figure } from './figure.js';

export const SU_WRITERS = 64;
/** Events in the history SU3 and SU4 start from. */
export const SU_HISTORY_EVENTS = 500_000;
const HISTORY_STREAMS = 1000;
const HISTORY_APPEND_EVENTS = 500;
const HISTORY_IN_FLIGHT_MAX = 8;
/** Persistent consumers' in-flight window (TCP clients default to 10; embedded users pick more). */
const SU_WINDOW_EVENTS = 200;
/** SU6 paces its writer at one append per this many ms, so latency is not queueing behind a closed loop. */
const LATENCY_APPEND_INTERVAL_MS = 2;
const LATENCY_SAMPLES = 2000;

export interface SubscriptionTiming {
  readonly durationMs: number;
  readonly warmupMs: number;
}

/**
 * SU_WRITERS writers, each on its own new stream (`su-<tag>-<w>`, appended with exact expected
 * revisions), one event per append, until the deadline. Returns the events appended.
 */
async function appendUntil(store: EventStore, tag: string, deadlineMs: number): Promise<number> {
  const events = sampleEvents(1);
  const counts = await Promise.all(Array.from({ length: SU_WRITERS }, async (_, w) => {
    let expected: ExpectedRevision = 'no_stream';
    let n = 0;
    while (performance.now() < deadlineMs) {
      expected = (await store.appendToStream(`su-${tag}-${w}`, events, { expectedRevision: expected })).nextExpectedRevision;
      n++;
    }
    return n;
  }));
  return counts.reduce((a, b) => a + b, 0);
}

/** Consumes `subscription` until it has seen the event at `untilPosition()` (checked after each event). */
async function consume(subscription: StoreSubscription, onEvent: (position: bigint) => boolean): Promise<number> {
  let n = 0;
  for await (const event of subscription) {
    n++;
    if (onEvent(event.position)) break;
  }
  return n;
}

interface SubscriberRun {
  /** Resolves with the events received and when the one at `finalHead` arrived. */
  readonly done: Promise<{ received: number; finalAtMs: number }>;
}

/**
 * A subscriber to $all after `fromPosition` that stops once it has received the event at
 * `finalHead()` (known only when the writers stop; -1n until then). `onEvent` sees each position.
 */
function runSubscriber(store: EventStore, fromPosition: bigint | 'start', finalHead: () => bigint, onEvent: (position: bigint) => void): SubscriberRun {
  const subscription = store.subscribeToAll({ fromPosition });
  const done = (async () => {
    let received = 0;
    let lastAtMs = 0;
    for await (const event of subscription) {
      const atMs = performance.now();
      onEvent(event.position);
      const final = finalHead();
      // Past the final event: the one that woke us is the stop marker, so the final one came before it.
      if (final >= 0n && event.position > final) return { received, finalAtMs: lastAtMs };
      received++;
      lastAtMs = atMs;
      if (final >= 0n && event.position === final) return { received, finalAtMs: atMs };
    }
    throw new Error('the subscription ended before the final event');
  })();
  return { done };
}

/**
 * SU1/SU2: `subscriberCount` catch-up subscribers while SU_WRITERS writers append for the case's
 * duration. A warm-up round (writers and subscribers) runs first; the measured subscribers start
 * after the head the warm-up left. A subscriber's rate is the events it received over the time
 * from the writers' start to its receipt of the last appended event; the figure is the slowest.
 */
async function deliveryWhileWriting(id: string, subscriberCount: number, timing: SubscriptionTiming): Promise<Figure> {
  return withStore(id.toLowerCase(), async (store) => {
    let head = -1n;
    const stopListening = store.onAppended((next) => {
      head = next;
    });
    const round = async (tag: string, from: bigint | 'start', durationMs: number) => {
      let finalHead = -1n;
      let maxLagEvents = 0n;
      const runs = Array.from({ length: subscriberCount }, (_, s) => runSubscriber(store, from, () => finalHead, (position) => {
        if (s === 0 && (position & 255n) === 0n && head - position > maxLagEvents) maxLagEvents = head - position;
      }));
      const started = performance.now();
      const appended = await appendUntil(store, tag, started + durationMs);
      const stoppedAt = performance.now();
      finalHead = await store.headPosition();
      // Wakes the subscribers already waiting after the final event.
      await store.appendToStream(`su-${tag}-stop`, sampleEvents(1));
      const results = await Promise.all(runs.map((r) => r.done));
      return { started, stoppedAt, appended, results, maxLagEvents };
    };
    await round('warmup', 'start', timing.warmupMs);
    const r = await round('writer', await store.headPosition(), timing.durationMs);
    stopListening();
    const writeMs = r.stoppedAt - r.started;
    const slowestMs = Math.max(...r.results.map((x) => x.finalAtMs - r.started));
    const fewest = Math.min(...r.results.map((x) => x.received));
    return {
      id, name: `${subscriberCount} catch-up subscriber${subscriberCount > 1 ? 's' : ''} to $all while ${SU_WRITERS} writers append`,
      value: perSecond(fewest, slowestMs), unit: 'events/s', comparesToBaseline: false,
      comparedTo: 'SU0', target: { kind: 'compared', min: 0.9 },
      details: {
        subscribers: subscriberCount, appended: r.appended, appendRatePerSecond: perSecond(r.appended, writeMs), writeMs,
        deliveredToAppendedRatio: fewest / r.appended, lastDeliveredAfterWritersStoppedMs: slowestMs - writeMs, maxLagEventsSeen: Number(r.maxLagEvents),
      },
    };
  });
}

/** SU0: the same writers with no subscriber. */
async function appendsAlone(timing: SubscriptionTiming): Promise<Figure> {
  return withStore('su0', async (store) => {
    await appendUntil(store, 'warmup', performance.now() + timing.warmupMs);
    const started = performance.now();
    const appended = await appendUntil(store, 'writer', started + timing.durationMs);
    const elapsedMs = performance.now() - started;
    return {
      id: 'SU0', name: `${SU_WRITERS} writers append, no subscriber`, value: perSecond(appended, elapsedMs), unit: 'events/s',
      comparesToBaseline: true, details: { appended, elapsedMs },
    };
  });
}

/** Fills the store with SU_HISTORY_EVENTS events over HISTORY_STREAMS streams. */
async function fillHistory(store: EventStore): Promise<void> {
  const events = sampleEvents(HISTORY_APPEND_EVENTS);
  await pipeline(SU_HISTORY_EVENTS / HISTORY_APPEND_EVENTS, HISTORY_IN_FLIGHT_MAX, (a) => store.appendToStream(`su-history-${a % HISTORY_STREAMS}`, events));
}

/** SU3: one subscriber from 'start' through SU_HISTORY_EVENTS events of history (no writers). */
async function catchUpThroughHistory(): Promise<Figure> {
  return withStore('su3', async (store) => {
    await fillHistory(store);
    const head = await store.headPosition();
    const started = performance.now();
    const subscription = store.subscribeToAll({ fromPosition: 'start' });
    const received = await consume(subscription, (position) => position >= head);
    const elapsedMs = performance.now() - started;
    await subscription.unsubscribe();
    return {
      id: 'SU3', name: `catch-up subscriber through ${SU_HISTORY_EVENTS.toLocaleString('en-US')} events of history`,
      value: perSecond(received, elapsedMs), unit: 'events/s', comparesToBaseline: false, details: { received, elapsedMs },
    };
  });
}

/**
 * SU4/SU5: a persistent group on $all from the start of SU_HISTORY_EVENTS events; `consumers`
 * consumers (window SU_WINDOW_EVENTS) ack every event as it arrives. Rate = events acked / time
 * until the last is acked.
 */
async function persistentThroughput(id: string, consumers: number, strategy: 'RoundRobin' | 'Ordered'): Promise<Figure> {
  return withStore(id.toLowerCase(), async (store) => {
    await fillHistory(store);
    const groups = await PersistentSubscriptions.open(store);
    try {
      await groups.create('$all', 'bench', { startFrom: 'start', consumerStrategy: strategy, readBatchEvents: 500, historyBufferEvents: 2000, checkpointAfterMs: 1000 });
      let acked = 0;
      const started = performance.now();
      let finishedAt = 0;
      await new Promise<void>((resolve) => {
        for (let c = 0; c < consumers; c++) {
          const subscription = groups.subscribe('$all', 'bench', { windowEvents: SU_WINDOW_EVENTS });
          void (async () => {
            for await (const delivery of subscription) {
              subscription.ack(delivery);
              if (++acked === SU_HISTORY_EVENTS) {
                finishedAt = performance.now();
                resolve();
              }
            }
          })();
        }
      });
      const elapsedMs = finishedAt - started;
      return {
        id, name: `persistent group on $all, ${consumers} consumer${consumers > 1 ? 's' : ''} (${strategy}, window ${SU_WINDOW_EVENTS}), ack each`,
        value: perSecond(acked, elapsedMs), unit: 'events/s', comparesToBaseline: false, details: { acked, elapsedMs, consumers, strategy },
      };
    } finally {
      await groups.close();
    }
  });
}

/**
 * SU6: one writer appends one small event every LATENCY_APPEND_INTERVAL_MS; a live subscriber and
 * a persistent consumer record the time from the append's call to the event's delivery.
 */
async function latency(): Promise<Figure[]> {
  return withStore('su6', async (store) => {
    const groups = await PersistentSubscriptions.open(store);
    try {
      await groups.create('su-latency', 'bench', { startFrom: 'start' });
      const calledAtMs = new Map<number, number>();
      const liveMs: number[] = [];
      const persistentMs: number[] = [];
      const live = store.subscribeToStream('su-latency', { fromRevision: 'end' });
      const persistent = groups.subscribe('su-latency', 'bench', { windowEvents: SU_WINDOW_EVENTS });
      const liveDone = (async () => {
        for await (const event of live) {
          liveMs.push(performance.now() - calledAtMs.get(Number(event.revision))!);
          if (liveMs.length === LATENCY_SAMPLES) break;
        }
      })();
      const persistentDone = (async () => {
        for await (const delivery of persistent) {
          persistentMs.push(performance.now() - calledAtMs.get(Number(delivery.event.revision))!);
          persistent.ack(delivery);
          if (persistentMs.length === LATENCY_SAMPLES) break;
        }
      })();
      await live.caughtUp;
      const event: EventData[] = [{ type: EVENT_TYPE, data: EVENT_DATA }];
      const appends: Promise<unknown>[] = [];
      for (let n = 0; n < LATENCY_SAMPLES; n++) {
        calledAtMs.set(n, performance.now());
        appends.push(store.appendToStream('su-latency', event));
        await new Promise((resolve) => setTimeout(resolve, LATENCY_APPEND_INTERVAL_MS));
      }
      await Promise.all(appends);
      await Promise.all([liveDone, persistentDone]);
      const figure = (id: string, what: string, samples: number[]): Figure[] => [
        { id: `${id}p50`, name: `append call → ${what} delivery, p50`, value: quantile(samples, 0.5), unit: 'ms', comparesToBaseline: false, details: { samples: samples.length } },
        { id: `${id}p99`, name: `append call → ${what} delivery, p99`, value: quantile(samples, 0.99), unit: 'ms', comparesToBaseline: false, details: { max: quantile(samples, 1) } },
      ];
      return [...figure('SU6a', 'live subscriber', liveMs), ...figure('SU6b', 'persistent consumer', persistentMs)];
    } finally {
      await groups.close();
    }
  });
}

export async function subscriptions(timing: SubscriptionTiming): Promise<Figure[]> {
  const figures: Figure[] = [await appendsAlone(timing)];
  figures.push(await deliveryWhileWriting('SU1', 1, timing));
  figures.push(await deliveryWhileWriting('SU2', 10, timing));
  figures.push(await catchUpThroughHistory());
  figures.push(await persistentThroughput('SU4', 1, 'RoundRobin'));
  figures.push(await persistentThroughput('SU5', 4, 'Ordered'));
  figures.push(...(await latency()));
  return figures;
}
