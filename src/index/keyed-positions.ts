// Positions grouped by a string key, in $all order: the category and event-type indexes.

import { GrowableFloat64Array } from '../util/growable-array.js';

export class KeyedPositions {
  private readonly lists = new Map<string, GrowableFloat64Array>();

  add(key: string, position: number): void {
    let list = this.lists.get(key);
    if (list === undefined) {
      list = new GrowableFloat64Array(16);
      this.lists.set(key, list);
    }
    list.push(position);
  }

  /** Positions under `key` in ascending order (a view: valid until the next add). */
  positions(key: string): Float64Array {
    return this.lists.get(key)?.view() ?? new Float64Array(0);
  }

  keys(): IterableIterator<string> {
    return this.lists.keys();
  }
}

/** The category of a stream: its id before the first '-', or null when it has no '-'. */
export function categoryOf(streamId: string): string | null {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : null;
}
