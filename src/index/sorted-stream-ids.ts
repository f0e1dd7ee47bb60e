// Stream ids in sorted order, for listing streams by prefix with a cursor. Built from the stream
// table the first time it is asked (so a store that never lists pays nothing) and brought up to
// date on each call: new streams are sorted among themselves and merged in. Memory: one JS string
// per stream, while it is in use.

import { lowerBound, upperBound } from '../util/sorted-search.js';
import type { StreamTable } from '../wasm/stream-table.js';

export class SortedStreamIds {
  private sorted: string[] = [];
  /** Streams 0 … known-1 are in `sorted`. */
  private known = 0;

  /** Adds the streams the table gained since the last call. */
  refresh(table: StreamTable): void {
    const count = table.streamCount;
    if (count === this.known) return;
    const fresh: string[] = [];
    for (let n = this.known; n < count; n++) fresh.push(table.streamId(n));
    fresh.sort(compareIds);
    this.sorted = this.known === 0 ? fresh : merge(this.sorted, fresh);
    this.known = count;
  }

  /**
   * Ids that start with `prefix` and sort after `after` (when given), in order, while `take`
   * returns true for fewer than `limit` of them (`take` may refuse an id: it is skipped).
   */
  page(prefix: string, after: string | null, limit: number, take: (id: string) => boolean): string[] {
    const out: string[] = [];
    let i = lowerBound(this.sorted, prefix);
    if (after !== null) i = Math.max(i, upperBound(this.sorted, after));
    for (; i < this.sorted.length && out.length < limit; i++) {
      const id = this.sorted[i];
      if (!id.startsWith(prefix)) break;
      if (take(id)) out.push(id);
    }
    return out;
  }
}

/** Code-unit order (JavaScript's `<`), the order of `listStreams` results. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function merge(a: readonly string[], b: readonly string[]): string[] {
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i] <= b[j] ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}
