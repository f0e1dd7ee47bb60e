import { describe, expect, test } from 'vitest';
import { AssertionError } from '../../src/util/assert.js';
import { GlobalIndex } from '../../src/index/global-index.js';
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
