import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AssertionError } from '../../../src/util/assert.js';
import { LengthPrefixFramer, prefixFrame, writeFramePrefix, type FrameAssemblyBudget } from '../../../src/protocol/wire/framer.js';
import { WireError } from '../../../src/protocol/wire/wire-error.js';
import { FRAME_ASSEMBLY_INITIAL_BYTES, FRAME_BYTES_MAX, FRAME_PREFIX_BYTES } from '../../../src/protocol/wire/wire-limits.js';
import { propertyParams } from '../../support/random.js';

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function prefixBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, length, true);
  return bytes;
}

/** Feeds `stream` cut at `cuts` and collects every frame (copied, so views cannot change under us). */
function feedAll(framer: LengthPrefixFramer, stream: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const points = [...new Set([0, ...cuts.map((c) => c % (stream.length + 1)), stream.length])].sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    for (const frame of framer.feed(stream.subarray(points[i], points[i + 1]))) frames.push(frame.slice());
    expect(framer.assemblyCapacityBytes).toBeLessThanOrEqual(Math.max(FRAME_ASSEMBLY_INITIAL_BYTES, 2 * framer.bufferedBytes));
  }
  return frames;
}

function wireCode(body: () => unknown): string {
  try {
    body();
  } catch (error) {
    if (error instanceof WireError) return error.code;
    throw error;
  }
  return 'no error';
}

/** A budget that counts what is reserved and refuses past `limitBytes`. */
class CountingBudget implements FrameAssemblyBudget {
  heldBytes = 0;
  constructor(private readonly limitBytes = Number.MAX_SAFE_INTEGER) {}
  reserve(bytes: number): boolean {
    expect(bytes).toBeGreaterThan(0);
    if (this.heldBytes + bytes > this.limitBytes) return false;
    this.heldBytes += bytes;
    return true;
  }
  release(bytes: number): void {
    expect(bytes).toBeLessThanOrEqual(this.heldBytes);
    this.heldBytes -= bytes;
  }
}

const frameBody = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 200_000 }).map((n) => new Uint8Array(n).map((_, i) => (i * 31) & 0xff)) },
);

describe('framer', () => {
  test('framer - frames split at arbitrary points come out identical and in order', () => {
    fc.assert(
      fc.property(fc.array(frameBody, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (bodies, cuts) => {
        const stream = concat(bodies.map(prefixFrame));
        const framer = new LengthPrefixFramer();
        const frames = feedAll(framer, stream, cuts);
        // Buffer.equals: vitest's deep equality is slow on 200 KB arrays.
        expect(frames.length).toBe(bodies.length);
        frames.forEach((frame, i) => expect(Buffer.from(frame).equals(bodies[i]), `frame ${i}`).toBe(true));
        expect(framer.bufferedBytes).toBe(0);
        expect(framer.error).toBeNull();
      }),
      propertyParams(300),
    );
  });

  test('framer - every assembly buffer is reserved from the budget and given back when its frame completes', () => {
    fc.assert(
      fc.property(fc.array(frameBody, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (bodies, cuts) => {
        const stream = concat(bodies.map(prefixFrame));
        const budget = new CountingBudget();
        const framer = new LengthPrefixFramer(budget);
        const points = [...new Set([0, ...cuts.map((c) => c % (stream.length + 1)), stream.length])].sort((a, b) => a - b);
        let frames = 0;
        for (let i = 0; i + 1 < points.length; i++) {
          for (const frame of framer.feed(stream.subarray(points[i], points[i + 1]))) {
            frames++;
            // A frame handed out is the caller's: the budget no longer counts it.
            expect(budget.heldBytes).toBe(0);
            expect(frame.length).toBeGreaterThan(0);
          }
          expect(budget.heldBytes).toBe(framer.assemblyCapacityBytes);
        }
        expect(frames).toBe(bodies.length);
        expect(budget.heldBytes).toBe(0);
      }),
      propertyParams(200),
    );
  });

  test('framer - a budget that refuses to let an assembly grow fails the feed with ASSEMBLY_REFUSED and gets its bytes back', () => {
    const budget = new CountingBudget(100_000);
    const framer = new LengthPrefixFramer(budget);
    const stream = concat([prefixFrame(new Uint8Array([7])), prefixFrame(new Uint8Array(200_000).fill(1))]);
    const seen: number[][] = [];
    // The first 64 KiB buffer fits the budget, the 128 KiB one does not.
    let code = 'no error';
    try {
      for (let at = 0; at < stream.length; at += 10_000) {
        for (const frame of framer.feed(stream.subarray(at, at + 10_000))) seen.push([...frame]);
        expect(budget.heldBytes).toBeLessThanOrEqual(FRAME_ASSEMBLY_INITIAL_BYTES);
      }
    } catch (error) {
      code = error instanceof WireError ? error.code : 'other';
      expect((error as Error).message).toMatch(/^ASSEMBLY_REFUSED: no room to assemble a frame of 200000 bytes \(\d+ received, 131072 bytes wanted\)$/);
    }
    expect(code).toBe('ASSEMBLY_REFUSED');
    expect(seen).toEqual([[7]]);
    expect(budget.heldBytes).toBe(0);
    expect(framer.error?.code).toBe('ASSEMBLY_REFUSED');
    expect(wireCode(() => framer.feed(new Uint8Array(1)))).toBe('FRAMER_FAILED');
  });

  test('framer - discard gives back the unfinished frame\'s bytes and refuses input afterwards', () => {
    const budget = new CountingBudget();
    const framer = new LengthPrefixFramer(budget);
    expect([...framer.feed(prefixFrame(new Uint8Array(100_000)).subarray(0, 50_000))]).toEqual([]);
    expect(budget.heldBytes).toBe(FRAME_ASSEMBLY_INITIAL_BYTES);
    framer.discard();
    expect(budget.heldBytes).toBe(0);
    expect(framer.bufferedBytes).toBe(0);
    expect(wireCode(() => framer.feed(new Uint8Array(1)))).toBe('FRAMER_FAILED');
  });

  test('framer - bufferedBytes counts a complete length prefix before the first byte of its package', () => {
    const framer = new LengthPrefixFramer();
    const stream = prefixFrame(new Uint8Array([1, 2, 3]));
    const buffered: number[] = [];
    for (let i = 0; i < stream.length; i++) {
      [...framer.feed(stream.subarray(i, i + 1))];
      buffered.push(framer.bufferedBytes);
    }
    // 1..3 bytes of the prefix, the whole prefix (4: a frame has begun), then the package bytes.
    expect(buffered).toEqual([1, 2, 3, 4, 5, 6, 0]);
    // A bare prefix arriving in one piece, as a slowloris peer sends it.
    expect([...framer.feed(prefixBytes(39))]).toEqual([]);
    expect(framer.bufferedBytes).toBe(FRAME_PREFIX_BYTES);
  });

  test('framer - one byte at a time works', () => {
    const bodies = [new Uint8Array([1]), new Uint8Array(1000).fill(7), new Uint8Array([9, 8, 7])];
    const stream = concat(bodies.map(prefixFrame));
    const framer = new LengthPrefixFramer();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) {
      for (const frame of framer.feed(stream.subarray(i, i + 1))) frames.push(frame.slice());
      expect(framer.bufferedBytes).toBeLessThanOrEqual(1000 + FRAME_PREFIX_BYTES);
    }
    expect(frames).toEqual(bodies);
  });

  test('framer - a frame wholly inside a chunk is a view of it; an assembled frame is a fresh buffer', () => {
    const stream = concat([prefixFrame(new Uint8Array([1, 2, 3])), prefixFrame(new Uint8Array([4, 5, 6]))]);
    const framer = new LengthPrefixFramer();
    const [first] = [...framer.feed(stream.subarray(0, 9))];
    expect(first.buffer).toBe(stream.buffer);
    expect([...framer.feed(stream.subarray(9, 12))]).toEqual([]);
    const [second] = [...framer.feed(stream.subarray(12))];
    expect(second.buffer).not.toBe(stream.buffer);
    expect([...second]).toEqual([4, 5, 6]);
  });

  test('framer - lengths ≤ 0 or > FRAME_BYTES_MAX are BAD_FRAME_LENGTH, after the frames before them', () => {
    for (const bad of [0, -1, -2147483648, FRAME_BYTES_MAX + 1, 0x7fffffff]) {
      const framer = new LengthPrefixFramer();
      const stream = concat([prefixFrame(new Uint8Array([42])), prefixBytes(bad), new Uint8Array(10)]);
      const seen: number[][] = [];
      let code = 'no error';
      try {
        for (const frame of framer.feed(stream)) seen.push([...frame]);
      } catch (error) {
        code = error instanceof WireError ? error.code : 'other';
      }
      expect(code).toBe('BAD_FRAME_LENGTH');
      expect(seen).toEqual([[42]]);
      expect(framer.error?.code).toBe('BAD_FRAME_LENGTH');
      expect(framer.bufferedBytes).toBe(0);
      expect(wireCode(() => framer.feed(prefixFrame(new Uint8Array([1]))))).toBe('FRAMER_FAILED');
    }
  });

  test('framer - a bad length split across chunks is still caught', () => {
    const framer = new LengthPrefixFramer();
    const prefix = prefixBytes(-5);
    expect([...framer.feed(prefix.subarray(0, 3))]).toEqual([]);
    expect(wireCode(() => [...framer.feed(prefix.subarray(3))])).toBe('BAD_FRAME_LENGTH');
  });

  test('framer - a frame of exactly FRAME_BYTES_MAX is accepted and assembled without over-allocating', () => {
    const framer = new LengthPrefixFramer();
    expect([...framer.feed(prefixBytes(FRAME_BYTES_MAX))]).toEqual([]);
    // A peer announcing 64 MiB that sends a few bytes costs the initial assembly buffer, not 64 MiB.
    expect([...framer.feed(new Uint8Array(5))]).toEqual([]);
    expect(framer.assemblyCapacityBytes).toBe(FRAME_ASSEMBLY_INITIAL_BYTES);
    const chunk = new Uint8Array(4 * 1024 * 1024);
    let frames: Uint8Array[] = [];
    let fed = 5;
    while (fed < FRAME_BYTES_MAX) {
      const part = chunk.subarray(0, Math.min(chunk.length, FRAME_BYTES_MAX - fed));
      frames = [...framer.feed(part)];
      fed += part.length;
      expect(framer.assemblyCapacityBytes).toBeLessThanOrEqual(FRAME_BYTES_MAX);
    }
    expect(frames.length).toBe(1);
    expect(frames[0].length).toBe(FRAME_BYTES_MAX);
    expect(framer.bufferedBytes).toBe(0);
    expect(framer.assemblyCapacityBytes).toBe(0);
  });

  test('framer - abandoning a feed mid-chunk fails the framer', () => {
    const framer = new LengthPrefixFramer();
    const stream = concat([prefixFrame(new Uint8Array([1])), prefixFrame(new Uint8Array([2]))]);
    for (const frame of framer.feed(stream)) {
      expect([...frame]).toEqual([1]);
      break;
    }
    expect(framer.error?.code).toBe('FRAMER_FAILED');
    expect(wireCode(() => framer.feed(new Uint8Array(1)))).toBe('FRAMER_FAILED');
  });

  test('framer - feeding again before iterating the previous feed is a programmer error', () => {
    const framer = new LengthPrefixFramer();
    framer.feed(new Uint8Array(1));
    expect(() => framer.feed(new Uint8Array(1))).toThrow(AssertionError);
  });

  test('framer - the outgoing prefix is int32 little-endian and oversize packages are refused', () => {
    expect([...prefixFrame(new Uint8Array(0x0102)).subarray(0, 4)]).toEqual([0x02, 0x01, 0, 0]);
    const out = new Uint8Array(6);
    writeFramePrefix(out, 1, FRAME_BYTES_MAX);
    expect([...out]).toEqual([0, 0, 0, 0, 0x04, 0]);
    expect(wireCode(() => prefixFrame(new Uint8Array(FRAME_BYTES_MAX + 1)))).toBe('FRAME_TOO_LARGE');
    expect(() => prefixFrame(new Uint8Array(0))).toThrow(AssertionError);
  });
});
