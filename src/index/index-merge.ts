// Merges several index files into one file of the next level: a k-way merge in (key, seq) order
// in which the newest file wins on equal (key, seq), with an optional predicate that leaves
// entries out. The result is written like any index file. format-spec/index.md §8.

import type { FileSystem } from '../log/file-system.js';
import { assert } from '../util/assert.js';
import { compareKeySeqAt, ENTRY_WORDS, entryAt, type IndexEntry } from './index-entry.js';
import { BLOCK_HEADER_WORDS, blockEntryCount, type Crc32cOf } from './index-file-format.js';
import type { IndexFileReader } from './index-file-reader.js';
import { IndexFileWriter, type IndexFileSummary } from './index-file-writer.js';
import { INDEX_LEVEL_MAX, INDEX_MERGE_INPUTS_MAX } from './index-limits.js';

export interface IndexMergeOptions {
  readonly fs: FileSystem;
  readonly dir: string;
  /** The merged file's final name in `dir`. */
  readonly fileName: string;
  readonly crc: Crc32cOf;
  readonly blockSizeBytes?: number;
  /** True for an entry to leave out (later: entries of deleted or truncated streams). */
  readonly drop?: (entry: IndexEntry) => boolean;
}

/** One input's position: the current block's words and the entry index in it. */
class Cursor {
  private readonly buffer: Uint8Array;
  words: Uint32Array;
  private block = -1;
  private count = 0;
  private i = 0;
  /** Word index of the current entry in `words`. */
  at = 0;

  /** `age` is the input's place in the list: a higher age is a newer file. */
  constructor(private readonly reader: IndexFileReader, readonly age: number) {
    this.buffer = new Uint8Array(reader.geometry.blockSizeBytes);
    this.words = new Uint32Array(0);
  }

  /** Moves to the next entry; false when the input is exhausted. */
  advance(): boolean {
    if (++this.i >= this.count) {
      if (++this.block >= this.reader.blockCount) return false;
      this.words = this.reader.readBlock(this.block, this.buffer);
      this.count = blockEntryCount(this.reader.geometry, this.block);
      this.i = 0;
    }
    this.at = BLOCK_HEADER_WORDS + this.i * ENTRY_WORDS;
    return true;
  }
}

/** Whether cursor a comes before b: smaller (key, seq) first, and on a tie the newer file first. */
function before(a: Cursor, b: Cursor): boolean {
  const order = compareKeySeqAt(a.words, a.at, b.words, b.at);
  return order < 0 || (order === 0 && a.age > b.age);
}

/**
 * Merges `inputs`, listed oldest first (their covered position ranges must not go backwards), into
 * `options.fileName` at level max(input levels) + 1, covering [min fromPosition, max toPosition).
 * Where several inputs hold the same (key, seq), only the newest input's entry is kept, and if
 * `drop` rejects it no older one takes its place. Resolves once the new file is durable; the
 * inputs stay open and untouched (deleting them is the caller's business).
 */
export async function mergeIndexFiles(inputs: readonly IndexFileReader[], options: IndexMergeOptions): Promise<IndexFileSummary> {
  assert(inputs.length >= 1 && inputs.length <= INDEX_MERGE_INPUTS_MAX, () => `1 to ${INDEX_MERGE_INPUTS_MAX} inputs, got ${inputs.length}`);
  for (let i = 1; i < inputs.length; i++) {
    const [older, newer] = [inputs[i - 1], inputs[i]];
    assert(older.fromPosition <= newer.fromPosition && older.toPosition <= newer.toPosition, () => `inputs are listed oldest first: ${older.fileName} covers [${older.fromPosition}, ${older.toPosition}), ${newer.fileName} [${newer.fromPosition}, ${newer.toPosition})`);
  }
  const level = Math.max(...inputs.map((input) => input.level)) + 1;
  assert(level <= INDEX_LEVEL_MAX, () => `merged level ${level} within ${INDEX_LEVEL_MAX}`);
  const writer = await IndexFileWriter.create({
    fs: options.fs,
    dir: options.dir,
    fileName: options.fileName,
    crc: options.crc,
    blockSizeBytes: options.blockSizeBytes,
    level,
    fromPosition: inputs.map((input) => input.fromPosition).reduce((a, b) => (a < b ? a : b)),
    toPosition: inputs.map((input) => input.toPosition).reduce((a, b) => (a > b ? a : b)),
  });
  try {
    const heap = new CursorHeap(inputs.map((reader, age) => new Cursor(reader, age)).filter((cursor) => cursor.advance()));
    // (key, seq) of the last entry taken off the heap, kept or dropped: older copies of it are skipped.
    const previous = new Uint32Array(4);
    let first = true;
    while (heap.size > 0) {
      const top = heap.top();
      if (first || compareKeySeqAt(top.words, top.at, previous, 0) !== 0) {
        first = false;
        for (let w = 0; w < 4; w++) previous[w] = top.words[top.at + w];
        if (options.drop === undefined || !options.drop(entryAt(top.words, top.at))) {
          writer.addWords(top.words, top.at);
          if (writer.flushNeeded) await writer.flush();
        }
      }
      if (top.advance()) heap.siftDownTop();
      else heap.popTop();
    }
    return await writer.finish();
  } catch (error) {
    await writer.abandon();
    throw error;
  }
}

/** A binary min-heap of cursors ordered by before(). */
class CursorHeap {
  constructor(private readonly items: Cursor[]) {
    for (let i = (items.length >>> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  get size(): number {
    return this.items.length;
  }

  top(): Cursor {
    return this.items[0];
  }

  /** Restores the order after the top cursor advanced. */
  siftDownTop(): void {
    this.siftDown(0);
  }

  popTop(): void {
    const last = this.items.pop()!;
    if (this.items.length > 0) {
      this.items[0] = last;
      this.siftDown(0);
    }
  }

  private siftDown(i: number): void {
    const items = this.items;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) return;
      const right = left + 1;
      const child = right < items.length && before(items[right], items[left]) ? right : left;
      if (!before(items[child], items[i])) return;
      [items[i], items[child]] = [items[child], items[i]];
      i = child;
    }
  }
}
