// The child-process side of the scale benchmark shared by parent and children: memory samples,
// spawning `node --expose-gc` on a script in dist/bench/ and reading its one-line JSON report.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MB = 1024 * 1024;
/** A child that prints more than this on stdout is not following the protocol. */
const CHILD_STDOUT_BYTES_MAX = 16 * MB;

/** process.memoryUsage() in MB (1 MB = 2^20 bytes), plus the peak RSS of this process so far. */
export interface MemorySample {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly heapTotalMb: number;
  readonly externalMb: number;
  readonly arrayBuffersMb: number;
  readonly peakRssMb: number;
}

// Linux's VmHWM, not getrusage's maxRSS: a spawned child's maxRSS starts at its parent's RSS at
// the fork, so it would report the parent's peak rather than the child's.
function peakRssMb(): number {
  try {
    const line = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (line !== null) return Number(line[1]) / 1024;
  } catch {
    // Not Linux: fall back to maxRSS below.
  }
  return process.resourceUsage().maxRSS / 1024;
}

export function memorySample(): MemorySample {
  const m = process.memoryUsage();
  return {
    rssMb: m.rss / MB, heapUsedMb: m.heapUsed / MB, heapTotalMb: m.heapTotal / MB, externalMb: m.external / MB,
    arrayBuffersMb: m.arrayBuffers / MB, peakRssMb: peakRssMb(),
  };
}

/** Runs a full garbage collection; the children run with --expose-gc, so a missing gc is a bug. */
export function collectGarbage(): void {
  if (globalThis.gc === undefined) throw new Error('run this script with node --expose-gc');
  globalThis.gc();
}

/** Prints the child's report: the one JSON line on stdout the parent reads. */
export function report(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** The argument the parent passed (JSON in argv[2]). */
export function childArgument<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('a scale benchmark child expects its arguments as JSON in argv[2]');
  return JSON.parse(raw) as T;
}

/**
 * Runs `node --expose-gc dist/bench/<script>` with `argument` as JSON and resolves with the
 * JSON of the last line it printed on stdout; its stderr goes to ours. Rejects when it fails.
 */
export function runChild<T>(script: string, argument: unknown): Promise<T> {
  const path = join(dirname(fileURLToPath(import.meta.url)), script);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', path, JSON.stringify(argument)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      stdout += text;
      if (stdout.length > CHILD_STDOUT_BYTES_MAX) child.kill();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`${script} exited with ${signal ?? code}`));
        return;
      }
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no JSON report: ${last.slice(0, 200)}`));
      }
    });
  });
}
