// Helpers for the persistent subscription tests: a store in a temp dir, a clock the test moves, a
// consumer sink that records what it gets, and waits for conditions (never for wall time).

import { vi } from 'vitest';
import {
  EventStore, PersistentSubscriptions, type Clock, type ConsumerDropReason, type ConsumerHandle, type ConsumerSink, type EventData,
  type GroupSettings, type PersistentEvent,
} from '../../src/annal.js';
import type { Group } from '../../src/subscriptions/persistent/group.js';
import { groupKey } from '../../src/subscriptions/persistent/stream-names.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../support/temp-dir.js';

export class ManualClock implements Clock {
  constructor(public ms = 1_000_000) {}
  nowMs(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export async function openStore(dir: string): Promise<EventStore> {
  return EventStore.open(dir, { logger: silentLogger });
}

export async function openGroups(store: EventStore, clock: Clock = new ManualClock()): Promise<PersistentSubscriptions> {
  return PersistentSubscriptions.open(store, { clock, logger: silentLogger });
}

/** A store and its groups in a fresh directory, with a manual clock; `restart` closes and reopens both. */
export class Fixture {
  readonly clock = new ManualClock();
  private constructor(readonly dir: string, public store: EventStore, public groups: PersistentSubscriptions) {}

  static async open(): Promise<Fixture> {
    const dir = tempDir('annal-persistent-');
    const store = await openStore(dir);
    const fixture = new Fixture(dir, store, null as unknown as PersistentSubscriptions);
    fixture.groups = await openGroups(store, fixture.clock);
    return fixture;
  }

  async restart(): Promise<void> {
    await this.groups.close();
    await this.store.close();
    this.store = await openStore(this.dir);
    this.groups = await openGroups(this.store, this.clock);
  }

  async close(): Promise<void> {
    await this.groups.close();
    await this.store.close();
  }

  async create(streamId: string, group: string, settings: Partial<GroupSettings> = {}): Promise<void> {
    await this.groups.create(streamId, group, { startFrom: 'start', ...settings });
  }

  connect(streamId: string, group: string, windowEvents = 10, name?: string): RecordingSink {
    return connect(this.groups, streamId, group, windowEvents, name);
  }

  /** The group's run-time object (tests look at what it holds and drive its timer by hand). */
  group(streamId: string, group: string): Group {
    return groupOf(this.groups, streamId, group);
  }

  /** Moves the clock and runs the group's timeout and checkpoint scan now. */
  advance(ms: number, ...groups: [string, string][]): void {
    this.clock.advance(ms);
    for (const [s, g] of groups) this.group(s, g).tick();
  }

  async checkpoint(streamId: string, group: string): Promise<bigint | null> {
    const last = await this.store.readEvent(`$persistentsubscription-${streamId}::${group}-checkpoint`, 'end');
    return last === null ? null : BigInt(last.data as string);
  }

  async parked(streamId: string, group: string): Promise<{ id: string; originalEventId: string; reason: string; data: unknown }[]> {
    const events = await this.store.readStream(`$persistentsubscription-${streamId}::${group}-parked`);
    return events.map((e) => {
      const meta = e.metadata as { originalEventId: string; reason: string };
      return { id: e.id, originalEventId: meta.originalEventId, reason: meta.reason, data: e.data };
    });
  }
}

export function groupOf(groups: PersistentSubscriptions, streamId: string, group: string): Group {
  const found = (groups as unknown as { groups: Map<string, Group> }).groups.get(groupKey(streamId, group));
  if (found === undefined) throw new Error(`no group ${streamId}::${group}`);
  return found;
}

/** A sink that records deliveries and drops, and refuses deliveries when told to; `handle` is set once connected. */
export class RecordingSink implements ConsumerSink {
  readonly deliveries: PersistentEvent[] = [];
  /** Deliveries refused (deliver returned false), in order. */
  readonly refused: PersistentEvent[] = [];
  /** When set, decides whether to refuse a delivery (true: not taken, the group pauses this consumer). */
  refuse: ((delivery: PersistentEvent) => boolean) | null = null;
  /** Delivered and not yet acked or naked by this test, by event id. */
  readonly inFlight = new Map<string, PersistentEvent>();
  droppedReason: ConsumerDropReason | null = null;
  handle!: ConsumerHandle;
  /** Called on each delivery, after it is recorded. */
  onDeliver: ((delivery: PersistentEvent, sink: RecordingSink) => void) | null = null;

  deliver(delivery: PersistentEvent): boolean {
    if (this.refuse?.(delivery) === true) {
      this.refused.push(delivery);
      return false;
    }
    this.deliveries.push(delivery);
    this.inFlight.set(delivery.event.id, delivery);
    this.onDeliver?.(delivery, this);
    return true;
  }

  /** Takes deliveries again and tells the group so. */
  resume(): void {
    this.refuse = null;
    this.handle.resume();
  }

  dropped(reason: ConsumerDropReason): void {
    this.droppedReason = reason;
  }

  ack(...ids: string[]): void {
    for (const id of ids) this.inFlight.delete(id);
    this.handle.ack(ids);
  }

  ackAll(): void {
    this.ack(...this.inFlight.keys());
  }

  nak(action: 'park' | 'retry' | 'skip' | 'stop', ...ids: string[]): void {
    for (const id of ids) this.inFlight.delete(id);
    this.handle.nak(ids, action, `test ${action}`);
  }

  /** The `n` of each delivery's data, in delivery order. */
  values(): number[] {
    return this.deliveries.map((d) => (d.event.data as { n: number }).n);
  }

  /** The in-flight deliveries' `n`, in delivery order. */
  inFlightValues(): number[] {
    return [...this.inFlight.values()].map((d) => (d.event.data as { n: number }).n);
  }

  idOf(n: number): string {
    const found = this.deliveries.find((d) => (d.event.data as { n: number }).n === n);
    if (found === undefined) throw new Error(`event ${n} was not delivered`);
    return found.event.id;
  }
}

export function connect(groups: PersistentSubscriptions, streamId: string, group: string, windowEvents = 10, name?: string): RecordingSink {
  const sink = new RecordingSink();
  sink.handle = groups.connect(streamId, group, sink, { windowEvents, ...(name !== undefined ? { name } : {}) });
  return sink;
}

/** Waits (event-loop turns, up to a generous cap) until `condition` holds. */
export async function until(condition: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> {
  await vi.waitFor(async () => {
    if (!(await condition())) throw new Error(`still waiting for ${what}`);
  }, { timeout: 20_000, interval: 2 });
}

/** Lets pending I/O callbacks and immediates run: what "nothing more happens" waits on. */
export async function settle(turns = 30): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** `count` events with data { n } for n = from, from + 1, … */
export function numbered(from: number, count: number): EventData[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'Numbered', data: { n: from + i } }));
}
