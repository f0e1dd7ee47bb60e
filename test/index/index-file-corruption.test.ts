// Bit rot in index files (format-spec/index.md §2.4, §3.2): random bit flips and zeroed sectors
// anywhere in a file make opening it, or reading the damaged block, throw a CorruptionError naming
// the file; every answer that is returned equals the undamaged file's. Damage to the header, fence
// table or footer is always caught at open, damage to a block always when that block is read, and
// the whole-file check of open (checkAllBlocks, in WASM) refuses exactly what readBlock refuses.

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { CorruptionError } from '../../src/util/errors.js';
import { BlockCache } from '../../src/index/block-cache.js';
import type { IndexEntry } from '../../src/index/index-entry.js';
import { IndexFileReader } from '../../src/index/index-file-reader.js';
import { writeIndexFile } from '../../src/index/index-file-writer.js';
import { IndexBlockChecker } from '../../src/wasm/index-blocks.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { copyDisk } from '../harness/copy-disk.js';
import type { SimDisk } from '../harness/sim-disk.js';
import { propertyParams, seededRandom } from '../support/random.js';
import { crc, DIR, probesFor, simDisk, SortedModel, sortEntries } from './index-fixtures.js';

const FILE = 'damaged.idx';
const PATH = `${DIR}/${FILE}`;
const SECTOR_BYTES = 512;
const checker = new IndexBlockChecker(new Wasm());

interface Base {
  readonly disk: SimDisk;
  readonly model: SortedModel;
  readonly blockSizeBytes: number;
  readonly bytes: Uint8Array;
}

/** A file of `count` entries over a few keys (long runs across blocks), written durably. */
async function base(blockSizeBytes: number, count: number, seed: number): Promise<Base> {
  const random = seededRandom(seed);
  const unique = new Map<string, IndexEntry>();
  while (unique.size < count) {
    const key = BigInt(Math.floor(random() * 6)) * 0x1_0000_0001n;
    const seq = BigInt(Math.floor(random() * count * 2));
    unique.set(`${key}:${seq}`, { key, seq, value: BigInt(Math.floor(random() * 2 ** 40)) });
  }
  const entries = sortEntries([...unique.values()]);
  const disk = await simDisk();
  await writeIndexFile(entries, { fs: disk.fs, dir: DIR, fileName: FILE, crc, level: 1, fromPosition: 5n, toPosition: 5000n, blockSizeBytes });
  return { disk, model: new SortedModel(entries), blockSizeBytes, bytes: disk.durableBytes(PATH).slice() };
}

type Injection = { readonly kind: 'flip'; readonly at: number; readonly bit: number } | { readonly kind: 'zero'; readonly at: number };

// `at` is a fraction of the file (or of its sectors): mostly uniform, sometimes biased towards the
// ends, where the header and the footer lie.
const fraction = fc.oneof({ arbitrary: fc.noBias(fc.integer({ min: 0, max: 999_999 })), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 999_999 }), weight: 1 }).map((n) => n / 1_000_000);
const injectionArb: fc.Arbitrary<Injection> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fraction, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('zero' as const), at: fraction }),
);

/** Whether an answer is a CorruptionError about this file (then it may stand in for any answer). */
function isOwnCorruption(error: unknown): boolean {
  return error instanceof CorruptionError && error.file === FILE;
}

/** Runs `read`; a CorruptionError of this file counts as "refused", anything else is returned. */
function attempt<T>(read: () => T): { refused: true } | { refused: false; value: T } {
  try {
    return { refused: false, value: read() };
  } catch (error) {
    if (!isOwnCorruption(error)) throw error;
    return { refused: true };
  }
}

describe('index file corruption', () => {
  test('index file corruption - flipped bits and zeroed sectors are refused, never answered differently', async () => {
    const bases = [await base(512, 150, 1), await base(1024, 400, 2), await base(4096, 500, 3)];
    let refusedAtOpen = 0;
    let refusedOnRead = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bases.length - 1 }), fc.array(injectionArb, { minLength: 1, maxLength: 3 }), async (which, injections) => {
        const { disk: original, model, blockSizeBytes, bytes } = bases[which];
        const disk = copyDisk(original);
        for (const injection of injections) {
          if (injection.kind === 'flip') disk.flipBit(PATH, Math.floor(injection.at * bytes.length), injection.bit);
          else disk.zeroSector(PATH, Math.floor(injection.at * Math.ceil(bytes.length / SECTOR_BYTES)));
        }
        const damaged = disk.durableBytes(PATH);
        const changed = [...damaged.keys()].filter((i) => damaged[i] !== bytes[i]);
        const blockCount = Math.ceil(model.entries.length / Math.floor((blockSizeBytes - 16) / 24));
        const fenceOffset = (1 + blockCount) * blockSizeBytes;
        // Damage the open-time checks must catch: the header's 64 bytes, the fence table, the footer.
        const mustFailOpen = changed.some((i) => i < 64 || i >= fenceOffset);

        const opened = await IndexFileReader.open({ fs: disk.fs, dir: DIR, fileName: FILE, crc, cache: new BlockCache(4 * blockSizeBytes) })
          .then((reader) => ({ reader }), (error: unknown) => ({ error }));
        if ('error' in opened) {
          expect(isOwnCorruption(opened.error), String(opened.error)).toBe(true);
          expect((opened.error as CorruptionError).offset).toBeGreaterThanOrEqual(0);
          expect((opened.error as CorruptionError).offset).toBeLessThanOrEqual(bytes.length);
          refusedAtOpen++;
          return;
        }
        expect(mustFailOpen, `damage at ${changed.slice(0, 5).join(', ')} was not caught at open`).toBe(false);
        const { reader } = opened;
        // Each damaged block is refused; every other block reads.
        const buffer = new Uint8Array(blockSizeBytes);
        let firstRefusal: unknown = null;
        for (let b = 0; b < blockCount; b++) {
          const from = (1 + b) * blockSizeBytes;
          const hit = changed.some((i) => i >= from && i < from + blockSizeBytes);
          const read = attempt(() => reader.readBlock(b, buffer));
          expect(read.refused, `block ${b} ${hit ? 'damaged but read' : 'intact but refused'}`).toBe(hit);
          if (read.refused) refusedOnRead++;
          if (read.refused && firstRefusal === null) firstRefusal = catchError(() => reader.readBlock(b, buffer));
        }
        // The whole-file check refuses exactly when some block is refused, with that first block's error.
        const whole = catchError(() => reader.checkAllBlocks(checker));
        expect(whole === null ? null : describeError(whole)).toEqual(firstRefusal === null ? null : describeError(firstRefusal));
        // Every answer is refused or equal to the undamaged file's.
        const mismatches: string[] = [];
        const same = (what: string, read: () => unknown, expected: unknown): void => {
          const got = attempt(read);
          if (!got.refused && !equal(got.value, expected)) mismatches.push(what);
        };
        for (const { key, seq } of probesFor(model.entries).filter((_, i) => i % 3 === 0)) {
          same(`get(${key}, ${seq})`, () => reader.get(key, seq), model.get(key, seq));
          same(`range(${key}, ${seq})`, () => reader.range(key, seq, 50), model.range(key, seq, 50));
          same(`rangeBackward(${key}, ${seq})`, () => reader.rangeBackward(key, seq, 50), model.rangeBackward(key, seq, 50));
        }
        for (const key of model.keys()) same(`lastSeq(${key})`, () => reader.lastSeq(key), model.lastSeq(key));
        expect(mismatches).toEqual([]);
      }),
      propertyParams(200, { interruptAfterTimeLimit: 15_000 }),
    );
    console.log(`index corruption: ${refusedAtOpen} refused at open, ${refusedOnRead} blocks refused on read`);
    // Both kinds of refusal happened (a run where damage only hit padding is also fine).
    expect(refusedAtOpen).toBeGreaterThan(0);
    expect(refusedOnRead).toBeGreaterThan(0);
  });
});

/** What `run` throws, or null. */
function catchError(run: () => unknown): unknown {
  try {
    run();
    return null;
  } catch (error) {
    return error;
  }
}

/** A CorruptionError as the fields a caller sees (anything else fails the comparison). */
function describeError(error: unknown): unknown {
  return error instanceof CorruptionError ? { file: error.file, offset: error.offset, reason: error.reason } : String(error);
}

/** Equality of answers: bigints, undefined, or arrays of entries (cheaper than a deep-equal library). */
function equal(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b)) return a === b;
  if (a.length !== b.length) return false;
  return a.every((x: IndexEntry, i) => x.key === (b[i] as IndexEntry).key && x.seq === (b[i] as IndexEntry).seq && x.value === (b[i] as IndexEntry).value);
}
