// What the index keeps beside the stream table for each stream it holds (by table number): the
// stream's number in the store, its category, the bytes of its records and the flush generation
// in which its directory entry last changed. Compacted together with the table (same keep bytes).

import { assert } from '../util/assert.js';

const INITIAL_STREAMS = 1024;

export class ResidentStreams {
  /** The stream's number in the store (keys of its index entries; its directory entry's). */
  streamNo = new Uint32Array(INITIAL_STREAMS);
  /** Category number + 1, 0 when the id has no '-'. */
  category = new Uint32Array(INITIAL_STREAMS);
  /** Bytes of the stream's records in the log (every revision, headers included). */
  recordBytes = new Float64Array(INITIAL_STREAMS);
  /** The flush generation in which its directory entry last changed (a revision or a byte count). */
  changedIn = new Uint32Array(INITIAL_STREAMS);
  length = 0;

  push(streamNo: number, category: number, recordBytes: number, generation: number): void {
    if (this.length === this.streamNo.length) this.grow(this.length * 2);
    const i = this.length++;
    this.streamNo[i] = streamNo;
    this.category[i] = category;
    this.recordBytes[i] = recordBytes;
    this.changedIn[i] = generation;
  }

  /** Keeps the entries whose byte in `keep` is non-zero, in order (as StreamTable.compact does). */
  compact(keep: Uint8Array): void {
    assert(keep.length === this.length, 'one keep byte per resident stream');
    let kept = 0;
    for (let i = 0; i < this.length; i++) {
      if (keep[i] === 0) continue;
      this.streamNo[kept] = this.streamNo[i];
      this.category[kept] = this.category[i];
      this.recordBytes[kept] = this.recordBytes[i];
      this.changedIn[kept] = this.changedIn[i];
      kept++;
    }
    this.length = kept;
    // Give memory back when most of it went: a flush after a burst of new streams shrinks them.
    if (this.streamNo.length > INITIAL_STREAMS && kept * 4 < this.streamNo.length) this.grow(Math.max(INITIAL_STREAMS, kept * 2));
  }

  private grow(capacity: number): void {
    const resize = <T extends Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old.subarray(0, this.length));
      return next;
    };
    this.streamNo = resize(this.streamNo, (n) => new Uint32Array(n));
    this.category = resize(this.category, (n) => new Uint32Array(n));
    this.recordBytes = resize(this.recordBytes, (n) => new Float64Array(n));
    this.changedIn = resize(this.changedIn, (n) => new Uint32Array(n));
  }
}
