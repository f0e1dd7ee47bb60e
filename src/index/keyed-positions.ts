// The memtable of the category and event-type indexes: positions since the last flush, grouped by
// the name's number, in $all order. Names are numbered densely in order of first appearance
// (NameNumbers); the numbers are the keys of their index entries.

import { assert } from '../util/assert.js';
import { GrowableFloat64Array } from '../util/growable-array.js';
import { ENTRY_WORDS } from './index-entry.js';
import { highWord, keyHighWord, lowWord, type IndexKind } from './index-keys.js';

export class NameNumbers {
  private readonly numbers = new Map<string, number>();
  private readonly names: string[] = [];

  /** The name's number, or -1 when it was never seen. */
  find(name: string): number {
    return this.numbers.get(name) ?? -1;
  }

  /** The name's number, numbering it when new. */
  numberOf(name: string): number {
    let n = this.numbers.get(name);
    if (n === undefined) {
      n = this.names.length;
      this.names.push(name);
      this.numbers.set(name, n);
    }
    return n;
  }

  nameOf(n: number): string {
    return this.names[n];
  }

  get count(): number {
    return this.names.length;
  }

  /** Every name in number order. */
  all(): readonly string[] {
    return this.names;
  }
}

export class KeyedPositions {
  private lists = new Map<number, GrowableFloat64Array>();
  private entries = 0;

  constructor(private readonly kind: IndexKind) {}

  add(key: number, position: number): void {
    let list = this.lists.get(key);
    if (list === undefined) {
      list = new GrowableFloat64Array(16);
      this.lists.set(key, list);
    }
    list.push(position);
    this.entries++;
  }

  /** Positions under `key` since the last flush, ascending (a view: valid until the next add). */
  positions(key: number): Float64Array {
    return this.lists.get(key)?.view() ?? new Float64Array(0);
  }

  get entryCount(): number {
    return this.entries;
  }

  /** Moves everything out as index entries (key = number, seq = value = position), sorted. */
  drain(): Uint32Array {
    const words = new Uint32Array(this.entries * ENTRY_WORDS);
    const high = keyHighWord(this.kind);
    let at = 0;
    for (const key of [...this.lists.keys()].sort((a, b) => a - b)) {
      const list = this.lists.get(key)!.view();
      for (let i = 0; i < list.length; i++) {
        const position = list[i];
        words[at] = key;
        words[at + 1] = high;
        words[at + 2] = words[at + 4] = lowWord(position);
        words[at + 3] = words[at + 5] = highWord(position);
        at += ENTRY_WORDS;
      }
    }
    assert(at === words.length, 'every memtable entry drained');
    this.lists = new Map();
    this.entries = 0;
    return words;
  }
}

/** The category of a stream: its id before the first '-', or null when it has no '-'. */
export function categoryOf(streamId: string): string | null {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : null;
}
