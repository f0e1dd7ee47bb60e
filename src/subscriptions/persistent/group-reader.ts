// Where a group's events come from: pages of one stream (by revision) or of `$all` (by position),
// read from a cursor. format-spec/subscriptions.md §5 (what a group delivers and what it skips).

import type { EventStore } from '../../store/event-store.js';
import type { RecordedEvent } from '../../store/recorded-event.js';
import { StreamDeletedError } from '../../util/errors.js';
import { READ_PAGE_BYTES } from '../../util/limits.js';
import { ALL_STREAM_ID } from './stream-names.js';

export interface GroupPage {
  /** Events to deliver, in key order. */
  readonly events: readonly RecordedEvent[];
  /** The highest key this read covered (delivered, hidden or skipped); the cursor is now after it. */
  readonly through: bigint;
  /** The read reached the end of the stream or log as of the read. */
  readonly atEnd: boolean;
}

/** A `$all` group skips system streams: `$`-prefixed ids (metadata, config, checkpoints, parked copies, users). */
export function deliveredByAllGroup(event: RecordedEvent): boolean {
  return !event.streamId.startsWith('$');
}

export class GroupReader {
  /** The next revision (stream group) or position ($all group) to read. */
  private cursor: bigint;

  constructor(private readonly store: EventStore, readonly streamId: string, firstKey: bigint) {
    this.cursor = firstKey;
  }

  get isAll(): boolean {
    return this.streamId === ALL_STREAM_ID;
  }

  /** The key of an event in this group: its position in `$all`, else its revision. */
  keyOf(event: RecordedEvent): bigint {
    return this.isAll ? event.position : event.revision;
  }

  /**
   * Reads up to `maxCount` events (and READ_PAGE_BYTES of records) from the cursor and moves it
   * past them. The end of the stream or log is taken in the same synchronous step as the read, so
   * a short page that is not cut by its byte budget means every event up to that end was seen:
   * the cursor may jump past trailing events the read hid or skipped.
   * A hard-deleted stream reads as empty and at its end.
   */
  async read(maxCount: number): Promise<GroupPage> {
    const from = this.cursor;
    let events: RecordedEvent[];
    let end: bigint;
    if (this.isAll) {
      const headRead = this.store.headPosition();
      const pageRead = this.store.readAll({ fromPosition: from, maxCount, maxBytes: READ_PAGE_BYTES });
      [end, events] = await Promise.all([headRead, pageRead]);
    } else {
      const infoRead = this.store.streamInfo(this.streamId);
      const pageRead = this.store.readStream(this.streamId, { fromRevision: from, maxCount, maxBytes: READ_PAGE_BYTES });
      try {
        const [info, page] = await Promise.all([infoRead, pageRead]);
        end = info.lastRevision;
        events = page;
      } catch (error) {
        if (!(error instanceof StreamDeletedError)) throw error;
        return { events: [], through: from - 1n, atEnd: true };
      }
    }
    let through = events.length > 0 ? this.keyOf(events[events.length - 1]) : from - 1n;
    // A short page reached the end, or its byte budget (READ_PAGE_BYTES): only then does an
    // event follow it, which one more read of one event tells.
    const atEnd = events.length < maxCount && !(events.length > 0 && through < end && (await this.readsMoreAfter(through)));
    if (atEnd && end > through) through = end;
    this.cursor = through + 1n;
    return { events: this.isAll ? events.filter(deliveredByAllGroup) : events, through, atEnd };
  }

  private async readsMoreAfter(key: bigint): Promise<boolean> {
    try {
      const next = this.isAll
        ? await this.store.readAll({ fromPosition: key + 1n, maxCount: 1 })
        : await this.store.readStream(this.streamId, { fromRevision: key + 1n, maxCount: 1 });
      return next.length > 0;
    } catch (error) {
      if (error instanceof StreamDeletedError) return false;
      throw error;
    }
  }
}
