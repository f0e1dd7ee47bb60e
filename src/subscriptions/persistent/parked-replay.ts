// A replay of parked events: the selected part of the parked stream is read back page by page
// (as room allows), delivered again, and truncated with `$tb` only once every replayed event is
// done, so a crash during a replay loses none. format-spec/subscriptions.md §3.

import type { RecordedEvent } from '../../store/recorded-event.js';
import type { EventOrigin, ParkedLog } from './parked-log.js';

interface Selection {
  /** Next parked revision to read. */
  next: bigint;
  /** Last parked revision to replay. */
  end: bigint;
  /** Replayed events read and not done yet. */
  outstanding: number;
  truncating: boolean;
}

export interface ReplayHooks {
  /** The parked stream was truncated; its visible count is now `parkedCount`. */
  readonly truncated: (parkedCount: bigint) => void;
  readonly failed: (what: string, error: unknown) => void;
  /** The replay may read again (a truncation finished). */
  readonly wake: () => void;
  readonly stopped: () => boolean;
}

export class ParkedReplay {
  private selection: Selection | null = null;

  constructor(private readonly parked: ParkedLog, private readonly hooks: ReplayHooks) {}

  /**
   * Selects the first `stopAt` (default all) parked events not selected yet; a replay under way
   * is extended. Returns how many were selected.
   */
  async select(stopAt: number | undefined): Promise<number> {
    const first = await this.parked.firstRevision();
    if (first === null) return 0;
    const last = await this.parked.lastRevision();
    const from = this.selection !== null && this.selection.next > first ? this.selection.next : first;
    let end = last;
    if (stopAt !== undefined && from + BigInt(stopAt) - 1n < end) end = from + BigInt(stopAt) - 1n;
    if (end < from) return 0;
    if (this.selection === null) this.selection = { next: from, end, outstanding: 0, truncating: false };
    else if (end > this.selection.end) this.selection.end = end;
    return Number(end - from + 1n);
  }

  /** Selected events are left to read. */
  get hasMore(): boolean {
    const s = this.selection;
    return s !== null && !s.truncating && s.next <= s.end;
  }

  /**
   * Reads up to `room` selected parked copies and hands each to `hold` as the event to deliver
   * (the original when its stream still shows it, else the copy) with its origin. Read errors
   * are thrown.
   */
  async read(room: number, hold: (event: RecordedEvent, origin: EventOrigin, parkedRevision: bigint) => void): Promise<void> {
    const s = this.selection;
    if (s === null) return;
    const left = s.end - s.next + 1n;
    const want = BigInt(room) < left ? room : Number(left);
    const { copies: page, more } = await this.parked.readPage(s.next, want);
    for (const copy of page) {
      if (this.hooks.stopped() || copy.revision > s.end) break;
      const { event, origin } = await this.parked.resolve(copy);
      if (this.hooks.stopped()) return;
      hold(event, origin, copy.revision);
      s.outstanding++;
      s.next = copy.revision + 1n;
    }
    // Fewer than asked, and not for the byte budget: nothing more is visible up to the end of the selection.
    if (page.length < want && !more) s.next = s.end + 1n;
    this.maybeTruncate();
  }

  /** A replayed event is done (acked, skipped or parked again). */
  done(): void {
    if (this.selection === null) return;
    this.selection.outstanding--;
    this.maybeTruncate();
  }

  private maybeTruncate(): void {
    const s = this.selection;
    if (s === null || s.truncating || s.next <= s.end || s.outstanding > 0 || this.hooks.stopped()) return;
    s.truncating = true;
    const end = s.end;
    void (async () => {
      try {
        await this.parked.truncateBefore(end + 1n);
        this.hooks.truncated(await this.parked.count());
      } catch (error) {
        // The parked events stay; a later replay selects them again.
        this.hooks.failed('parked stream truncation', error);
      }
      s.truncating = false;
      // A replay asked for while this one truncated goes on; otherwise this one is over.
      if (s.end === end && this.selection === s) this.selection = null;
      this.hooks.wake();
    })();
  }
}
