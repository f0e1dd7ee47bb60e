// The scale group (S0–S6): today's baseline for the figures the "Scale" work targets. A store of
// N events in N/10 streams of 10 (N = 1,000,000, or 10,000,000 with ANNAL_BENCH_SCALE=10m),
// opened in fresh child processes; one stream of 1,000,000 events; stream table against a Map.

import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EventStore, type RecordedEvent } from '../src/annal.js';
import { EVENT_TYPE } from './fixture.js';
import { perSecond, quantile, type Figure, type Target } from './figure.js';
import { describe } from './report.js';
import { runChild, type MemorySample } from './scale-child.js';
import type { LookupArgument, LookupReport } from './scale-lookup-child.js';
import type { OpenArgument, OpenReport } from './scale-open-child.js';
import {
  dropCachedStore, ensureScaleStore, ensureSingleStreamStore, scaleSize, SCALE_ENV, SINGLE_STREAM_EVENTS, SINGLE_STREAM_ID,
  STREAM_EVENTS, type CachedStore, type ScaleSize,
} from './scale-stores.js';

/** Child processes that each open the store once; figures are the median over them. */
export const OPEN_RUNS = 3;
export const LOOKUP_ENTRIES = 1_000_000;
export const LOOKUP_PASSES = 5;
export const SINGLE_PAGE_EVENTS = 10_000;
export const BACKWARD_TAIL_EVENTS = 10;
/** The size the open-time and memory targets are stated for; smaller runs only print them. */
const TARGET_EVENTS = 10_000_000;
const OPEN_MS_MAX = 2000;
const RSS_MB_MAX = 400;
const SEED = 0x5ca1e;

export interface ScaleTiming {
  readonly durationMs: number;
  readonly warmupMs: number;
}

export interface ScaleResult {
  /** bench/results/<resultName>.json: one file per size ('scale-1m', 'scale-10m'), so a run of one keeps the other. */
  readonly resultName: string;
  readonly figures: Figure[];
  /** Kept beside the figures in the result file. */
  readonly details: Record<string, unknown>;
}

function median(values: readonly number[]): number {
  return quantile([...values], 0.5);
}

function storeBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).reduce((sum, name) => {
    const stat = statSync(join(dir, name));
    return sum + (stat.isFile() ? stat.size : 0);
  }, 0);
}

/** Runs the open child OPEN_RUNS times on the store in `dir`. */
async function openChildren(dir: string, size: ScaleSize, timing: ScaleTiming, log: (line: string) => void): Promise<OpenReport[]> {
  const runs: OpenReport[] = [];
  for (let run = 0; run < OPEN_RUNS; run++) {
    const argument: OpenArgument = { dir, streams: size.streams, warmupMs: timing.warmupMs, durationMs: timing.durationMs, seed: SEED + run };
    const r = await runChild<OpenReport>('scale-open-child.js', argument);
    if (r.events !== size.events) throw new Error(`the store opened with ${r.events} events, expected ${size.events}`);
    const g = r.globalIndexAfterReads;
    const globalMb = (g.offsetArrayBytes + g.cachedPageBytes) / (1024 * 1024);
    log(`     open run ${run + 1}/${OPEN_RUNS}: ${Math.round(r.openMs)} ms, RSS ${Math.round(r.afterOpen.rssMb)} MB, readStream p50 ${r.p50Us.toFixed(1)} µs, global index after the reads ${globalMb.toFixed(1)} MiB (${g.pagedChunks} of ${g.chunks} chunks paged)`);
    runs.push(r);
  }
  return runs;
}

/**
 * S4: removes the store's persisted index files and opens it once in a child, which rebuilds every
 * index from the log (the worst case of an open after a crash of the index writer); its close
 * writes the index files the S1 runs then open with.
 */
async function rebuildRun(dir: string, size: ScaleSize, log: (line: string) => void): Promise<OpenReport> {
  rmSync(join(dir, 'index'), { recursive: true, force: true });
  const r = await runChild<OpenReport>('scale-open-child.js', { dir, streams: size.streams, warmupMs: 0, durationMs: 1, seed: SEED } satisfies OpenArgument);
  if (r.events !== size.events) throw new Error(`the store opened with ${r.events} events, expected ${size.events}`);
  log(`     rebuild run (index files removed): ${Math.round(r.openMs)} ms, RSS ${Math.round(r.afterOpen.rssMb)} MB`);
  return r;
}

/** Builds or reuses the scale store and opens it in children; a cached store that fails is rebuilt once. */
async function openRuns(size: ScaleSize, timing: ScaleTiming, log: (line: string) => void): Promise<{ store: CachedStore; runs: OpenReport[]; rebuild: OpenReport }> {
  const store = await ensureScaleStore(size, log);
  try {
    const rebuild = await rebuildRun(store.dir, size, log);
    return { store, runs: await openChildren(store.dir, size, timing, log), rebuild };
  } catch (error) {
    if (store.builtNow) throw error;
    log(`the cached store at ${store.dir} did not open as built (${String(error)}): rebuilding it`);
    dropCachedStore(store.dir);
    const rebuilt = await ensureScaleStore(size, log);
    const rebuild = await rebuildRun(rebuilt.dir, size, log);
    return { store: rebuilt, runs: await openChildren(rebuilt.dir, size, timing, log), rebuild };
  }
}

function memoryFigure(id: string, name: string, runs: readonly OpenReport[], pick: (r: OpenReport) => MemorySample, field: 'rssMb' | 'heapUsedMb', target: Target | undefined): Figure {
  const values = runs.map((r) => pick(r)[field]);
  return {
    id, name, value: median(values), unit: 'MB', comparesToBaseline: false, ...(target ? { target } : {}),
    details: { runs: values, samples: runs.map(pick) },
  };
}

function openFigures(size: ScaleSize, runs: readonly OpenReport[], rebuild: OpenReport): Figure[] {
  const atTargetSize = size.events >= TARGET_EVENTS;
  const openMs = runs.map((r) => r.openMs);
  const rssTarget: Target | undefined = atTargetSize ? { kind: 'maximum', max: RSS_MB_MAX } : undefined;
  const n = size.events.toLocaleString('en-US');
  return [
    {
      id: 'S1', name: `open after a clean close, ${n} events (fresh process, median of ${runs.length})`, value: median(openMs), unit: 'ms',
      comparesToBaseline: false, ...(atTargetSize ? { target: { kind: 'maximum', max: OPEN_MS_MAX } as Target } : {}), details: { runs: openMs },
    },
    memoryFigure('S2a', 'RSS after open (after a full GC)', runs, (r) => r.afterOpen, 'rssMb', rssTarget),
    memoryFigure('S2b', 'heap used after open (after a full GC)', runs, (r) => r.afterOpen, 'heapUsedMb', undefined),
    memoryFigure('S2c', 'RSS after the random-read warm-up (after a full GC)', runs, (r) => r.afterWarmup, 'rssMb', rssTarget),
    memoryFigure('S2d', 'heap used after the random-read warm-up (after a full GC)', runs, (r) => r.afterWarmup, 'heapUsedMb', undefined),
    {
      id: 'S3a', name: `random readStream of a ${STREAM_EVENTS}-event stream, warm, p50`, value: median(runs.map((r) => r.p50Us)), unit: 'µs',
      comparesToBaseline: false, target: { kind: 'maximum', max: 50 },
      details: { runs: runs.map((r) => ({ reads: r.reads, warmupReads: r.warmupReads, meanUs: r.meanUs, p50Us: r.p50Us, p99Us: r.p99Us, p999Us: r.p999Us, maxUs: r.maxUs })) },
    },
    {
      id: 'S3b', name: `random readStream of a ${STREAM_EVENTS}-event stream, warm, p99`, value: median(runs.map((r) => r.p99Us)), unit: 'µs',
      comparesToBaseline: false, target: { kind: 'maximum', max: 1000 },
    },
    {
      id: 'S4', name: 'full index rebuild: open with the index files removed (events / open time)', value: perSecond(size.events, rebuild.openMs), unit: 'events/s',
      comparesToBaseline: false, target: { kind: 'absolute', min: 1_000_000 }, details: { openMs: rebuild.openMs, rssMb: rebuild.afterOpen.rssMb },
    },
    {
      id: 'S4b', name: 'open after losing every index file (the bound on an open after an index-writer crash)', value: rebuild.openMs, unit: 'ms',
      comparesToBaseline: false, ...(atTargetSize ? { target: { kind: 'maximum', max: 10_000 } as Target } : {}),
    },
  ];
}

/** Reads the whole single stream forwards in pages; returns the events seen. */
async function readSingleForwards(store: EventStore): Promise<number> {
  let events = 0;
  for (;;) {
    const page = await store.readStream(SINGLE_STREAM_ID, { fromRevision: BigInt(events), maxCount: SINGLE_PAGE_EVENTS });
    for (const event of page) if (event.type !== EVENT_TYPE) throw new Error('an event came back with the wrong type');
    events += page.length;
    if (page.length < SINGLE_PAGE_EVENTS) return events;
  }
}

function checkTail(tail: readonly RecordedEvent[]): void {
  const last = BigInt(SINGLE_STREAM_EVENTS - 1);
  if (tail.length !== BACKWARD_TAIL_EVENTS || tail.some((event, i) => event.revision !== last - BigInt(i))) {
    throw new Error(`the backward read returned revisions ${tail.map((e) => e.revision).join(', ')}`);
  }
}

/** S5: forward read rate of one 1,000,000-event stream and the time to read its last events backwards. */
async function singleStreamFigures(timing: ScaleTiming, log: (line: string) => void): Promise<{ figures: Figure[]; cached: CachedStore }> {
  const cached = await ensureSingleStreamStore(log);
  let started = performance.now();
  const store = await EventStore.open(cached.dir);
  const openMs = performance.now() - started;
  try {
    const warmupStarted = performance.now();
    do if ((await readSingleForwards(store)) !== SINGLE_STREAM_EVENTS) throw new Error('a forward pass missed events');
    while (performance.now() - warmupStarted < timing.warmupMs);
    const passRates: number[] = [];
    started = performance.now();
    let now = started;
    while (passRates.length === 0 || now - started < timing.durationMs) {
      const passStarted = now;
      if ((await readSingleForwards(store)) !== SINGLE_STREAM_EVENTS) throw new Error('a forward pass missed events');
      now = performance.now();
      passRates.push(perSecond(SINGLE_STREAM_EVENTS, now - passStarted));
    }
    const forwardRate = perSecond(passRates.length * SINGLE_STREAM_EVENTS, now - started);
    const tailOptions = { direction: 'backwards', maxCount: BACKWARD_TAIL_EVENTS } as const;
    const warmupTailStarted = performance.now();
    do checkTail(await store.readStream(SINGLE_STREAM_ID, tailOptions)); while (performance.now() - warmupTailStarted < timing.warmupMs);
    const tailUs: number[] = [];
    started = performance.now();
    while (tailUs.length === 0 || performance.now() - started < timing.durationMs) {
      const readStarted = performance.now();
      checkTail(await store.readStream(SINGLE_STREAM_ID, tailOptions));
      tailUs.push((performance.now() - readStarted) * 1000);
    }
    const n = SINGLE_STREAM_EVENTS.toLocaleString('en-US');
    return {
      cached,
      figures: [
        {
          id: 'S5a', name: `one ${n}-event stream, readStream forwards in pages of ${SINGLE_PAGE_EVENTS.toLocaleString('en-US')}`, value: forwardRate, unit: 'events/s',
          comparesToBaseline: false, target: { kind: 'absolute', min: 1_000_000 },
          details: { passes: passRates.length, bestPassRate: Math.max(...passRates), medianPassRate: median(passRates), worstPassRate: Math.min(...passRates), openMs },
        },
        {
          id: 'S5b', name: `the same stream, last ${BACKWARD_TAIL_EVENTS} events backwards, p50`, value: quantile(tailUs, 0.5), unit: 'µs', comparesToBaseline: false,
          details: { reads: tailUs.length, p99Us: quantile(tailUs, 0.99), maxUs: quantile(tailUs, 1) },
        },
      ],
    };
  } finally {
    await store.close();
  }
}

/** S6: StreamTable.find against Map.get on LOOKUP_ENTRIES stream ids, in a fresh child. */
async function lookupFigures(): Promise<{ figures: Figure[]; report: LookupReport }> {
  const argument: LookupArgument = { entries: LOOKUP_ENTRIES, passes: LOOKUP_PASSES, seed: SEED };
  const r = await runChild<LookupReport>('scale-lookup-child.js', argument);
  const n = `${LOOKUP_ENTRIES.toLocaleString('en-US')} ${r.streamIdBytes}-byte ids`;
  const lookupDetails = (s: LookupReport['map']): Record<string, unknown> => ({ lookups: s.lookups, lookupMs: s.lookupMs, passLookupsPerSecond: s.passLookupsPerSecond.map(Math.round), insertMs: s.insertMs });
  const perEntry = (bytes: number): number => bytes / r.entries;
  return {
    report: r,
    figures: [
      { id: 'S6a', name: `StreamTable.find (WASM), ${n}, random order`, value: r.streamTable.lookupsPerSecond, unit: 'lookups/s', comparesToBaseline: false, comparedTo: 'S6b', details: lookupDetails(r.streamTable) },
      { id: 'S6b', name: `Map<string, number>.get, the same ids and order`, value: r.map.lookupsPerSecond, unit: 'lookups/s', comparesToBaseline: false, details: lookupDetails(r.map) },
      {
        id: 'S6c', name: 'StreamTable memory per entry: WASM linear memory growth', value: r.streamTable.bytesPerEntry, unit: 'B/entry', comparesToBaseline: false, comparedTo: 'S6e',
        details: { memoryBytes: r.streamTable.memoryBytes, slotCapacity: r.streamTable.slotCapacity },
      },
      { id: 'S6d', name: 'StreamTable memory per entry: RSS growth while filling it', value: perEntry(r.streamTable.rssBytes), unit: 'B/entry', comparesToBaseline: false, comparedTo: 'S6f', details: { rssBytes: r.streamTable.rssBytes } },
      { id: 'S6e', name: 'Map memory per entry: heapUsed growth after a full GC (keys included)', value: r.map.bytesPerEntry, unit: 'B/entry', comparesToBaseline: false, details: { memoryBytes: r.map.memoryBytes } },
      { id: 'S6f', name: 'Map memory per entry: RSS growth while filling it', value: perEntry(r.map.rssBytes), unit: 'B/entry', comparesToBaseline: false, details: { rssBytes: r.map.rssBytes } },
    ],
  };
}

function buildFigure(id: string, what: string, store: CachedStore): Figure[] {
  if (!store.builtNow) return [];
  return [{
    id, name: `build of ${what} (${store.build.method})`, value: store.build.eventsPerSecond, unit: 'events/s', comparesToBaseline: false,
    details: { events: store.build.events, elapsedMs: store.build.buildMs },
  }];
}

/** Runs the scale group, printing each figure as it is measured and the notes that explain them. */
export async function scale(timing: ScaleTiming): Promise<ScaleResult> {
  const size = scaleSize();
  const n = size.events.toLocaleString('en-US');
  const log = (line: string): void => console.log(line);
  log(`scale: ${n} events in ${size.streams.toLocaleString('en-US')} streams of ${STREAM_EVENTS} (${SCALE_ENV}=${size.label}; ${SCALE_ENV}=10m for 10,000,000, unset or 1m for 1,000,000)`);
  log(`       open (S1), memory (S2) and reads (S3) run in fresh 'node --expose-gc' children, ${OPEN_RUNS} runs, medians reported`);
  if (size.events < TARGET_EVENTS) log(`       the open-time (<= ${OPEN_MS_MAX} ms) and RSS (<= ${RSS_MB_MAX} MB) targets are for ${TARGET_EVENTS.toLocaleString('en-US')} events: printed, not checked, at this size`);
  const figures: Figure[] = [];
  const print = (fs: readonly Figure[]): void => {
    for (const f of fs) log(describe(f, null));
    figures.push(...fs);
  };

  const { store, runs, rebuild } = await openRuns(size, timing, log);
  const built = buildFigure('S0', `${n} events in ${size.streams.toLocaleString('en-US')} streams`, store);
  if (built.length === 0) log(`     reused the store cached at ${store.dir} (built ${store.build.builtAt} at ${Math.round(store.build.eventsPerSecond).toLocaleString('en-US')} events/s)`);
  print(built);
  print(openFigures(size, runs, rebuild));
  log('     S1-S3 open with the persisted index files (written by the close of the S4 run); S4 opens with them removed and rebuilds from the log');
  const first = runs[0];
  log(`     run 1, MB: before open RSS ${first.beforeOpen.rssMb.toFixed(0)}, heap ${first.beforeOpen.heapUsedMb.toFixed(0)}; right after open RSS ${first.afterOpenRaw.rssMb.toFixed(0)}, `
    + `heap ${first.afterOpenRaw.heapUsedMb.toFixed(0)}, external ${first.afterOpenRaw.externalMb.toFixed(0)} (of which array buffers ${first.afterOpenRaw.arrayBuffersMb.toFixed(0)}; `
    + `the rest is mostly WASM memory); peak RSS during open ${first.afterOpenRaw.peakRssMb.toFixed(0)}`);

  const single = await singleStreamFigures(timing, log);
  print(buildFigure('S0b', `one ${SINGLE_STREAM_EVENTS.toLocaleString('en-US')}-event stream`, single.cached));
  print(single.figures);

  const lookups = await lookupFigures();
  print(lookups.figures);
  log(`     S6c: the slot array (16-byte slots, ${lookups.report.streamTable.slotCapacity.toLocaleString('en-US')} of them, load <= 0.7), a 24-byte record, the id bytes and an empty`);
  log('     4-position list per stream, plus what the allocator holds free: it doubles linear memory when it runs out, and linear');
  log('     memory never shrinks. S6d counts only the pages touched. S6e: the key strings and the Map\'s backing store.');

  return {
    resultName: `scale-${size.label}`,
    figures,
    details: {
      scale: size, storeDir: store.dir, storeBytes: storeBytes(store.dir), build: store.build, builtThisRun: store.builtNow,
      singleStreamDir: single.cached.dir, singleStreamBuild: single.cached.build, openRuns: runs, lookups: lookups.report,
    },
  };
}
