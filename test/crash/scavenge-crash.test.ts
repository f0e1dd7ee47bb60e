// Power loss during a scavenge (format-spec/log.md §9, durability.md): a store whose metadata and
// deletes left unreadable events is scavenged on the simulated disk, and the power goes before
// every call of the scavenge that can make something durable, with every fate of the writes still
// pending (every combination of the scavenge's own writes up to a cap, a seeded sample beyond) and
// every prefix of the pending directory operations. Recovery must open, read back every readable
// event unchanged, show no unreadable one, leave each chunk wholly old or wholly rewritten
// (rewritten once that was made durable), pass verifyStore and take an append. A second case
// appends while the scavenge runs: every acknowledged append must survive too. A third makes most
// of the log unreadable, so that the scavenge merges neighbouring chunks into one file: the power
// then also goes between the merged file's rename and the removal of the files it replaces, and
// recovery must settle every such state on one set of chunks (no file left over).

import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, test } from 'vitest';
import {
  EventStore, StreamDeletedError, verifyStore, type AppendResult, type EventStoreOptions, type FileSystem, type RecordedEvent,
} from '../../src/annal.js';
import type { GlobalIndex } from '../../src/index/global-index.js';
import { INDEX_DIR } from '../../src/index/persisted-indexes.js';
import { CHUNK_HEADER_BYTES, chunkFileName, decodeChunkHeader, parseChunkFileName } from '../../src/format/chunk-layout.js';
import { resolveChunkFiles } from '../../src/log/chunk-directory.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { PERSISTENCE_CALLS, SimDisk, SimulatedCrash, sweepOutcomes, type PendingSummary, type WriteOutcome } from '../harness/sim-disk.js';
import { copyDisk } from '../harness/copy-disk.js';
import { checkStillWorks } from '../harness/checks.js';
import { DATA_DIR, storeOptions } from '../harness/workload.js';
import { seededRandom, withSeed } from '../support/random.js';

/** The build clock starts here and moves BUILD_STEP_MS per append, so `$maxAge` has old and new events. */
const BUILD_START_MS = 1_764_288_000_000;
const BUILD_STEP_MS = 20_000;
/** `$maxAge` of `cart-2`, in build appends: it keeps the events of about its last 40. */
const MAX_AGE_APPENDS = 40;

/** Every stream of the scenario and what leaves some of its events unreadable. */
const STREAMS = [
  'order-1', // no metadata: everything stays
  'order-2', // $maxCount 3
  'order-3', // $tb 10
  'order-9', // soft-deleted at the end
  'cart-1', // $maxCount 1
  'cart-2', // $maxAge
  'cart-3', // soft-deleted half way, then appended to again (revived)
  'cart-9', // hard-deleted
] as const;
const CATEGORIES = ['order', 'cart'] as const;
/** Streams appended to while the scavenge runs (their own category, so the others read as before). */
const LIVE_STREAMS = ['live-1', 'live-2'] as const;

type PendingOp = PendingSummary['ops'][number]['op'];

interface Fixed {
  readonly position: bigint;
  readonly revision: bigint;
  readonly streamId: string;
  readonly id: string;
  readonly type: string;
  readonly createdMs: number;
  readonly data: string;
  readonly metadata: string;
}

/** Every field of an event, decoded (so two reads compare by value). */
function fix(e: RecordedEvent): Fixed {
  return {
    position: e.position, revision: e.revision, streamId: e.streamId, id: e.id, type: e.type,
    createdMs: e.createdEpochMs, data: JSON.stringify(e.data), metadata: JSON.stringify(e.metadata ?? null),
  };
}

/** What a store shows: each stream (or 'deleted'), each category, and unfiltered $all by position. */
interface Visible {
  readonly streams: Map<string, Fixed[] | 'deleted'>;
  readonly categories: Map<string, Fixed[]>;
  readonly all: Map<bigint, Fixed>;
}

async function visible(store: EventStore): Promise<Visible> {
  const streams = new Map<string, Fixed[] | 'deleted'>();
  for (const streamId of [...STREAMS, ...STREAMS.map((s) => `$$${s}`), ...LIVE_STREAMS]) {
    try {
      streams.set(streamId, (await store.readStream(streamId)).map(fix));
    } catch (error) {
      if (!(error instanceof StreamDeletedError)) throw error;
      streams.set(streamId, 'deleted');
    }
  }
  const categories = new Map<string, Fixed[]>();
  for (const category of CATEGORIES) categories.set(category, (await store.readAll({ filter: { category } })).map(fix));
  const all = new Map<bigint, Fixed>();
  for (const e of await store.readAll()) all.set(e.position, fix(e));
  return { streams, categories, all };
}

const clockAt = (nowMs: () => number): EventStoreOptions => ({ clock: { nowMs } });

let idCounter = 0;
const nextId = (): string => `00000000-0000-4000-a000-${(++idCounter).toString(16).padStart(12, '0')}`;

interface Scenario {
  readonly name: string;
  /** Appends of the build phase (1–3 events of 40 to 400 bytes each). */
  readonly buildAppends: number;
  /** Appends of 2 events each issued one after the other while the scavenge runs… */
  readonly liveAppends: number;
  /** …of this many bytes of padding per event. */
  readonly liveEventBytes: number;
  /** Whether the build ends with a nearly empty active chunk, so the live appends need no new chunk. */
  readonly roomForLiveAppends: boolean;
  /** Fate combinations of the writes made since the scavenge began tried per crash point at most (a seeded sample beyond). */
  readonly combinationsMax: number;
  /** Share of the build appends that go to the hard-deleted `cart-9` (default: as many as to any other stream). */
  readonly hardDeletedShare?: number;
}

/** The clock of the scavenge and of every read: after the whole build. */
const nowMs = (scenario: Scenario): number => BUILD_START_MS + scenario.buildAppends * BUILD_STEP_MS + 60_000;
const options = (scenario: Scenario, disk: SimDisk): EventStoreOptions => storeOptions(disk, { checkpointIntervalMs: 0, ...clockAt(() => nowMs(scenario)) });

/**
 * Builds the store to scavenge on a fresh disk and closes it: random appends to every stream, the
 * metadata and deletes of STREAMS along the way.
 */
async function build(scenario: Scenario, random: () => number): Promise<SimDisk> {
  const disk = new SimDisk();
  const n = scenario.buildAppends;
  let step = 0;
  const store = await EventStore.open(DATA_DIR, storeOptions(disk, clockAt(() => BUILD_START_MS + step * BUILD_STEP_MS)));
  for (; step < n; step++) {
    const share = scenario.hardDeletedShare;
    const streamId = share !== undefined && random() < share ? 'cart-9' : STREAMS[Math.floor(random() * STREAMS.length)];
    const count = 1 + Math.floor(random() * 3);
    const events = Array.from({ length: count }, () => ({
      id: nextId(), type: random() < 0.5 ? 'Placed' : 'Changed', data: { step, pad: 'x'.repeat(40 + Math.floor(random() * 360)) },
    }));
    await store.appendToStream(streamId, events);
    if (step === Math.floor(n * 0.2)) await store.setStreamMetadata('order-2', { $maxCount: 3 });
    if (step === Math.floor(n * 0.3)) await store.setStreamMetadata('cart-1', { $maxCount: 1 });
    if (step === Math.floor(n * 0.4)) await store.setStreamMetadata('cart-2', { $maxAge: (MAX_AGE_APPENDS * BUILD_STEP_MS) / 1000 });
    if (step === Math.floor(n * 0.5)) await store.deleteStream('cart-3');
    if (step === Math.floor(n * 0.7)) await store.setStreamMetadata('order-3', { $tb: 10 });
  }
  await store.deleteStream('order-9');
  await store.deleteStream('cart-9', { hard: true });
  if (scenario.roomForLiveAppends) {
    // 3000-byte events until one opens a new chunk: about 5 KiB of the active chunk stay free.
    const chunkOf = (position: bigint): number => globalIndex(store).locate(Number(position)).chunkNumber;
    const active = chunkOf(await store.headPosition());
    for (;;) {
      const { position } = await store.appendToStream('order-1', [{ id: nextId(), type: 'Placed', data: { pad: 'x'.repeat(3000) } }]);
      if (chunkOf(position) !== active) break;
    }
  }
  await store.close();
  return disk;
}

interface LiveAppend {
  readonly streamId: string;
  readonly events: readonly { readonly id: string; readonly type: string; readonly data: { pad: string } }[];
  /** unknown: it failed with the store (the power loss), so it may or may not be in the log. */
  status: 'pending' | 'ok' | 'unknown';
  result?: AppendResult;
}

/**
 * Appends to LIVE_STREAMS, one append after the other, from the moment the scavenge starts until
 * `count` are done or the disk fails; records what each was told. Every run of a scenario issues
 * the same appends (the same ids), so its calls repeat those of the reference run.
 */
async function appendWhileScavenging(store: EventStore, count: number, eventBytes: number): Promise<LiveAppend[]> {
  const appends: LiveAppend[] = [];
  for (let i = 0; i < count; i++) {
    const append: LiveAppend = {
      streamId: LIVE_STREAMS[i % LIVE_STREAMS.length], status: 'pending',
      events: [0, 1].map((k) => ({ id: `00000000-0000-4000-b000-${(i * 2 + k).toString(16).padStart(12, '0')}`, type: 'Live', data: { pad: 'l'.repeat(eventBytes) } })),
    };
    appends.push(append);
    try {
      append.result = await store.appendToStream(append.streamId, append.events.map((e) => ({ ...e })));
      append.status = 'ok';
    } catch {
      append.status = 'unknown';
      break;
    }
  }
  return appends;
}

function globalIndex(store: EventStore): GlobalIndex {
  return (store as unknown as { parts: { indexes: { global: GlobalIndex } } }).parts.indexes.global;
}

/** The chunk number of every position of the store (holes included). */
function chunkOfPositions(store: EventStore, head: bigint): Map<bigint, number> {
  const global = globalIndex(store);
  const out = new Map<bigint, number>();
  for (let p = 0n; p <= head; p++) out.set(p, global.locate(Number(p)).chunkNumber);
  return out;
}

/** Positions of unfiltered $all per chunk, for the positions the store had before the scavenge. */
function positionsByChunk(all: Map<bigint, Fixed>, chunkOf: Map<bigint, number>): Map<number, bigint[]> {
  const out = new Map<number, bigint[]>();
  for (const position of all.keys()) {
    const chunk = chunkOf.get(position);
    if (chunk !== undefined) out.set(chunk, [...(out.get(chunk) ?? []), position]);
  }
  return out;
}

interface Reference {
  readonly before: Visible;
  /** Unfiltered $all once the scavenge is complete. */
  readonly after: Map<bigint, Fixed>;
  readonly chunkOf: Map<bigint, number>;
  /** Event ids that no read honouring metadata shows (what the scavenge may remove). */
  readonly unreadable: Set<string>;
}

/** Every violation of the scavenge's promises in a recovered store, as readable lines. */
function compare(reference: Reference, recovered: Visible, committedChunks: ReadonlySet<number>): string[] {
  const problems: string[] = [];
  const { before, after, chunkOf, unreadable } = reference;
  for (const [streamId, events] of before.streams) {
    if ((LIVE_STREAMS as readonly string[]).includes(streamId)) continue;
    if (!isDeepStrictEqual(recovered.streams.get(streamId), events)) problems.push(`readStream(${streamId}) differs from before the scavenge`);
  }
  for (const [category, events] of before.categories) {
    if (!isDeepStrictEqual(recovered.categories.get(category), events)) problems.push(`readAll(category ${category}) differs from before the scavenge`);
  }
  for (const [position, event] of recovered.all) {
    if (chunkOf.has(position) && !isDeepStrictEqual(before.all.get(position), event)) problems.push(`$all at ${position} is not the event that was there before the scavenge`);
  }
  for (const [position, event] of before.all) {
    if (!unreadable.has(event.id) && !recovered.all.has(position)) problems.push(`$all lost the readable event at ${position} (${event.streamId}@${event.revision})`);
  }
  // A chunk is replaced by a rename: either all its removed events are back or none is.
  const was = positionsByChunk(before.all, chunkOf);
  const scavenged = positionsByChunk(after, chunkOf);
  const now = positionsByChunk(recovered.all, chunkOf);
  for (const [chunk, positions] of was) {
    const isOld = isDeepStrictEqual(now.get(chunk) ?? [], positions);
    const isNew = isDeepStrictEqual(now.get(chunk) ?? [], scavenged.get(chunk) ?? []);
    if (!isOld && !isNew) problems.push(`${chunkFileName(chunk)} is neither the old chunk nor the scavenged one`);
    else if (!isNew && committedChunks.has(chunk)) problems.push(`${chunkFileName(chunk)} was rewritten durably, yet its removed events came back`);
  }
  return problems;
}

/** Every violation of the appends made during the scavenge: acknowledged ones kept, nothing else invented. */
function compareLive(appends: readonly LiveAppend[], head: bigint, recovered: Visible): string[] {
  const problems: string[] = [];
  const sent = new Map<string, { append: LiveAppend; index: number }>();
  for (const append of appends) append.events.forEach((event, index) => sent.set(event.id, { append, index }));
  const found = new Map<string, Fixed>();
  for (const [position, event] of recovered.all) {
    if (position <= head) continue;
    const origin = sent.get(event.id);
    if (origin === undefined) problems.push(`$all at ${position} holds ${event.id}, which was never appended`);
    else if (origin.append.streamId !== event.streamId || JSON.stringify(origin.append.events[origin.index].data) !== event.data) problems.push(`${event.id} differs from what was appended`);
    found.set(event.id, event);
  }
  for (const append of appends) {
    const present = append.events.filter((e) => found.has(e.id)).length;
    if (present > 0 && present < append.events.length) problems.push(`${present} of ${append.events.length} events of one append survived`);
    if (append.status !== 'ok') continue;
    const last = found.get(append.events[append.events.length - 1].id);
    if (present < append.events.length || last === undefined) problems.push(`acknowledged append to ${append.streamId} is missing`);
    else if (last.position !== append.result!.position || last.revision !== append.result!.nextExpectedRevision) problems.push(`acknowledged append to ${append.streamId} moved`);
  }
  for (const streamId of LIVE_STREAMS) {
    const inAll = [...recovered.all.values()].filter((e) => e.streamId === streamId);
    if (!isDeepStrictEqual(recovered.streams.get(streamId), inAll)) problems.push(`readStream(${streamId}) disagrees with $all`);
  }
  return problems;
}

/**
 * The renames and directory fsyncs a run completed, in the order they completed: calls overlap
 * (appends go on during the scavenge), so a call that started before the power loss may not have
 * finished.
 */
class DirectoryLog {
  private sequence = 0;
  readonly renamed: { readonly to: string; readonly chunks: readonly number[]; readonly doneAt: number }[] = [];
  readonly synced: { readonly dir: string; readonly startedAt: number }[] = [];

  /** `disk`'s file system, with rename and syncDir recorded when they complete. */
  wrap(disk: SimDisk): FileSystem {
    return {
      ...disk.fs,
      rename: async (from, to) => {
        await disk.fs.rename(from, to);
        // The chunk numbers the renamed file covers, from its header (read without a disk call).
        const range = parseChunkFileName(to.slice(to.lastIndexOf('/') + 1)) === null ? null : chunkRange(disk.cachedBytes(to));
        const chunks = range === null ? [] : Array.from({ length: range.last - range.first + 1 }, (_, i) => range.first + i);
        this.renamed.push({ to, chunks, doneAt: ++this.sequence });
      },
      syncDir: async (dir) => {
        const startedAt = ++this.sequence;
        await disk.fs.syncDir(dir);
        this.synced.push({ dir, startedAt });
      },
    };
  }

  /**
   * Chunks whose rewrite must survive the power loss: renamed into place (each chunk a merged file
   * covers, with it) and the data directory fsync'd by a call that started after the rename
   * returned; every renamed chunk once the scavenge has resolved (it reported them done).
   */
  committedChunks(scavengeResolved: boolean): Set<number> {
    const out = new Set<number>();
    for (const { chunks, doneAt } of this.renamed) {
      if (scavengeResolved || this.synced.some((s) => s.dir === DATA_DIR && s.startedAt > doneAt)) for (const chunk of chunks) out.add(chunk);
    }
    return out;
  }
}

const crc = new Crc32c(new Wasm());

/** First and last chunk number a chunk file covers, from its header. */
function chunkRange(bytes: Uint8Array): { first: number; last: number } {
  const header = decodeChunkHeader(bytes.subarray(0, CHUNK_HEADER_BYTES), 'chunk', crc);
  return { first: header.chunkNumber, last: header.lastChunkNumber };
}

/** Merged files on a disk (files covering more than one chunk number), and the files they cover. */
function mergeState(disk: SimDisk): { merged: number; leftovers: number } {
  const numbers = disk.fileNames(DATA_DIR).map(parseChunkFileName).filter((n): n is number => n !== null).sort((a, b) => a - b);
  const ranges = new Map(numbers.map((n) => [n, chunkRange(disk.cachedBytes(`${DATA_DIR}/${chunkFileName(n)}`)).last]));
  const directory = resolveChunkFiles(numbers, (n) => ranges.get(n)!);
  expect(directory.overlapping).toEqual([]);
  return { merged: directory.files.filter((f) => f.lastChunkNumber! > f.chunkNumber).length, leftovers: directory.superseded.length };
}

/**
 * Fates for the pending writes at a crash point: every combination of fates of the writes made
 * since the scavenge began (a seeded sample of `combinationsMax` beyond that), with each write already
 * pending before it (the LOCK file, which the scavenge never touches) taking its fates in turn, so
 * each of those meets every fate without multiplying the combinations.
 */
function fates(ops: readonly PendingOp[], before: ReadonlySet<PendingOp>, combinationsMax: number, random: () => number): WriteOutcome[][] {
  const choices = ops.map((op) => sweepOutcomes(op));
  const own = ops.map((op, i) => (before.has(op) ? -1 : i)).filter((i) => i >= 0);
  const total = own.reduce((n, i) => n * choices[i].length, 1);
  let combos: WriteOutcome[][] = [ops.map(() => ({ kind: 'keep' }))];
  if (total <= combinationsMax) {
    for (const i of own) combos = combos.flatMap((combo) => choices[i].map((o) => combo.map((c, k) => (k === i ? o : c))));
  } else {
    combos = Array.from({ length: combinationsMax }, () => ops.map((_, k) => choices[k][Math.floor(random() * choices[k].length)]));
  }
  const turns = Math.max(combos.length, ...ops.map((op, k) => (before.has(op) ? choices[k].length : 1)));
  return Array.from({ length: turns }, (_, t) => combos[t % combos.length].map((o, k) => (before.has(ops[k]) ? choices[k][t % choices[k].length] : o)));
}

/** A digest of every file of a crash image (names and bytes): equal digests, equal disks. */
function digest(image: SimDisk): string {
  const hash = createHash('sha256');
  for (const dir of [DATA_DIR, `${DATA_DIR}/${INDEX_DIR}`]) {
    for (const name of image.fileNames(dir)) {
      const bytes = image.durableBytes(`${dir}/${name}`);
      hash.update(`${dir}/${name}\0${bytes.length}\0`);
      hash.update(bytes);
    }
  }
  return hash.digest('hex');
}

/** Opens a copy of `base` and scavenges it at once (appending meanwhile when the scenario says so). */
async function scavengeRun(scenario: Scenario, base: SimDisk, crashAtCall: number | null) {
  const disk = copyDisk(base);
  const directory = new DirectoryLog();
  const store = await EventStore.open(DATA_DIR, { ...options(scenario, disk), fileSystem: directory.wrap(disk) });
  const pendingBefore = new Set(disk.pending().ops.map(({ op }) => op));
  const firstCall = disk.callCount + 1;
  disk.crashAtCall = crashAtCall;
  const live = appendWhileScavenging(store, scenario.liveAppends, scenario.liveEventBytes);
  const scavenged = await store.scavenge().catch((error: unknown) => {
    if (!(error instanceof SimulatedCrash)) throw error;
    return null;
  });
  const lastCall = disk.callCount;
  return { disk, store, directory, pendingBefore, firstCall, lastCall, scavenged, appends: await live };
}

async function sweep(scenario: Scenario, seed: number): Promise<void> {
  const random = seededRandom(seed);
  const base = await build(scenario, random);

  // What the store shows before the scavenge (a copy opened and read, never scavenged).
  const unchanged = await EventStore.open(DATA_DIR, options(scenario, copyDisk(base)));
  const before = await visible(unchanged);
  const head = await unchanged.headPosition();
  const chunkOf = chunkOfPositions(unchanged, head);
  await unchanged.close();
  const readable = new Set<string>();
  for (const events of [...before.streams.values(), ...before.categories.values()]) if (events !== 'deleted') for (const e of events) readable.add(e.id);
  const unreadable = new Set([...before.all.values()].filter((e) => !readable.has(e.id)).map((e) => e.id));

  // The run whose calls every crash run repeats, to its end: open, then scavenge at once.
  const dry = await scavengeRun(scenario, base, null);
  const result = dry.scavenged!;
  const after = (await visible(dry.store)).all;
  await dry.store.close();
  const reference: Reference = { before, after, chunkOf, unreadable };
  // (A merging scavenge writes one file for several chunks.)
  expect(result.chunksRewritten, 'the scenario gives the scavenge several chunks to rewrite').toBeGreaterThanOrEqual(scenario.hardDeletedShare === undefined ? 3 : 2);
  expect(result.eventsRemoved).toBe([...before.all.keys()].filter((p) => !after.has(p)).length);
  expect(dry.appends.every((a) => a.status === 'ok')).toBe(true);
  // A complete scavenge removes only unreadable events, and keeps its promises itself.
  expect([...before.all.values()].filter((e) => !after.has(e.position) && !unreadable.has(e.id)), 'removed events were all unreadable').toEqual([]);
  expect(compare(reference, { ...before, all: after }, new Set()), 'after a complete scavenge').toEqual([]);

  const points = dry.disk.trace.filter((t) => t.index >= dry.firstCall && t.index <= dry.lastCall && PERSISTENCE_CALLS.has(t.kind)).map((t) => t.index);
  points.push(dry.lastCall + 1); // after the scavenge resolved
  let crashPoints = 0;
  let repeats = 0;
  /** Crash images holding a merged file beside some of the files it replaced. */
  let imagesWithLeftovers = 0;
  const seen = new Set<string>();
  for (const crashAtCall of points) {
    const run = await scavengeRun(scenario, base, crashAtCall);
    const { disk } = run;
    disk.crashed = true;
    const call = crashAtCall <= dry.lastCall ? dry.disk.trace.find((t) => t.index === crashAtCall) : undefined;
    if (call !== undefined) expect(disk.trace.at(-1), 'the crash run repeats the reference run call for call').toEqual(call);
    const committed = run.directory.committedChunks(run.scavenged !== null);
    const pending = disk.pending();
    let first = true;
    for (const outcomes of fates(pending.ops.map(({ op }) => op), run.pendingBefore, scenario.combinationsMax, random)) {
      for (let dirOpsKept = 0; dirOpsKept <= pending.dirOps; dirOpsKept++) {
        const image = disk.image(outcomes, dirOpsKept, (n) => new Uint8Array(n).fill(0x5a));
        // Files no durable name reaches vanish whatever their writes did, so many images are
        // equal; one is checked again only where more chunks must have been rewritten.
        const key = `${digest(image)} ${[...committed].join(',')}`;
        if (seen.has(key)) {
          repeats++;
          continue;
        }
        seen.add(key);
        const where = `'${scenario.name}', crash before call ${crashAtCall} (${call === undefined ? 'after the scavenge resolved' : `${call.kind} ${call.name}`}), outcomes ${outcomes.map((o) => o.kind).join('/')}, ${dirOpsKept} of ${pending.dirOps} dir ops kept`;
        const verified = await verifyStore(DATA_DIR, { fileSystem: image.fs });
        expect(verified.errors, `verifyStore of the crash image, ${where}`).toEqual([]);
        const leftovers = mergeState(image).leftovers;
        if (leftovers > 0) imagesWithLeftovers++;
        expect(verified.warnings.filter((w) => w.reason.startsWith('left over from a merging scavenge')).length, `verifyStore names each leftover, ${where}`).toBe(leftovers);
        const recovered = await EventStore.open(DATA_DIR, options(scenario, image)).catch((error: unknown) => {
          throw new Error(`recovery refused ${where}: ${String(error)}`);
        });
        // Recovery settles on one set of chunk files: a merged file wins over the files it covers.
        expect(mergeState(image).leftovers, `no file left over after recovery, ${where}`).toBe(0);
        const shown = await visible(recovered);
        const problems = [...compare(reference, shown, committed), ...compareLive(run.appends, head, shown)];
        // That the store takes an append (and keeps it over a reopen), and verifies clean after
        // recovery and that append, is checked once per persistence point.
        if (first) {
          problems.push(...await checkStillWorks(() => EventStore.open(DATA_DIR, options(scenario, image)), recovered));
          const reverified = await verifyStore(DATA_DIR, { fileSystem: image.fs });
          expect(reverified.errors, `verifyStore after recovery and an append, ${where}`).toEqual([]);
        } else {
          await recovered.close();
        }
        first = false;
        expect(problems, where).toEqual([]);
        crashPoints++;
      }
    }
  }
  const acknowledged = dry.appends.length;
  console.log(
    `scavenge crash '${scenario.name}': ${crashPoints} distinct crash points (disk images after a power loss; ${repeats} repeats skipped) at ${points.length} persistence points `
    + `of a scavenge that rewrote ${result.chunksRewritten} of ${result.chunksScanned} chunks (${result.chunksMerged} merged files, ${result.chunkFilesBefore} chunk files before, ${result.chunkFilesAfter} after; `
    + `${imagesWithLeftovers} images held a merged file and files it replaced)${acknowledged > 0 ? `, ${acknowledged} appends alongside` : ''}`,
  );
  expect(crashPoints).toBeGreaterThan(0);
  if (scenario.hardDeletedShare !== undefined) {
    expect(result.chunksMerged, 'the scenario makes the scavenge merge chunks').toBeGreaterThanOrEqual(2);
    expect(result.chunkFilesAfter).toBeLessThan(result.chunkFilesBefore);
    expect(imagesWithLeftovers, 'some crash images hold a merged file beside files it replaced').toBeGreaterThan(0);
  }
}

describe('scavenge crash', () => {
  test('scavenge crash - a power loss at every persistence point of a merging scavenge leaves the old chunks or the merged file, never both', async () => {
    await withSeed((seed) => sweep({ name: 'merging', buildAppends: 90, liveAppends: 0, liveEventBytes: 0, roomForLiveAppends: false, combinationsMax: 16, hardDeletedShare: 0.75 }, seed));
  }, 120_000);

  test('scavenge crash - a power loss at every persistence point of a scavenge loses no readable event and brings back no removed one', async () => {
    await withSeed((seed) => sweep({ name: 'scavenge alone', buildAppends: 120, liveAppends: 0, liveEventBytes: 0, roomForLiveAppends: false, combinationsMax: 64 }, seed));
  }, 120_000);

  test('scavenge crash - appends made while a scavenge runs survive a power loss during it', async () => {
    await withSeed((seed) => sweep({ name: 'appending meanwhile', buildAppends: 70, liveAppends: 6, liveEventBytes: 100, roomForLiveAppends: true, combinationsMax: 12 }, seed));
  }, 120_000);

  // Appends that seal the active chunk while the scavenge runs: the power can go while the seal's
  // footer write is in flight, leaving a torn footer on the last chunk, which recovery must treat
  // as never sealed (it used to refuse the store: 'chunk footer: truncated' / 'bad end magic').
  test('scavenge crash - appends that seal a chunk while a scavenge runs survive a power loss during it', async () => {
    await withSeed((seed) => sweep({ name: 'appending over a chunk rollover meanwhile', buildAppends: 70, liveAppends: 12, liveEventBytes: 400, roomForLiveAppends: false, combinationsMax: 12 }, seed));
  }, 120_000);
});
