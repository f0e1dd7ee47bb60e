// Which waiting event goes to which consumer: the group's queues, each consumer's window, pausing a
// consumer whose sink refused a delivery, and the four strategies (RoundRobin, DispatchToSingle,
// Pinned, Ordered). In memory only; the group does the I/O. format-spec/subscriptions.md §6.

import { assert } from '../../util/assert.js';
import { pinnedIndex, type Consumer, type Entry } from './consumer.js';
import { Queue } from './entry-queue.js';
import type { ConsumerStrategy } from './types.js';

export class Dispatcher {
  /** Consumers that may receive events, in connect order. */
  private consumers: Consumer[] = [];
  /** Consumers with room in their window and not paused (so the hand-out loop stops without a scan). */
  private roomy = 0;
  private rotation = 0;
  /** Sum of the connected consumers' windows. */
  windowsTotal = 0;
  inFlightCount = 0;

  /** Retried, released and replayed events: handed out before `fresh`. */
  private readonly ready = new Queue<Entry>();
  /** Events read from the stream or $all, in key order. */
  private readonly fresh = new Queue<Entry>();
  /** Ordered: each stream's current event (in flight, waiting for a retry, or being parked). */
  private readonly busyStreams = new Map<string, Entry>();
  /** Ordered: events waiting behind their stream's current event, in revision order. */
  private readonly blocked = new Map<string, Entry[]>();
  /** Events whose id is in flight already (acks name ids, so one id is in flight once). */
  private readonly idWaiting = new Map<string, Entry[]>();
  private readonly inFlightIds = new Map<string, Entry>();

  constructor(private readonly strategy: ConsumerStrategy) {}

  get connected(): readonly Consumer[] {
    return this.consumers;
  }

  add(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.roomy++;
    this.windowsTotal += consumer.windowEvents;
    if (this.strategy === 'Pinned') this.unpinAll();
  }

  /**
   * Removes a consumer (already marked closed) and returns its in-flight events, taken out of
   * flight, in send order; events pinned to it go back to the front of `ready`.
   */
  remove(consumer: Consumer): Entry[] {
    assert(!consumer.open, 'dispatcher: close a consumer before removing it');
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return [];
    this.consumers.splice(index, 1);
    if (consumer.windowHasRoom) this.roomy--;
    this.windowsTotal -= consumer.windowEvents;
    const returned = [...consumer.inFlight.values()];
    for (const entry of returned) this.leaveFlight(entry);
    this.ready.unshiftAll(consumer.pinnedWaiting);
    consumer.pinnedWaiting = [];
    if (this.strategy === 'Pinned') this.unpinAll();
    return returned;
  }

  pushFresh(entry: Entry): void {
    this.fresh.push(entry);
  }

  pushReady(entry: Entry): void {
    this.ready.push(entry);
  }

  /** Takes an event out of its consumer's window; events waiting for its id become ready. */
  leaveFlight(entry: Entry): void {
    const consumer = entry.consumer!;
    consumer.inFlight.delete(entry.id);
    if (consumer.open && !consumer.paused && consumer.inFlight.size === consumer.windowEvents - 1) this.roomy++;
    this.inFlightIds.delete(entry.id);
    this.inFlightCount--;
    entry.consumer = null;
    entry.state = 'waiting';
    const waiters = this.idWaiting.get(entry.id);
    if (waiters !== undefined) {
      this.idWaiting.delete(entry.id);
      for (const waiter of waiters) this.ready.push(waiter);
    }
  }

  /** Ordered: the event is done, so its stream's next waiting event becomes current and ready. */
  release(entry: Entry): void {
    if (this.strategy !== 'Ordered') return;
    const stream = entry.event.streamId;
    if (this.busyStreams.get(stream) !== entry) return;
    const queue = this.blocked.get(stream);
    const next = queue?.shift();
    if (next === undefined) {
      this.busyStreams.delete(stream);
      return;
    }
    if (queue!.length === 0) this.blocked.delete(stream);
    this.busyStreams.set(stream, next);
    this.ready.push(next);
  }

  /** The consumer's sink may be sent events again (a no-op unless it is paused). */
  resume(consumer: Consumer): void {
    if (!consumer.paused) return;
    consumer.paused = false;
    if (consumer.open && consumer.windowHasRoom) this.roomy++;
  }

  /**
   * Hands out waiting events while a consumer has room: each goes into a window, then to
   * `deliver` (which may call back into the group, e.g. an ack from inside a sink). When
   * `deliver` returns false the sink did not take the event: see `refused`.
   */
  fill(deliver: (consumer: Consumer, entry: Entry) => boolean, stopped: () => boolean): void {
    if (this.strategy === 'Pinned') {
      for (const consumer of this.consumers) {
        while (consumer.hasRoom && consumer.pinnedWaiting.length > 0 && !stopped()) this.send(consumer, consumer.pinnedWaiting.shift()!, deliver);
      }
    }
    while (this.roomy > 0 && !stopped()) {
      const entry = this.ready.shift() ?? this.fresh.shift();
      if (entry === undefined) return;
      if (this.mustWait(entry)) continue;
      const consumer = this.choose(entry);
      if (consumer !== null) this.send(consumer, entry, deliver);
    }
  }

  private send(consumer: Consumer, entry: Entry, deliver: (consumer: Consumer, entry: Entry) => boolean): void {
    entry.state = 'inFlight';
    entry.consumer = consumer;
    consumer.inFlight.set(entry.id, entry);
    if (consumer.inFlight.size === consumer.windowEvents) this.roomy--;
    this.inFlightIds.set(entry.id, entry);
    this.inFlightCount++;
    // A sink that acked, naked or closed for this very event before refusing it has already
    // taken it out of flight: the refusal then changes nothing but the pause.
    if (!deliver(consumer, entry) && consumer.open) this.refused(consumer, entry.consumer === consumer ? entry : null);
  }

  /**
   * The sink did not take `entry`: the consumer is paused until resume(), and the event was never
   * delivered — out of flight (no timeout runs), its retry count kept, and back at the front of
   * the line it came from, so it goes to another consumer next (Ordered: its stream stays
   * blocked behind it; Pinned: it waits for this consumer, as with a full window).
   */
  private refused(consumer: Consumer, entry: Entry | null): void {
    if (consumer.windowHasRoom) this.roomy--;
    consumer.paused = true;
    if (entry === null) return;
    consumer.inFlight.delete(entry.id);
    this.inFlightIds.delete(entry.id);
    this.inFlightCount--;
    entry.consumer = null;
    entry.state = 'waiting';
    if (this.strategy === 'Pinned' && this.consumers[pinnedIndex(entry.event.streamId, this.consumers.length)] === consumer) {
      consumer.pinnedWaiting.unshift(entry);
    } else {
      this.ready.unshift(entry);
    }
  }

  /** Ordered: another event of the stream is current; any strategy: the same id is in flight. */
  private mustWait(entry: Entry): boolean {
    if (this.strategy === 'Ordered') {
      const stream = entry.event.streamId;
      const busy = this.busyStreams.get(stream);
      if (busy === undefined) {
        this.busyStreams.set(stream, entry);
      } else if (busy !== entry) {
        const queue = this.blocked.get(stream);
        if (queue === undefined) this.blocked.set(stream, [entry]);
        else queue.push(entry);
        return true;
      }
    }
    if (this.inFlightIds.has(entry.id)) {
      const waiters = this.idWaiting.get(entry.id);
      if (waiters === undefined) this.idWaiting.set(entry.id, [entry]);
      else waiters.push(entry);
      return true;
    }
    return false;
  }

  /**
   * The consumer to send to (one has room), or null when Pinned queues the event for its full
   * pinned consumer. Pinned waits rather than falling back (as EventStoreDB): the point of
   * pinning is that one consumer sees all of a stream.
   */
  private choose(entry: Entry): Consumer | null {
    const consumers = this.consumers;
    switch (this.strategy) {
      case 'DispatchToSingle':
        return consumers.find((c) => c.hasRoom)!;
      case 'Pinned': {
        const pinned = consumers[pinnedIndex(entry.event.streamId, consumers.length)];
        if (pinned.hasRoom) return pinned;
        pinned.pinnedWaiting.push(entry);
        return null;
      }
      default: {
        // RoundRobin and Ordered rotate among consumers with room.
        for (let k = 0; k < consumers.length; k++) {
          const i = (this.rotation + k) % consumers.length;
          if (consumers[i].hasRoom) {
            this.rotation = (i + 1) % consumers.length;
            return consumers[i];
          }
        }
        return assertNever('a consumer has room by the count but none by the scan');
      }
    }
  }

  /** The consumer set changed, so streams hash elsewhere: pinned waiting events go back to `ready`. */
  private unpinAll(): void {
    const waiting: Entry[] = [];
    for (const consumer of this.consumers) {
      waiting.push(...consumer.pinnedWaiting);
      consumer.pinnedWaiting = [];
    }
    this.ready.unshiftAll(waiting);
  }
}

function assertNever(message: string): never {
  assert(false, message);
}
