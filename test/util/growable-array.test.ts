import { describe, expect, test } from 'vitest';
import { GrowableFloat64Array, GrowableUint32Array } from '../../src/util/growable-array.js';

describe('growable arrays', () => {
  test('growable arrays - keep every pushed value across growth', () => {
    const u32 = new GrowableUint32Array(4);
    const f64 = new GrowableFloat64Array(4);
    for (let i = 0; i < 10_000; i++) {
      u32.push(i * 3);
      f64.push(i * 2 ** 40);
    }
    expect(u32.length).toBe(10_000);
    expect(u32.get(9_999)).toBe(29_997);
    expect(Array.from(u32.toArray().subarray(0, 3))).toEqual([0, 3, 6]);
    expect(f64.view()[9_999]).toBe(9_999 * 2 ** 40);
    u32.truncate(5);
    expect(u32.length).toBe(5);
  });

  test('growable arrays - pushAll appends a whole array after pushed values, growing as needed', () => {
    const u32 = new GrowableUint32Array(4);
    const f64 = new GrowableFloat64Array(4);
    u32.push(7);
    f64.push(0.5);
    u32.pushAll(Uint32Array.from({ length: 1000 }, (_, i) => i));
    f64.pushAll(Float64Array.from({ length: 1000 }, (_, i) => i * 2 ** 40));
    u32.push(9);
    expect(u32.length).toBe(1002);
    expect([u32.get(0), u32.get(1), u32.get(1000), u32.get(1001)]).toEqual([7, 0, 999, 9]);
    expect(f64.view().length).toBe(1001);
    expect([f64.view()[0], f64.view()[1000]]).toEqual([0.5, 999 * 2 ** 40]);
  });
});
