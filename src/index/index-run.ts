// One sorted run of index entries: a persisted index file, or the memtable frozen at a flush and
// waiting for its file. Runs cover disjoint ranges of log positions, so the entries of one key
// (a stream's revisions, a category's positions) are spread over runs in position order.

/** Positions or revisions gathered from runs (grows like an array, no boxing). */
export interface ValueSink {
  push(value: number): void;
  readonly length: number;
}

export interface IndexRun {
  /** The run holds the entries of the records at positions [fromPosition, toPosition). */
  readonly fromPosition: number;
  readonly toPosition: number;
  /** Entries in the run. */
  readonly entryCount: number;
  /**
   * Pushes the values of the entries of key (keyLow, keyHigh) with seq ≥ fromSeq, ascending,
   * at most maxCount of them; returns how many it pushed.
   */
  forward(keyLow: number, keyHigh: number, fromSeq: number, maxCount: number, out: ValueSink): number;
  /** As forward, with seq ≤ fromSeq, descending. */
  backward(keyLow: number, keyHigh: number, fromSeq: number, maxCount: number, out: ValueSink): number;
}
