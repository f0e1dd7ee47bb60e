import { describe, expect, test } from 'vitest';
import { AssertionError } from '../../src/util/assert.js';
import { CorruptionError } from '../../src/util/errors.js';
import { GLOBAL_INDEX_PAGE_OFFSETS } from '../../src/util/limits.js';
import { OffsetPageCache } from '../../src/index/offset-page-cache.js';
import { GlobalIndex, type FooterOffsetReader } from '../../src/index/global-index.js';
import { footerOffsetMapAt } from '../../src/format/chunk-layout.js';
import { KeyedPositions, NameNumbers, categoryOf } from '../../src/index/keyed-positions.js';
import { IndexKind } from '../../src/index/index-keys.js';

describe('global index', () => {
  test('global index - locates every position across chunks', () => {
    const index = new GlobalIndex();
    let position = 0;
    for (let chunk = 0; chunk < 3; chunk++) {
      let offset = 128;
      for (let i = 0; i < 100 + chunk; i++) {
        const bytes = 70 + ((position * 7) % 50);
        index.add(chunk, position++, offset, bytes);
        offset += bytes;
      }
    }
    expect(index.nextPosition).toBe(303);
    expect(index.locate(0)).toEqual({ chunkNumber: 0, offset: 128, recordBytes: 70 });
    const last = index.locate(302);
    expect(last.chunkNumber).toBe(2);
    expect(index.chunkIndexOf(100)).toBe(1);
    expect(index.chunkStartPosition(1)).toBe(100);
    expect(index.chunkEndPosition(1)).toBe(201);
    // Record ends chain: each record ends where the next starts.
    for (let p = 100; p < 200; p++) expect(index.endOf(1, p)).toBe(index.offsetOf(1, p + 1));
  });

  test('global index - a gap in positions or offsets is an invariant violation', () => {
    const index = new GlobalIndex();
    index.add(0, 0, 128, 100);
    expect(() => index.add(0, 2, 228, 100)).toThrow(AssertionError);
    expect(() => index.add(0, 1, 300, 100)).toThrow(AssertionError);
  });
});

const PAGE = GLOBAL_INDEX_PAGE_OFFSETS;
const PAGE_BYTES = 4 * PAGE;

/** Sealed chunks' footers in memory: what a FooterOffsetReader reads, and every read it served. */
class FakeFooters implements FooterOffsetReader {
  readonly footers = new Map<number, { endOffset: number; offsets: Uint32Array }>();
  readonly reads: string[] = [];
  /** Makes the next read return this instead (a damaged or short footer). */
  damage: ((words: Uint32Array) => number) | null = null;

  seal(chunkNumber: number, offsets: ArrayLike<number>, endOffset: number): void {
    this.footers.set(chunkNumber, { endOffset, offsets: Uint32Array.from(offsets) });
  }

  readOffsets(chunkNumber: number, fileOffset: number, count: number, target: Uint32Array, targetIndex: number): number {
    const footer = this.footers.get(chunkNumber);
    expect(footer, `chunk ${chunkNumber} is sealed`).toBeDefined();
    const first = (fileOffset - footerOffsetMapAt(footer!.endOffset)) / 4;
    expect(Number.isInteger(first) && first >= 0 && first + count <= footer!.offsets.length).toBe(true);
    this.reads.push(`${chunkNumber}/${first / GLOBAL_INDEX_PAGE_OFFSETS}`);
    const words = target.subarray(targetIndex, targetIndex + count);
    words.set(footer!.offsets.subarray(first, first + count));
    const damage = this.damage;
    this.damage = null;
    return damage === null ? count : damage(words);
  }
}

/** Offsets of `count` records of 70 to 119 bytes from offset 128, and the end of the last. */
function records(count: number, seed: number): { offsets: number[]; endOffset: number } {
  const offsets: number[] = [];
  let offset = 128;
  for (let i = 0; i < count; i++) {
    offsets.push(offset);
    offset += 70 + ((seed + i * 7) % 50);
  }
  return { offsets, endOffset: offset };
}

/** A paged index over `sizes.length` chunks fed record by record (the last one stays active). */
function pagedIndex(sizes: readonly number[], cacheBytes: number): { index: GlobalIndex; footers: FakeFooters; cache: OffsetPageCache; chunks: ReturnType<typeof records>[] } {
  const footers = new FakeFooters();
  const cache = new OffsetPageCache(cacheBytes);
  const index = new GlobalIndex({ reader: footers, cache });
  const chunks = sizes.map((count, chunk) => records(count, chunk));
  let position = 0;
  chunks.forEach(({ offsets, endOffset }, chunk) => {
    offsets.forEach((offset, i) => index.add(chunk, position++, offset, (offsets[i + 1] ?? endOffset) - offset));
    if (chunk < sizes.length - 1) footers.seal(chunk, offsets, endOffset);
  });
  return { index, footers, cache, chunks };
}

describe('global index paging', () => {
  test('global index - a sealed chunk keeps no offsets: they are read from its footer a page at a time; the active chunk stays in memory', () => {
    const { index, footers, chunks } = pagedIndex([2.5 * PAGE, 1.5 * PAGE, 0.25 * PAGE], 1 << 20);
    expect(index.memory()).toMatchObject({ chunks: 3, pagedChunks: 2, cachedPages: 0, offsetArrayBytes: 4096 * 4 });
    let position = 0;
    for (const [chunk, { offsets, endOffset }] of chunks.entries()) {
      for (let i = 0; i < offsets.length; i++, position++) {
        expect(index.locate(position)).toEqual({ chunkNumber: chunk, offset: offsets[i], recordBytes: (offsets[i + 1] ?? endOffset) - offsets[i] });
      }
    }
    // Each page was read once (the cache holds them all), the active chunk's never.
    expect(footers.reads).toEqual(['0/0', '0/1', '0/2', '1/0', '1/1']);
    expect(index.memory()).toMatchObject({ cachedPages: 5, cachedPageBytes: 5 * PAGE_BYTES, cacheAllocatedBytes: 256 * 1024 });
  });

  test('global index - a chunk added whole from its footer is paged; its offsets are checked, not kept', () => {
    const footers = new FakeFooters();
    const index = new GlobalIndex({ reader: footers, cache: new OffsetPageCache(1 << 20) });
    const { offsets, endOffset } = records(3 * PAGE - 10, 1);
    const last = offsets.length - 1;
    footers.seal(0, offsets, endOffset);
    index.addChunk(0, 0, offsets, endOffset);
    expect(index.memory()).toMatchObject({ chunks: 1, pagedChunks: 1, offsetArrayBytes: 0 });
    expect(index.locate(last)).toEqual({ chunkNumber: 0, offset: offsets[last], recordBytes: endOffset - offsets[last] });
    expect(footers.reads).toEqual(['0/2']);
    const decreasing = [...offsets.slice(0, 10), offsets[8]];
    expect(() => new GlobalIndex({ reader: footers, cache: new OffsetPageCache(0) }).addChunk(0, 0, decreasing, endOffset)).toThrow(AssertionError);
  });

  test('page cache - the least recently used page goes first, and the cache never holds more than its budget', () => {
    const { index, footers, cache } = pagedIndex([4 * PAGE, 1], 3 * PAGE_BYTES);
    const page = (p: number): number => p * PAGE + 5;
    const c = index.chunkIndexOf(0);
    for (const p of [0, 1, 2, 0, 3]) index.offsetOf(c, page(p)); // page 3 evicts page 1, the least recently used
    expect(footers.reads).toEqual(['0/0', '0/1', '0/2', '0/3']);
    index.offsetOf(c, page(0));
    index.offsetOf(c, page(2));
    expect(footers.reads).toHaveLength(4);
    index.offsetOf(c, page(1)); // read again; evicts page 3 (0 and 2 were used since)
    expect(footers.reads.slice(4)).toEqual(['0/1']);
    expect(cache.stats()).toMatchObject({ pages: 3, sizeBytes: 3 * PAGE_BYTES, evictions: 2 });
    for (let p = 0; p < 4 * PAGE; p += 7) {
      index.offsetOf(c, p);
      expect(index.memory().cachedPageBytes).toBeLessThanOrEqual(3 * PAGE_BYTES);
    }
  });

  test('page cache - with no budget every lookup reads its page, and still answers right', () => {
    const { index, footers, chunks } = pagedIndex([1.5 * PAGE, 10], 0);
    const p = 1.25 * PAGE;
    expect(index.locate(p).offset).toBe(chunks[0].offsets[p]);
    expect(index.locate(p).offset).toBe(chunks[0].offsets[p]);
    expect(footers.reads.length).toBeGreaterThanOrEqual(4);
    expect(index.memory()).toMatchObject({ cachedPages: 0, cachedPageBytes: 0, cacheAllocatedBytes: 0 });
  });

  test('page cache - a scavenge swap drops the cached pages of the chunks it replaced; the new file is read from its own footer', () => {
    const sizes = [1.5 * PAGE, 1.25 * PAGE, PAGE, 10];
    const { index, footers, cache, chunks } = pagedIndex(sizes, 1 << 20);
    for (let p = 0; p < 3.5 * PAGE; p += 10) index.locate(p);
    expect(cache.stats().pages).toBe(5); // chunk 0: pages 0, 1; chunk 1: 0, 1; chunk 2: 0
    // Chunks 1 and 2 merged into one file named 1: the same positions, smaller records.
    const count = sizes[1] + sizes[2];
    const merged = Array.from({ length: count }, (_, i) => 128 + 70 * i);
    const endOffset = 128 + 70 * count;
    footers.seal(1, merged, endOffset);
    footers.footers.delete(2);
    index.replaceChunks(1, 2, sizes[0], merged, endOffset);
    expect(cache.stats()).toMatchObject({ pages: 2, sizeBytes: 2 * PAGE_BYTES }); // chunk 0's pages only
    expect(index.memory()).toMatchObject({ chunks: 3, pagedChunks: 2 });
    const reads = footers.reads.length;
    for (let i = 0; i < count; i++) expect(index.locate(sizes[0] + i)).toEqual({ chunkNumber: 1, offset: merged[i], recordBytes: 70 });
    expect(footers.reads.slice(reads)).toEqual(['1/0', '1/1', '1/2']);
    expect(index.locate(10).offset).toBe(chunks[0].offsets[10]);
    expect(footers.reads).toHaveLength(reads + 3); // chunk 0 still cached
  });

  test('global index - a footer page that is short or out of order is a CorruptionError naming the file; a failed read caches nothing', () => {
    const { index, footers } = pagedIndex([3 * PAGE, 5], 1 << 20);
    const mapAt = footerOffsetMapAt(footers.footers.get(0)!.endOffset);
    footers.damage = (words) => words.length - 1;
    expect(() => index.locate(PAGE + 6)).toThrow(expect.objectContaining({ file: 'chunk-000000.annal', offset: mapAt + 4 * (PAGE + PAGE - 1) }));
    footers.damage = (words) => {
      words[7] = words[6];
      return words.length;
    };
    expect(() => index.locate(PAGE + 6)).toThrow(expect.objectContaining({ file: 'chunk-000000.annal', offset: mapAt + 4 * (PAGE + 7), reason: expect.stringContaining('out of order') }));
    footers.damage = (words) => {
      words[0] = 200; // the first record of a chunk starts right after its 128-byte header
      return words.length;
    };
    expect(() => index.locate(3)).toThrow(CorruptionError);
    footers.damage = (words) => {
      words[0] = 0;
      throw new Error('EIO');
    };
    expect(() => index.locate(2 * PAGE)).toThrow('EIO');
    // Damage that keeps the page in order (an offset moved inside its gap) is refused by the page's
    // checksum, taken when the footer was checked.
    footers.damage = (words) => {
      words[5] += 4;
      return words.length;
    };
    expect(() => index.locate(PAGE + 6)).toThrow(expect.objectContaining({ file: 'chunk-000000.annal', offset: mapAt + 4 * PAGE, reason: expect.stringContaining('differs from the offsets checked') }));
    // Damage is never cached, nor a page whose read failed: the intact pages read right afterwards.
    expect(index.locate(PAGE + 6).chunkNumber).toBe(0);
    expect(index.locate(3).offset).toBe(records(3 * PAGE, 0).offsets[3]);
    expect(index.locate(2 * PAGE).offset).toBe(records(3 * PAGE, 0).offsets[2 * PAGE]);
  });
});

describe('keyed positions', () => {
  test('keyed positions - lists stay in insertion order per key', () => {
    const keyed = new KeyedPositions(IndexKind.Category);
    keyed.add(3, 1);
    keyed.add(0, 2);
    keyed.add(3, 5 * 2 ** 32 + 7);
    expect(Array.from(keyed.positions(3))).toEqual([1, 5 * 2 ** 32 + 7]);
    expect(Array.from(keyed.positions(9))).toEqual([]);
    expect(keyed.entryCount).toBe(3);
    // Drained as index entries sorted by key then position: (key lo, key hi, seq lo, seq hi, value lo, value hi).
    const high = IndexKind.Category << 24;
    expect(Array.from(keyed.drain())).toEqual([0, high, 2, 0, 2, 0, 3, high, 1, 0, 1, 0, 3, high, 7, 5, 7, 5]);
    expect(keyed.entryCount).toBe(0);
    expect(Array.from(keyed.positions(3))).toEqual([]);
  });

  test('name numbers - dense, in order of first appearance', () => {
    const names = new NameNumbers();
    expect([names.numberOf('b'), names.numberOf('a'), names.numberOf('b')]).toEqual([0, 1, 0]);
    expect([names.find('a'), names.find('c'), names.count]).toEqual([1, -1, 2]);
    expect(names.all()).toEqual(['b', 'a']);
  });

  test('category - the id before the first dash, none without one', () => {
    expect(categoryOf('order-1-2')).toBe('order');
    expect(categoryOf('order')).toBeNull();
    expect(categoryOf('-x')).toBeNull();
  });
});
