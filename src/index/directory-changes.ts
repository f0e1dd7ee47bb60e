// The stream directory entries one flush changed (streams written or re-counted since the flush
// before), sorted bytewise by id: what the next directory file applies to the previous one, and
// what lookups consult for streams the stream table no longer holds until that file is written.
// Packed: the ids in one buffer, the fields in typed arrays, so a flush of a million new streams
// holds no object per stream.

import type { DirectoryChangeList, DirectoryEntry } from './stream-directory-file.js';
import { compareBytesAt } from './stream-directory-format.js';

export class DirectoryChanges {
  /**
   * `ids`: entries of u32 tag, u16 id length, id bytes (StreamTable.sortedIds); `offsets[i]`: where
   * the i-th smallest id's entry starts. The field arrays are indexed by that order.
   */
  constructor(
    private readonly ids: Uint8Array,
    private readonly offsets: Uint32Array,
    private readonly streamNos: Uint32Array,
    private readonly revisionCounts: Uint32Array,
    private readonly categories: Uint32Array,
    private readonly recordBytes: Float64Array,
  ) {}

  get count(): number {
    return this.offsets.length;
  }

  /** The first index whose id is >= `id` (count when none is). */
  lowerBound(id: Uint8Array): number {
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.offsets[mid];
      if (compareBytesAt(this.ids, at + 6, this.idLength(at), id, 0, id.length) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The index of `id`, or -1. */
  indexOf(id: Uint8Array): number {
    const i = this.lowerBound(id);
    if (i === this.offsets.length) return -1;
    const at = this.offsets[i];
    return compareBytesAt(this.ids, at + 6, this.idLength(at), id, 0, id.length) === 0 ? i : -1;
  }

  /** Bytewise order of this list's i-th id and `other`'s j-th. */
  compareWith(i: number, other: DirectoryChanges, j: number): number {
    const a = this.offsets[i];
    const b = other.offsets[j];
    return compareBytesAt(this.ids, a + 6, this.idLength(a), other.ids, b + 6, other.idLength(b));
  }

  /** The i-th smallest id's bytes (a view). */
  idAt(i: number): Uint8Array {
    const at = this.offsets[i];
    return this.ids.subarray(at + 6, at + 6 + this.idLength(at));
  }

  streamNoAt(i: number): number {
    return this.streamNos[i];
  }

  entry(i: number): DirectoryEntry {
    return { id: this.idAt(i), streamNo: this.streamNos[i], revisionCount: this.revisionCounts[i], category: this.categories[i], recordBytes: this.recordBytes[i] };
  }

  /** Bytes held. */
  get sizeBytes(): number {
    return this.ids.byteLength + this.offsets.byteLength * 6;
  }

  private idLength(at: number): number {
    return this.ids[at + 4] | (this.ids[at + 5] << 8);
  }
}

/**
 * Several flushes' changes (oldest first) as one list in id order: where an id is in more than
 * one, the newest entry. A k-way merge through a binary heap of the lists' heads (k is the
 * flushes a rebuild held back), comparing ids in place.
 */
export function mergeChanges(lists: readonly DirectoryChanges[]): DirectoryChangeList {
  if (lists.length === 1) return lists[0];
  const heads = lists.map(() => 0);
  // Heap of list numbers: the smallest head id on top, the newest list first among equal ids.
  const heap: number[] = [];
  const less = (a: number, b: number): boolean => {
    const order = lists[a].compareWith(heads[a], lists[b], heads[b]);
    return order < 0 || (order === 0 && a > b);
  };
  const siftDown = (at: number): void => {
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) return;
      const child = left + 1 < heap.length && less(heap[left + 1], heap[left]) ? left + 1 : left;
      if (!less(heap[child], heap[at])) return;
      [heap[at], heap[child]] = [heap[child], heap[at]];
      at = child;
    }
  };
  for (let l = 0; l < lists.length; l++) if (lists[l].count > 0) heap.push(l);
  for (let at = (heap.length >> 1) - 1; at >= 0; at--) siftDown(at);
  const pickList: number[] = [];
  const pickIndex: number[] = [];
  let lastList = -1;
  while (heap.length > 0) {
    const l = heap[0];
    // A repeat of the id just taken (from a newer list) is an older entry: skipped.
    if (lastList < 0 || lists[l].compareWith(heads[l], lists[lastList], pickIndex[pickIndex.length - 1]) !== 0) {
      pickList.push(l);
      pickIndex.push(heads[l]);
      lastList = l;
    }
    if (++heads[l] === lists[l].count) {
      heap[0] = heap[heap.length - 1];
      heap.pop();
    }
    siftDown(0);
  }
  return { count: pickList.length, entry: (i) => lists[pickList[i]].entry(pickIndex[i]) };
}
