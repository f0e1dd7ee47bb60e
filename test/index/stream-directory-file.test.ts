// The sorted, block-structured stream directory file (format-spec/index.md §13): rewrites against
// an in-memory model on the real file system, single-byte damage anywhere refused at open, the
// stream-number invariant enforced by the writer, and a file of many blocks and spans.

import { readdirSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { BlockCache } from '../../src/index/block-cache.js';
import {
  compareIds, DIRECTORY_BLOCK_BYTES, listOf, StreamDirectoryReader, streamDirectoryFileName, writeStreamDirectory, type DirectoryEntry, type DirectorySummary,
} from '../../src/index/stream-directory-file.js';
import type { FileSystem } from '../../src/log/file-system.js';
import { nodeFileSystem } from '../../src/log/node-file-system.js';
import { AssertionError } from '../../src/util/assert.js';
import { CorruptionError } from '../../src/util/errors.js';
import { propertyParams, seededRandom, withSeed } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';
import { crc, DIR, simDisk } from './index-fixtures.js';

const utf8 = new TextEncoder();
const keyOf = (id: Uint8Array): string => Buffer.from(id).toString('latin1');

/** The stream directory as the store would keep it in memory: entries by id, plus the summary. */
class Model {
  readonly entries = new Map<string, DirectoryEntry>();
  categoryNames: string[] = [];
  eventTypeNames: string[] = [];
  recentIds = new Uint8Array(0);
  filter = new Uint8Array(0);
  coveredPosition = 0;

  sorted(): DirectoryEntry[] {
    return [...this.entries.values()].sort((a, b) => compareIds(a.id, b.id));
  }

  summary(): DirectorySummary {
    return { coveredPosition: this.coveredPosition, streamCount: this.entries.size, categoryNames: [...this.categoryNames], eventTypeNames: [...this.eventTypeNames], recentIds: this.recentIds.slice(), filter: this.filter.slice() };
  }
}

/** Random ids: short ASCII, ids sharing prefixes, multi-byte Unicode (astral included), long ones up to 1026 bytes. */
function randomId(random: () => number): Uint8Array {
  const pick = random();
  const int = (n: number): number => Math.floor(random() * n);
  if (pick < 0.3) return utf8.encode(`account-${int(100_000)}`);
  if (pick < 0.55) {
    const prefix = ['order-', 'order-1', 'order-12', 'o', 'ord'][int(5)];
    return utf8.encode(prefix + 'ab1-'.slice(0, int(5)) + String(int(50)));
  }
  if (pick < 0.85) {
    let text = '';
    const length = 1 + int(12);
    for (let i = 0; i < length; i++) {
      const range = int(4);
      const code = range === 0 ? 0x20 + int(0x5f) : range === 1 ? 0x80 + int(0x700) : range === 2 ? 0x3000 + int(0xa000) : 0x10000 + int(0x1000);
      text += String.fromCodePoint(code);
    }
    return utf8.encode(text);
  }
  // Long: up to the limit exactly (1024 bytes of an id + `$$`), in bytes, so the id may end mid-word but not mid-character.
  const target = pick < 0.95 ? 500 + int(527) : 1026;
  const bytes = utf8.encode(`$$long-${int(1000)}-` + 'é'.repeat(600)).subarray(0, target);
  const id = new Uint8Array(bytes.length);
  id.set(bytes);
  if (bytes[bytes.length - 1] === 0xc3) id[id.length - 1] = 0x7a; // not mid-character: keep it UTF-8
  return id;
}

const u32 = (random: () => number): number => Math.floor(random() * 2 ** 32);

/** A sorted batch: new streams with the next numbers and updates of existing ones. */
function randomChanges(model: Model, random: () => number, newCount: number, updateCount: number): DirectoryEntry[] {
  const changes = new Map<string, DirectoryEntry>();
  const existing = [...model.entries.values()];
  let next = model.entries.size;
  if (random() < 0.5) model.categoryNames.push(`category-${model.categoryNames.length}`, 'Kategorie-ä');
  const category = (): number => Math.floor(random() * (model.categoryNames.length + 1));
  const recordBytes = (): number => (random() < 0.2 ? Number.MAX_SAFE_INTEGER - Math.floor(random() * 1000) : Math.floor(random() * 2 ** 40));
  for (let tries = 0; changes.size < newCount && tries < newCount * 20; tries++) {
    const id = randomId(random);
    if (model.entries.has(keyOf(id)) || changes.has(keyOf(id))) continue;
    changes.set(keyOf(id), { id, streamNo: next++, revisionCount: u32(random), category: category(), recordBytes: recordBytes() });
  }
  for (let i = 0; i < updateCount && existing.length > 0; i++) {
    const old = existing[Math.floor(random() * existing.length)];
    if (changes.has(keyOf(old.id))) continue;
    changes.set(keyOf(old.id), { id: old.id.slice(), streamNo: old.streamNo, revisionCount: u32(random), category: category(), recordBytes: recordBytes() });
  }
  const batch = [...changes.values()].sort((a, b) => compareIds(a.id, b.id));
  for (const change of batch) model.entries.set(keyOf(change.id), change);
  model.coveredPosition += 1 + Math.floor(random() * 10_000);
  model.eventTypeNames.push(`Event${model.eventTypeNames.length}`);
  model.recentIds = Uint8Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256));
  // The stream filter: none, or a power of two of at least 32 bytes.
  const filterBytes = random() < 0.3 ? 0 : 32 << Math.floor(random() * 6);
  model.filter = Uint8Array.from({ length: filterBytes }, () => Math.floor(random() * 256));
  return batch;
}

/** Ids next to the model's: with a byte more or less, the last byte changed. Some are absent. */
function neighbours(id: Uint8Array): Uint8Array[] {
  const out = [Uint8Array.of(...id, 0), Uint8Array.of(...id, 0xff), id.subarray(0, id.length - 1)];
  if (id[id.length - 1] < 0xff) out.push(Uint8Array.of(...id.subarray(0, id.length - 1), id[id.length - 1] + 1));
  if (id[id.length - 1] > 0) out.push(Uint8Array.of(...id.subarray(0, id.length - 1), id[id.length - 1] - 1));
  return out;
}

/** Whether two answers agree, field by field (toEqual on every lookup of 200,000 costs seconds). */
function same(a: DirectoryEntry | null, b: DirectoryEntry | null | undefined): boolean {
  if (a === null || b === null || b === undefined) return a === null && (b === null || b === undefined);
  return Buffer.from(a.id).equals(b.id) && a.streamNo === b.streamNo && a.revisionCount === b.revisionCount && a.category === b.category && a.recordBytes === b.recordBytes;
}

const show = (e: DirectoryEntry | null | undefined): string => (e ? JSON.stringify({ ...e, id: Buffer.from(e.id).toString('hex') }) : String(e));

/** Fails naming the first disagreement. */
function expectSame(actual: DirectoryEntry | null, expected: DirectoryEntry | null | undefined, what: string): void {
  if (!same(actual, expected)) expect.fail(`${what}: got ${show(actual)}, expected ${show(expected)}`);
}

function expectSameList(actual: Iterable<DirectoryEntry>, expected: readonly DirectoryEntry[], what: string): void {
  let i = 0;
  for (const entry of actual) expectSame(entry, expected[i], `${what}, entry ${i++}`);
  expect(i, `${what}: entries`).toBe(expected.length);
}

function expectSummary(reader: StreamDirectoryReader, model: Model): void {
  expect(reader.coveredPosition).toBe(model.coveredPosition);
  expect(reader.streamCount).toBe(model.entries.size);
  expect(reader.categoryNames).toEqual(model.categoryNames);
  expect(reader.eventTypeNames).toEqual(model.eventTypeNames);
  expect(reader.recentIds).toEqual(model.recentIds);
  expect(reader.filter).toEqual(model.filter);
}

function take<T>(iterator: Iterator<T>, count: number): T[] {
  const out: T[] = [];
  for (let r = iterator.next(); !r.done && out.length < count; r = iterator.next()) out.push(r.value);
  return out;
}

/** Every model id is found, ids next to them answer as the model does, and entriesFrom matches the model's suffix. */
function expectMatchesModel(reader: StreamDirectoryReader, model: Model, random: () => number): void {
  expectSummary(reader, model);
  const sorted = model.sorted();
  for (const entry of sorted) expectSame(reader.find(entry.id), entry, 'find of a model id');
  for (const entry of sorted.slice(0, 300)) {
    for (const probe of neighbours(entry.id)) expectSame(reader.find(probe), model.entries.get(keyOf(probe)), 'find next to a model id');
  }
  for (let i = 0; i < 20; i++) {
    const probe = random() < 0.5 || sorted.length === 0 ? randomId(random) : neighbours(sorted[Math.floor(random() * sorted.length)].id)[Math.floor(random() * 3)];
    expectSame(reader.find(probe), model.entries.get(keyOf(probe)), 'find of a random id');
    const from = sorted.findIndex((e) => compareIds(e.id, probe) >= 0);
    const suffix = from < 0 ? [] : sorted.slice(from);
    if (i % 4 === 0) expectSameList(reader.entriesFrom(probe), suffix, 'entriesFrom');
    else expectSameList(take(reader.entriesFrom(probe), 30), suffix.slice(0, 30), 'first entries of entriesFrom');
  }
  expectSameList(reader.entriesFrom(new Uint8Array(0)), sorted, 'all entries');
}

async function rewrite(fs: FileSystem, dir: string, previous: StreamDirectoryReader | null, changes: DirectoryEntry[], model: Model, cache: BlockCache): Promise<StreamDirectoryReader> {
  const fileName = streamDirectoryFileName(model.coveredPosition);
  await writeStreamDirectory({ fs, dir, fileName, crc, previous, changes: listOf(changes), summary: model.summary() });
  await previous?.close();
  return StreamDirectoryReader.open({ fs, dir, fileName, crc, cache });
}

describe('stream directory file', () => {
  test('stream directory file - rewrites with random batches of changes answer like the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.integer({ min: 1, max: 6 }), fc.boolean(), async (seed, rewrites, tinyCache) => {
        const random = seededRandom(seed);
        const dir = tempDir('annal-sdir-');
        // A tiny cache holds two blocks: lookups evict and read blocks again.
        const cache = new BlockCache(tinyCache ? 2 * DIRECTORY_BLOCK_BYTES : 1 << 24);
        const model = new Model();
        let reader: StreamDirectoryReader | null = null;
        try {
          for (let r = 0; r < rewrites; r++) {
            const changes = randomChanges(model, random, Math.floor(random() * 400), Math.floor(random() * 100));
            reader = await rewrite(nodeFileSystem, dir, reader, changes, model, cache);
            expectMatchesModel(reader, model, random);
          }
          expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
        } finally {
          await reader?.close();
        }
        expect(cache.stats().sizeBytes).toBe(0);
      }),
      propertyParams(25),
    );
  });

  test('stream directory file - an empty directory is valid, and a rewrite grows it', async () => {
    const dir = tempDir('annal-sdir-');
    const cache = new BlockCache(0);
    const model = new Model();
    let reader = await rewrite(nodeFileSystem, dir, null, [], model, cache);
    expect(reader.fileName).toBe('streams-0000000000000000.dir');
    expect(reader.find(utf8.encode('a'))).toBeNull();
    expect([...reader.entriesFrom(new Uint8Array(0))]).toEqual([]);
    expectSummary(reader, model);
    const changes = randomChanges(model, seededRandom(7), 50, 0);
    reader = await rewrite(nodeFileSystem, dir, reader, changes, model, cache);
    expectMatchesModel(reader, model, seededRandom(8));
    await reader.close();
  });

  test('stream directory file - every single damaged byte is refused at open with a CorruptionError naming the file', async () => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      const disk = await simDisk();
      const model = new Model();
      const changes = randomChanges(model, random, 150, 0);
      model.recentIds = Uint8Array.from({ length: 100 }, (_, i) => i);
      model.filter = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
      const fileName = streamDirectoryFileName(model.coveredPosition);
      await writeStreamDirectory({ fs: disk.fs, dir: DIR, fileName, crc, previous: null, changes: listOf(changes), summary: model.summary() });
      const path = `${DIR}/${fileName}`;
      const size = disk.durableBytes(path).length;
      const open = (): Promise<StreamDirectoryReader> => StreamDirectoryReader.open({ fs: disk.fs, dir: DIR, fileName, crc, cache: new BlockCache(0) });
      const intact = await open();
      expectMatchesModel(intact, model, random);
      await intact.close();
      expect(size).toBeGreaterThan(3 * DIRECTORY_BLOCK_BYTES);
      // Every byte: the header and its block's zeros, each block's CRC, offsets, entries and padding, the fence, names and recent ids.
      for (let offset = 0; offset < size; offset++) {
        const bit = Math.floor(random() * 8);
        disk.flipBit(path, offset, bit);
        const error = await open().then((reader) => reader.close().then(() => null), (e: unknown) => e);
        disk.flipBit(path, offset, bit);
        if (!(error instanceof CorruptionError) || error.file !== fileName || error.offset < 0 || error.offset > size) {
          throw new Error(`a flip of bit ${bit} at offset ${offset} of ${size} was answered with ${String(error)}`);
        }
      }
      // A byte more or fewer.
      const handle = await disk.fs.open(path, 'readwrite');
      await handle.write(new Uint8Array([0]), size);
      await expect(open()).rejects.toMatchObject({ name: 'CorruptionError', file: fileName });
      for (const cut of [size - 1, size - 100, DIRECTORY_BLOCK_BYTES + 10, 63, 0]) {
        await handle.truncate(cut);
        await expect(open()).rejects.toThrow(CorruptionError);
      }
      await handle.close();
    });
  });

  test('stream directory file - the writer refuses stream numbers that are not exactly 0 .. streamCount - 1 and leaves no temp file', async () => {
    const disk = await simDisk();
    const model = new Model();
    const changes = randomChanges(model, seededRandom(11), 100, 0);
    const write = (fileName: string, previous: StreamDirectoryReader | null, batch: DirectoryEntry[], summary: DirectorySummary): Promise<void> =>
      writeStreamDirectory({ fs: disk.fs, dir: DIR, fileName, crc, previous, changes: listOf(batch), summary });
    await write('streams-0000000000000001.dir', null, changes, model.summary());
    const previous = await StreamDirectoryReader.open({ fs: disk.fs, dir: DIR, fileName: 'streams-0000000000000001.dir', crc, cache: new BlockCache(1 << 20) });
    const entry = (id: string, streamNo: number): DirectoryEntry => ({ id: utf8.encode(id), streamNo, revisionCount: 1, category: 0, recordBytes: 10 });
    const summary = (streamCount: number): DirectorySummary => ({ ...model.summary(), streamCount });
    const refused: Array<[string, DirectoryEntry[], DirectorySummary]> = [
      ['a duplicate number in place of the next', [entry('~new', 99)], summary(101)],
      ['a number skipped', [entry('~new', 101)], summary(102)],
      ['a number at the stream count', [entry('~new', 101)], summary(101)],
      ['a new stream not counted', [entry('~new', 100)], summary(100)],
      ['a stream counted but not added', [], summary(101)],
      ['two new streams swapping a pair of numbers for a duplicate each', [entry('~new1', 100), entry('~new2', 100)], summary(102)],
      ['unsorted changes', [entry('~z', 100), entry('~a', 101)], summary(102)],
      ['an empty id', [entry('', 100)], summary(101)],
      ['a stream filter of 12 bytes (not a power of two)', [entry('~new', 100)], { ...summary(101), filter: new Uint8Array(12) }],
    ];
    for (const [what, batch, s] of refused) {
      await expect(write('streams-0000000000000002.dir', previous, batch, s), what).rejects.toThrow(AssertionError);
      expect(disk.fileNames(DIR), what).toEqual(['streams-0000000000000001.dir']);
    }
    // A stream whose number changes hands the duplicate to the tally: refused too.
    const moved = { ...[...model.entries.values()].find((e) => e.streamNo === 5)!, streamNo: 6 };
    await expect(write('streams-0000000000000002.dir', previous, [moved], model.summary())).rejects.toThrow(AssertionError);
    expect(disk.fileNames(DIR)).toEqual(['streams-0000000000000001.dir']);
    await write('streams-0000000000000002.dir', previous, [entry('~new', 100)], summary(101));
    expect(disk.fileNames(DIR)).toEqual(['streams-0000000000000001.dir', 'streams-0000000000000002.dir']);
    await previous.close();
  });

  test('stream directory file - 200,000 streams in several rewrites: many blocks and spans', async () => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      const dir = tempDir('annal-sdir-');
      const cache = new BlockCache(16 * DIRECTORY_BLOCK_BYTES);
      const model = new Model();
      let reader: StreamDirectoryReader | null = null;
      let next = 0;
      for (let r = 0; r < 4; r++) {
        const batch = new Map<string, DirectoryEntry>();
        for (let i = 0; i < 50_000; i++) {
          const id = utf8.encode(`account-${Math.floor(random() * 1e9)}-${next}`);
          batch.set(keyOf(id), { id, streamNo: next++, revisionCount: i, category: 0, recordBytes: i * 100 });
        }
        for (const old of [...model.entries.values()].filter(() => random() < 0.05)) {
          batch.set(keyOf(old.id), { ...old, revisionCount: old.revisionCount + 1, recordBytes: old.recordBytes + 7 });
        }
        const changes = [...batch.values()].sort((a, b) => compareIds(a.id, b.id));
        for (const change of changes) model.entries.set(keyOf(change.id), change);
        model.coveredPosition += 50_000;
        reader = await rewrite(nodeFileSystem, dir, reader, changes, model, cache);
      }
      const final = reader!;
      const sorted = model.sorted();
      expect(final.streamCount).toBe(200_000);
      expectSameList(final.entriesFrom(new Uint8Array(0)), sorted, 'all entries');
      for (let k = 0; k < 20_000; k++) {
        const entry = sorted[Math.floor(random() * sorted.length)];
        expectSame(final.find(entry.id), entry, 'find');
        expectSame(final.find(Uint8Array.of(...entry.id, 0x21)), null, 'find of an absent id');
      }
      expect(cache.stats().evictions).toBeGreaterThan(0);
      await final.close();
    });
  }, 60_000);
});
