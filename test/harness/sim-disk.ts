// A simulated disk behind the log's FileSystem seam (RELIABILITY.md F1–F7, F10, F17, F20). Reads
// see a page cache; writes are durable only after a sync (or on completion, for syncWrites
// handles); a simulated power loss keeps, drops or tears each pending write and loses directory
// entries that were not fsync'd. It also injects I/O errors, disk-full, short reads, lying sizes
// and bit rot. Production code never imports it.

import { dirname } from 'node:path';
import type { FileHandle, FileSystem, OpenMode, OpenOptions } from '../../src/log/file-system.js';

/** Thrown by every call from the moment the simulated machine lost power. */
export class SimulatedCrash extends Error {
  readonly code = 'ESIMCRASH';
  constructor() {
    super('simulated power loss');
  }
}

export type CallKind =
  | 'open' | 'read' | 'write' | 'writeNow' | 'datasync' | 'sync' | 'truncate' | 'size' | 'close'
  | 'rename' | 'unlink' | 'readdir' | 'mkdir' | 'syncDir';

/** Calls after which something may have become durable: where a crash is interesting. */
export const PERSISTENCE_CALLS: ReadonlySet<CallKind> = new Set(['write', 'writeNow', 'datasync', 'sync', 'truncate', 'rename', 'unlink', 'syncDir', 'open']);

export interface Fault {
  /** Which calls count; 'any' counts every call. */
  readonly kind: CallKind | 'any';
  /** Fail the nth matching call (1-based)… */
  readonly nth: number;
  /** …and, when persistent, every matching call after it. */
  readonly persistent: boolean;
  readonly code: 'EIO' | 'ENOSPC';
}

export interface TraceEntry {
  readonly index: number;
  readonly kind: CallKind;
  readonly name: string;
}

type PendingOp =
  | { readonly kind: 'write'; readonly offset: number; readonly bytes: Uint8Array; readonly sizeBefore: number }
  | { readonly kind: 'truncate'; readonly size: number };

type DirOp =
  | { readonly kind: 'link'; readonly name: string; readonly inode: number }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  | { readonly kind: 'unlink'; readonly name: string };

interface Inode {
  data: Uint8Array;
  size: number;
  durable: Uint8Array;
  durableSize: number;
  pending: PendingOp[];
}

/** What a power loss does to one pending write. */
export type WriteOutcome =
  | { readonly kind: 'keep' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'torn'; readonly bytes: number } // a prefix reached the disk
  | { readonly kind: 'garbage' } // the bytes it was writing hold junk (power-safe overwrite)
  | { readonly kind: 'grew' }; // the file size moved but the data did not (zeros)

export interface PendingSummary {
  /** Pending operations in issue order, per file name (only files that survive by name). */
  readonly ops: { readonly name: string; readonly op: PendingOp }[];
  readonly dirOps: number;
}

const SECTOR_BYTES = 512;

function grow(bytes: Uint8Array, size: number): Uint8Array {
  if (size <= bytes.length) return bytes;
  const next = new Uint8Array(Math.max(size, bytes.length * 2, 64));
  next.set(bytes);
  return next;
}

function fail(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimDisk {
  private readonly inodes = new Map<number, Inode>();
  private nextInode = 1;
  private readonly names = new Map<string, number>();
  private readonly durableNames = new Map<string, number>();
  private dirOps: DirOp[] = [];
  private readonly dirs = new Set<string>();
  private calls = 0;
  private readonly callsByKind = new Map<CallKind | 'any', number>();
  readonly trace: TraceEntry[] = [];
  faults: Fault[] = [];
  /** Lose power when the call with this index (1-based) starts. */
  crashAtCall: number | null = null;
  crashed = false;
  /** Writes that would take the bytes held beyond this fail with ENOSPC. */
  quotaBytes = Number.POSITIVE_INFINITY;
  /** Every nth read returns at most half of what was asked (0: never). */
  shortReadEvery = 0;
  /** Added to every size() answer: the metadata lies (F10). */
  sizeSkewBytes = 0;
  readonly fs: FileSystem;

  constructor() {
    const disk = this;
    this.fs = {
      open: (path, mode, options) => disk.open(path, mode, options),
      async rename(from, to) {
        disk.enter('rename', to);
        await tick();
        disk.alive();
        const inode = disk.names.get(from);
        if (inode === undefined) throw fail('ENOENT', from);
        disk.names.delete(from);
        disk.names.set(to, inode);
        disk.dirOps.push({ kind: 'rename', from, to });
      },
      async unlink(path) {
        disk.enter('unlink', path);
        await tick();
        disk.alive();
        if (!disk.names.delete(path)) throw fail('ENOENT', path);
        disk.dirOps.push({ kind: 'unlink', name: path });
      },
      async readdir(dir) {
        disk.enter('readdir', dir);
        await tick();
        disk.alive();
        if (!disk.dirs.has(dir)) throw fail('ENOENT', dir);
        return [...disk.names.keys()].filter((name) => dirname(name) === dir).map((name) => name.slice(dir.length + 1));
      },
      async mkdir(dir) {
        disk.enter('mkdir', dir);
        await tick();
        disk.alive();
        disk.dirs.add(dir);
      },
      async syncDir(dir) {
        disk.enter('syncDir', dir);
        await tick();
        disk.alive();
        disk.flushDir(dir);
      },
    };
  }

  /** Counts a call, and throws when the machine is down, the crash point is reached or a fault matches. */
  private enter(kind: CallKind, name: string): void {
    this.alive();
    this.calls++;
    this.trace.push({ index: this.calls, kind, name });
    if (this.crashAtCall !== null && this.calls >= this.crashAtCall) {
      this.crashed = true;
      throw new SimulatedCrash();
    }
    for (const key of [kind, 'any'] as const) this.callsByKind.set(key, (this.callsByKind.get(key) ?? 0) + 1);
    for (const fault of this.faults) {
      const n = this.callsByKind.get(fault.kind) ?? 0;
      if (n === fault.nth || (fault.persistent && n > fault.nth)) {
        if (fault.kind !== 'any' && fault.kind !== kind) continue;
        throw fail(fault.code, `injected on ${kind} #${n} (${name})`);
      }
    }
  }

  private alive(): void {
    if (this.crashed) throw new SimulatedCrash();
  }

  get callCount(): number {
    return this.calls;
  }

  /** How many calls of a kind were made so far (a Fault's nth counts the same way). */
  callsOf(kind: CallKind | 'any'): number {
    return this.callsByKind.get(kind) ?? 0;
  }

  private async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    this.enter('open', path);
    await tick();
    this.alive();
    if (!this.dirs.has(dirname(path))) throw fail('ENOENT', dirname(path));
    let id = this.names.get(path);
    if (mode === 'create') {
      if (id !== undefined) throw fail('EEXIST', path);
      id = this.nextInode++;
      this.inodes.set(id, { data: new Uint8Array(64), size: 0, durable: new Uint8Array(0), durableSize: 0, pending: [] });
      this.names.set(path, id);
      this.dirOps.push({ kind: 'link', name: path, inode: id });
    } else if (id === undefined) {
      throw fail('ENOENT', path);
    }
    return this.handle(path, this.inodes.get(id)!, mode, options?.syncWrites === true && mode !== 'read');
  }

  private handle(path: string, inode: Inode, mode: OpenMode, syncWrites: boolean): FileHandle {
    const disk = this;
    let reads = 0;
    let closed = false;
    const check = (kind: CallKind): void => {
      disk.enter(kind, path);
      if (closed) throw fail('EBADF', path);
    };
    const writable = (): void => {
      if (mode === 'read') throw fail('EBADF', `${path} is open read-only`);
    };
    const write = (buffer: Uint8Array, offset: number): PendingOp => {
      writable();
      const end = offset + buffer.length;
      if (disk.heldBytes() + Math.max(0, end - inode.size) > disk.quotaBytes) throw fail('ENOSPC', `quota of ${disk.quotaBytes} bytes`);
      const op: PendingOp = { kind: 'write', offset, bytes: buffer.slice(), sizeBefore: inode.size };
      inode.data = grow(inode.data, end);
      inode.data.set(buffer, offset);
      inode.size = Math.max(inode.size, end);
      inode.pending.push(op);
      return op;
    };
    return {
      path,
      syncWrites,
      read(buffer, bufferOffset, length, fileOffset) {
        check('read');
        reads++;
        let n = Math.max(0, Math.min(length, inode.size - fileOffset));
        if (disk.shortReadEvery > 0 && reads % disk.shortReadEvery === 0 && n > 1) n = Math.ceil(n / 2);
        buffer.set(inode.data.subarray(fileOffset, fileOffset + n), bufferOffset);
        return n;
      },
      async write(buffer, fileOffset) {
        check('write');
        const op = write(buffer, fileOffset);
        await tick();
        disk.alive();
        // An O_DSYNC write is durable when it completes; until then a crash may tear it.
        if (syncWrites) disk.persist(inode, op);
      },
      writeNow(buffer, fileOffset) {
        check('writeNow');
        const op = write(buffer, fileOffset);
        if (syncWrites) disk.persist(inode, op);
      },
      async datasync() {
        check('datasync');
        await tick();
        disk.alive();
        disk.persistAll(inode);
      },
      async sync() {
        check('sync');
        await tick();
        disk.alive();
        disk.persistAll(inode);
      },
      async truncate(size) {
        check('truncate');
        writable();
        if (size > inode.size && disk.heldBytes() + size - inode.size > disk.quotaBytes) throw fail('ENOSPC', `quota of ${disk.quotaBytes} bytes`);
        await tick();
        disk.alive();
        inode.data = grow(inode.data, size);
        if (size < inode.size) inode.data.fill(0, size, inode.size);
        inode.size = size;
        inode.pending.push({ kind: 'truncate', size });
      },
      size() {
        check('size');
        return Math.max(0, inode.size + disk.sizeSkewBytes);
      },
      async close() {
        check('close');
        closed = true;
      },
    };
  }

  private heldBytes(): number {
    let total = 0;
    for (const id of new Set(this.names.values())) total += this.inodes.get(id)!.size;
    return total;
  }

  /** Makes one pending write durable (an O_DSYNC write completing). */
  private persist(inode: Inode, op: PendingOp): void {
    const i = inode.pending.indexOf(op);
    if (i < 0) return;
    inode.pending.splice(i, 1);
    applyOp(inode, op, { kind: 'keep' });
  }

  private persistAll(inode: Inode): void {
    for (const op of inode.pending.splice(0)) applyOp(inode, op, { kind: 'keep' });
  }

  private flushDir(dir: string): void {
    const rest: DirOp[] = [];
    for (const op of this.dirOps) {
      const name = op.kind === 'rename' ? op.to : op.name;
      if (dirname(name) === dir) applyDirOp(this.durableNames, op);
      else rest.push(op);
    }
    this.dirOps = rest;
  }

  /** The pending state a power loss now would act on (files in inode order). */
  pending(): PendingSummary {
    const ops: { name: string; op: PendingOp }[] = [];
    for (const [id, inode] of this.inodes) {
      const name = this.nameOf(id);
      for (const op of inode.pending) ops.push({ name, op });
    }
    return { ops, dirOps: this.dirOps.length };
  }

  private nameOf(id: number): string {
    for (const [name, inode] of this.names) if (inode === id) return name;
    for (const [name, inode] of this.durableNames) if (inode === id) return name;
    return `(inode ${id})`;
  }

  /**
   * The disk after a power loss: durable contents, plus each pending operation resolved by
   * `outcomes` (indexed as pending().ops), plus the first `dirOpsKept` pending directory
   * operations (journaled metadata reaches the disk in order). Files no durable name reaches vanish.
   */
  image(outcomes: readonly WriteOutcome[], dirOpsKept: number, garbage: (n: number) => Uint8Array): SimDisk {
    const next = new SimDisk();
    for (const dir of this.dirs) next.dirs.add(dir);
    const names = new Map(this.durableNames);
    for (const op of this.dirOps.slice(0, dirOpsKept)) applyDirOp(names, op);
    const resolved = new Map<number, Inode>();
    let k = 0;
    for (const [id, source] of this.inodes) {
      const copy: Inode = { data: new Uint8Array(0), size: 0, durable: source.durable.slice(), durableSize: source.durableSize, pending: [] };
      for (const op of source.pending) applyOp(copy, op, outcomes[k++] ?? { kind: 'drop' }, garbage);
      resolved.set(id, copy);
    }
    for (const [name, id] of names) {
      const contents = resolved.get(id)!;
      const bytes = contents.durable.slice(0, contents.durableSize);
      const newId = next.nextInode++;
      next.inodes.set(newId, { data: bytes.slice(), size: bytes.length, durable: bytes, durableSize: bytes.length, pending: [] });
      next.names.set(name, newId);
      next.durableNames.set(name, newId);
    }
    return next;
  }

  /** A power loss with random outcomes for every pending operation. */
  crashImage(random: () => number): SimDisk {
    const { ops, dirOps } = this.pending();
    const outcomes = ops.map(({ op }) => randomOutcome(op, random));
    const keptDirOps = random() < 0.5 ? 0 : Math.floor(random() * (dirOps + 1));
    return this.image(outcomes, keptDirOps, (n) => randomBytes(n, random));
  }

  /** Flips one bit of a file's durable (and cached) contents: bit rot at rest. */
  flipBit(path: string, offset: number, bit: number): void {
    const inode = this.inodeOf(path);
    inode.durable[offset] ^= 1 << bit;
    inode.data[offset] ^= 1 << bit;
  }

  /** Zeroes one 512-byte sector of a file's contents (a latent sector error read back as zeros). */
  zeroSector(path: string, sector: number): void {
    const inode = this.inodeOf(path);
    const from = sector * SECTOR_BYTES;
    inode.durable.fill(0, from, Math.min(from + SECTOR_BYTES, inode.durableSize));
    inode.data.fill(0, from, Math.min(from + SECTOR_BYTES, inode.size));
  }

  /** Durable bytes of a file (what any power loss keeps). */
  durableBytes(path: string): Uint8Array {
    const inode = this.inodeOf(path);
    return inode.durable.subarray(0, inode.durableSize);
  }

  /** Current (cached) bytes of a file. */
  cachedBytes(path: string): Uint8Array {
    const inode = this.inodeOf(path);
    return inode.data.subarray(0, inode.size);
  }

  fileNames(dir: string): string[] {
    return [...this.names.keys()].filter((name) => dirname(name) === dir).map((name) => name.slice(dir.length + 1)).sort();
  }

  private inodeOf(path: string): Inode {
    const id = this.names.get(path);
    if (id === undefined) throw new Error(`no file ${path}`);
    return this.inodes.get(id)!;
  }
}

function applyDirOp(names: Map<string, number>, op: DirOp): void {
  if (op.kind === 'link') names.set(op.name, op.inode);
  else if (op.kind === 'unlink') names.delete(op.name);
  else {
    const inode = names.get(op.from);
    if (inode === undefined) return;
    names.delete(op.from);
    names.set(op.to, inode);
  }
}

function applyOp(inode: Inode, op: PendingOp, outcome: WriteOutcome, garbage: (n: number) => Uint8Array = (n) => new Uint8Array(n).fill(0xa5)): void {
  if (op.kind === 'truncate') {
    if (outcome.kind === 'drop') return;
    inode.durable = grow(inode.durable, op.size);
    if (op.size < inode.durableSize) inode.durable.fill(0, op.size, inode.durableSize);
    inode.durableSize = op.size;
    return;
  }
  const end = op.offset + op.bytes.length;
  switch (outcome.kind) {
    case 'drop':
      return;
    case 'keep':
    case 'torn': {
      const n = outcome.kind === 'keep' ? op.bytes.length : Math.min(outcome.bytes, op.bytes.length);
      inode.durable = grow(inode.durable, op.offset + n);
      inode.durable.set(op.bytes.subarray(0, n), op.offset);
      inode.durableSize = Math.max(inode.durableSize, op.offset + n);
      return;
    }
    case 'garbage': {
      // Power-safe overwrite (what SQLite assumes of unix file systems by default): an interrupted
      // write may leave junk where it was writing, but bytes outside its range keep their values.
      inode.durable = grow(inode.durable, end);
      inode.durable.set(garbage(op.bytes.length), op.offset);
      inode.durableSize = Math.max(inode.durableSize, end);
      return;
    }
    case 'grew':
      inode.durable = grow(inode.durable, end);
      inode.durableSize = Math.max(inode.durableSize, end);
      return;
  }
}

function randomBytes(n: number, random: () => number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** A random fate for one pending operation: kept, dropped, torn at a byte or a sector, junk, or only the size. */
export function randomOutcome(op: PendingOp, random: () => number): WriteOutcome {
  const r = random();
  if (op.kind === 'truncate') return r < 0.5 ? { kind: 'keep' } : { kind: 'drop' };
  if (r < 0.3) return { kind: 'keep' };
  if (r < 0.55) return { kind: 'drop' };
  if (r < 0.7) return { kind: 'torn', bytes: Math.floor(random() * op.bytes.length) };
  if (r < 0.85) return { kind: 'torn', bytes: Math.floor(random() * Math.ceil(op.bytes.length / SECTOR_BYTES)) * SECTOR_BYTES };
  if (r < 0.95) return { kind: 'garbage' };
  return op.offset + op.bytes.length > op.sizeBefore ? { kind: 'grew' } : { kind: 'drop' };
}

/** Every outcome worth trying for one pending operation in an exhaustive sweep. */
export function sweepOutcomes(op: PendingOp): WriteOutcome[] {
  if (op.kind === 'truncate') return [{ kind: 'keep' }, { kind: 'drop' }];
  const length = op.bytes.length;
  const outcomes: WriteOutcome[] = [{ kind: 'keep' }, { kind: 'drop' }, { kind: 'garbage' }];
  // Torn: a few bytes, half, all but the last few bytes, and at the first sector boundary inside.
  for (const bytes of new Set([Math.min(7, length - 1), Math.floor(length / 2), length - 3, SECTOR_BYTES - (op.offset % SECTOR_BYTES)])) {
    if (bytes > 0 && bytes < length) outcomes.push({ kind: 'torn', bytes });
  }
  if (op.offset + length > op.sizeBefore) outcomes.push({ kind: 'grew' });
  return outcomes;
}
