// Child process of the scale benchmark (S1–S3): opens a cleanly closed store in a fresh process,
// samples memory after the open and after a random-read warm-up, times random readStream calls,
// and prints one JSON line (OpenReport) for the parent. Run by scale.ts, not by hand.

import { EventStore } from '../src/annal.js';
import type { GlobalIndex, GlobalIndexMemory } from '../src/index/global-index.js';
import { EVENT_TYPE } from './fixture.js';
import { quantile } from './figure.js';
import { childArgument, collectGarbage, memorySample, report, type MemorySample } from './scale-child.js';
import { scaleStreamId, STREAM_EVENTS } from './scale-stores.js';
import { seededInts } from './seeded-random.js';

export interface OpenArgument {
  readonly dir: string;
  readonly streams: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly seed: number;
}

export interface OpenReport {
  readonly openMs: number;
  readonly events: number;
  /** Before the open, after a full GC: the bare process with the modules loaded. */
  readonly beforeOpen: MemorySample;
  /** Right after the open resolved, then after a full GC. */
  readonly afterOpenRaw: MemorySample;
  readonly afterOpen: MemorySample;
  /** After the warm-up reads, then after a full GC. */
  readonly afterWarmupRaw: MemorySample;
  readonly afterWarmup: MemorySample;
  readonly warmupReads: number;
  readonly reads: number;
  readonly readsMs: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  /** The global index's own accounting (offset arrays, cached footer pages) after the open and after the reads. */
  readonly globalIndexAfterOpen: GlobalIndexMemory;
  readonly globalIndexAfterReads: GlobalIndexMemory;
}

/** The store's global index (internal: the benchmark reports what it holds). */
function globalIndex(store: EventStore): GlobalIndex {
  return (store as unknown as { parts: { indexes: { global: GlobalIndex } } }).parts.indexes.global;
}

/** Reads one random stream whole and checks it; returns nothing (the checks throw). */
async function readRandomStream(store: EventStore, streamNo: number): Promise<void> {
  const events = await store.readStream(scaleStreamId(streamNo));
  if (events.length !== STREAM_EVENTS) throw new Error(`stream ${streamNo} returned ${events.length} events, expected ${STREAM_EVENTS}`);
  for (const event of events) if (event.type !== EVENT_TYPE) throw new Error('an event came back with the wrong type');
}

async function main(): Promise<void> {
  const arg = childArgument<OpenArgument>();
  const pick = seededInts(arg.seed);
  collectGarbage();
  const beforeOpen = memorySample();
  const started = performance.now();
  const store = await EventStore.open(arg.dir);
  const openMs = performance.now() - started;
  const afterOpenRaw = memorySample();
  collectGarbage();
  const afterOpen = memorySample();
  const globalIndexAfterOpen = globalIndex(store).memory();
  try {
    const events = Number((await store.headPosition()) + 1n);
    let warmupReads = 0;
    const warmupStarted = performance.now();
    do {
      await readRandomStream(store, pick(arg.streams));
      warmupReads++;
    } while (performance.now() - warmupStarted < arg.warmupMs);
    const afterWarmupRaw = memorySample();
    collectGarbage();
    const afterWarmup = memorySample();
    const latenciesUs: number[] = [];
    const readsStarted = performance.now();
    let now = readsStarted;
    while (latenciesUs.length === 0 || now - readsStarted < arg.durationMs) {
      const streamNo = pick(arg.streams);
      const readStarted = performance.now();
      await readRandomStream(store, streamNo);
      now = performance.now();
      latenciesUs.push((now - readStarted) * 1000);
    }
    const readsMs = now - readsStarted;
    const meanUs = latenciesUs.reduce((sum, us) => sum + us, 0) / latenciesUs.length;
    const result: OpenReport = {
      openMs, events, beforeOpen, afterOpenRaw, afterOpen, afterWarmupRaw, afterWarmup, warmupReads,
      reads: latenciesUs.length, readsMs, meanUs,
      p50Us: quantile(latenciesUs, 0.5), p99Us: quantile(latenciesUs, 0.99), p999Us: quantile(latenciesUs, 0.999), maxUs: quantile(latenciesUs, 1),
      globalIndexAfterOpen, globalIndexAfterReads: globalIndex(store).memory(),
    };
    report(result);
  } finally {
    await store.close();
  }
}

await main();
