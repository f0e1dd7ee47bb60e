// RELIABILITY.md P7 for the embedded subscriptions. A random interleaving of appends at full
// speed (several streams, batches, up to 8 in flight) with subscribers that start, stop and
// "crash" (unsubscribe, then resubscribe after the last event or checkpoint they saw), some of
// them slow (a tiny live buffer and a pause per event): every subscriber sees exactly the events
// after its start point, in $all order (revision order for a stream), no gap, no duplicate, and
// checkpoints never pass an undelivered event. A second test checks through the simulated disk
// that no event is delivered before it is durable. Seeded; replay with ANNAL_SEED / ANNAL_PATH.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventStore, type RecordedEvent, type StoreSubscription, type SubscriptionFilter } from '../../src/annal.js';
import { CatchUpSubscription } from '../../src/store/store-subscription.js';
import { silentLogger } from '../../src/util/logger.js';
import { SimDisk } from '../harness/sim-disk.js';
import { DATA_DIR, storeOptions } from '../harness/workload.js';
import { propertyParams, withSeed, seededRandom } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';

const STREAMS = ['cat0-0', 'cat0-1', 'cat1-2', 'x3', 'cat1-4'];
const TYPES = ['A', 'B', 'C'];
const IN_FLIGHT_MAX = 8;

type Target =
  | { readonly kind: 'all'; readonly filter?: SubscriptionFilter; readonly accepts: (e: RecordedEvent) => boolean }
  | { readonly kind: 'stream'; readonly streamId: string };

/** What each target delivers, as the test reads it (not the store's filter code). */
const TARGETS: Target[] = [
  { kind: 'all', accepts: () => true },
  ...STREAMS.map((streamId): Target => ({ kind: 'stream', streamId })),
  { kind: 'all', filter: { category: 'cat0' }, accepts: (e) => e.streamId.startsWith('cat0-') },
  { kind: 'all', filter: { eventType: 'B' }, accepts: (e) => e.type === 'B' },
  { kind: 'all', filter: { streamPrefix: ['cat1', 'x'] }, accepts: (e) => e.streamId.startsWith('cat1') || e.streamId.startsWith('x') },
  { kind: 'all', filter: { eventTypeRegex: '^(A|C)$' }, accepts: (e) => e.type === 'A' || e.type === 'C' },
  { kind: 'all', filter: { streamRegex: '-[02]$' }, accepts: (e) => /-[02]$/.test(e.streamId) },
];

interface SubscriberSpec {
  readonly target: number;
  /** 'start', 'end', or after a fraction of the current head (exclusive). */
  readonly from: 'start' | 'end' | number;
  readonly slow: boolean;
  readonly liveBufferEvents: number;
  readonly checkpointIntervalEvents: number | null;
}

type Step =
  | { readonly kind: 'append'; readonly stream: number; readonly types: readonly string[] }
  | { readonly kind: 'subscribe'; readonly spec: SubscriberSpec }
  | { readonly kind: 'stop' | 'crash'; readonly index: number }
  | { readonly kind: 'pause' };

const specArb: fc.Arbitrary<SubscriberSpec> = fc.record({
  target: fc.nat(TARGETS.length - 1),
  from: fc.oneof(fc.constant('start' as const), fc.constant('end' as const), fc.double({ min: 0, max: 1.2, noNaN: true })),
  slow: fc.boolean(),
  liveBufferEvents: fc.integer({ min: 1, max: 4 }),
  checkpointIntervalEvents: fc.option(fc.integer({ min: 1, max: 20 }), { nil: null }),
});

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('append' as const), stream: fc.nat(STREAMS.length - 1), types: fc.array(fc.constantFrom(...TYPES), { minLength: 1, maxLength: 6 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), spec: specArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('stop' as const, 'crash' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pause' as const }) },
);

const keyOf = (target: Target, e: RecordedEvent): bigint => (target.kind === 'all' ? e.position : e.revision);

/** One subscription of a subscriber, from `after` (exclusive) to its unsubscribe or the run's end. */
interface Session {
  readonly after: bigint;
  readonly subscription: StoreSubscription;
  readonly received: RecordedEvent[];
  /** Each checkpoint with how many events the session had received when it came. */
  readonly checkpoints: { position: bigint; received: number }[];
  error: unknown;
  loop: Promise<void>;
}

/** A subscriber: its sessions, each resuming where the previous one stopped. */
interface Subscriber {
  readonly spec: SubscriberSpec;
  readonly sessions: Session[];
  stopped: boolean;
}

const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function startSession(store: EventStore, subscriber: Subscriber, resumeAfter: bigint | null): Promise<void> {
  const { spec } = subscriber;
  const target = TARGETS[spec.target];
  const received: RecordedEvent[] = [];
  const checkpoints: { position: bigint; received: number }[] = [];
  let after: bigint;
  let subscription: StoreSubscription;
  // The start key is read in the same synchronous step as the subscribe call (both snapshot the
  // store when called), so 'end' is checked against exactly the head the store saw.
  let from: 'start' | 'end' | bigint;
  if (resumeAfter !== null) {
    // Nothing seen yet: the start again (a position is exclusive and -1n is not one).
    from = resumeAfter < 0n ? 'start' : resumeAfter;
  } else if (typeof spec.from === 'number') {
    const head = target.kind === 'all' ? await store.headPosition() : (await store.streamInfo(target.streamId)).lastRevision;
    from = BigInt(Math.max(0, Math.floor(Number(head) * spec.from)));
  } else {
    from = spec.from;
  }
  const live = spec.slow ? { liveBufferEvents: spec.liveBufferEvents } : {};
  if (target.kind === 'all') {
    const head = store.headPosition();
    const checkpointing = spec.checkpointIntervalEvents === null ? {} : {
      checkpointIntervalEvents: spec.checkpointIntervalEvents,
      onCheckpoint: (position: bigint) => void checkpoints.push({ position, received: received.length }),
    };
    subscription = store.subscribeToAll({ fromPosition: from, ...(target.filter ? { filter: target.filter } : {}), ...checkpointing, ...live });
    after = from === 'start' ? -1n : from === 'end' ? await head : from;
  } else {
    const info = store.streamInfo(target.streamId);
    subscription = store.subscribeToStream(target.streamId, { fromRevision: from, ...live });
    after = from === 'start' ? -1n : from === 'end' ? (await info).lastRevision : from;
  }
  const session: Session = { after, subscription, received, checkpoints, error: undefined, loop: Promise.resolve() };
  session.loop = (async () => {
    try {
      for (;;) {
        const result = await subscription.next();
        if (result.done) return;
        received.push(result.value);
        if (spec.slow) for (let i = 0; i < 3; i++) await pause();
      }
    } catch (error) {
      session.error = error;
    }
  })();
  subscriber.sessions.push(session);
}

/** Where a crashed session resumes: after its last event, or its last checkpoint when that is further. */
function resumePoint(subscriber: Subscriber, session: Session): bigint {
  const target = TARGETS[subscriber.spec.target];
  let after = session.after;
  const last = session.received.at(-1);
  if (last !== undefined) after = keyOf(target, last);
  const checkpoint = session.checkpoints.at(-1);
  if (checkpoint !== undefined && checkpoint.position > after) after = checkpoint.position;
  return after;
}

/** The events a session from `after` must deliver, given the final log. */
function expectedAfter(target: Target, all: readonly RecordedEvent[], after: bigint): RecordedEvent[] {
  const selected = target.kind === 'all' ? all.filter(target.accepts) : all.filter((e) => e.streamId === target.streamId);
  return selected.filter((e) => keyOf(target, e) > after);
}

const describeEvents = (events: readonly RecordedEvent[]): string => events.map((e) => `${e.position}:${e.streamId}@${e.revision}`).join(' ');

/** Every check of P7 on one subscriber; returns the problems found. */
function checkSubscriber(subscriber: Subscriber, all: readonly RecordedEvent[], name: string): string[] {
  const problems: string[] = [];
  const target = TARGETS[subscriber.spec.target];
  subscriber.sessions.forEach((session, s) => {
    const label = `${name} session ${s} (${JSON.stringify({ ...subscriber.spec, target: target.kind === 'all' ? target.filter ?? '$all' : target.streamId })}, after ${session.after})`;
    if (session.error !== undefined) problems.push(`${label}: ended with ${String(session.error)}`);
    const expected = expectedAfter(target, all, session.after);
    const prefix = expected.slice(0, session.received.length);
    if (describeEvents(session.received) !== describeEvents(prefix)) {
      problems.push(`${label}: received ${describeEvents(session.received)}\n  expected a prefix of ${describeEvents(expected)}`);
    }
    const ids = session.received.map((e) => e.id);
    if (ids.join() !== prefix.map((e) => e.id).join()) problems.push(`${label}: event ids differ from the log's`);
    let previous = session.after;
    for (const { position, received } of session.checkpoints) {
      if (position <= previous) problems.push(`${label}: checkpoint ${position} does not move forwards from ${previous}`);
      previous = position;
      const due = expected.filter((e) => e.position <= position).length;
      if (received !== due) problems.push(`${label}: checkpoint ${position} came after ${received} events, but ${due} match up to it`);
    }
  });
  // The whole chain: each session picks up exactly where the previous one stopped.
  const last = subscriber.sessions.at(-1)!;
  const chained = subscriber.sessions.flatMap((s) => s.received);
  const expected = expectedAfter(target, all, subscriber.sessions[0].after);
  if (!subscriber.stopped && chained.length !== expected.length) {
    const missing = expected.find((e, i) => chained[i]?.position !== e.position);
    problems.push(`${name}: its sessions delivered ${chained.length} events, ${expected.length} were due (last session after ${last.after}); first missing: ${missing === undefined ? 'none' : describeEvents([missing])}`);
  }
  return problems;
}

/**
 * Waits until `condition` holds; false once `progress()` has not changed for STALL_MS (nothing
 * is arriving any more: a subscriber that missed an event waits for it forever).
 */
async function waitUntil(condition: () => boolean, progress: () => number): Promise<boolean> {
  let seen = progress();
  let since = Date.now();
  while (!condition()) {
    if (progress() !== seen) {
      seen = progress();
      since = Date.now();
    } else if (Date.now() - since > STALL_MS) {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

/** No event for this long at the end of a run means none is coming (slow consumers pause microseconds). */
const STALL_MS = 300;
/** Shrinking a failure stops after this long, so the seed is printed before the test's timeout. */
const SHRINK_LIMIT_MS = 30_000;

describe('subscriptions property', () => {
  it('subscriptions property - random appends and subscribers that start, stop, crash and lag see exactly the events after their start, once, in order', async () => {
    let fallbacks = 0;
    let sessions = 0;
    let delivered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 10, maxLength: 100 }), async (steps) => {
        const store = await EventStore.open(tempDir(), { logger: silentLogger, chunkSizeBytes: 16 * 1024 });
        const subscribers: Subscriber[] = [];
        const inFlight: Promise<unknown>[] = [];
        try {
          // Every run has at least one subscriber from the start and one slow one.
          for (const spec of [{ target: 0, from: 'start' as const, slow: false, liveBufferEvents: 1, checkpointIntervalEvents: null }, { target: 7, from: 'start' as const, slow: true, liveBufferEvents: 1, checkpointIntervalEvents: 3 }]) {
            const subscriber: Subscriber = { spec, sessions: [], stopped: false };
            subscribers.push(subscriber);
            await startSession(store, subscriber, null);
          }
          for (const step of steps) {
            if (step.kind === 'append') {
              const events = step.types.map((type, i) => ({ type, data: { i } }));
              inFlight.push(store.appendToStream(STREAMS[step.stream], events));
              if (inFlight.length >= IN_FLIGHT_MAX) await inFlight.shift();
            } else if (step.kind === 'subscribe') {
              const subscriber: Subscriber = { spec: step.spec, sessions: [], stopped: false };
              subscribers.push(subscriber);
              await startSession(store, subscriber, null);
            } else if (step.kind === 'pause') {
              for (let i = 0; i < 5; i++) await pause();
            } else {
              const running = subscribers.filter((s) => !s.stopped);
              if (running.length === 0) continue;
              const subscriber = running[step.index % running.length];
              const session = subscriber.sessions.at(-1)!;
              await session.subscription.unsubscribe();
              await session.loop;
              fallbacks += (session.subscription as CatchUpSubscription).fallbackCount;
              if (step.kind === 'stop') subscriber.stopped = true;
              else await startSession(store, subscriber, resumePoint(subscriber, session));
            }
          }
          await Promise.all(inFlight);
          const all = await store.readAll();
          // Every subscriber still running reaches the end of what its last session is due (one
          // that misses an event never does: the checks below then report the shortfall).
          for (const subscriber of subscribers) {
            if (subscriber.stopped) continue;
            const session = subscriber.sessions.at(-1)!;
            const due = expectedAfter(TARGETS[subscriber.spec.target], all, session.after).length;
            await waitUntil(() => session.received.length >= due || session.error !== undefined, () => session.received.length);
            await pause();
            await session.subscription.unsubscribe();
            await session.loop;
            fallbacks += (session.subscription as CatchUpSubscription).fallbackCount;
          }
          const problems = subscribers.flatMap((subscriber, i) => checkSubscriber(subscriber, all, `subscriber ${i}`));
          sessions += subscribers.reduce((n, s) => n + s.sessions.length, 0);
          delivered += subscribers.reduce((n, s) => n + s.sessions.reduce((m, session) => m + session.received.length, 0), 0);
          expect(problems).toEqual([]);
        } finally {
          await Promise.allSettled(inFlight);
          await store.close();
        }
      }),
      propertyParams(150, { plugins: [fc.interruptAfterTimeLimit(SHRINK_LIMIT_MS, { failOnInterrupt: true })] }),
    );
    console.log(`subscriptions property: ${sessions} sessions, ${delivered} events delivered and checked, ${fallbacks} falls behind a live buffer`);
    // The runs must have taken the slow path, or they did not test it.
    expect(fallbacks).toBeGreaterThan(0);
  }, 60_000);

  it('subscriptions property - no event is delivered before it is durable (simulated disk)', async () => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      const disk = new SimDisk();
      const store = await EventStore.open(DATA_DIR, storeOptions(disk));
      const streams = ['d-0', 'd-1', 'e-2'];
      for (let i = 0; i < 20; i++) await store.appendToStream(streams[i % 3], [{ type: 'T', data: { i } }]);
      // At each delivery: the disk as a power loss right now would leave it (every unsynced
      // write dropped), kept with the deliveries it must hold. One image per disk state.
      const images: { disk: SimDisk; positions: Map<bigint, string>; unsynced: boolean }[] = [];
      let lastCallCount = -1;
      const onDelivery = (event: RecordedEvent): void => {
        if (disk.callCount !== lastCallCount) {
          lastCallCount = disk.callCount;
          const pending = disk.pending();
          images.push({ disk: disk.image([], 0, () => new Uint8Array(0)), positions: new Map(), unsynced: pending.ops.length > 0 });
        }
        images.at(-1)!.positions.set(event.position, event.id);
      };
      const subscriptions = [
        store.subscribeToAll({ fromPosition: 'start' }),
        store.subscribeToAll({ fromPosition: 'end', liveBufferEvents: 2 }),
        store.subscribeToStream('d-1', { fromRevision: 'start' }),
        store.subscribeToAll({ filter: { category: 'e' } }),
      ];
      const loops = subscriptions.map(async (subscription, s) => {
        for (;;) {
          const result = await subscription.next();
          if (result.done) return;
          onDelivery(result.value);
          if (s === 1 && random() < 0.3) await pause();
        }
      });
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 300; i++) {
        const count = 1 + Math.floor(random() * 4);
        writes.push(store.appendToStream(streams[Math.floor(random() * 3)], Array.from({ length: count }, (_, k) => ({ type: 'T', data: { i, k } }))));
        if (writes.length >= IN_FLIGHT_MAX) await writes.shift();
        if (random() < 0.1) await pause();
      }
      await Promise.all(writes);
      const head = await store.headPosition();
      const deliveries = (): number => images.reduce((n, image) => n + image.positions.size, 0);
      expect(await waitUntil(() => images.some((image) => image.positions.has(head)), deliveries), 'the last event was delivered').toBe(true);
      for (const subscription of subscriptions) await subscription.unsubscribe();
      await Promise.all(loops);
      await store.close();
      let checked = 0;
      for (const image of images) {
        const recovered = await EventStore.open(DATA_DIR, storeOptions(image.disk));
        const ids = new Map((await recovered.readAll()).map((e) => [e.position, e.id]));
        for (const [position, id] of image.positions) {
          expect(ids.get(position), `event ${position} was delivered before it was durable`).toBe(id);
          checked++;
        }
        await recovered.close();
      }
      // Deliveries happened while other writes were still unsynced, so the check had teeth.
      expect(images.filter((image) => image.unsynced).length).toBeGreaterThan(0);
      expect(checked).toBeGreaterThan(300);
    });
  }, 30_000);
});
