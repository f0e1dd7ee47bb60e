import { describe, expect, test } from 'vitest';
import { AssertionError } from '../../src/util/assert.js';
import { GlobalIndex } from '../../src/index/global-index.js';
import { KeyedPositions, categoryOf } from '../../src/index/keyed-positions.js';

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
    const keyed = new KeyedPositions();
    keyed.add('a', 1);
    keyed.add('b', 2);
    keyed.add('a', 5);
    expect(Array.from(keyed.positions('a'))).toEqual([1, 5]);
    expect(Array.from(keyed.positions('missing'))).toEqual([]);
    expect([...keyed.keys()]).toEqual(['a', 'b']);
  });

  test('category - the id before the first dash, none without one', () => {
    expect(categoryOf('order-1-2')).toBe('order');
    expect(categoryOf('order')).toBeNull();
    expect(categoryOf('-x')).toBeNull();
  });
});
