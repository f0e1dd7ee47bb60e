// `verifyStore` (annal verify): a clean store reports clean; damage is an error naming file and
// offset; a torn tail is only a warning; a damaged checkpoint is a warning; no file is ever changed.

import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CorruptionError, EventStore, InvalidArgumentError, type EventStoreOptions, type FileHandle, type FileSystem } from '../../src/annal.js';
import { CHUNK_HEADER_BYTES, FOOTER_FIXED_BYTES } from '../../src/format/chunk-layout.js';
import { CHECKPOINT_FILE } from '../../src/format/checkpoint.js';
import { verifyStore, type VerifyProgress, type VerifyReport } from '../../src/store/verify.js';
import { silentLogger } from '../../src/util/logger.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { copyDisk } from '../harness/copy-disk.js';
import { SimDisk } from '../harness/sim-disk.js';
import { recordOffsets, storeLayout } from '../harness/store-layout.js';
import { seededRandom, withSeed } from '../support/random.js';
import { SAMPLE_STREAMS, appendSample, steppingClock } from '../support/sample-store.js';
import { tempDir } from '../support/temp-dir.js';

const DIR = '/data/store';
const CHUNK = (n: number): string => `chunk-${String(n).padStart(6, '0')}.annal`;

function options(fileSystem?: FileSystem): EventStoreOptions {
  return { chunkSizeBytes: 8 * 1024, logger: silentLogger, clock: steppingClock(), ...(fileSystem ? { fileSystem } : {}) };
}

/** A cleanly closed store of four or more chunks in `dir` (on `fs`); returns how many events it holds. */
/** Removes the persisted index files, so the next open scans (and checks) every chunk. */
async function removeIndexFiles(disk: SimDisk): Promise<void> {
  for (const name of await disk.fs.readdir(join(DIR, 'index'))) await disk.fs.unlink(join(DIR, 'index', name));
}

async function fillStore(dir: string, fs: FileSystem | undefined, random: () => number, chunkFiles: () => number): Promise<number> {
  const store = await EventStore.open(dir, options(fs));
  const counter = { n: 0 };
  await appendSample(store, random, () => chunkFiles() >= 4, counter);
  let more = 3;
  await appendSample(store, random, () => more-- === 0, counter);
  await store.close();
  return counter.n;
}

async function sampleDisk(random: () => number): Promise<{ disk: SimDisk; events: number }> {
  const disk = new SimDisk();
  const events = await fillStore(DIR, disk.fs, random, () => disk.fileNames(DIR).filter((n) => n.startsWith('chunk-')).length);
  return { disk, events };
}

async function writeAt(disk: SimDisk, name: string, offset: number, bytes: Uint8Array): Promise<void> {
  const handle = await disk.fs.open(join(DIR, name), 'readwrite');
  await handle.write(bytes, offset);
  await handle.sync();
  await handle.close();
}

function offsetsOf(disk: SimDisk, name: string): number[] {
  return recordOffsets(disk.durableBytes(join(DIR, name)));
}

/** A FileSystem that forwards to `fs` and records every call that could change a file. */
function watchWrites(fs: FileSystem): { fs: FileSystem; writes: string[] } {
  const writes: string[] = [];
  const handle = (h: FileHandle): FileHandle => ({
    path: h.path,
    syncWrites: h.syncWrites,
    read: (...args) => h.read(...args),
    write: (b, o) => (writes.push(`write ${h.path}`), h.write(b, o)),
    writeNow: (b, o) => (writes.push(`writeNow ${h.path}`), h.writeNow(b, o)),
    datasync: () => (writes.push(`datasync ${h.path}`), h.datasync()),
    sync: () => (writes.push(`sync ${h.path}`), h.sync()),
    truncate: (n) => (writes.push(`truncate ${h.path}`), h.truncate(n)),
    size: () => h.size(),
    close: () => h.close(),
  });
  return {
    writes,
    fs: {
      async open(path, mode, opts) {
        if (mode !== 'read') writes.push(`open ${mode} ${path}`);
        return handle(await fs.open(path, mode, opts));
      },
      rename: (from, to) => (writes.push(`rename ${from}`), fs.rename(from, to)),
      unlink: (path) => (writes.push(`unlink ${path}`), fs.unlink(path)),
      readdir: (dir) => fs.readdir(dir),
      mkdir: (dir) => (writes.push(`mkdir ${dir}`), fs.mkdir(dir)),
      syncDir: (dir) => (writes.push(`syncDir ${dir}`), fs.syncDir(dir)),
    },
  };
}

/** Every file's cached and durable bytes, to show that nothing changed. */
function diskSnapshot(disk: SimDisk): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of disk.fileNames(DIR)) {
    const path = join(DIR, name);
    files[name] = `${Buffer.from(disk.cachedBytes(path)).toString('base64')} ${Buffer.from(disk.durableBytes(path)).toString('base64')}`;
  }
  return files;
}

/** Runs verify read-only-checked: it must open nothing for writing and change no byte. */
async function verifyReadOnly(disk: SimDisk): Promise<VerifyReport> {
  const before = diskSnapshot(disk);
  const watched = watchWrites(disk.fs);
  const report = await verifyStore(DIR, { fileSystem: watched.fs });
  expect(watched.writes).toEqual([]);
  expect(diskSnapshot(disk)).toEqual(before);
  return report;
}

async function openError(disk: SimDisk): Promise<unknown> {
  return EventStore.open(DIR, options(disk.fs)).then(async (store) => {
    await store.close();
    return null;
  }, (error: unknown) => error);
}

describe('verify', () => {
  test('verify - a clean store gives a clean report with its counts', async () => {
    await withSeed(async (seed) => {
      const { disk, events } = await sampleDisk(seededRandom(seed));
      const report = await verifyReadOnly(disk);
      const chunks = storeLayout(disk, DIR).chunkCount;
      expect(report.errors).toEqual([]);
      expect(report.warnings).toEqual([]);
      expect(report).toMatchObject({ chunks, sealedChunks: chunks - 1, events, streams: SAMPLE_STREAMS.length, omittedIssues: 0 });
      expect(report.checkpoint).toMatchObject({ clean: true, nextPosition: events, chunkNumber: chunks - 1 });
      expect(report.bytes).toBe(disk.fileNames(DIR).filter((n) => n.startsWith('chunk-')).reduce((sum, n) => sum + disk.durableBytes(join(DIR, n)).length, 0));
    });
  });

  test('verify - a flipped bit in a sealed chunk record is an error naming the file and the record offset', async () => {
    await withSeed(async (seed) => {
      const { disk } = await sampleDisk(seededRandom(seed));
      const record = offsetsOf(disk, CHUNK(1))[2];
      disk.flipBit(join(DIR, CHUNK(1)), record + 70, 3);
      const report = await verifyReadOnly(disk);
      expect(report.errors[0]).toMatchObject({ file: CHUNK(1), offset: record });
      expect(report.errors[0].reason).toMatch(/CRC mismatch/);
      // The store agrees. Without index files it scans the chunk, but (a sealed chunk made durable
      // before the checkpoint) without the record CRCs: it refuses to open when the bit broke a
      // field open checks (the stream id, say), and otherwise the read of the record fails there.
      await removeIndexFiles(disk);
      const error = await openError(disk);
      if (error !== null) {
        expect(error).toMatchObject({ name: 'CorruptionError', file: CHUNK(1) });
      } else {
        const store = await EventStore.open(DIR, options(disk.fs));
        const read = await store.readAll().then(() => null, (e: unknown) => e);
        await store.close();
        expect(read).toMatchObject({ name: 'CorruptionError', file: CHUNK(1), offset: record });
      }
    });
  });

  test('verify - a torn final append in the active chunk is a warning only, and gone after a reopen', async () => {
    await withSeed(async (seed) => {
      const { disk, events } = await sampleDisk(seededRandom(seed));
      const active = CHUNK(storeLayout(disk, DIR).chunkCount - 1);
      const offsets = offsetsOf(disk, active);
      const end = offsets[offsets.length - 1];
      // The first 40 bytes of a record (the last one's) reached the disk after the end; the rest did not.
      const last = disk.durableBytes(join(DIR, active)).slice(offsets[offsets.length - 2], offsets[offsets.length - 2] + 40);
      await writeAt(disk, active, end, last);
      const report = await verifyReadOnly(disk);
      expect(report.errors).toEqual([]);
      expect(report.warnings).toHaveLength(1);
      expect(report.warnings[0]).toMatchObject({ file: active, offset: end });
      expect(report.warnings[0].reason).toMatch(/torn tail/);
      expect(report.events).toBe(events);
      const store = await EventStore.open(DIR, options(disk.fs));
      expect(await store.headPosition()).toBe(BigInt(events - 1));
      await store.close();
      expect((await verifyReadOnly(disk)).warnings).toEqual([]);
    });
  });

  test('verify - stray bytes past a zero length after a clean close are a warning that recovery leaves them', async () => {
    await withSeed(async (seed) => {
      const { disk } = await sampleDisk(seededRandom(seed));
      const active = CHUNK(storeLayout(disk, DIR).chunkCount - 1);
      const end = offsetsOf(disk, active).at(-1)!;
      disk.flipBit(join(DIR, active), end + 300, 4);
      const report = await verifyReadOnly(disk);
      expect(report.errors).toEqual([]);
      expect(report.warnings).toEqual([expect.objectContaining({ file: active, offset: end })]);
      expect(report.warnings[0].reason).toMatch(/1 non-zero bytes from offset \d+; recovery leaves them/);
      const store = await EventStore.open(DIR, options(disk.fs));
      await store.close();
      expect(disk.durableBytes(join(DIR, active))[end + 300]).toBe(1 << 4);
    });
  });

  test('verify - damage in the active chunk before the durable checkpoint is an error, not a torn tail', async () => {
    await withSeed(async (seed) => {
      const { disk } = await sampleDisk(seededRandom(seed));
      const active = CHUNK(storeLayout(disk, DIR).chunkCount - 1);
      const first = offsetsOf(disk, active)[0];
      disk.flipBit(join(DIR, active), first + 9, 0);
      const report = await verifyReadOnly(disk);
      expect(report.errors).toEqual([expect.objectContaining({ file: active, offset: first })]);
      expect(report.errors[0].reason).toMatch(/checkpoint says the log reaches/);
      expect(report.warnings.filter((w) => /torn tail/.test(w.reason))).toEqual([]);
      expect(await openError(disk)).toBeInstanceOf(CorruptionError);
    });
  });

  test('verify - a damaged chunk header, footer map or footer trailer, and a missing chunk are errors', async () => {
    await withSeed(async (seed) => {
      const { disk: clean } = await sampleDisk(seededRandom(seed));
      const footerAt = (disk: SimDisk, n: number): number => offsetsOf(disk, CHUNK(n)).at(-1)!;
      const cases: [string, (disk: SimDisk) => Promise<void>, string, (disk: SimDisk) => number, RegExp][] = [
        ['header', async (d) => d.flipBit(join(DIR, CHUNK(2)), 40, 1), CHUNK(2), () => 124, /chunk header: CRC mismatch/],
        ['footer map', async (d) => d.flipBit(join(DIR, CHUNK(0)), footerAt(d, 0) + FOOTER_FIXED_BYTES + 4, 2), CHUNK(0), (d) => d.durableBytes(join(DIR, CHUNK(0))).length - 12, /chunk footer: CRC mismatch/],
        ['footer trailer', async (d) => d.flipBit(join(DIR, CHUNK(1)), d.durableBytes(join(DIR, CHUNK(1))).length - 3, 0), CHUNK(1), (d) => d.durableBytes(join(DIR, CHUNK(1))).length - 8, /chunk footer: bad end magic/],
        ['missing', async (d) => d.fs.unlink(join(DIR, CHUNK(1))), CHUNK(1), () => 0, /missing chunk file/],
      ];
      for (const [what, damage, file, offset, reason] of cases) {
        const disk = copyDisk(clean);
        await damage(disk);
        const report = await verifyReadOnly(disk);
        expect(report.errors[0], what).toMatchObject({ file, offset: offset(disk) });
        expect(report.errors[0].reason, what).toMatch(reason);
      }
    });
  });

  test('verify - a record whose revision does not follow its stream is an error, even with a valid CRC', async () => {
    await withSeed(async (seed) => {
      const { disk } = await sampleDisk(seededRandom(seed));
      const active = CHUNK(storeLayout(disk, DIR).chunkCount - 1);
      const path = join(DIR, active);
      const offsets = offsetsOf(disk, active);
      const at = offsets[offsets.length - 2];
      const record = disk.durableBytes(path).slice(at, offsets[offsets.length - 1]);
      const dv = new DataView(record.buffer);
      dv.setBigUint64(16, dv.getBigUint64(16, true) + 1n, true);
      dv.setUint32(4, new Crc32c(new Wasm()).of(record.subarray(8)), true);
      await writeAt(disk, active, at, record);
      const report = await verifyReadOnly(disk);
      expect(report.errors).toEqual([expect.objectContaining({ file: active, offset: at })]);
      expect(report.errors[0].reason).toMatch(/revision \d+ of stream '.*' does not follow/);
      // Open finds it when it scans the chunk; index files covering the record would be trusted
      // instead (verify, above, reads everything).
      await removeIndexFiles(disk);
      expect(await openError(disk)).toMatchObject({ name: 'CorruptionError', file: active, offset: at });
    });
  });

  test('verify - a damaged or missing checkpoint is a warning: it is derived data that recovery rebuilds', async () => {
    await withSeed(async (seed) => {
      const { disk: clean } = await sampleDisk(seededRandom(seed));
      const zeroed = copyDisk(clean);
      zeroed.zeroSector(join(DIR, CHECKPOINT_FILE), 0);
      zeroed.zeroSector(join(DIR, CHECKPOINT_FILE), 8);
      const deleted = copyDisk(clean);
      await deleted.fs.unlink(join(DIR, CHECKPOINT_FILE));
      for (const disk of [zeroed, deleted]) {
        const report = await verifyReadOnly(disk);
        expect(report.errors).toEqual([]);
        expect(report.checkpoint).toBeNull();
        expect(report.warnings.map((w) => w.file)).toContain(CHECKPOINT_FILE);
      }
    });
  });

  test('verify - reports progress up to every byte of every chunk', async () => {
    await withSeed(async (seed) => {
      const { disk } = await sampleDisk(seededRandom(seed));
      const progress: VerifyProgress[] = [];
      const report = await verifyStore(DIR, { fileSystem: disk.fs, onProgress: (p) => progress.push(p) });
      expect(progress[0]).toMatchObject({ chunksDone: 0, bytesDone: 0, chunkCount: report.chunks, bytesTotal: report.bytes });
      expect(progress.at(-1)).toMatchObject({ chunksDone: report.chunks, bytesDone: report.bytes });
      progress.slice(1).forEach((p, i) => expect(p.bytesDone).toBeGreaterThanOrEqual(progress[i].bytesDone));
    });
  });

  test('verify - on a real directory it changes no byte, size or modification time', async () => {
    await withSeed(async (seed) => {
      const dir = tempDir();
      await fillStore(dir, undefined, seededRandom(seed), () => readdirSync(dir).filter((n) => n.startsWith('chunk-')).length);
      // A torn tail, which recovery would zero: verify must leave it.
      const active = readdirSync(dir).filter((n) => n.startsWith('chunk-')).sort().at(-1)!;
      const bytes = readFileSync(join(dir, active));
      const end = recordOffsets(bytes).at(-1)!;
      bytes.fill(0x5a, end, end + 100);
      writeFileSync(join(dir, active), bytes);
      const state = (): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((n) => {
        const stat = statSync(join(dir, n));
        return `${n} ${stat.size} ${stat.mtimeMs} ${stat.isDirectory() ? 'dir' : readFileSync(join(dir, n)).toString('base64')}`;
      });
      const before = state();
      const report = await verifyStore(dir);
      expect(report.errors).toEqual([]);
      expect(report.warnings).toEqual([expect.objectContaining({ file: active, offset: end })]);
      expect(state()).toEqual(before);
    });
  });

  test('verify - a missing directory, or one without a store, cannot be verified', async () => {
    await expect(verifyStore(join(tempDir(), 'nowhere'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(verifyStore(tempDir())).rejects.toBeInstanceOf(InvalidArgumentError);
    const disk = new SimDisk();
    await disk.fs.mkdir(DIR);
    await expect(verifyStore(DIR, { fileSystem: disk.fs })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  test('verify - a new, empty store is clean', async () => {
    const disk = new SimDisk();
    const store = await EventStore.open(DIR, options(disk.fs));
    await store.close();
    const report = await verifyReadOnly(disk);
    expect(report).toMatchObject({ chunks: 1, sealedChunks: 0, events: 0, streams: 0, errors: [], warnings: [] });
    expect(report.checkpoint).toMatchObject({ chunkNumber: 0, chunkOffset: CHUNK_HEADER_BYTES, nextPosition: 0 });
  });
});
