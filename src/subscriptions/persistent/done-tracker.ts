// The checkpoint rule (format-spec/subscriptions.md §4): the highest revision or position C such
// that every event of the group up to C is done (acked, skipped or durably parked). Events are
// added in read order; they finish in any order; C never passes one that is not done.

import { assert } from '../../util/assert.js';

/** Finished prefixes are cut from the arrays once they are this long (and half of them). */
const COMPACT_AFTER_ENTRIES = 1024;

export class DoneTracker {
  private readonly keys: bigint[] = [];
  private readonly done: boolean[] = [];
  private head = 0;
  /** The highest key read so far, delivered or skipped by the reader (start - 1 before any). */
  private readThrough: bigint;

  constructor(startKey: bigint) {
    this.readThrough = startKey - 1n;
  }

  /** An event the group will deliver; its key is above every key seen before. */
  add(key: bigint): void {
    assert(key > this.readThrough, () => `done tracker: key ${key} after ${this.readThrough}`);
    this.keys.push(key);
    this.done.push(false);
    this.readThrough = key;
  }

  /** The reader passed every key up to `key` without delivering those it did not add. */
  passed(key: bigint): void {
    if (key > this.readThrough) this.readThrough = key;
  }

  /** Marks an added key done; unknown keys are a bug. */
  markDone(key: bigint): void {
    const i = this.find(key);
    assert(i >= 0, () => `done tracker: key ${key} was not added or is already behind the checkpoint`);
    this.done[i] = true;
    while (this.head < this.keys.length && this.done[this.head]) this.head++;
    if (this.head >= COMPACT_AFTER_ENTRIES && this.head * 2 >= this.keys.length) {
      this.keys.splice(0, this.head);
      this.done.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Every key up to the result is done; start - 1 when nothing is (which may be -1n). */
  checkpoint(): bigint {
    return this.head < this.keys.length ? this.keys[this.head] - 1n : this.readThrough;
  }

  /** Added keys not done yet. */
  get outstanding(): number {
    let n = 0;
    for (let i = this.head; i < this.keys.length; i++) if (!this.done[i]) n++;
    return n;
  }

  private find(key: bigint): number {
    let lo = this.head;
    let hi = this.keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid];
      if (k === key) return this.done[mid] ? -1 : mid;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
