// The benchmark report: bench/results/<name>.json per group, bench/results/summary.json with every
// figure, its target and verdict, the machine and the commit, and the summary table on stdout.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { diskInfo, repoRoot, resultsDir, type DiskInfo } from './fixture.js';
import type { Figure, Target } from './figure.js';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly totalMemoryBytes: number;
  readonly node: string;
  readonly disk: DiskInfo;
}

export interface RunContext {
  readonly date: string;
  readonly machine: Machine;
  readonly gitCommit: string;
  /** Whether the working tree had uncommitted changes (the benchmark itself, say). */
  readonly gitDirty: boolean;
  readonly event: Record<string, unknown>;
}

export interface Row extends Figure {
  readonly ratioToBaseline: number | null;
  /** value / the value of `comparedTo`, when that figure is in the same run. */
  readonly ratioToCompared: number | null;
  readonly targetText: string | null;
  readonly met: boolean | null;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function runContext(event: Record<string, unknown>): RunContext {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    machine: { cpuModel: cpu[0]?.model ?? 'unknown', cores: cpu.length, totalMemoryBytes: totalmem(), node: process.version, disk: diskInfo() },
    gitCommit: git(['rev-parse', '--short', 'HEAD']),
    gitDirty: git(['status', '--porcelain']) !== '',
    event,
  };
}

/** Writes bench/results/<name>.json. */
export function writeResult(name: string, value: unknown): string {
  mkdirSync(resultsDir(), { recursive: true });
  const path = join(resultsDir(), `${name}.json`);
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
  return path;
}

function targetText(target: Target, unit: string, comparedTo: string | undefined): string {
  if (target.kind === 'baseline') return `>= ${Math.round(target.min * 100)} % of baseline`;
  if (target.kind === 'compared') return `>= ${Math.round(target.min * 100)} % of ${comparedTo ?? '?'}`;
  if (target.kind === 'maximum') return `<= ${target.max.toLocaleString('en-US')} ${unit}`;
  return `>= ${target.min.toLocaleString('en-US')} ${unit}`;
}

/** Adds the ratio to the baseline and the target verdict to each figure. */
export function rows(figures: readonly Figure[], baselineSyncsPerSecond: number | null): Row[] {
  return figures.map((f) => {
    const ratioToBaseline = f.comparesToBaseline && baselineSyncsPerSecond !== null ? f.value / baselineSyncsPerSecond : null;
    const other = f.comparedTo === undefined ? undefined : figures.find((g) => g.id === f.comparedTo);
    const ratioToCompared = other === undefined ? null : f.value / other.value;
    let met: boolean | null = null;
    if (f.target?.kind === 'absolute') met = f.value >= f.target.min;
    if (f.target?.kind === 'baseline') met = ratioToBaseline === null ? null : ratioToBaseline >= f.target.min;
    if (f.target?.kind === 'compared') met = ratioToCompared === null ? null : ratioToCompared >= f.target.min;
    if (f.target?.kind === 'maximum') met = f.value <= f.target.max;
    return { ...f, ratioToBaseline, ratioToCompared, targetText: f.target ? targetText(f.target, f.unit, f.comparedTo) : null, met };
  });
}

/** Writes bench/results/summary.json; `groups` says which benchmark groups this run included. */
export function writeSummary(context: RunContext, groups: readonly string[], baselineSyncsPerSecond: number | null, table: readonly Row[]): string {
  return writeResult('summary', { ...context, groups, baselineSyncsPerSecond, figures: table });
}

function formatValue(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

/** One line of the progress log, printed as each figure is measured. */
export function describe(f: Figure, baselineSyncsPerSecond: number | null): string {
  const ratio = f.comparesToBaseline && baselineSyncsPerSecond !== null ? `  (${(f.value / baselineSyncsPerSecond).toFixed(2)} x baseline)` : '';
  return `${f.id.padEnd(4)} ${f.name}: ${formatValue(f.value)} ${f.unit}${ratio}`;
}

/** The progress line of a figure set beside `other` (measured in the same run). */
export function describeBeside(f: Figure, other: Figure | undefined, baselineSyncsPerSecond: number | null): string {
  const beside = other === undefined ? '' : `  (${(f.value / other.value).toFixed(2)} x ${other.id})`;
  return describe(f, baselineSyncsPerSecond) + beside;
}

export function printTable(context: RunContext, baselineSyncsPerSecond: number | null, table: readonly Row[]): void {
  const header = ['id', 'case', 'value', 'unit', 'x baseline', 'x beside', 'target', 'met'];
  const lines = table.map((r) => [
    r.id, r.name, formatValue(r.value), r.unit, r.ratioToBaseline === null ? '' : r.ratioToBaseline.toFixed(2),
    r.ratioToCompared === null ? '' : `${r.ratioToCompared.toFixed(2)} ${r.comparedTo}`,
    r.targetText ?? '', r.met === null ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]): string => cells.map((c, i) => (i === 2 || i === 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const m = context.machine;
  console.log('');
  console.log(`Annal benchmark summary — ${context.date}, commit ${context.gitCommit}${context.gitDirty ? ' (uncommitted changes)' : ''}`);
  console.log(`${m.cpuModel}, ${m.cores} cores, ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}; data on ${m.disk.device} (${m.disk.filesystem}) at ${m.disk.dataDir}`);
  console.log(`baseline: ${baselineSyncsPerSecond === null ? 'not measured' : `${formatValue(baselineSyncsPerSecond)} syncs/s`} (writeSync + fdatasyncSync appending to a fresh file)`);
  console.log('');
  console.log(format(header));
  console.log(format(widths.map((w) => '-'.repeat(w))));
  for (const line of lines) console.log(format(line));
}
