// The bare-Node durability baseline: a loop of fs.writeSync (one 200-byte record) + fdatasyncSync,
// on a fresh file, a file preallocated with ftruncate, and a preallocated file opened O_DSYNC.

import { closeSync, constants, fdatasyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_JSON } from './fixture.js';
import { perSecond } from './figure.js';

export type SyncLoopKind = 'append' | 'preallocated' | 'preallocated-odsync';

export const SYNC_LOOP_NAMES: Record<SyncLoopKind, string> = {
  append: 'writeSync + fdatasyncSync, appending to a fresh file',
  preallocated: 'writeSync + fdatasyncSync, file preallocated with ftruncate',
  'preallocated-odsync': 'writeSync on an O_DSYNC file preallocated with ftruncate',
};

/** Room preallocated for the loop; the loop stops early rather than write past it. */
const PREALLOCATED_BYTES = 256 * 1024 * 1024;

export interface SyncLoopResult {
  readonly kind: SyncLoopKind;
  readonly syncs: number;
  readonly elapsedMs: number;
  readonly syncsPerSecond: number;
  readonly recordBytes: number;
}

/**
 * Writes one record and makes it durable, over and over, for `durationMs`, in a new file
 * `name` inside `dir` (each write lands after the previous one). Synchronous by design: this is
 * the fastest a single JavaScript thread can make records durable one at a time.
 */
export function syncLoop(kind: SyncLoopKind, dir: string, name: string, durationMs: number): SyncLoopResult {
  const record = Buffer.from(EVENT_JSON, 'utf8');
  const dsync = kind === 'preallocated-odsync' ? constants.O_DSYNC : 0;
  const fd = openSync(join(dir, name), constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | dsync, 0o644);
  try {
    if (kind !== 'append') ftruncateSync(fd, PREALLOCATED_BYTES);
    let syncs = 0;
    let offset = 0;
    const started = performance.now();
    let now = started;
    while (now - started < durationMs && offset + record.length <= PREALLOCATED_BYTES) {
      const written = writeSync(fd, record, 0, record.length, offset);
      if (written !== record.length) throw new Error(`short write: ${written} of ${record.length} bytes`);
      if (kind !== 'preallocated-odsync') fdatasyncSync(fd);
      offset += record.length;
      syncs++;
      now = performance.now();
    }
    const elapsedMs = now - started;
    return { kind, syncs, elapsedMs, syncsPerSecond: perSecond(syncs, elapsedMs), recordBytes: record.length };
  } finally {
    closeSync(fd);
  }
}

/** Pools several runs of the same loop (measured at different moments) into one rate. */
export function pooled(runs: readonly SyncLoopResult[]): SyncLoopResult {
  const syncs = runs.reduce((sum, r) => sum + r.syncs, 0);
  const elapsedMs = runs.reduce((sum, r) => sum + r.elapsedMs, 0);
  return { kind: runs[0].kind, syncs, elapsedMs, syncsPerSecond: perSecond(syncs, elapsedMs), recordBytes: runs[0].recordBytes };
}
