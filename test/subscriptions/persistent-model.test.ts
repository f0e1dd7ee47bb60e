// Property: random interleavings of appends, consumers connecting, leaving and crashing, acks,
// naks (retry, park, skip, stop), sinks refusing deliveries and resuming, timeouts on a manual
// clock and restarts (clean, and with the store gone before the groups could write their final
// checkpoint), against a group on `$all` and one on a stream. Checked after every step: a written
// checkpoint never passes an event that is not done (acked, skipped or parked); with Ordered, no
// two events of a stream are in flight at once and each stream's deliveries are in revision
// order; a consumer that refused is offered nothing until it resumes, and a refused event comes
// again with the retry count it had. At the end, a consumer that acks
// everything drains both groups: every event appended was delivered and is acked, skipped or
// parked. Replay a failure with ANNAL_SEED (and ANNAL_PATH).

import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { ConsumerStrategy, GroupSettings, PersistentEvent } from '../../src/annal.js';
import { propertyParams } from '../support/random.js';
import { Fixture, RecordingSink, settle, until } from './persistent-fixture.js';

const STREAMS = ['s-0', 's-1', 's-2'];
const TIMEOUT_MS = 1000;
/** The two groups: [stream, group]. */
const GROUPS: readonly [string, string][] = [['$all', 'all'], ['s-0', 'one']];

type Op =
  | { kind: 'append'; stream: number; count: number }
  | { kind: 'connect'; group: number; window: number }
  | { kind: 'close'; consumer: number }
  | { kind: 'ack'; consumer: number; count: number }
  | { kind: 'nak'; consumer: number; action: 'retry' | 'park' | 'skip' | 'stop' }
  | { kind: 'refuse'; consumer: number }
  | { kind: 'resume'; consumer: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'restart'; crash: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), stream: fc.nat(STREAMS.length - 1), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('connect' as const), group: fc.nat(GROUPS.length - 1), window: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), consumer: fc.nat(7) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('ack' as const), consumer: fc.nat(7), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('nak' as const), consumer: fc.nat(7), action: fc.constantFrom('retry' as const, 'park' as const, 'skip' as const, 'stop' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('refuse' as const), consumer: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('resume' as const), consumer: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(400, TIMEOUT_MS, 2 * TIMEOUT_MS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), crash: fc.boolean() }) },
);

const settingsArb: fc.Arbitrary<Partial<GroupSettings>> = fc.record({
  consumerStrategy: fc.constantFrom<ConsumerStrategy>('RoundRobin', 'DispatchToSingle', 'Pinned', 'Ordered'),
  maxRetryCount: fc.integer({ min: 0, max: 3 }),
  historyBufferEvents: fc.integer({ min: 2, max: 8 }),
  liveBufferEvents: fc.integer({ min: 1, max: 8 }),
  readBatchEvents: fc.integer({ min: 1, max: 2 }),
  checkpointMinCount: fc.integer({ min: 1, max: 3 }),
  checkpointAfterMs: fc.constantFrom(0, 500, 5000),
}).map((s) => ({ ...s, checkpointMaxCount: s.checkpointMinCount + 2, messageTimeoutMs: TIMEOUT_MS }));

interface AppendedEvent {
  readonly id: string;
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: bigint;
}

interface ModelConsumer {
  readonly group: number;
  readonly sink: RecordingSink;
  /** When each in-flight delivery was handed out (clock ms). */
  readonly sentAtMs: Map<string, number>;
  open: boolean;
  /** Its sink refused a delivery since it last resumed. */
  paused: boolean;
}

/** The test's view of the world, kept in step with what the groups are told. */
class Model {
  readonly appended: AppendedEvent[] = [];
  readonly consumers: ModelConsumer[] = [];
  /** Per group: ids acked or skipped while the group held them. */
  readonly done: Set<string>[] = GROUPS.map(() => new Set());
  /** Per group: ids ever delivered. */
  readonly delivered: Set<string>[] = GROUPS.map(() => new Set());
  /** Per group and stream: the last revision delivered in this session (Ordered). */
  lastRevision: Map<string, bigint>[] = GROUPS.map(() => new Map());
  /** Per group: refused ids not delivered since, with the retry count they were offered with (this session). */
  refusedRetryCount: Map<string, number>[] = GROUPS.map(() => new Map());
  readonly violations: string[] = [];

  constructor(private readonly fixture: Fixture, private readonly strategies: ConsumerStrategy[]) {}

  eventsOf(group: number): AppendedEvent[] {
    const [streamId] = GROUPS[group];
    return this.appended.filter((e) => streamId === '$all' || e.streamId === streamId);
  }

  keyOf(group: number, event: AppendedEvent): bigint {
    return GROUPS[group][0] === '$all' ? event.position : event.revision;
  }

  open(): ModelConsumer[] {
    return this.consumers.filter((c) => c.open);
  }

  connect(group: number, window: number): void {
    const [streamId, name] = GROUPS[group];
    const consumer: ModelConsumer = { group, sink: new RecordingSink(), sentAtMs: new Map(), open: true, paused: false };
    consumer.sink.onDeliver = (delivery) => this.delivered_(consumer, delivery);
    const handle = this.fixture.groups.connect(streamId, name, {
      deliver: (d) => consumer.sink.deliver(d),
      dropped: (reason) => {
        consumer.sink.dropped(reason);
        this.forget(consumer);
      },
    }, { windowEvents: window });
    consumer.sink.handle = handle;
    this.consumers.push(consumer);
  }

  /** From now on the consumer's sink refuses what it is offered, until `resume`. */
  refuse(consumer: ModelConsumer): void {
    consumer.sink.refuse = (delivery) => {
      const id = delivery.event.id;
      if (consumer.paused) this.violations.push(`${id} offered to a consumer that refused and did not resume`);
      consumer.paused = true;
      this.refusedRetryCount[consumer.group].set(id, delivery.retryCount);
      return true;
    };
  }

  resume(consumer: ModelConsumer): void {
    consumer.paused = false;
    consumer.sink.resume();
  }

  private delivered_(consumer: ModelConsumer, delivery: PersistentEvent): void {
    const { id, streamId, revision } = delivery.event;
    const group = consumer.group;
    if (consumer.paused) this.violations.push(`${streamId}#${revision} delivered to a consumer that refused and did not resume`);
    const refusedWith = this.refusedRetryCount[group].get(id);
    if (refusedWith !== undefined && refusedWith !== delivery.retryCount) {
      this.violations.push(`${streamId}#${revision} refused with retryCount ${refusedWith}, delivered next with ${delivery.retryCount}`);
    }
    this.refusedRetryCount[group].delete(id);
    this.delivered[group].add(id);
    // The group hands an id to one consumer at a time: any other holder's copy is stale.
    for (const other of this.consumers) {
      if (other !== consumer && other.group === group && other.sink.inFlight.delete(id)) other.sentAtMs.delete(id);
    }
    consumer.sentAtMs.set(id, this.fixture.clock.nowMs());
    if (this.strategies[group] !== 'Ordered') return;
    for (const other of this.open()) {
      if (other.group !== group) continue;
      for (const held of other.sink.inFlight.values()) {
        if (held.event.id !== id && held.event.streamId === streamId) {
          this.violations.push(`Ordered: ${streamId}#${revision} delivered while ${streamId}#${held.event.revision} is in flight`);
        }
      }
    }
    const last = this.lastRevision[group].get(streamId);
    if (last !== undefined && revision < last) this.violations.push(`Ordered: ${streamId}#${revision} delivered after #${last}`);
    this.lastRevision[group].set(streamId, revision);
  }

  forget(consumer: ModelConsumer): void {
    consumer.open = false;
    consumer.sink.inFlight.clear();
    consumer.sentAtMs.clear();
  }

  pick(index: number): ModelConsumer | undefined {
    const open = this.open();
    return open.length === 0 ? undefined : open[index % open.length];
  }

  ack(consumer: ModelConsumer, count: number): void {
    const ids = [...consumer.sink.inFlight.keys()].slice(0, count);
    for (const id of ids) {
      this.done[consumer.group].add(id);
      consumer.sentAtMs.delete(id);
    }
    consumer.sink.ack(...ids);
  }

  nak(consumer: ModelConsumer, action: 'retry' | 'park' | 'skip' | 'stop'): void {
    const [id] = consumer.sink.inFlight.keys();
    if (id === undefined) return;
    if (action === 'skip') this.done[consumer.group].add(id);
    consumer.sentAtMs.delete(id);
    consumer.sink.nak(action, id);
  }

  /** The groups' timers ran at the new time: deliveries past their deadline are no longer held. */
  expire(): void {
    const now = this.fixture.clock.nowMs();
    for (const consumer of this.open()) {
      for (const [id, sentAtMs] of consumer.sentAtMs) {
        if (sentAtMs + TIMEOUT_MS <= now) {
          consumer.sentAtMs.delete(id);
          consumer.sink.inFlight.delete(id);
        }
      }
    }
  }

  newSession(): void {
    for (const consumer of this.consumers) this.forget(consumer);
    this.lastRevision = GROUPS.map(() => new Map());
    this.refusedRetryCount = GROUPS.map(() => new Map());
  }

  async parkedIds(group: number): Promise<Set<string>> {
    const [streamId, name] = GROUPS[group];
    return new Set((await this.fixture.parked(streamId, name)).map((p) => p.originalEventId));
  }

  /** The durable checkpoint of each group covers only done events. */
  async checkCheckpoints(): Promise<void> {
    for (let group = 0; group < GROUPS.length; group++) {
      const [streamId, name] = GROUPS[group];
      const checkpoint = await this.fixture.checkpoint(streamId, name);
      if (checkpoint === null) continue;
      const parked = await this.parkedIds(group);
      for (const event of this.eventsOf(group)) {
        if (this.keyOf(group, event) <= checkpoint && !this.done[group].has(event.id) && !parked.has(event.id)) {
          this.violations.push(`${streamId}::${name}: checkpoint ${checkpoint} passes ${event.streamId}#${event.revision} (key ${this.keyOf(group, event)}), which is not done`);
        }
      }
    }
  }
}

async function run(settings: Partial<GroupSettings>[], ops: Op[]): Promise<void> {
  const fixture = await Fixture.open();
  const model = new Model(fixture, settings.map((s) => s.consumerStrategy!));
  try {
    for (let g = 0; g < GROUPS.length; g++) await fixture.create(GROUPS[g][0], GROUPS[g][1], settings[g]);
    for (const op of ops) {
      await apply(fixture, model, op);
      await settle(10);
      await model.checkCheckpoints();
      expect(model.violations).toEqual([]);
    }
    await drain(fixture, model);
    expect(model.violations).toEqual([]);
  } finally {
    await fixture.close().catch(() => undefined);
  }
}

async function apply(fixture: Fixture, model: Model, op: Op): Promise<void> {
  switch (op.kind) {
    case 'append': {
      const streamId = STREAMS[op.stream];
      const ids = Array.from({ length: op.count }, () => randomUUID());
      const result = await fixture.store.appendToStream(streamId, ids.map((id) => ({ id, type: 'E', data: {} })));
      ids.forEach((id, i) => {
        const back = BigInt(op.count - 1 - i);
        model.appended.push({ id, streamId, revision: result.nextExpectedRevision - back, position: result.position - back });
      });
      return;
    }
    case 'connect':
      model.connect(op.group, op.window);
      return;
    case 'close': {
      const consumer = model.pick(op.consumer);
      if (consumer === undefined) return;
      model.forget(consumer);
      consumer.sink.handle.close();
      return;
    }
    case 'ack': {
      const consumer = model.pick(op.consumer);
      if (consumer !== undefined) model.ack(consumer, op.count);
      return;
    }
    case 'nak': {
      const consumer = model.pick(op.consumer);
      if (consumer !== undefined) model.nak(consumer, op.action);
      return;
    }
    case 'refuse': {
      const consumer = model.pick(op.consumer);
      if (consumer !== undefined) model.refuse(consumer);
      return;
    }
    case 'resume': {
      const consumer = model.pick(op.consumer);
      if (consumer !== undefined) model.resume(consumer);
      return;
    }
    case 'advance':
      fixture.advance(op.ms, ...GROUPS);
      model.expire();
      return;
    case 'restart':
      // A crash: the store goes first, so the groups cannot write their final checkpoints.
      if (op.crash) await fixture.store.close();
      await fixture.restart();
      model.newSession();
      return;
  }
}

/** Every consumer leaves; one per group acks everything it gets until all events are done. */
async function drain(fixture: Fixture, model: Model): Promise<void> {
  for (const consumer of model.open()) {
    model.forget(consumer);
    consumer.sink.handle.close();
  }
  for (let group = 0; group < GROUPS.length; group++) {
    model.connect(group, 100);
    const drainer = model.consumers.at(-1)!;
    const onDeliver = drainer.sink.onDeliver!;
    drainer.sink.onDeliver = (delivery, sink) => {
      onDeliver(delivery, sink);
      model.ack(drainer, 100);
    };
  }
  for (let group = 0; group < GROUPS.length; group++) {
    const events = model.eventsOf(group);
    let missing: AppendedEvent[] = [];
    await until(async () => {
      const parked = await model.parkedIds(group);
      missing = events.filter((e) => !model.done[group].has(e.id) && !parked.has(e.id));
      return missing.length === 0;
    }, `every event of group ${group} done`).catch(() => {
      throw new Error(`group ${GROUPS[group].join('::')}: not done: ${missing.map((e) => `${e.streamId}#${e.revision}`).join(', ')}`);
    });
    const undelivered = events.filter((e) => !model.delivered[group].has(e.id));
    expect(undelivered).toEqual([]);
  }
  await model.checkCheckpoints();
}

describe('persistent model', () => {
  test('persistent model - random appends, consumers, acks, naks, refusals, timeouts and restarts lose nothing; checkpoints, Ordered and refusals hold', async () => {
    await fc.assert(
      fc.asyncProperty(fc.tuple(settingsArb, settingsArb), fc.array(opArb, { minLength: 15, maxLength: 60, size: 'max' }), async (settings, ops) => {
        await run(settings, ops);
      }),
      propertyParams(50),
    );
  });
});
