// Raw reads of the log through the indexes: a stream's events by revision, $all by position, and
// the filtered $all reads. No access control and no metadata: the callers apply those.

import { assert } from '../util/assert.js';
import { READ_BATCH_RECORDS_MAX } from '../util/limits.js';
import { IndexKind } from '../index/index-keys.js';
import type { StoreIndexes } from '../index/store-indexes.js';
import type { ParsedRead, ReadAllFilter } from './read-options.js';
import type { RecordReader } from './record-reader.js';
import type { RecordedEvent } from './recorded-event.js';

export class LogQueries {
  constructor(private readonly indexes: StoreIndexes, private readonly reader: RecordReader) {}

  /** How many events the stream holds (its last revision + 1); 0 when it has none. */
  eventCount(streamId: string): number {
    return this.indexes.revisionCount(streamId);
  }

  /** Whether `$$S` has events: for most streams one WASM call rules `$$S` out (StoreIndexes.hasMetastream). */
  hasMetastream(streamId: string): boolean {
    return this.indexes.hasMetastream(streamId);
  }

  /** Position of a revision that exists. */
  positionOf(streamId: string, revision: number): number {
    const state = this.indexes.stream(streamId);
    assert(state !== null && revision < state.revisionCount, () => `revision ${revision} of '${streamId}' exists`);
    return this.indexes.streamPositions(state, revision, 1)[0];
  }

  /** The stream's last event, or null when it has none. */
  lastEvent(streamId: string): RecordedEvent | null {
    const [last] = this.stream(streamId, 0, { from: 'end', direction: 'backwards', maxCount: 1, maxBytes: Infinity });
    return last ?? null;
  }

  /**
   * Events of one stream from `read.from`, never below revision `firstVisible` (truncation and
   * `$maxCount` hide the rest).
   */
  stream(streamId: string, firstVisible: number, read: ParsedRead): RecordedEvent[] {
    const state = this.indexes.stream(streamId);
    const out: RecordedEvent[] = [];
    if (state === null || read.maxCount === 0) return out;
    const count = state.revisionCount;
    // Holes left by scavenging are skipped, so a page may need more revisions than maxCount.
    if (read.direction === 'forwards') {
      let from = Math.max(firstVisible, read.from === 'start' ? 0 : read.from === 'end' ? count : Math.min(Number(read.from), count));
      while (out.length < read.maxCount && from < count) {
        const n = Math.min(read.maxCount - out.length, count - from);
        const positions = this.indexes.streamPositions(state, from, n);
        this.reader.readPositions(positions, 0, positions.length, streamId, out);
        if (this.reader.budgetSpent) break;
        from += n;
      }
    } else {
      let from = read.from === 'end' ? count - 1 : read.from === 'start' ? 0 : Math.min(Number(read.from), count - 1);
      while (out.length < read.maxCount && from >= firstVisible) {
        const n = Math.min(read.maxCount - out.length, from + 1 - firstVisible);
        const positions = this.indexes.streamPositions(state, from - n + 1, n).reverse();
        this.reader.readPositions(positions, 0, positions.length, streamId, out);
        if (this.reader.budgetSpent) break;
        from -= n;
      }
    }
    return out;
  }

  /** Events of $all, optionally filtered by event type, category or stream-id prefix. */
  all(read: ParsedRead, filter: ReadAllFilter | undefined): RecordedEvent[] {
    if (filter === undefined) return this.range(read);
    if ('eventType' in filter) return this.keyed(IndexKind.EventType, filter.eventType, read);
    if ('category' in filter) return this.keyed(IndexKind.Category, filter.category, read);
    return this.withStreamPrefix(filter.streamPrefix, read);
  }

  /** Position of the last durable event, -1 when there is none. */
  get headPosition(): number {
    return this.indexes.nextPosition - 1;
  }

  private range(read: ParsedRead): RecordedEvent[] {
    const next = this.indexes.nextPosition;
    const out: RecordedEvent[] = [];
    if (next === 0 || read.maxCount === 0) return out;
    // Holes left by scavenging are skipped, so a page may need more positions than maxCount.
    if (read.direction === 'forwards') {
      let from = read.from === 'start' ? 0 : read.from === 'end' ? next : Math.min(Number(read.from), next);
      while (out.length < read.maxCount && from < next) {
        const n = Math.min(read.maxCount - out.length, next - from);
        this.reader.readRange(from, n, true, out);
        if (this.reader.budgetSpent) break;
        from += n;
      }
    } else {
      let from = read.from === 'start' ? 0 : read.from === 'end' ? next - 1 : Math.min(Number(read.from), next - 1);
      while (out.length < read.maxCount && from >= 0) {
        const n = Math.min(read.maxCount - out.length, from + 1);
        this.reader.readRange(from, n, false, out);
        if (this.reader.budgetSpent) break;
        from -= n;
      }
    }
    return out;
  }

  private keyed(kind: IndexKind.Category | IndexKind.EventType, name: string, read: ParsedRead): RecordedEvent[] {
    const out: RecordedEvent[] = [];
    // 'end' forwards finds nothing after it; 'start' backwards finds at most position 0.
    let from = read.from === 'start' ? 0 : read.from === 'end' ? Number.MAX_SAFE_INTEGER : Number(read.from);
    while (out.length < read.maxCount) {
      const want = read.maxCount - out.length;
      const positions = this.indexes.keyedPositions(kind, name, from, read.direction, want);
      this.reader.readPositions(positions, 0, positions.length, null, out);
      // Fewer than asked: the index has no more. Otherwise holes were skipped: go on after them.
      if (positions.length < want || this.reader.budgetSpent) return out;
      const last = positions[positions.length - 1];
      if (read.direction === 'backwards' && last === 0) return out;
      from = read.direction === 'forwards' ? last + 1 : last - 1;
    }
    return out;
  }

  private withStreamPrefix(prefix: string, read: ParsedRead): RecordedEvent[] {
    const out: RecordedEvent[] = [];
    let from = read.from;
    for (;;) {
      const page = this.range({ from, direction: read.direction, maxCount: READ_BATCH_RECORDS_MAX, maxBytes: read.maxBytes });
      for (const event of page) {
        if (out.length === read.maxCount) return out;
        if (event.streamId.startsWith(prefix)) out.push(event);
      }
      // A page cut by its byte budget ends the read once it holds an event; until then the scan
      // goes on with a fresh budget (what it read is garbage).
      if (this.reader.budgetSpent && out.length === 0 && page.length > 0) this.reader.renewBudget();
      else if (page.length < READ_BATCH_RECORDS_MAX || out.length === read.maxCount || this.reader.budgetSpent) return out;
      const last = page[page.length - 1].position;
      if (read.direction === 'backwards' && last === 0n) return out;
      from = read.direction === 'forwards' ? last + 1n : last - 1n;
    }
  }
}
