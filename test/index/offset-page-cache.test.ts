// The global index's page cache (src/index/offset-page-cache.ts): least recently used first out
// within a byte budget of whole pages, slots reused without allocating, dropped and released pages
// gone, a budget below one page caching nothing.

import { describe, expect, test } from 'vitest';
import { AssertionError } from '../../src/util/assert.js';
import { OffsetPageCache } from '../../src/index/offset-page-cache.js';

const PAGE_BYTES = 4 * OffsetPageCache.PAGE_WORDS;

/** Claims a slot for `key` and writes `mark` into its first word. */
function put(cache: OffsetPageCache, key: number, mark: number): number {
  const slot = cache.claim(key);
  cache.slab(slot)[cache.base(slot)] = mark;
  return slot;
}

/** The first word of page `key`, or undefined when it is not cached. */
function get(cache: OffsetPageCache, key: number): number | undefined {
  const slot = cache.find(key);
  return slot < 0 ? undefined : cache.slab(slot)[cache.base(slot)];
}

describe('offset page cache', () => {
  test('offset page cache - evicts the least recently used page when its budget is full', () => {
    const cache = new OffsetPageCache(3 * PAGE_BYTES + PAGE_BYTES / 2); // room for 3 whole pages
    put(cache, 10, 1);
    put(cache, 20, 2);
    put(cache, 30, 3);
    expect(get(cache, 10)).toBe(1); // 10 is now the most recently used; 20 the least
    put(cache, 40, 4);
    expect(get(cache, 20)).toBeUndefined();
    expect([get(cache, 10), get(cache, 30), get(cache, 40)]).toEqual([1, 3, 4]);
    put(cache, 50, 5); // evicts 10 (30 and 40 were used after it)
    expect(get(cache, 10)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ pages: 3, sizeBytes: 3 * PAGE_BYTES, allocatedBytes: 3 * PAGE_BYTES, evictions: 2, hits: 4, misses: 2 });
  });

  test('offset page cache - never holds or allocates more than its budget, however many pages pass through', () => {
    const budget = 100 * PAGE_BYTES;
    const cache = new OffsetPageCache(budget);
    for (let key = 0; key < 5000; key++) {
      if (get(cache, key % 250) === undefined) put(cache, key % 250, key);
      const stats = cache.stats();
      expect(stats.sizeBytes).toBeLessThanOrEqual(budget);
      expect(stats.allocatedBytes).toBeLessThanOrEqual(budget);
    }
    expect(cache.stats().pages).toBe(100);
  });

  test('offset page cache - slabs are allocated only as pages come', () => {
    const cache = new OffsetPageCache(8 * 1024 * 1024);
    expect(cache.stats().allocatedBytes).toBe(0);
    put(cache, 1, 1);
    expect(cache.stats().allocatedBytes).toBe(256 * 1024);
  });

  test('offset page cache - dropped and released pages are gone, and their slots are reused', () => {
    const cache = new OffsetPageCache(2 * PAGE_BYTES);
    const a = put(cache, 1, 11);
    put(cache, 2, 22);
    cache.drop(1);
    cache.drop(99); // not cached: nothing happens
    expect(get(cache, 1)).toBeUndefined();
    expect(put(cache, 3, 33)).toBe(a); // the dropped page's slot, no eviction
    expect(get(cache, 2)).toBe(22);
    expect(cache.stats()).toMatchObject({ pages: 2, evictions: 0 });
    // A page that turns out invalid gives its slot back (the page it evicted, 3, stays evicted).
    const bad = cache.claim(4);
    cache.release(bad);
    expect([get(cache, 4), get(cache, 3), get(cache, 2)]).toEqual([undefined, undefined, 22]);
    expect(cache.stats()).toMatchObject({ pages: 1, evictions: 1 });
    expect(put(cache, 5, 55)).toBe(bad); // the released slot, no eviction
    expect(cache.stats()).toMatchObject({ pages: 2, evictions: 1 });
    expect(() => cache.claim(2)).toThrow(AssertionError); // a page is cached once
  });

  test('offset page cache - a budget below one page keeps nothing, yet gives a slot to read a page into', () => {
    for (const capacity of [0, PAGE_BYTES - 1]) {
      const cache = new OffsetPageCache(capacity);
      const slot = put(cache, 7, 77);
      expect(cache.slab(slot)[cache.base(slot)]).toBe(77);
      expect(get(cache, 7)).toBeUndefined();
      expect(cache.stats()).toMatchObject({ pages: 0, sizeBytes: 0, allocatedBytes: 0 });
    }
  });
});
