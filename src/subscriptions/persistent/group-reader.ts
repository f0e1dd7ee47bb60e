// Where a group's events come from: pages of one stream (by revision) or of `$all` (by position),
// read from a cursor. format-spec/subscriptions.md §5 (what a group delivers and what it skips).

import type { EventStore } from '../../store/event-store.js';
import type { ReadPage } from '../../store/read-options.js';
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
    let page: ReadPage;
    let end: bigint;
    if (this.isAll) {
      const headRead = this.store.headPosition();
      const pageRead = this.store.readAllPage({ fromPosition: from, maxCount, maxBytes: READ_PAGE_BYTES });
      [end, page] = await Promise.all([headRead, pageRead]);
    } else {
      const infoRead = this.store.streamInfo(this.streamId);
      const pageRead = this.store.readStreamPage(this.streamId, { fromRevision: from, maxCount, maxBytes: READ_PAGE_BYTES });
      try {
        const [info, read] = await Promise.all([infoRead, pageRead]);
        end = info.lastRevision;
        page = read;
      } catch (error) {
        if (!(error instanceof StreamDeletedError)) throw error;
        return { events: [], through: from - 1n, atEnd: true };
      }
    }
    const events = page.events;
    let through = events.length > 0 ? this.keyOf(events[events.length - 1]) : from - 1n;
    // A short page reached the end, unless its byte budget (READ_PAGE_BYTES) cut it.
    const atEnd = events.length < maxCount && !page.cut;
    if (atEnd && end > through) through = end;
    this.cursor = through + 1n;
    return { events: this.isAll ? events.filter(deliveredByAllGroup) : events, through, atEnd };
  }
}
