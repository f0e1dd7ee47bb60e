// Shared pieces of the index file tests: a CRC, a simulated disk with a directory, random sorted
// entries (fast-check), and the sorted-array model every reader answer is compared with.

import fc from 'fast-check';
import { U64_MAX, type IndexEntry } from '../../src/index/index-entry.js';
import { writeIndexFile, type IndexFileSummary } from '../../src/index/index-file-writer.js';
import { BlockCache } from '../../src/index/block-cache.js';
import { IndexFileReader } from '../../src/index/index-file-reader.js';
import type { FileSystem } from '../../src/log/file-system.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { SimDisk } from '../harness/sim-disk.js';

export const crc = new Crc32c(new Wasm());
export const DIR = '/data/index';
export const BLOCK_SIZES_BYTES = [512, 1024, 4096] as const;

/** A simulated disk with DIR made. */
export async function simDisk(): Promise<SimDisk> {
  const disk = new SimDisk();
  await disk.fs.mkdir(DIR);
  return disk;
}

// Keys and seqs gather at the edges of the word layout (0, 2^32 ± 1, 2^63, 2^64 - 1) and in small
// pools, so runs of one key cross block boundaries and word comparisons meet their corner cases.
const EDGES = [0n, 1n, 0xffffffffn, 0x100000000n, 0x100000001n, 1n << 63n, U64_MAX - 1n, U64_MAX];
const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
export const keyArb = fc.oneof(fc.constantFrom(...EDGES), fc.bigInt({ min: 0n, max: 5n }), u64);
export const seqArb = fc.oneof(fc.constantFrom(...EDGES), fc.bigInt({ min: 0n, max: 60n }), u64);

/** Strictly increasing entries, up to `maxLength`: as often many (files of several blocks) as few. */
export function entriesArb(maxLength: number): fc.Arbitrary<IndexEntry[]> {
  const entries = (minLength: number): fc.Arbitrary<IndexEntry[]> =>
    fc.uniqueArray(fc.record({ key: keyArb, seq: seqArb, value: u64 }), { minLength, maxLength, size: 'max', selector: (e) => `${e.key}:${e.seq}` });
  return fc.oneof(entries(0), entries(Math.floor(maxLength / 2))).map(sortEntries);
}

export function compareEntries(a: IndexEntry, b: IndexEntry): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

export function sortEntries(entries: IndexEntry[]): IndexEntry[] {
  return [...entries].sort(compareEntries);
}

/** The model: the sorted array itself, answering by filtering each key's entries (slow, plainly right). */
export class SortedModel {
  private readonly byKey = new Map<bigint, IndexEntry[]>();

  constructor(readonly entries: readonly IndexEntry[]) {
    for (const e of entries) {
      const list = this.byKey.get(e.key) ?? [];
      list.push(e);
      this.byKey.set(e.key, list);
    }
  }

  get(key: bigint, seq: bigint): bigint | undefined {
    return this.byKey.get(key)?.find((e) => e.seq === seq)?.value;
  }

  range(key: bigint, fromSeq: bigint, maxCount: number): IndexEntry[] {
    return (this.byKey.get(key) ?? []).filter((e) => e.seq >= fromSeq).slice(0, maxCount);
  }

  rangeBackward(key: bigint, fromSeq: bigint, maxCount: number): IndexEntry[] {
    return (this.byKey.get(key) ?? []).filter((e) => e.seq <= fromSeq).reverse().slice(0, maxCount);
  }

  lastSeq(key: bigint): bigint | undefined {
    return this.byKey.get(key)?.at(-1)?.seq;
  }

  keys(): bigint[] {
    return [...this.byKey.keys()];
  }

  /** Inputs oldest first: the newest entry of a (key, seq) wins, then `drop` filters the winners. */
  static merge(inputs: readonly (readonly IndexEntry[])[], drop?: (e: IndexEntry) => boolean): IndexEntry[] {
    const winners = new Map<string, IndexEntry>();
    for (const input of inputs) for (const e of input) winners.set(`${e.key}:${e.seq}`, e);
    return sortEntries([...winners.values()]).filter((e) => !drop?.(e));
  }
}

export interface WrittenFile {
  readonly summary: IndexFileSummary;
  readonly reader: IndexFileReader;
}

/** Writes `entries` as `fileName` in DIR and opens it. */
export async function writeAndOpen(
  fs: FileSystem, fileName: string, entries: readonly IndexEntry[], cache: BlockCache,
  options: { blockSizeBytes?: number; level?: number; fromPosition?: bigint; toPosition?: bigint } = {},
): Promise<WrittenFile> {
  const summary = await writeIndexFile(entries, {
    fs, dir: DIR, fileName, crc,
    level: options.level ?? 0,
    fromPosition: options.fromPosition ?? 0n,
    toPosition: options.toPosition ?? 1000n,
    blockSizeBytes: options.blockSizeBytes,
  });
  const reader = await IndexFileReader.open({ fs, dir: DIR, fileName, crc, cache });
  return { summary, reader };
}

/**
 * Probe (key, seq) pairs for a set of entries: every stored pair, its neighbours, the ends of
 * each key, and keys and seqs around the stored ones that are absent.
 */
export function probesFor(entries: readonly IndexEntry[]): { key: bigint; seq: bigint }[] {
  const probes: { key: bigint; seq: bigint }[] = [];
  const clamp = (v: bigint): bigint => (v < 0n ? 0n : v > U64_MAX ? U64_MAX : v);
  for (const e of entries) {
    for (const d of [-1n, 0n, 1n]) probes.push({ key: e.key, seq: clamp(e.seq + d) });
    probes.push({ key: clamp(e.key + 1n), seq: e.seq }, { key: clamp(e.key - 1n), seq: e.seq });
  }
  for (const key of [0n, U64_MAX, ...new Set(entries.map((e) => e.key))]) probes.push({ key, seq: 0n }, { key, seq: U64_MAX });
  return probes;
}

const show = (value: unknown): string => JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
const MAX_COUNTS = [1, 2, 7, 1_000_000];

/**
 * Every disagreement between `reader` and `model` over the probes of probesFor(): get, range and
 * rangeBackward at each probe (maxCount cycling through small and unbounded), lastSeq of every key
 * and of absent ones, and a full scan. An empty list means they agree.
 */
export function disagreements(reader: IndexFileReader, model: SortedModel): string[] {
  const found: string[] = [];
  const check = (what: string, actual: unknown, expected: unknown): void => {
    const a = show(actual);
    const e = show(expected);
    if (a !== e && found.length < 10) found.push(`${what}: got ${a}, expected ${e}`);
  };
  probesFor(model.entries).forEach(({ key, seq }, i) => {
    const maxCount = MAX_COUNTS[i % MAX_COUNTS.length];
    check(`get(${key}, ${seq})`, reader.get(key, seq), model.get(key, seq));
    check(`range(${key}, ${seq}, ${maxCount})`, reader.range(key, seq, maxCount), model.range(key, seq, maxCount));
    check(`rangeBackward(${key}, ${seq}, ${maxCount})`, reader.rangeBackward(key, seq, maxCount), model.rangeBackward(key, seq, maxCount));
  });
  for (const key of [0n, 2n, U64_MAX, ...model.keys()]) check(`lastSeq(${key})`, reader.lastSeq(key), model.lastSeq(key));
  check('entries()', [...reader.entries()], model.entries);
  return found;
}
