// The global index's cache of footer pages (format-spec/index.md §12 "The global index"): pages of
// GLOBAL_INDEX_PAGE_OFFSETS record offsets in fixed slots of a few preallocated slabs, bounded by a
// byte budget (globalIndexCacheBytes), least recently used first out. Slots are reused, so a miss
// allocates nothing: random reads of a large store miss often, and a fresh array per miss showed
// as garbage-collection pauses in the read latency.

import { assert } from '../util/assert.js';
import { GLOBAL_INDEX_PAGE_OFFSETS } from '../util/limits.js';

/** Slots per slab: slabs are allocated as the cache fills, 256 KiB at a time. */
const SLAB_SLOTS = (256 * 1024) / (4 * GLOBAL_INDEX_PAGE_OFFSETS);
const NO_SLOT = -1;

export interface OffsetPageCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  /** Pages held and the bytes of their slots (a page of fewer offsets still takes a whole slot). */
  readonly pages: number;
  readonly sizeBytes: number;
  /** Bytes of the slabs allocated so far (at most the capacity, rounded down to whole pages). */
  readonly allocatedBytes: number;
}

export class OffsetPageCache {
  /** Words of a page; a slot holds one page. */
  static readonly PAGE_WORDS = GLOBAL_INDEX_PAGE_OFFSETS;
  private readonly slotCount: number;
  private readonly slabs: Uint32Array[] = [];
  /** Page key of each slot in use. */
  private readonly keys: Float64Array;
  // Recency: a circular doubly-linked list of slots around a sentinel (index slotCount); the
  // sentinel's next is the most recently used slot, its prev the least.
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly slotOf = new Map<number, number>();
  /** Slots freed by drop(), reused before new ones. */
  private readonly freeSlots: number[] = [];
  /** Slots handed out so far: [0, claimed) have been used. */
  private claimed = 0;
  /** Where a page is read when the budget holds none (it is never kept). */
  private scratch: Uint32Array | null = null;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  /** `capacityBytes` bounds the bytes of all cached pages together (below one page: nothing is kept). */
  constructor(readonly capacityBytes: number) {
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes >= 0, () => `page cache capacity ${capacityBytes} is a non-negative integer`);
    this.slotCount = Math.floor(capacityBytes / (4 * OffsetPageCache.PAGE_WORDS));
    this.keys = new Float64Array(this.slotCount).fill(-1);
    this.prev = new Int32Array(this.slotCount + 1).fill(this.slotCount);
    this.next = new Int32Array(this.slotCount + 1).fill(this.slotCount);
  }

  /** The slot holding page `key`, now the most recently used, or -1 when it is not cached. */
  find(key: number): number {
    const slot = this.slotOf.get(key);
    if (slot === undefined) {
      this.misses++;
      return NO_SLOT;
    }
    this.hits++;
    if (this.next[this.slotCount] !== slot) {
      this.unlink(slot);
      this.linkFirst(slot);
    }
    return slot;
  }

  /**
   * Whether `slot` (from find() or claim()) still holds page `key`: a caller may keep a slot to
   * read the same page again without find(), as long as this holds (its slot may since have been
   * given to another page).
   */
  holds(slot: number, key: number): boolean {
    return slot >= 0 && this.keys[slot] === key;
  }

  /**
   * A slot for page `key` (which must not be cached), evicting the least recently used page when
   * every slot is taken. The caller fills it through slab()/base() and calls release() if the page
   * turns out invalid. With a budget below one page the slot is a scratch one, valid until the
   * next claim, and the page is not kept.
   */
  claim(key: number): number {
    assert(!this.slotOf.has(key), () => `page ${key} is cached once`);
    if (this.slotCount === 0) return NO_SLOT;
    let slot: number;
    if (this.freeSlots.length > 0) {
      slot = this.freeSlots.pop()!;
    } else if (this.claimed < this.slotCount) {
      slot = this.claimed++;
      if (slot % SLAB_SLOTS === 0) this.slabs.push(new Uint32Array(Math.min(SLAB_SLOTS, this.slotCount - slot) * OffsetPageCache.PAGE_WORDS));
    } else {
      slot = this.prev[this.slotCount];
      this.slotOf.delete(this.keys[slot]);
      this.unlink(slot);
      this.evictions++;
    }
    this.keys[slot] = key;
    this.slotOf.set(key, slot);
    this.linkFirst(slot);
    return slot;
  }

  /** The array a slot's words lie in (from base(slot) on). */
  slab(slot: number): Uint32Array {
    if (slot === NO_SLOT) return (this.scratch ??= new Uint32Array(OffsetPageCache.PAGE_WORDS));
    return this.slabs[Math.floor(slot / SLAB_SLOTS)];
  }

  /** Index in slab(slot) of the slot's first word. */
  base(slot: number): number {
    return slot === NO_SLOT ? 0 : (slot % SLAB_SLOTS) * OffsetPageCache.PAGE_WORDS;
  }

  /** Gives back a slot claim() handed out (its page was not valid): nothing is cached for it. */
  release(slot: number): void {
    if (slot === NO_SLOT) return;
    this.slotOf.delete(this.keys[slot]);
    this.keys[slot] = -1;
    this.unlink(slot);
    this.freeSlots.push(slot);
  }

  /** Forgets page `key` if it is cached (its file was replaced). */
  drop(key: number): void {
    const slot = this.slotOf.get(key);
    if (slot !== undefined) this.release(slot);
  }

  stats(): OffsetPageCacheStats {
    const pageBytes = 4 * OffsetPageCache.PAGE_WORDS;
    return {
      hits: this.hits, misses: this.misses, evictions: this.evictions, pages: this.slotOf.size, sizeBytes: this.slotOf.size * pageBytes,
      allocatedBytes: this.slabs.reduce((sum, slab) => sum + slab.byteLength, 0),
    };
  }

  private unlink(slot: number): void {
    this.next[this.prev[slot]] = this.next[slot];
    this.prev[this.next[slot]] = this.prev[slot];
  }

  private linkFirst(slot: number): void {
    const sentinel = this.slotCount;
    this.prev[slot] = sentinel;
    this.next[slot] = this.next[sentinel];
    this.prev[this.next[sentinel]] = slot;
    this.next[sentinel] = slot;
  }
}
