// An index run held in memory: the entries a flush took from the memtable, readable by binary
// search while their file is being written. Entries are six u32 words each (index-entry.ts).

import { assert } from '../util/assert.js';
import { ENTRY_WORDS, W_VALUE_HI, W_VALUE_LO, compareKeySeq, compareKeySeqAt, hasKey } from './index-entry.js';
import { highWord, joinWords, lowWord } from './index-keys.js';
import type { IndexRun, ValueSink } from './index-run.js';

export class MemoryRun implements IndexRun {
  readonly entryCount: number;

  /** `words` must hold entries sorted by (key, seq), strictly increasing (asserted). */
  constructor(readonly words: Uint32Array, readonly fromPosition: number, readonly toPosition: number) {
    assert(words.length % ENTRY_WORDS === 0, 'whole entries');
    assert(fromPosition <= toPosition, 'a run covers a forward range of positions');
    this.entryCount = words.length / ENTRY_WORDS;
    for (let i = 1; i < this.entryCount; i++) {
      if (compareKeySeqAt(words, (i - 1) * ENTRY_WORDS, words, i * ENTRY_WORDS) >= 0) assert(false, () => `memtable entries strictly increase (entry ${i})`);
    }
  }

  forward(keyLow: number, keyHigh: number, fromSeq: number, maxCount: number, out: ValueSink): number {
    let i = this.lowerBound(keyLow, keyHigh, fromSeq);
    let pushed = 0;
    while (pushed < maxCount && i < this.entryCount && hasKey(this.words, i * ENTRY_WORDS, keyLow, keyHigh)) {
      out.push(this.valueAt(i));
      pushed++;
      i++;
    }
    return pushed;
  }

  backward(keyLow: number, keyHigh: number, fromSeq: number, maxCount: number, out: ValueSink): number {
    let i = this.lowerBound(keyLow, keyHigh, fromSeq + 1) - 1;
    let pushed = 0;
    while (pushed < maxCount && i >= 0 && hasKey(this.words, i * ENTRY_WORDS, keyLow, keyHigh)) {
      out.push(this.valueAt(i));
      pushed++;
      i--;
    }
    return pushed;
  }

  private valueAt(i: number): number {
    return joinWords(this.words[i * ENTRY_WORDS + W_VALUE_LO], this.words[i * ENTRY_WORDS + W_VALUE_HI]);
  }

  /** Index of the first entry ≥ (key, seq). */
  private lowerBound(keyLow: number, keyHigh: number, seq: number): number {
    const seqLow = lowWord(seq);
    const seqHigh = highWord(seq);
    let lo = 0;
    let hi = this.entryCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeySeq(this.words, mid * ENTRY_WORDS, keyLow, keyHigh, seqLow, seqHigh) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
