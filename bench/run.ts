// `npm run bench`: runs the baseline, write (W1–W3), read (R1, R2), kernel (K1, K2), protocol
// (P1, P2) and subscription (SU0–SU6) benchmarks in that order, writes bench/results/*.json and prints the summary table.
// Optional arguments pick groups: `node dist/bench/run.js writes reads kernels protocol`. The scale
// group (S0–S6, bench/scale.ts) builds a large cached store, and the scavenge group (SC1–SC3,
// bench/scavenge.ts) a 1.2 GB one, so they run only when named.

import { pooled, syncLoop, SYNC_LOOP_NAMES, type SyncLoopKind, type SyncLoopResult } from './baseline.js';
import { EVENT_JSON, EVENT_JSON_BYTES, eventRecordBytes, withFreshDir } from './fixture.js';
import { caseMs, type Figure } from './figure.js';
import { k1Crc, k2Encode, kernelSink } from './kernels.js';
import { protocol } from './protocol.js';
import { reads } from './reads.js';
import { scale } from './scale.js';
import { scavenge } from './scavenge.js';
import { subscriptions } from './subscriptions.js';
import { describe, describeBeside, printTable, rows, runContext, writeResult, writeSummary } from './report.js';
import { W1_SLICES, w1Sequential, w2Concurrent, w3Pipelined, w3Sequential } from './writes.js';

const GROUPS = ['writes', 'reads', 'kernels', 'protocol', 'subscriptions', 'scale', 'scavenge'] as const;
type Group = (typeof GROUPS)[number];
const DEFAULT_GROUPS: readonly Group[] = ['writes', 'reads', 'kernels', 'protocol', 'subscriptions'];

const BASELINE_MS = caseMs(3000);
const WRITE_MS = caseMs(3000);
const WARMUP_MS = caseMs(500);
const READ_MS = caseMs(3000);
const PROTOCOL_MS = caseMs(6000);
const SCALE_MS = caseMs(3000);
const SCALE_WARMUP_MS = caseMs(1000);

function selectedGroups(): Set<Group> {
  const args = process.argv.slice(2);
  for (const arg of args) {
    if (!(GROUPS as readonly string[]).includes(arg)) throw new Error(`unknown benchmark group '${arg}': choose from ${GROUPS.join(', ')}`);
  }
  return new Set((args.length === 0 ? DEFAULT_GROUPS : args) as Group[]);
}

function baselineLoop(kind: SyncLoopKind, durationMs: number): Promise<SyncLoopResult> {
  return withFreshDir('baseline', async (dir) => syncLoop(kind, dir, 'records.log', durationMs));
}

function baselineFigure(id: string, result: SyncLoopResult, details: Record<string, unknown> = {}): Figure {
  return {
    id, name: SYNC_LOOP_NAMES[result.kind], value: result.syncsPerSecond, unit: 'syncs/s', comparesToBaseline: true,
    details: { syncs: result.syncs, elapsedMs: result.elapsedMs, recordBytes: result.recordBytes, ...details },
  };
}

/**
 * The baseline and the write benchmarks. The plain loop (the headline baseline) is measured in
 * slices between W1's slices, so drift on a shared machine hits both alike.
 */
async function writeGroup(): Promise<{ baseline: Figure[]; writes: Figure[]; syncsPerSecond: number }> {
  const timing = { durationMs: WRITE_MS, warmupMs: WARMUP_MS };
  const preallocated = await baselineLoop('preallocated', BASELINE_MS);
  const odsync = await baselineLoop('preallocated-odsync', BASELINE_MS);
  const slices: SyncLoopResult[] = [];
  const w1 = await withFreshDir('baseline', (dir) =>
    w1Sequential(timing, () => slices.push(syncLoop('append', dir, `records-${slices.length}.log`, BASELINE_MS / (W1_SLICES + 1)))));
  const plain = pooled(slices);
  const sliceRates = slices.map((s) => Math.round(s.syncsPerSecond));
  const baseline = [
    baselineFigure('B0', plain, { slices: slices.length, sliceSyncsPerSecond: sliceRates }),
    baselineFigure('B1', preallocated),
    baselineFigure('B2', odsync),
  ];
  for (const f of baseline) console.log(describe(f, plain.syncsPerSecond));
  console.log(describe(w1, plain.syncsPerSecond));
  const writes = [w1];
  for (const run of [w2Concurrent, w3Sequential, w3Pipelined]) {
    const f = await run(timing);
    console.log(describe(f, plain.syncsPerSecond));
    writes.push(f);
  }
  return { baseline, writes, syncsPerSecond: plain.syncsPerSecond };
}

async function main(): Promise<void> {
  const groups = selectedGroups();
  const context = runContext({ json: EVENT_JSON, jsonBytes: EVENT_JSON_BYTES, recordBytesInW1Stream: eventRecordBytes('w1-account') });
  const disk = context.machine.disk;
  console.log(`event payload: JSON.stringify is ${EVENT_JSON_BYTES} bytes: ${EVENT_JSON}`);
  console.log(`one such event is a ${eventRecordBytes('w1-account')}-byte record in the log (stream 'w1-account')`);
  console.log(`data directories under ${disk.dataDir}: ${disk.device} (${disk.filesystem}) mounted at ${disk.mountPoint}`);
  if (!disk.sameDeviceAsRepo) console.warn('warning: the data directory is not on the repository\'s disk; set ANNAL_BENCH_DIR to compare like with like');

  const figures: Figure[] = [];
  let syncsPerSecond: number | null = null;
  if (groups.has('writes')) {
    const w = await writeGroup();
    syncsPerSecond = w.syncsPerSecond;
    writeResult('baseline', { date: context.date, figures: w.baseline });
    writeResult('writes', { date: context.date, baselineSyncsPerSecond: syncsPerSecond, figures: w.writes });
    figures.push(...w.baseline, ...w.writes);
  }
  if (groups.has('reads')) {
    const r = await reads({ durationMs: READ_MS, warmupMs: WARMUP_MS });
    for (const f of r) console.log(describe(f, null));
    writeResult('reads', { date: context.date, figures: r });
    figures.push(...r);
  }
  if (groups.has('kernels')) {
    const version = `${context.gitCommit}${context.gitDirty ? '-dirty' : ''}`;
    const k = [...(await k1Crc(version)), ...(await k2Encode(version))];
    console.log(`kernel sink ${kernelSink() >>> 0} (every benchmarked result was folded into it)`);
    figures.push(...k);
  }
  if (groups.has('protocol')) {
    const p = await protocol({ durationMs: PROTOCOL_MS, warmupMs: WARMUP_MS });
    for (const f of p) console.log(describeBeside(f, p.find((g) => g.id === f.comparedTo), syncsPerSecond));
    writeResult('protocol', { date: context.date, baselineSyncsPerSecond: syncsPerSecond, figures: p });
    figures.push(...p);
  }
  if (groups.has('subscriptions')) {
    const s = await subscriptions({ durationMs: WRITE_MS, warmupMs: WARMUP_MS });
    for (const f of s) console.log(describeBeside(f, s.find((g) => g.id === f.comparedTo), syncsPerSecond));
    writeResult('subscriptions', { date: context.date, baselineSyncsPerSecond: syncsPerSecond, figures: s });
    figures.push(...s);
  }
  if (groups.has('scale')) {
    const s = await scale({ durationMs: SCALE_MS, warmupMs: SCALE_WARMUP_MS });
    writeResult(s.resultName, { date: context.date, ...s.details, figures: s.figures });
    figures.push(...s.figures);
  }
  if (groups.has('scavenge')) {
    const s = await scavenge({ durationMs: WRITE_MS, warmupMs: WARMUP_MS });
    for (const f of s.figures) console.log(describeBeside(f, s.figures.find((g) => g.id === f.comparedTo), syncsPerSecond));
    writeResult('scavenge', { date: context.date, ...s.details, figures: s.figures });
    figures.push(...s.figures);
  }
  const table = rows(figures, syncsPerSecond);
  const path = writeSummary(context, [...groups], syncsPerSecond, table);
  printTable(context, syncsPerSecond, table);
  console.log(`\nresults written to ${path} and beside it`);
}

await main();
