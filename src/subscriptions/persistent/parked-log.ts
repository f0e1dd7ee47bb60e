// The parked stream of a group, `$persistentsubscription-<stream>::<group>-parked`: durable copies
// of events that ran out of retries or were naked with 'park', read back by a replay and then
// truncated with `$tb`. format-spec/subscriptions.md §3.

import type { EventStore } from '../../store/event-store.js';
import type { EventData } from '../../store/event-input.js';
import type { RecordedEvent } from '../../store/recorded-event.js';
import { EventTooLargeError, StreamDeletedError } from '../../util/errors.js';
import { PERSISTENT_NAK_REASON_BYTES_MAX, READ_PAGE_BYTES } from '../../util/limits.js';
import { parkedEventId, parkedStreamOf } from './stream-names.js';

/** Where a delivered event came from (for a replayed copy: the event it is a copy of). */
export interface EventOrigin {
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly eventId: string;
}

/** The metadata of a parked copy (JSON; revisions and positions as decimal strings). */
export interface ParkedMetadata {
  originalStreamId: string;
  originalRevision: string;
  originalPosition: string;
  originalEventId: string;
  group: string;
  reason: string;
  retryCount: number;
  /** Present (true) when the data was left out because the copy would have been too large. */
  dataOmitted?: true;
}

export function originOf(event: RecordedEvent): EventOrigin {
  return { streamId: event.streamId, revision: event.revision, position: event.position, eventId: event.id };
}

/** Cuts a string to at most `maxBytes` of UTF-8 without splitting a character. */
export function cutUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = Buffer.from(text, 'utf8').subarray(0, maxBytes).toString('utf8');
  // A cut inside a multi-byte character decodes to U+FFFD: drop it.
  while (out.endsWith('\uFFFD')) out = out.slice(0, -1);
  return out;
}

export class ParkedLog {
  readonly parkedStream: string;

  constructor(private readonly store: EventStore, private readonly streamId: string, private readonly group: string) {
    this.parkedStream = parkedStreamOf(streamId, group);
  }

  /**
   * Appends a copy of `event` and resolves once it is durable. `generation` tells parks of the same
   * event apart (see parkedEventId). When the copy is over the store's maxEventBytes, its data is
   * left out (marked dataOmitted): a replay reads the original event anyway.
   */
  async park(event: RecordedEvent, origin: EventOrigin, reason: string, retryCount: number, generation: string): Promise<void> {
    const metadata: ParkedMetadata = {
      originalStreamId: origin.streamId, originalRevision: origin.revision.toString(), originalPosition: origin.position.toString(),
      originalEventId: origin.eventId, group: this.group, reason: cutUtf8(reason, PERSISTENT_NAK_REASON_BYTES_MAX), retryCount,
    };
    const revision = await this.append(event, metadata, parkedEventId(this.streamId, this.group, origin.eventId, generation));
    // The store took the append for a retry of a copy a replay has since truncated (the event was
    // delivered again after a restart that the checkpoint had not passed): that copy is hidden, so
    // park a visible one, under an id of its own for this truncation point (still idempotent).
    const truncatedBefore = await this.truncatedBefore();
    if (revision < truncatedBefore) {
      await this.append(event, metadata, parkedEventId(this.streamId, this.group, origin.eventId, `${generation}@${truncatedBefore}`));
    }
  }

  /** Appends one copy with `id`; returns its revision in the parked stream. */
  private async append(event: RecordedEvent, metadata: ParkedMetadata, id: string): Promise<bigint> {
    const copy: EventData = { id, type: event.type, data: event.dataBytes(), contentType: event.contentType, metadata };
    try {
      return (await this.store.appendToStream(this.parkedStream, [copy])).nextExpectedRevision;
    } catch (error) {
      if (!(error instanceof EventTooLargeError)) throw error;
      return (await this.store.appendToStream(this.parkedStream, [{ id, type: event.type, data: {}, metadata: { ...metadata, dataOmitted: true } }])).nextExpectedRevision;
    }
  }

  /** The parked stream's `$tb` (0n when it has none): copies below it are hidden. */
  private async truncatedBefore(): Promise<bigint> {
    const { metadata } = await this.store.getStreamMetadata(this.parkedStream);
    const tb = metadata?.$tb;
    return typeof tb === 'number' && Number.isSafeInteger(tb) && tb > 0 ? BigInt(tb) : 0n;
  }

  /** The first revision still parked (not truncated), or null when none is (or the stream was hard-deleted). */
  async firstRevision(): Promise<bigint | null> {
    try {
      const [first] = await this.store.readStream(this.parkedStream, { maxCount: 1 });
      return first === undefined ? null : first.revision;
    } catch (error) {
      if (error instanceof StreamDeletedError) return null;
      throw error;
    }
  }

  /** Events parked and not truncated (the visible part of the parked stream). */
  async count(): Promise<bigint> {
    const first = await this.firstRevision();
    if (first === null) return 0n;
    const info = await this.store.streamInfo(this.parkedStream);
    return info.lastRevision - first + 1n;
  }

  async lastRevision(): Promise<bigint> {
    return (await this.store.streamInfo(this.parkedStream)).lastRevision;
  }

  /**
   * Parked copies from `fromRevision` on, at most `maxCount` and READ_PAGE_BYTES of records;
   * `more`: the page is short of `maxCount` only because of its byte budget.
   */
  async readPage(fromRevision: bigint, maxCount: number): Promise<{ copies: RecordedEvent[]; more: boolean }> {
    const { events, cut } = await this.store.readStreamPage(this.parkedStream, { fromRevision, maxCount, maxBytes: READ_PAGE_BYTES });
    return { copies: events, more: cut };
  }

  /**
   * What to deliver for a parked copy: the original event when its stream still shows it (same
   * id), else the copy itself; and the origin recorded in the copy.
   */
  async resolve(copy: RecordedEvent): Promise<{ event: RecordedEvent; origin: EventOrigin }> {
    const meta = parseParkedMetadata(copy.metadata);
    if (meta === null) return { event: copy, origin: originOf(copy) };
    const origin: EventOrigin = {
      streamId: meta.originalStreamId, revision: BigInt(meta.originalRevision), position: BigInt(meta.originalPosition), eventId: meta.originalEventId,
    };
    let original: RecordedEvent | null = null;
    try {
      original = await this.store.readEvent(origin.streamId, origin.revision);
    } catch {
      // Hard-deleted or unreadable: the copy is all that is left.
    }
    return { event: original !== null && original.id === origin.eventId ? original : copy, origin };
  }

  /** Hides every parked copy below `revision` (`$tb`), keeping the stream's other metadata. */
  async truncateBefore(revision: bigint): Promise<void> {
    const { metadata } = await this.store.getStreamMetadata(this.parkedStream);
    await this.store.setStreamMetadata(this.parkedStream, { ...(metadata ?? {}), $tb: Number(revision) });
  }
}

function parseParkedMetadata(value: unknown): ParkedMetadata | null {
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Record<string, unknown>;
  const decimal = (v: unknown): boolean => typeof v === 'string' && /^[0-9]+$/.test(v);
  if (typeof m.originalStreamId !== 'string' || !decimal(m.originalRevision) || !decimal(m.originalPosition) || typeof m.originalEventId !== 'string') return null;
  return m as unknown as ParkedMetadata;
}
