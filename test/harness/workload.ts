// Workloads for the crash harness: random appends (single, multi-event, multi-stream, concurrent,
// every expected-revision kind, retries), reads and reopens, run against a store on a SimDisk
// while recording what each append was told (its history).

import fc from 'fast-check';
import {
  EventStore, AnnalError, StoreFailedError, type AppendResult, type EventStoreOptions, type ExpectedRevision,
} from '../../src/annal.js';
import type { GlobalIndex, RecordLocation } from '../../src/index/global-index.js';
import { CHUNK_HEADER_BYTES, FOOTER_TRAILER_BYTES, chunkFileName, decodeChunkFooter, decodeFooterTrailer } from '../../src/format/chunk-layout.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { Wasm } from '../../src/wasm/kernels.js';
import type { SimDisk } from './sim-disk.js';

export const DATA_DIR = '/annal';

export interface WorkEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
}

export interface WorkPart {
  readonly streamId: string;
  readonly events: readonly WorkEvent[];
  readonly expected: ExpectedRevision;
}

/**
 * How a generated part picks its expected revision: a fixed value, or, resolved when it is issued,
 * the stream's revision as the workload last learned it ('current') or one behind it ('stale').
 */
export type ExpectedChoice = ExpectedRevision | 'current' | 'stale';

export interface WorkAppend {
  readonly parts: readonly WorkPart[];
  /** appendMulti (even with one part) rather than appendToStream. */
  readonly multi: boolean;
}

export type WorkStep =
  | { readonly kind: 'append'; readonly appends: readonly PlannedAppend[] } // more than one: issued concurrently
  | { readonly kind: 'retry'; readonly index: number } // re-send an earlier append verbatim
  | { readonly kind: 'read' }
  | { readonly kind: 'reopen' };

/** What an append was told: ok (acknowledged), failed (definitely not written) or unknown. */
export interface HistoryEntry {
  readonly append: WorkAppend;
  /** Which open of the store issued it (a reopen starts a new session). */
  readonly session: number;
  status: 'pending' | 'ok' | 'failed' | 'unknown';
  results?: readonly AppendResult[];
  error?: unknown;
}

const STREAMS = ['order-1', 'order-2', 'account-7', 'blob', 'x'];
const TYPES = ['Created', 'Changed', 'Closed'];

let idCounter = 0;
/** Event ids unique within a process: a duplicate in the store can only come from the engine. */
function nextId(): string {
  idCounter++;
  return `00000000-0000-4000-8000-${idCounter.toString(16).padStart(12, '0')}`;
}

const expectedArb: fc.Arbitrary<ExpectedChoice> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<ExpectedChoice>('any', 'current', 'current') },
  { weight: 1, arbitrary: fc.constantFrom<ExpectedChoice>('no_stream', 'stream_exists', 'stale') },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 }).map((n) => BigInt(n)) },
);

const eventArb: fc.Arbitrary<Omit<WorkEvent, 'id'>> = fc.record({
  type: fc.constantFrom(...TYPES),
  data: fc.oneof(
    fc.record({ n: fc.integer(), s: fc.string({ maxLength: 40 }) }),
    fc.string({ maxLength: 600 }).map((pad) => ({ pad })), // larger records: chunk rollover
  ),
});

const partArb: fc.Arbitrary<RawPart> = fc.record({
  streamId: fc.constantFrom(...STREAMS),
  events: fc.array(eventArb, { minLength: 0, maxLength: 4 }),
  expected: expectedArb,
});

const appendArb = fc.oneof(
  { weight: 3, arbitrary: partArb.map((part) => ({ parts: [part], multi: false })) },
  { weight: 1, arbitrary: fc.array(partArb, { minLength: 1, maxLength: 3 }).map((parts) => ({ parts, multi: true })) },
);

type RawPart = { streamId: string; events: Omit<WorkEvent, 'id'>[]; expected: ExpectedChoice };
type RawAppend = { parts: RawPart[]; multi: boolean };
type RawStep = { kind: 'append'; appends: RawAppend[] } | { kind: 'retry'; index: number } | { kind: 'read' } | { kind: 'reopen' };

/** An append as generated: expected revisions may still be 'current' or 'stale'. */
export interface PlannedAppend {
  readonly parts: readonly (Omit<WorkPart, 'expected'> & { readonly expected: ExpectedChoice })[];
  readonly multi: boolean;
}

/** Random workloads of up to `maxSteps` steps. Ids are assigned when a workload is built. */
export function workloadArb(maxSteps: number): fc.Arbitrary<RawStep[]> {
  const step: fc.Arbitrary<RawStep> = fc.oneof(
    { weight: 6, arbitrary: appendArb.map((a) => ({ kind: 'append' as const, appends: [a] })) },
    { weight: 3, arbitrary: fc.array(appendArb, { minLength: 2, maxLength: 6 }).map((appends) => ({ kind: 'append' as const, appends })) },
    { weight: 1, arbitrary: fc.nat({ max: 20 }).map((index) => ({ kind: 'retry' as const, index })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'read' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  );
  return fc.array(step, { minLength: 1, maxLength: maxSteps });
}

/** Gives every event a fresh unique id. */
export function buildWorkload(raw: readonly RawStep[]): WorkStep[] {
  return raw.map((step) =>
    step.kind !== 'append'
      ? step
      : { kind: 'append', appends: step.appends.map((a) => ({ multi: a.multi, parts: a.parts.map((p) => ({ ...p, events: p.events.map((e) => ({ ...e, id: nextId() })) })) })) },
  );
}

export const QUIET = { info() {}, warn() {} };

/**
 * Index entries per memtable in the harness: small, so that index files are flushed, merged and
 * recovered from (and crashed in the middle of) every few appends.
 */
export const HARNESS_INDEX_MEMTABLE_ENTRIES = 24;
/** Streams the stream table keeps after a flush: small, so most streams come from the directory file. */
export const HARNESS_STREAM_CACHE_ENTRIES = 3;

export function storeOptions(disk: SimDisk, extra: EventStoreOptions = {}): EventStoreOptions {
  return {
    fileSystem: disk.fs, chunkSizeBytes: 8192, indexMemtableEntries: HARNESS_INDEX_MEMTABLE_ENTRIES, streamCacheEntries: HARNESS_STREAM_CACHE_ENTRIES, logger: QUIET,
    clock: { nowMs: () => 1_764_288_000_000 }, ...extra,
  };
}

function issue(store: EventStore, append: WorkAppend): Promise<AppendResult[]> {
  const events = (part: WorkPart) => part.events.map((e) => ({ id: e.id, type: e.type, data: e.data }));
  if (append.multi) return store.appendMulti(append.parts.map((p) => ({ streamId: p.streamId, events: events(p), expectedRevision: p.expected })));
  const [part] = append.parts;
  return store.appendToStream(part.streamId, events(part), { expectedRevision: part.expected }).then((r) => [r]);
}

export interface RunOutcome {
  readonly history: HistoryEntry[];
  /** The store as the workload left it (open, unless the last open failed); the caller closes it. */
  readonly store: EventStore | null;
  /** The session number of `store`. */
  readonly session: number;
  /** P13 violations: acknowledged records whose bytes were not yet durable at acknowledgement. */
  readonly notDurableAtAck: string[];
}

/**
 * Runs the workload on `disk` until it ends or the disk loses power. Every acknowledgement is
 * checked against the disk's durable bytes at that moment (P13). Never throws for store errors.
 */
export async function runWorkload(disk: SimDisk, steps: readonly WorkStep[], options: EventStoreOptions): Promise<RunOutcome> {
  const history: HistoryEntry[] = [];
  const notDurableAtAck: string[] = [];
  let store: EventStore | null = null;
  let session = 0;
  const open = async (): Promise<EventStore | null> => {
    session++;
    try {
      return await EventStore.open(DATA_DIR, options);
    } catch {
      return null;
    }
  };
  // The last revision of each stream as the acknowledgements so far tell it.
  const known = new Map<string, bigint>();
  const resolve = (planned: PlannedAppend): WorkAppend => ({
    multi: planned.multi,
    parts: planned.parts.map((p) => {
      const last = known.get(p.streamId);
      const expected: ExpectedRevision = p.expected === 'current' ? (last === undefined ? 'no_stream' : last)
        : p.expected === 'stale' ? (last === undefined || last === 0n ? 'no_stream' : last - 1n) : p.expected;
      return { streamId: p.streamId, events: p.events, expected };
    }),
  });
  const record = (current: EventStore, append: WorkAppend): Promise<void> => {
    const entry: HistoryEntry = { append, session, status: 'pending' };
    history.push(entry);
    return issue(current, append).then(
      (results) => {
        entry.status = 'ok';
        entry.results = results;
        append.parts.forEach((part, i) => {
          if (results[i].nextExpectedRevision >= 0n && results[i].nextExpectedRevision > (known.get(part.streamId) ?? -1n)) known.set(part.streamId, results[i].nextExpectedRevision);
        });
        checkDurable(disk, current, append, results, notDurableAtAck);
      },
      (error: unknown) => {
        entry.error = error;
        // Only an operating error that is not a failure of the store itself proves nothing was written.
        entry.status = error instanceof AnnalError && !(error instanceof StoreFailedError) ? 'failed' : 'unknown';
      },
    );
  };
  store = await open();
  for (const step of steps) {
    if (store === null || disk.crashed) break;
    if (step.kind === 'append') {
      await Promise.all(step.appends.map((append) => record(store!, resolve(append))));
    } else if (step.kind === 'retry') {
      const earlier = history.filter((h) => h.append.parts.some((p) => p.events.length > 0));
      if (earlier.length > 0) await record(store, earlier[step.index % earlier.length].append);
    } else if (step.kind === 'read') {
      await store.readAll().catch(() => undefined);
    } else {
      await store.close().catch(() => undefined);
      store = await open();
    }
  }
  return { history, store, session, notDurableAtAck };
}

let footerCrc: Crc32c | null = null;

/**
 * Where `position`'s record lies, found without a read through the store: the global index reads a
 * sealed chunk's offsets from its footer, and a check must neither add calls to the disk's count
 * nor fail on a disk that has just lost power. A sealed chunk's footer is read from the disk's
 * cached bytes instead; the active chunk's offsets are in the index's memory.
 */
function locateWithoutReads(disk: SimDisk, global: GlobalIndex, position: number): RecordLocation {
  const c = global.chunkIndexOf(position);
  const chunkNumber = global.chunkNumberAt(c);
  const fileName = chunkFileName(chunkNumber);
  const bytes = disk.cachedBytes(`${DATA_DIR}/${fileName}`);
  const total = bytes.length >= FOOTER_TRAILER_BYTES ? decodeFooterTrailer(bytes.subarray(bytes.length - FOOTER_TRAILER_BYTES)) : null;
  if (total === null || total > bytes.length) return global.locate(position);
  footerCrc ??= new Crc32c(new Wasm());
  const footer = decodeChunkFooter(bytes.subarray(bytes.length - total), fileName, bytes.length - total, footerCrc);
  const i = position - global.chunkStartPosition(c);
  const offset = footer.recordOffsets[i];
  const end = i + 1 < footer.recordCount ? footer.recordOffsets[i + 1] : CHUNK_HEADER_BYTES + footer.bodyBytes;
  return { chunkNumber, offset, recordBytes: end - offset };
}

/** P13: every record of an acknowledged append is byte for byte in the disk's durable state. */
function checkDurable(disk: SimDisk, store: EventStore, append: WorkAppend, results: readonly AppendResult[], out: string[]): void {
  const global = (store as unknown as { parts: { indexes: { global: GlobalIndex } } }).parts.indexes.global;
  append.parts.forEach((part, i) => {
    const last = Number(results[i].position);
    for (let k = 0; k < part.events.length; k++) {
      const position = last - (part.events.length - 1 - k);
      if (position < 0 || position >= global.nextPosition) {
        out.push(`position ${position} acknowledged but not indexed`);
        continue;
      }
      const { chunkNumber, offset, recordBytes } = locateWithoutReads(disk, global, position);
      const path = `${DATA_DIR}/${chunkFileName(chunkNumber)}`;
      const durable = disk.durableBytes(path).subarray(offset, offset + recordBytes);
      const cached = disk.cachedBytes(path).subarray(offset, offset + recordBytes);
      if (durable.length !== recordBytes || !Buffer.from(durable).equals(Buffer.from(cached))) {
        out.push(`position ${position} (${path} @${offset}) acknowledged before it was durable`);
      }
    }
  });
}
