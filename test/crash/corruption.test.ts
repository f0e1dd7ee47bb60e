// RELIABILITY.md P10/P11 under F7: bit flips and zeroed sectors anywhere in a store's files are
// either refused with a CorruptionError naming file and offset, or harmless (every read identical);
// a read never returns different bytes. Derived data (the checkpoint) is rebuilt, not trusted.

import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CorruptionError, EventStore, type EventStoreOptions, type RecordedEvent } from '../../src/annal.js';
import { CHECKPOINT_FILE, decodeCheckpointFile } from '../../src/format/checkpoint.js';
import { verifyStore, type VerifyReport } from '../../src/store/verify.js';
import { silentLogger } from '../../src/util/logger.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { copyDisk } from '../harness/copy-disk.js';
import { describeInjection, hitsRecords, injectCorruption, type Injection } from '../harness/inject-corruption.js';
import { SimDisk } from '../harness/sim-disk.js';
import { storeLayout, type StoreLayout } from '../harness/store-layout.js';
import { seededRandom, withSeed } from '../support/random.js';
import { SAMPLE_STREAMS, appendSample, steppingClock } from '../support/sample-store.js';

const DIR = '/data/store';
/** Injections per run (ANNAL_CORRUPTIONS raises it for a longer soak). */
const INJECTIONS = Number(process.env.ANNAL_CORRUPTIONS ?? 10_000);
/** Each batch builds its own store (its own chunk size and events); injections damage copies of it. */
const BATCHES = 8;
const CHUNK_SIZES_BYTES = [8 * 1024, 12 * 1024, 16 * 1024];
/** Share of injections made while the store is open: only the read path can catch those. */
const WHILE_OPEN_SHARE = 0.3;
/** Share of injections whose damaged store `annal verify` checks before recovery opens it. */
const VERIFY_SHARE = 0.2;
const SECTOR_BYTES = 512;
const FILE_NAME = /^(chunk-\d{6,}\.annal|checkpoint\.annal)$/;

type Read = { readonly name: string; run(store: EventStore): Promise<RecordedEvent[]> };

/**
 * Every read the check repeats: $all both ways (backwards from the middle), every stream, one
 * stream backwards, and the three filters (event type, category, stream prefix).
 */
const READS: readonly Read[] = [
  { name: 'readAll', run: (s) => s.readAll() },
  { name: 'readAll backwards from the middle', run: async (s) => s.readAll({ direction: 'backwards', fromPosition: (await s.headPosition()) / 2n, maxCount: 60 }) },
  ...SAMPLE_STREAMS.map((id): Read => ({ name: `readStream ${id}`, run: (s) => s.readStream(id) })),
  { name: 'readStream order-1 backwards', run: (s) => s.readStream('order-1', { direction: 'backwards', maxCount: 20 }) },
  { name: 'readAll type Blob', run: (s) => s.readAll({ filter: { eventType: 'Blob' } }) },
  { name: 'readAll category order', run: (s) => s.readAll({ filter: { category: 'order' } }) },
  { name: 'readAll prefix account-2', run: (s) => s.readAll({ filter: { streamPrefix: 'account-2' } }) },
];

function payload(value: unknown): string {
  if (value === undefined) return 'none';
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value.buffer, value.byteOffset, value.length).toString('latin1')}`;
  return `json:${JSON.stringify(value)}`;
}

/** Every field a user can see, as one comparable string. */
function fingerprint(e: RecordedEvent): string {
  return [e.position, e.streamId, e.revision, e.id, e.type, e.contentType, e.created.getTime(), payload(e.data), payload(e.metadata)].join('|');
}

interface Batch {
  readonly disk: SimDisk;
  readonly layout: StoreLayout;
  readonly options: EventStoreOptions;
  /** Fingerprints of each read of READS on the undamaged store. */
  readonly expected: readonly (readonly string[])[];
  /** A copy that stays open, for damage while open. */
  live?: { readonly disk: SimDisk; readonly store: EventStore };
}

/** A store of several sealed chunks and an active one, written in two sessions and closed cleanly. */
async function buildBatch(random: () => number): Promise<Batch> {
  const disk = new SimDisk();
  const chunkSizeBytes = CHUNK_SIZES_BYTES[Math.floor(random() * CHUNK_SIZES_BYTES.length)];
  // A small idempotency window: the default one (100,000 ids, 2.8 MB) is allocated at every open and
  // would double the time of an injection; 1,024 still holds every id of these stores.
  const options: EventStoreOptions = { chunkSizeBytes, clock: steppingClock(), logger: silentLogger, checkpointIntervalMs: 50, idempotencyWindowEvents: 1024 };
  const chunkFiles = (): number => disk.fileNames(DIR).filter((name) => name.startsWith('chunk-')).length;
  const counter = { n: 0 };
  const targetChunks = 4 + Math.floor(random() * 2);
  for (const sessionChunks of [Math.ceil(targetChunks / 2), targetChunks]) {
    const store = await EventStore.open(DIR, { ...options, fileSystem: disk.fs });
    await appendSample(store, random, () => chunkFiles() >= sessionChunks, counter);
    // A few more appends so the active chunk holds records, not just a header.
    let more = 1 + Math.floor(random() * 8);
    await appendSample(store, random, () => more-- === 0, counter);
    await store.close();
  }
  const store = await EventStore.open(DIR, { ...options, fileSystem: disk.fs });
  const expected: string[][] = [];
  for (const read of READS) expected.push((await read.run(store)).map(fingerprint));
  await store.close();
  expect(expected[0]).toHaveLength(counter.n);
  return { disk, layout: storeLayout(disk, DIR), options, expected };
}

type Verdict =
  | { readonly kind: 'detected'; readonly errors: readonly CorruptionError[]; readonly atOpen: boolean }
  | { readonly kind: 'harmless' }
  | { readonly kind: 'wrong'; readonly detail: string }
  | { readonly kind: 'unexpected'; readonly detail: string };

function firstDifference(got: readonly string[], want: readonly string[]): string {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    if (got[i] !== want[i]) return `event ${i} of ${want.length}: got ${got[i]?.slice(0, 160) ?? 'nothing'}, want ${want[i]?.slice(0, 160) ?? 'nothing'}`;
  }
  return 'identical';
}

/** When the damage happens: before the store opens (recovery sees it) or while it is open (only reads do). */
type Moment = 'at rest' | 'while open';

/** Opens the store on `disk`; a CorruptionError is a detection, any other error a failure. */
async function openStore(disk: SimDisk, batch: Batch): Promise<EventStore | Verdict> {
  try {
    return await EventStore.open(DIR, { ...batch.options, clock: steppingClock(), fileSystem: disk.fs });
  } catch (error) {
    if (error instanceof CorruptionError) return { kind: 'detected', errors: [error], atOpen: true };
    return { kind: 'unexpected', detail: `open threw ${String(error)}` };
  }
}

/** Runs every read of READS, comparing each result with the clean store's. */
async function readEverything(store: EventStore, batch: Batch): Promise<Verdict> {
  const errors: CorruptionError[] = [];
  for (let r = 0; r < READS.length; r++) {
    let got: string[];
    try {
      got = (await READS[r].run(store)).map(fingerprint);
    } catch (error) {
      if (error instanceof CorruptionError) {
        errors.push(error);
        continue;
      }
      return { kind: 'unexpected', detail: `${READS[r].name} threw ${String(error)}` };
    }
    const want = batch.expected[r];
    if (got.length !== want.length || got.some((g, i) => g !== want[i])) {
      return { kind: 'wrong', detail: `${READS[r].name} returned different events without an error: ${firstDifference(got, want)}` };
    }
  }
  return errors.length > 0 ? { kind: 'detected', errors, atOpen: false } : { kind: 'harmless' };
}

/** Puts back the bytes an injection changed (in the cache and durably) and checks the file is clean again. */
async function undoInjection(disk: SimDisk, clean: SimDisk, injection: Injection): Promise<void> {
  const path = join(DIR, injection.file);
  if (injection.mode === 'flip') {
    for (const [offset, bit] of injection.flips) disk.flipBit(path, offset, bit);
  } else {
    const from = injection.sector * SECTOR_BYTES;
    const handle = await disk.fs.open(path, 'readwrite');
    await handle.write(clean.durableBytes(path).slice(from, from + SECTOR_BYTES), from);
    await handle.datasync();
    await handle.close();
  }
  const want = clean.durableBytes(path);
  if (Buffer.compare(disk.cachedBytes(path), want) !== 0 || Buffer.compare(disk.durableBytes(path), want) !== 0) {
    throw new Error(`${injection.file} differs from the clean store after undoing ${describeInjection(injection)}`);
  }
}

interface Tally {
  injected: number;
  detected: number;
  harmless: number;
  wrong: number;
}

const newTally = (): Tally => ({ injected: 0, detected: 0, harmless: 0, wrong: 0 });

function rate(t: Tally): string {
  return `${t.injected} injected, ${t.detected} detected, ${t.harmless} harmless (verified identical), ${t.wrong} wrong`;
}

/** The outcome of every injection, the invariants each must keep, and the figures printed at the end. */
class Outcomes {
  readonly total = newTally();
  private readonly byKind = new Map<string, Tally>();
  readonly failures: string[] = [];
  recordHits = 0;
  recordHitsDetected = 0;
  private readonly verify = { runs: 0, agreed: 0, cleanWhenHarmless: 0, trailerOnlyWhenHarmless: 0 };

  private fail(where: string, injection: Injection, why: string): void {
    if (this.failures.length < 10) this.failures.push(`${where}: ${describeInjection(injection)}: ${why}`);
  }

  add(where: string, layout: StoreLayout, injection: Injection, moment: Moment, verdict: Verdict): void {
    const tallies = [this.total, this.tally(injection.kind), this.tally(`damaged ${moment}`)];
    for (const t of tallies) t.injected++;
    if (verdict.kind === 'wrong' || verdict.kind === 'unexpected') {
      for (const t of tallies) t.wrong++;
      this.fail(where, injection, `${moment}: ${verdict.detail}`);
      return;
    }
    for (const t of tallies) t[verdict.kind]++;
    for (const error of verdict.kind === 'detected' ? verdict.errors : []) {
      if (!FILE_NAME.test(error.file) || !Number.isSafeInteger(error.offset) || error.offset < 0) this.fail(where, injection, `CorruptionError without a file and offset: ${error.message}`);
      if (error.file !== injection.file) this.fail(where, injection, `CorruptionError names another file: ${error.message}`);
    }
    if (hitsRecords(layout, injection)) {
      this.recordHits++;
      if (verdict.kind === 'detected') this.recordHitsDetected++;
      else this.fail(where, injection, `${moment}: committed record bytes changed, yet every read succeeded`);
    }
    if (injection.file === CHECKPOINT_FILE && verdict.kind !== 'harmless') {
      this.fail(where, injection, `a damaged checkpoint must be ignored and rebuilt, not fail the store: ${verdict.kind === 'detected' ? verdict.errors[0].message : ''}`);
    }
  }

  /**
   * `annal verify` run on the damaged store before it was opened must agree with recovery: an
   * error where recovery refused, and none when every read came back identical, except a damaged
   * footer trailer magic (outside the footer CRC; recovery finds the footer without it).
   */
  crossCheck(where: string, injection: Injection, verdict: Verdict, report: VerifyReport): void {
    this.verify.runs++;
    if (verdict.kind === 'detected' && verdict.atOpen) {
      const refused = verdict.errors[0];
      if (report.errors.some((e) => e.file === refused.file && e.offset === refused.offset)) this.verify.agreed++;
      else this.fail(where, injection, `recovery refused (${refused.message}) but verify reported ${JSON.stringify(report.errors)}`);
    } else if (verdict.kind === 'harmless') {
      if (report.errors.length === 0) this.verify.cleanWhenHarmless++;
      else if (report.errors.every((e) => /trailer damaged/.test(e.reason))) this.verify.trailerOnlyWhenHarmless++;
      else this.fail(where, injection, `every read was identical but verify reported ${JSON.stringify(report.errors)}`);
    }
  }

  private tally(key: string): Tally {
    let t = this.byKind.get(key);
    if (t === undefined) this.byKind.set(key, (t = newTally()));
    return t;
  }

  summary(seed: number, seconds: string): string {
    const v = this.verify;
    return [
      `corruption: ${rate(this.total)} (seed ${seed}, ${BATCHES} stores, ${seconds} s)`,
      `  record bytes hit: ${this.recordHits}, detected ${this.recordHitsDetected} (${this.recordHits === 0 ? '-' : ((100 * this.recordHitsDetected) / this.recordHits).toFixed(2)} %)`,
      `  annal verify before open: ${v.runs} runs; error at the spot recovery named ${v.agreed}; clean when harmless ${v.cleanWhenHarmless}, only a footer trailer error ${v.trailerOnlyWhenHarmless}`,
      // The two moments first, then the kinds of region aimed at.
      ...[...this.byKind].sort(([a], [b]) => Number(!a.startsWith('damaged')) - Number(!b.startsWith('damaged')) || a.localeCompare(b))
        .map(([kind, t]) => `  ${kind.padEnd(22)} ${rate(t)}`),
    ].join('\n');
  }
}

/**
 * Damages a copy of the batch's store once, reads everything back and records the outcome. Damage
 * at rest is made before the store opens (recovery must see it; `annal verify` checks a share of
 * these first). Damage while open goes to one store that stays open for the whole batch and is
 * undone after the reads: each such injection still starts from clean bytes, and a read that
 * met damage must not leave anything behind that a later read would serve.
 */
async function injectOnce(where: string, batch: Batch, random: () => number, outcomes: Outcomes): Promise<void> {
  const draw = random();
  if (draw < WHILE_OPEN_SHARE) {
    batch.live ??= await openLive(batch);
    const injection = injectCorruption(batch.live.disk, batch.layout, random);
    const verdict = await readEverything(batch.live.store, batch);
    await undoInjection(batch.live.disk, batch.disk, injection);
    outcomes.add(where, batch.layout, injection, 'while open', verdict);
    return;
  }
  const disk = copyDisk(batch.disk);
  const injection = injectCorruption(disk, batch.layout, random);
  const report = draw > 1 - VERIFY_SHARE ? await verifyStore(DIR, { fileSystem: disk.fs }) : null;
  // The damaged copy is dropped unclosed: a close (which writes a checkpoint) would add a third to
  // the time of an injection, and the copy is never used again.
  const store = await openStore(disk, batch);
  const verdict = store instanceof EventStore ? await readEverything(store, batch) : store;
  outcomes.add(where, batch.layout, injection, 'at rest', verdict);
  if (report !== null) outcomes.crossCheck(where, injection, verdict, report);
}

async function openLive(batch: Batch): Promise<{ disk: SimDisk; store: EventStore }> {
  const disk = copyDisk(batch.disk);
  const store = await openStore(disk, batch);
  if (!(store instanceof EventStore)) throw new Error(`the clean store does not open: ${JSON.stringify(store)}`);
  return { disk, store };
}

describe('corruption', () => {
  // About 40 s on an idle 2-core machine; the timeout leaves room for a loaded CI runner.
  test('corruption - every injected bit flip or zeroed sector is detected or provably harmless, never a wrong read', { timeout: 300_000 }, async () => {
    await withSeed(async (seed) => {
      const started = performance.now();
      const outcomes = new Outcomes();
      for (let b = 0; b < BATCHES; b++) {
        const random = seededRandom((seed ^ Math.imul(b + 1, 0x9e3779b1)) | 0);
        const batch = await buildBatch(random);
        const count = Math.floor(INJECTIONS / BATCHES) + (b < INJECTIONS % BATCHES ? 1 : 0);
        for (let i = 0; i < count; i++) await injectOnce(`store ${b} injection ${i}`, batch, random, outcomes);
        await batch.live?.store.close();
      }
      console.log(outcomes.summary(seed, ((performance.now() - started) / 1000).toFixed(1)));
      expect(outcomes.failures, outcomes.failures.join('\n')).toEqual([]);
      expect(outcomes.total.wrong).toBe(0);
      expect(outcomes.total.injected).toBeGreaterThanOrEqual(INJECTIONS);
      expect(outcomes.recordHitsDetected).toBe(outcomes.recordHits);
      expect(outcomes.total.detected + outcomes.total.harmless).toBe(outcomes.total.injected);
    });
  });

  const checkpointDamage: Record<string, (disk: SimDisk, path: string, random: () => number) => Promise<void>> = {
    'both slots zeroed': async (disk, path) => {
      disk.zeroSector(path, 0);
      disk.zeroSector(path, 8);
    },
    'overwritten with random bytes': async (disk, path, random) => {
      const handle = await disk.fs.open(path, 'readwrite');
      await handle.write(Uint8Array.from({ length: 8192 }, () => Math.floor(random() * 256)), 0);
      await handle.sync();
      await handle.close();
    },
    'truncated to zero bytes': async (disk, path) => {
      const handle = await disk.fs.open(path, 'readwrite');
      await handle.truncate(0);
      await handle.sync();
      await handle.close();
    },
    deleted: async (disk, path) => {
      await disk.fs.unlink(path);
      await disk.fs.syncDir(DIR);
    },
  };

  test.each(Object.keys(checkpointDamage))('corruption - a store whose checkpoint is %s opens, reads identically and rewrites it', async (name) => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      const batch = await buildBatch(random);
      const disk = copyDisk(batch.disk);
      const path = join(DIR, CHECKPOINT_FILE);
      await checkpointDamage[name](disk, path, random);
      const store = await openStore(disk, batch);
      if (!(store instanceof EventStore)) throw new Error(`the store does not open: ${JSON.stringify(store)}`);
      expect(await readEverything(store, batch)).toEqual({ kind: 'harmless' });
      await store.close();
      // The close wrote a fresh checkpoint from the log itself.
      const checkpoint = decodeCheckpointFile(disk.durableBytes(path), new Crc32c(new Wasm()));
      expect(checkpoint).toMatchObject({ clean: true, nextPosition: batch.expected[0].length, chunkNumber: batch.layout.chunkCount - 1 });
    });
  });
});
