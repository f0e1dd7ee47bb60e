// The block cache (src/index/block-cache.ts): least recently used first out, across files, within
// a byte budget; oversized blocks are not kept; closing a file drops its blocks.

import { describe, expect, test } from 'vitest';
import { BlockCache } from '../../src/index/block-cache.js';
import { simDisk, writeAndOpen } from './index-fixtures.js';

const block = (bytes: number, mark: number): Uint32Array => new Uint32Array(bytes / 4).fill(mark);

describe('block cache', () => {
  test('block cache - evicts the least recently used block of any file when over capacity', () => {
    const cache = new BlockCache(3 * 1024);
    const a = cache.space();
    const b = cache.space();
    a.put(0, block(1024, 1));
    b.put(0, block(1024, 2));
    a.put(1, block(1024, 3));
    expect(a.get(0)?.[0]).toBe(1); // a/0 is now the most recently used; b/0 the least
    b.put(1, block(1024, 4));
    expect(b.get(0)).toBeUndefined();
    expect(a.get(1)?.[0]).toBe(3);
    expect(a.get(0)?.[0]).toBe(1);
    expect(b.get(1)?.[0]).toBe(4);
    expect(cache.stats()).toMatchObject({ blocks: 3, sizeBytes: 3 * 1024, evictions: 1, hits: 4, misses: 1 });
  });

  test('block cache - blocks of mixed sizes never exceed the byte capacity', () => {
    const cache = new BlockCache(10_000);
    const space = cache.space();
    for (let i = 0; i < 200; i++) {
      space.put(i, block(512 * (1 + (i % 8)), i));
      expect(cache.stats().sizeBytes).toBeLessThanOrEqual(10_000);
      expect(space.get(i)?.[0]).toBe(i); // the block just put is always kept
    }
    expect(space.cachedBlocks).toBe(cache.stats().blocks);
  });

  test('block cache - a block larger than the capacity is not kept; capacity 0 caches nothing', () => {
    const small = new BlockCache(1000);
    const space = small.space();
    space.put(7, block(1024, 1));
    expect(space.get(7)).toBeUndefined();
    const none = new BlockCache(0).space();
    none.put(1, block(512, 1));
    expect(none.get(1)).toBeUndefined();
  });

  test('block cache - closing a file drops its blocks and leaves the others', async () => {
    const disk = await simDisk();
    const cache = new BlockCache(1 << 20);
    const entries = Array.from({ length: 100 }, (_, i) => ({ key: BigInt(i), seq: 0n, value: BigInt(i) }));
    const one = (await writeAndOpen(disk.fs, 'one.idx', entries, cache, { blockSizeBytes: 512 })).reader;
    const two = (await writeAndOpen(disk.fs, 'two.idx', entries, cache, { blockSizeBytes: 512 })).reader;
    for (let i = 0; i < 100; i++) {
      expect(one.get(BigInt(i), 0n)).toBe(BigInt(i));
      expect(two.get(BigInt(i), 0n)).toBe(BigInt(i));
    }
    expect(cache.stats().blocks).toBe(2 * one.blockCount);
    const misses = cache.stats().misses;
    two.get(50n, 0n);
    expect(cache.stats().misses).toBe(misses); // warm: no block read
    await one.close();
    expect(cache.stats()).toMatchObject({ blocks: two.blockCount, sizeBytes: two.blockCount * 512 });
    expect(two.get(99n, 0n)).toBe(99n);
  });
});
