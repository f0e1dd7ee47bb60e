// `verifyStore`: a read-only check of a data directory against format-spec/log.md — chunk numbering
// and merged files (§0, §9), headers, every record (§3.4), transactions, footers (§4), revision
// contiguity and the checkpoint (§5) — reported as errors and warnings. Unlike opening the store
// (§6), it changes no file.

import { join } from 'node:path';
import { CorruptionError, InvalidArgumentError } from '../util/errors.js';
import { APPEND_BYTES_MAX, RECORD_BYTES_MAX } from '../util/limits.js';
import { Crc32c } from '../wasm/crc32c.js';
import { Wasm } from '../wasm/kernels.js';
import { StreamTable } from '../wasm/stream-table.js';
import { CHUNK_HEADER_BYTES, chunkFileName, decodeChunkHeader, parseChunkFileName } from '../format/chunk-layout.js';
import {
  CHECKPOINT_FILE, CHECKPOINT_FILE_BYTES, CHECKPOINT_SLOT_BYTES, CHECKPOINT_SLOT_STRIDE, decodeCheckpointSlot, type Checkpoint,
} from '../format/checkpoint.js';
import { resolveChunkFiles, type ChunkFileRange } from '../log/chunk-directory.js';
import { ChunkScanner } from '../log/chunk-scanner.js';
import { readFully, type FileHandle, type FileSystem } from '../log/file-system.js';
import { nodeFileSystem } from '../log/node-file-system.js';
import { LOCK_FILE } from '../log/store-lock.js';
import { verifyChunk, type ChunkVerdict } from './verify-chunk.js';
import { Issues, stopRevisionChecks, type VerifyContext, type VerifyIssue } from './verify-context.js';
import { verifyIndexFiles } from './verify-index.js';

export type { VerifyIssue } from './verify-context.js';

export interface VerifyProgress {
  readonly chunksDone: number;
  readonly chunkCount: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface VerifyOptions {
  /** The file-system seam (default: the real one). Only read calls are made through it. */
  readonly fileSystem?: FileSystem;
  /** Called before the first chunk, after every span of about 1 MiB, and after each chunk. */
  readonly onProgress?: (progress: VerifyProgress) => void;
}

export interface VerifyReport {
  readonly dir: string;
  /** Chunk files found (sealed and active, and any left over from a merge). */
  readonly chunks: number;
  readonly sealedChunks: number;
  /** Valid committed records read. */
  readonly events: number;
  /** Distinct streams among them (counted while revisions could be checked). */
  readonly streams: number;
  /** Size of all chunk files. */
  readonly bytes: number;
  /** The checkpoint in use (the newest valid slot), or null. */
  readonly checkpoint: Checkpoint | null;
  /** Damage: the store would refuse to open, or a read would fail. */
  readonly errors: readonly VerifyIssue[];
  /** Findings recovery repairs on the next open (a torn tail, a lost checkpoint, leftover files). */
  readonly warnings: readonly VerifyIssue[];
  /** Issues found beyond VERIFY_ISSUES_MAX, counted but not listed. */
  readonly omittedIssues: number;
}

/**
 * Checks every file of the store in `dir` without modifying any. Resolves with the report (its
 * `errors` are empty when the store is clean); rejects only when it cannot run at all: the
 * directory is missing or unreadable, or holds neither chunks nor a checkpoint.
 */
export async function verifyStore(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const fs = options.fileSystem ?? nodeFileSystem;
  const names = await fs.readdir(dir);
  const chunkNames = new Map<number, string[]>();
  for (const name of names) {
    const n = parseChunkFileName(name);
    if (n !== null) chunkNames.set(n, [...(chunkNames.get(n) ?? []), name]);
  }
  if (chunkNames.size === 0 && !names.includes(CHECKPOINT_FILE)) {
    throw new InvalidArgumentError(`${dir} holds no Annal store: no chunk files and no ${CHECKPOINT_FILE}`);
  }
  const wasm = new Wasm();
  const ctx: VerifyContext = {
    fs, dir, wasm,
    crc: new Crc32c(wasm),
    scanner: new ChunkScanner(wasm, RECORD_BYTES_MAX, APPEND_BYTES_MAX),
    streams: new StreamTable(wasm),
    revisionsChecked: true,
    events: 0,
    issues: new Issues(),
    bytesDone: 0,
    progress: () => {},
  };
  try {
    for (const name of names) {
      if (name.endsWith('.tmp')) ctx.issues.warn(name, 0, 'unfinished chunk creation; recovery deletes it');
      if (name === LOCK_FILE) ctx.issues.warn(name, 0, 'the store may be open in a process (or one was killed): a concurrent writer can make this report stale');
    }
    const checkpoint = await readCheckpoint(ctx, names.includes(CHECKPOINT_FILE));
    const { verdicts, chunkCount } = await verifyChunks(ctx, chunkNames, checkpoint, options.onProgress);
    checkCheckpoint(ctx, checkpoint, chunkCount);
    await verifyIndexFiles(ctx, ctx.events);
    return {
      dir,
      chunks: [...chunkNames.values()].reduce((sum, list) => sum + list.length, 0),
      sealedChunks: verdicts.filter((v) => v.sealed).length,
      events: ctx.events,
      streams: ctx.streams.streamCount,
      bytes: verdicts.reduce((sum, v) => sum + v.sizeBytes, 0),
      checkpoint,
      errors: ctx.issues.errors,
      warnings: ctx.issues.warnings,
      omittedIssues: ctx.issues.omitted,
    };
  } finally {
    ctx.scanner.free();
    ctx.streams.destroy();
  }
}

/**
 * Verifies the chunk files in order (log.md §6 step 2): a missing or duplicated number is an
 * error; a file that a merged file covers is a leftover of that merge (a warning: recovery deletes it).
 */
async function verifyChunks(
  ctx: VerifyContext, chunkNames: Map<number, string[]>, checkpoint: Checkpoint | null, onProgress: VerifyOptions['onProgress'],
): Promise<{ verdicts: ChunkVerdict[]; chunkCount: number }> {
  const numbers = [...chunkNames.keys()].sort((a, b) => a - b);
  const ranges = new Map<number, number | null>();
  for (const n of numbers) ranges.set(n, await lastChunkNumberOf(ctx, chunkNames.get(n)![0], n));
  const directory = resolveChunkFiles(numbers, (n) => ranges.get(n)!);
  const rangeText = (file: ChunkFileRange): string => `${chunkFileName(file.chunkNumber)} (chunks ${file.chunkNumber}..${file.lastChunkNumber})`;
  for (const { file, coveredBy } of directory.superseded) {
    ctx.issues.warn(chunkNames.get(file.chunkNumber)![0], 0, `left over from a merging scavenge: ${rangeText(coveredBy)} holds its records; recovery deletes it`);
  }
  for (const { file, coveredBy } of directory.overlapping) {
    const why = file.lastChunkNumber === null ? 'its header cannot be read' : `it reaches chunk ${file.lastChunkNumber}`;
    ctx.issues.error(chunkNames.get(file.chunkNumber)![0], 0, `lies inside the range of ${rangeText(coveredBy)}, but ${why}: no merge leaves such a file`);
  }
  const sizes = new Map<number, number>();
  for (const { chunkNumber } of directory.files) sizes.set(chunkNumber, await fileSize(ctx.fs, join(ctx.dir, chunkNames.get(chunkNumber)![0])));
  const bytesTotal = [...sizes.values()].reduce((sum, size) => sum + size, 0);
  let chunksDone = 0;
  ctx.progress = () => onProgress?.({ chunksDone, chunkCount: directory.files.length, bytesDone: ctx.bytesDone, bytesTotal });
  ctx.progress();
  const verdicts: ChunkVerdict[] = [];
  const slots = [
    ...directory.files.map((file, i) => ({ chunkNumber: file.chunkNumber, isLast: i === directory.files.length - 1 })),
    ...directory.missing.map((chunkNumber) => ({ chunkNumber, isLast: null })),
  ].sort((a, b) => a.chunkNumber - b.chunkNumber);
  let expectedFirstPosition: number | null = 0;
  for (const { chunkNumber: n, isLast } of slots) {
    if (isLast === null) {
      ctx.issues.error(chunkFileName(n), 0, 'missing chunk file (chunks are numbered densely from 0)');
      stopRevisionChecks(ctx, chunkFileName(n), 0);
      expectedFirstPosition = null;
      continue;
    }
    const names = chunkNames.get(n)!;
    if (names.length > 1) ctx.issues.error(names[1], 0, `chunk number ${n} is taken by ${names.length} files: ${names.join(', ')}`);
    const base = ctx.bytesDone;
    const verdict = await verifyChunk(ctx, { name: names[0], chunkNumber: n, isLast, expectedFirstPosition, checkpoint });
    verdicts.push(verdict);
    expectedFirstPosition = verdict.nextPosition;
    chunksDone++;
    ctx.bytesDone = base + sizes.get(n)!;
    ctx.progress();
  }
  return { verdicts, chunkCount: directory.chunkCount };
}

/** The last chunk number the header of file `name` (chunk `chunkNumber`) covers; null when it cannot be read (verifyChunk reports why). */
async function lastChunkNumberOf(ctx: VerifyContext, name: string, chunkNumber: number): Promise<number | null> {
  const handle = await ctx.fs.open(join(ctx.dir, name), 'read');
  try {
    const bytes = new Uint8Array(CHUNK_HEADER_BYTES);
    const header = decodeChunkHeader(bytes.subarray(0, readFully(handle, bytes, 0, CHUNK_HEADER_BYTES, 0)), name, ctx.crc);
    return header.chunkNumber === chunkNumber ? header.lastChunkNumber : null;
  } catch (error) {
    if (error instanceof CorruptionError) return null;
    throw error;
  } finally {
    await handle.close();
  }
}

async function fileSize(fs: FileSystem, path: string): Promise<number> {
  const handle = await fs.open(path, 'read');
  try {
    return handle.size();
  } finally {
    await handle.close();
  }
}

/** The newest valid checkpoint slot; damaged slots and an odd file size are warnings (derived data). */
async function readCheckpoint(ctx: VerifyContext, exists: boolean): Promise<Checkpoint | null> {
  if (!exists) {
    ctx.issues.warn(CHECKPOINT_FILE, 0, 'no checkpoint file: recovery counts only sealed chunks as durable and writes a new one');
    return null;
  }
  const handle: FileHandle = await ctx.fs.open(join(ctx.dir, CHECKPOINT_FILE), 'read');
  let bytes: Uint8Array;
  let size: number;
  try {
    size = handle.size();
    bytes = new Uint8Array(CHECKPOINT_FILE_BYTES);
    bytes = bytes.subarray(0, readFully(handle, bytes, 0, CHECKPOINT_FILE_BYTES, 0));
  } finally {
    await handle.close();
  }
  if (size !== CHECKPOINT_FILE_BYTES) ctx.issues.warn(CHECKPOINT_FILE, Math.min(size, CHECKPOINT_FILE_BYTES), `checkpoint file is ${size} bytes, expected ${CHECKPOINT_FILE_BYTES}`);
  let best: Checkpoint | null = null;
  for (let slot = 0; slot < 2; slot++) {
    const at = slot * CHECKPOINT_SLOT_STRIDE;
    const slotBytes = bytes.subarray(at, at + CHECKPOINT_SLOT_BYTES);
    const decoded = decodeCheckpointSlot(slotBytes, ctx.crc);
    // An all-zero slot was never written; anything else that does not decode is damaged.
    if (decoded === null && slotBytes.some((b) => b !== 0)) ctx.issues.warn(CHECKPOINT_FILE, at, `checkpoint slot ${slot === 0 ? 'A' : 'B'} is damaged (ignored)`);
    if (decoded && (best === null || decoded.sequence > best.sequence)) best = decoded;
  }
  if (best === null) ctx.issues.warn(CHECKPOINT_FILE, 0, 'no valid checkpoint slot: recovery counts only sealed chunks as durable and writes a new one');
  return best;
}

/** The checkpoint must name an existing chunk (§6 step 2). */
function checkCheckpoint(ctx: VerifyContext, checkpoint: Checkpoint | null, chunkCount: number): void {
  if (checkpoint === null) return; // a warning already
  const slotAt = (checkpoint.sequence % 2) * CHECKPOINT_SLOT_STRIDE;
  if (chunkCount === 0) {
    if (checkpoint.nextPosition > 0) ctx.issues.error(CHECKPOINT_FILE, slotAt, `the checkpoint names ${checkpoint.nextPosition} durable events but no chunk exists`);
    return;
  }
  if (checkpoint.chunkNumber >= chunkCount) {
    ctx.issues.error(CHECKPOINT_FILE, slotAt, `the checkpoint names ${chunkFileName(checkpoint.chunkNumber)}, which does not exist`);
    return;
  }
  // The checkpoint of the active chunk is compared with its records in verifyChunk.
}
