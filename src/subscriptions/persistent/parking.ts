// A group's parks under way: an event is parked by appending its copy to the parked stream and is
// done only once that copy is durable; a park that fails (not for a closed store) comes back for
// another try at the next tick. format-spec/subscriptions.md §3.

import type { Entry } from './consumer.js';
import type { ParkedLog } from './parked-log.js';

export interface ParkingHooks {
  /** The copy is durable: the event is done. */
  readonly parked: (entry: Entry) => void;
  /** An append failed (the group decides whether to stop or log). */
  readonly failed: (error: unknown) => void;
  /** A failed park waits for the next tick: keep the group's timer running. */
  readonly wakeLater: () => void;
  readonly stopped: () => boolean;
}

export class Parking {
  /** Events whose copy is being appended (held, neither waiting nor in flight). */
  count = 0;
  /** Events in the parked stream (visible ones; a replay's truncation sets it). */
  parkedCount: bigint;
  private readonly writes = new Set<Promise<void>>();
  /** Events whose park failed: back to the group's ready queue at the next tick. */
  private retries: Entry[] = [];

  constructor(private readonly log: ParkedLog, private readonly hooks: ParkingHooks, parkedCount: bigint) {
    this.parkedCount = parkedCount;
  }

  /** Appends a parked copy of the event with `reason`; the event is done only once the copy is durable. */
  park(entry: Entry, reason: string): void {
    entry.state = 'parking';
    this.count++;
    const generation = entry.parkedRevision === null ? 'p' : `r${entry.parkedRevision}`;
    const write = this.log.park(entry.event, entry.origin, reason, entry.retryCount, generation).then(
      () => {
        this.count--;
        this.parkedCount++;
        this.hooks.parked(entry);
      },
      (error: unknown) => {
        // The store closed or failed: the event stays not done, so the checkpoint stays before
        // it and a restart delivers it again. Anything else: redeliver the event after the
        // next tick (not at once: a failing append must not spin).
        this.hooks.failed(error);
        if (this.hooks.stopped()) return;
        this.count--;
        entry.state = 'waiting';
        this.retries.push(entry);
        this.hooks.wakeLater();
      },
    ).finally(() => this.writes.delete(write));
    this.writes.add(write);
  }

  /** The events whose park failed since the last call, to be handed out again. */
  takeRetries(): Entry[] {
    const retries = this.retries;
    this.retries = [];
    return retries;
  }

  /** Resolves when every park under way has finished, durable or not. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.writes]);
  }
}
