// An index file as a run of the store's indexes (index-run.ts): the reader's lookups, with keys
// and values as the numbers the store uses.

import type { IndexFileReader } from './index-file-reader.js';
import type { IndexRun, ValueSink } from './index-run.js';

export class FileRun implements IndexRun {
  readonly fromPosition: number;
  readonly toPosition: number;

  constructor(readonly reader: IndexFileReader) {
    this.fromPosition = Number(reader.fromPosition);
    this.toPosition = Number(reader.toPosition);
  }

  get entryCount(): number {
    return this.reader.entryCount;
  }

  get fileName(): string {
    return this.reader.fileName;
  }

  get level(): number {
    return this.reader.level;
  }

  forward(keyLow: number, keyHigh: number, fromSeq: number, maxCount: number, out: ValueSink): number {
    const entries = this.reader.range(keyOf(keyLow, keyHigh), BigInt(fromSeq), maxCount);
    for (const entry of entries) out.push(Number(entry.value));
    return entries.length;
  }

  backward(keyLow: number, keyHigh: number, fromSeq: number, maxCount: number, out: ValueSink): number {
    const entries = this.reader.rangeBackward(keyOf(keyLow, keyHigh), BigInt(fromSeq), maxCount);
    for (const entry of entries) out.push(Number(entry.value));
    return entries.length;
  }
}

/** The u64 key of its words (a kind's high word makes it larger than a safe integer). */
function keyOf(keyLow: number, keyHigh: number): bigint {
  return (BigInt(keyHigh) << 32n) | BigInt(keyLow);
}
