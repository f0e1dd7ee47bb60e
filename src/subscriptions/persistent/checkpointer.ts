// When a group writes its checkpoint: after checkpointMaxCount done events, or checkpointMinCount
// and checkpointAfterMs, and at close; one write at a time; after a failed write, not before the
// next tick. format-spec/subscriptions.md §4.

import type { Clock } from '../../util/clock.js';
import type { CheckpointLog } from './checkpoint-log.js';
import type { DoneTracker } from './done-tracker.js';
import type { GroupSettings } from './types.js';

export interface CheckpointerHooks {
  /** A write failed (the group decides whether to stop or log). */
  readonly failed: (error: unknown) => void;
  /** Something is due later: keep the group's timer running. */
  readonly wakeLater: () => void;
  readonly stopped: () => boolean;
}

export class Checkpointer {
  /** The last checkpoint written (or read at start); null when there is none. */
  last: bigint | null;
  private lastAtMs: number;
  /** Events done (acked, skipped, parked) since the last checkpoint; skipped-by-reader events do not count. */
  private doneSince = 0;
  private writing: Promise<void> | null = null;
  private backoff = false;

  constructor(
    private readonly log: CheckpointLog, private readonly tracker: DoneTracker, private readonly settings: Readonly<GroupSettings>,
    private readonly clock: Clock, private readonly hooks: CheckpointerHooks, last: bigint | null,
  ) {
    this.last = last;
    this.lastAtMs = clock.nowMs();
  }

  /** One more event is done. */
  counted(): void {
    this.doneSince++;
    this.maybeWrite();
  }

  /** A checkpoint would move and some of the move was done by consumers. */
  get pending(): boolean {
    return this.doneSince > 0 && this.tracker.checkpoint() !== this.last;
  }

  /** The group's periodic tick: a backoff ends, a time-based checkpoint may be due. */
  tick(): void {
    this.backoff = false;
    this.maybeWrite();
  }

  /**
   * Writes the checkpoint if it is due. Events the reader skipped move the checkpoint but count
   * for nothing: a $all group's own checkpoint events would otherwise trigger checkpoints forever.
   */
  maybeWrite(): void {
    if (this.writing !== null || this.backoff) return;
    const key = this.tracker.checkpoint();
    if (key < 0n || key === this.last) return;
    const done = this.doneSince;
    const s = this.settings;
    const due = done >= s.checkpointMaxCount || (done >= s.checkpointMinCount && this.clock.nowMs() - this.lastAtMs >= s.checkpointAfterMs);
    if (!due) {
      if (done > 0) this.hooks.wakeLater();
      return;
    }
    this.writing = this.log.write(key).then(
      () => {
        this.last = key;
        this.lastAtMs = this.clock.nowMs();
        this.doneSince -= done;
        return true;
      },
      (error: unknown) => {
        this.hooks.failed(error);
        // No retry before the next tick: a write that fails at once would otherwise be retried
        // in a loop of promise callbacks that never lets the event loop run.
        this.backoff = true;
        this.hooks.wakeLater();
        return false;
      },
    ).then((written) => {
      this.writing = null;
      if (written && !this.hooks.stopped()) this.maybeWrite();
    });
  }

  /** Waits for a write under way, then writes the checkpoint if it moved (at stop). */
  async final(): Promise<void> {
    await this.writing;
    const key = this.tracker.checkpoint();
    if (key < 0n || key === this.last) return;
    try {
      await this.log.write(key);
      this.last = key;
    } catch (error) {
      this.hooks.failed(error);
    }
  }

  /** Waits for a write under way (at delete, before the stream goes). */
  async settled(): Promise<void> {
    await this.writing;
  }
}
