// The parent of the kill harness (RELIABILITY.md F12): spawns kill-child.ts on a store directory,
// SIGKILLs it at seeded random moments, reopens the store and checks P1, P2, P4–P6 and P8 against
// every line the child reported. Used by test/crash/kill.int.test.ts and kill-cli.ts.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventStore, type EventStoreOptions, type ExpectedRevision, type Logger, type RecordedEvent } from '../../src/annal.js';
import { seededRandom } from '../support/random.js';

/** Every open, child's and parent's: small chunks, so a run rolls over and seals chunks often. */
export const KILL_STORE_OPTIONS = { chunkSizeBytes: 256 * 1024 } satisfies EventStoreOptions;

/** One stream's share of a request, as announced before it is sent; `x` is the expected revision. */
export interface SentPart { s: string; x: string; type: string; ids: string[]; pads: number[] }
export interface AckedPart { s: string; ids: string[]; next: string; pos: string }
export type ChildLine =
  | { t: 'open'; run: number }
  | { t: 'ready'; head: string; streams: Record<string, string> }
  | { t: 'send'; req: number; parts: SentPart[] }
  | { t: 'ack'; req: number; parts: AckedPart[] }
  | { t: 'reject'; req: number; code: string; message: string }
  | { t: 'warn'; message: string; fields?: Record<string, unknown> }
  | { t: 'fatal'; message: string; code: string };

/** An expected revision as sent in a line: 'any', 'no_stream', 'stream_exists' or the revision's digits. */
export function expectedText(expected: ExpectedRevision): string {
  return String(expected);
}

/** The data of event `index` of request `req` in child run `run`: JSON, but bytes for 'Big' events. */
export function eventData(run: number, req: number, type: string, index: number, padBytes: number): unknown {
  if (type !== 'Big') return { run, req, i: index, pad: 'x'.repeat(padBytes) };
  const bytes = new Uint8Array(12 + padBytes);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, run, true);
  view.setInt32(4, req, true);
  view.setInt32(8, index, true);
  for (let k = 12; k < bytes.length; k++) bytes[k] = (req + index + k) & 0xff;
  return bytes;
}

/** The metadata of an event: present on 'Shared' events only, so both kinds of record are written. */
export function eventMetadata(type: string, req: number, index: number): unknown {
  return type === 'Shared' ? { req, i: index } : undefined;
}

const CHILD_PATH = fileURLToPath(new URL('./kill-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A child that is not ready this long after its spawn counts as a hung recovery (P8). */
const READY_MS_MAX = 30_000;
const READ_PAGE_EVENTS = 4096;
const SAMPLED_OLD_POSITIONS = 32;
const DEFERRED_CYCLES_MAX = 3;

type KillPhase = 'startup' | 'recovery' | 'appending';

interface SentRequest {
  readonly cycle: number;
  readonly run: number;
  readonly req: number;
  readonly parts: SentPart[];
  state: 'sent' | 'acked' | 'rejected';
  acked: AckedPart[] | null;
  /** The highest position acknowledged to the child before it sent this: its events must come after (P5). */
  readonly after: number;
  /** Where each of its events was found by the verification under way (-1: not found). */
  found: number[];
}

interface Owner { readonly request: SentRequest; readonly part: number; readonly index: number; readonly order: number }

interface CycleRecord {
  readonly cycle: number;
  ready: { head: bigint; streams: Record<string, string> } | null;
  readonly requests: SentRequest[];
  /** The highest position acknowledged to this child so far. */
  ackedPosition: number;
}

/** The log as verified so far: each position's event id, stream and revision. */
class VerifiedLog {
  count = 0;
  private ids = new Uint8Array(16 * 1024);
  private streamNos = new Uint32Array(1024);
  private revisions = new Uint32Array(1024);
  private readonly names: string[] = [];
  readonly streams = new Map<string, { no: number; count: number; lastPosition: number }>();

  push(id: string, streamId: string): void {
    if (this.count === this.streamNos.length) this.grow();
    let stream = this.streams.get(streamId);
    if (stream === undefined) {
      stream = { no: this.names.length, count: 0, lastPosition: -1 };
      this.streams.set(streamId, stream);
      this.names.push(streamId);
    }
    this.ids.set(Buffer.from(id.replaceAll('-', ''), 'hex'), this.count * 16);
    this.streamNos[this.count] = stream.no;
    this.revisions[this.count] = stream.count++;
    stream.lastPosition = this.count++;
  }

  revisionAt(position: number): number {
    return this.revisions[position];
  }

  revisionCount(streamId: string): number {
    return this.streams.get(streamId)?.count ?? 0;
  }

  /** Why the event read at `position` differs from the one verified there, or null. */
  mismatch(position: number, event: RecordedEvent): string | null {
    const id = Buffer.from(this.ids.buffer, position * 16, 16).toString('hex');
    if (event.id.replaceAll('-', '') !== id) return `id ${event.id}, verified ${id}`;
    if (event.streamId !== this.names[this.streamNos[position]]) return `stream ${event.streamId}, verified ${this.names[this.streamNos[position]]}`;
    if (event.revision !== BigInt(this.revisions[position])) return `revision ${event.revision}, verified ${this.revisions[position]}`;
    return null;
  }

  private grow(): void {
    const ids = new Uint8Array(this.ids.length * 2);
    ids.set(this.ids);
    const streamNos = new Uint32Array(this.streamNos.length * 2);
    streamNos.set(this.streamNos);
    const revisions = new Uint32Array(this.revisions.length * 2);
    revisions.set(this.revisions);
    [this.ids, this.streamNos, this.revisions] = [ids, streamNos, revisions];
  }
}

export interface KillCyclesOptions {
  readonly dir: string;
  readonly cycles: number;
  readonly seed: number;
  /** Progress, one line per cycle. */
  readonly log?: (line: string) => void;
  /** Compare the whole verified log every this many cycles (and after the last); default 1. */
  readonly fullCheckEvery?: number;
  /** Share of cycles whose crash the next child recovers before the parent looks; default 0.25. */
  readonly deferShare?: number;
}

export interface KillCyclesResult {
  readonly cycles: number;
  readonly verifications: number;
  readonly acknowledgedEventsVerified: number;
  readonly eventsInStore: number;
  readonly kills: Record<KillPhase, number>;
  /** Kills that landed with appends sent and not yet settled: inside a group commit. */
  readonly killsWithAppendsInFlight: number;
  readonly rejectedRequests: number;
  /** Requests in flight at a kill whose events the next open found (all of them) or did not (none). */
  readonly inFlightKept: number;
  readonly inFlightLost: number;
  /** Kills that left a chunk rollover half done: a .tmp chunk, or a last chunk not at its capacity. */
  readonly killsMidRollover: number;
  /** Recoveries (child's or parent's) that cut a torn tail. */
  readonly tailsCut: number;
}

/**
 * Runs `cycles` spawn-append-kill cycles on `dir` and verifies the store after each (or after a
 * few, when the next child recovers first). Throws on the first violated property, naming the
 * cycle and the seed; the child is always killed and reaped before this returns or throws. A seed
 * replays the kill schedule and the children's choices, not the exact interleaving (time is real).
 */
export async function runKillCycles(options: KillCyclesOptions): Promise<KillCyclesResult> {
  const { dir, cycles, seed } = options;
  const log = options.log ?? (() => undefined);
  const random = seededRandom(seed);
  const verified = new VerifiedLog();
  const owners = new Map<string, Owner>();
  const counts = { verifications: 0, acknowledgedEventsVerified: 0, killsWithAppendsInFlight: 0, killsMidRollover: 0, rejectedRequests: 0, inFlightKept: 0, inFlightLost: 0, tailsCut: 0 };
  const kills: Record<KillPhase, number> = { startup: 0, recovery: 0, appending: 0 };
  const logger: Logger = { info() {}, warn: (message) => void (message.includes('torn tail') && counts.tailsCut++) };
  let pending: CycleRecord[] = [];
  let openMsEstimate = 20;
  for (let cycle = 0; cycle < cycles; cycle++) {
    const last = cycle === cycles - 1;
    // Every draw is made here, before any timing is known, so a seed replays the same schedule.
    const [phaseDraw, delayDraw, deferDraw] = [random(), random(), random()];
    const plan = phaseDraw < 0.08 ? { after: 'spawn' as const, delayMs: delayDraw * 500 }
      : phaseDraw < 0.2 ? { after: 'open' as const, delayMs: delayDraw * (openMsEstimate * 1.5 + 2) }
        : { after: 'ready' as const, delayMs: 20 + delayDraw * 380 };
    const startedMs = performance.now();
    try {
      const record: CycleRecord = { cycle, ready: null, requests: [], ackedPosition: -1 };
      pending.push(record);
      const childSeed = (seed + Math.imul(cycle + 1, 0x9e3779b1)) | 0;
      const outcome = await runChild(dir, childSeed, plan, record, owners, logger).catch(async (error: unknown) => {
        if (error instanceof Error) error.message += `\n${await reopenVerdict(dir)}`;
        throw error;
      });
      if (outcome.openMs !== null) openMsEstimate = outcome.openMs;
      kills[outcome.phase]++;
      if (outcome.inFlight > 0) counts.killsWithAppendsInFlight++;
      if (midRollover(dir)) counts.killsMidRollover++;
      counts.rejectedRequests += record.requests.filter((r) => r.state === 'rejected').length;
      const acked = record.requests.filter((r) => r.state === 'acked').length;
      const deferred = pending.length;
      const defer = !last && deferred <= DEFERRED_CYCLES_MAX && deferDraw < (options.deferShare ?? 0.25);
      let verdict = 'left for the next child to recover';
      if (!defer) {
        const full = last || (cycle + 1) % (options.fullCheckEvery ?? 1) === 0;
        const checked = await verify(dir, verified, pending, owners, full, seededRandom(seed ^ cycle), logger);
        counts.acknowledgedEventsVerified += checked.acknowledged;
        counts.inFlightKept += checked.inFlightKept;
        counts.inFlightLost += checked.inFlightLost;
        counts.verifications++;
        pending = [];
        owners.clear();
        verdict = `verified${deferred > 1 ? ` ${deferred} cycles` : ''}${full ? ' (full)' : ''}: store holds ${verified.count} events`;
      }
      log(`cycle ${cycle + 1}/${cycles}: killed in ${outcome.phase} ${plan.delayMs.toFixed(0)} ms after ${plan.after}, ${outcome.inFlight} appends in flight, ${acked} acknowledged; ${verdict} (${(performance.now() - startedMs).toFixed(0)} ms)`);
    } catch (error) {
      if (error instanceof Error) error.message = `${error.message}\n(kill cycle ${cycle + 1} of ${cycles}, seed ${seed})`;
      throw error;
    }
  }
  return { cycles, ...counts, eventsInStore: verified.count, kills };
}

/** Whether the crash left a rollover half done (recovery must finish or undo it). */
function midRollover(dir: string): boolean {
  const names = readdirSync(dir);
  if (names.some((name) => name.endsWith('.tmp'))) return true;
  const chunks = names.filter((name) => /^chunk-\d+\.annal$/.test(name)).sort();
  return chunks.length > 0 && statSync(join(dir, chunks[chunks.length - 1])).size !== KILL_STORE_OPTIONS.chunkSizeBytes;
}

/** After a failed child, whether the store still opens: part of the failure report. */
async function reopenVerdict(dir: string): Promise<string> {
  try {
    const store = await EventStore.open(dir, { ...KILL_STORE_OPTIONS, logger: { info() {}, warn() {} } });
    const head = await store.headPosition();
    await store.close();
    return `(the store then reopened, head ${head})`;
  } catch (error) {
    return `(the store then fails to reopen: ${(error as Error).name}: ${(error as Error).message})`;
  }
}

interface ChildOutcome { readonly phase: KillPhase; readonly inFlight: number; readonly openMs: number | null }

/** Spawns one child, records its lines, SIGKILLs it as planned and resolves once it is reaped. */
async function runChild(
  dir: string, childSeed: number, plan: { after: 'spawn' | 'open' | 'ready'; delayMs: number }, record: CycleRecord,
  owners: Map<string, Owner>, logger: Logger,
): Promise<ChildOutcome> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_PATH, dir, String(childSeed)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const closed = once(child, 'close');
  closed.catch(() => undefined);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => void (stderr = (stderr + text).slice(-4096)));
  const startedMs = performance.now();
  let phase: KillPhase = 'startup';
  let openedMs = 0;
  let openMs: number | null = null;
  let inFlight = 0;
  let outcome: ChildOutcome | null = null;
  let failure: Error | null = null;
  const timers: NodeJS.Timeout[] = [];
  const kill = (): void => {
    if (outcome !== null) return;
    outcome = { phase, inFlight, openMs };
    child.kill('SIGKILL');
  };
  const fail = (message: string): void => {
    failure ??= new Error(message);
    kill();
  };
  const schedule = (after: typeof plan.after): void => {
    if (plan.after === after) timers.push(setTimeout(kill, plan.delayMs));
  };
  timers.push(setTimeout(() => phase !== 'appending' && fail(`P8: the child was not ready ${READY_MS_MAX} ms after its spawn (stuck in ${phase})`), READY_MS_MAX));
  const onLine = (line: ChildLine): void => {
    switch (line.t) {
      case 'open':
        phase = 'recovery';
        openedMs = performance.now();
        return schedule('open');
      case 'ready':
        phase = 'appending';
        openMs = performance.now() - openedMs;
        record.ready = { head: BigInt(line.head), streams: line.streams };
        return schedule('ready');
      case 'send': {
        const request: SentRequest = { cycle: record.cycle, run: childSeed, req: line.req, parts: line.parts, state: 'sent', acked: null, after: record.ackedPosition, found: [] };
        let order = 0;
        line.parts.forEach((p, part) => p.ids.forEach((id, index) => {
          if (owners.has(id)) fail(`harness: event id ${id} was sent twice`);
          owners.set(id, { request, part, index, order: order++ });
        }));
        request.found = new Array<number>(order).fill(-1);
        record.requests[line.req] = request;
        inFlight++;
        return;
      }
      case 'ack':
      case 'reject': {
        const request = record.requests[line.req];
        if (request === undefined || request.state !== 'sent') return fail(`harness: ${line.t} of request ${line.req}, which is not in flight`);
        inFlight--;
        if (line.t === 'reject') {
          if (line.code !== 'WRONG_EXPECTED_VERSION') return fail(`the live store failed request ${line.req}: ${line.code} ${line.message}`);
          request.state = 'rejected';
          return;
        }
        const same = line.parts.length === request.parts.length && line.parts.every((p, k) => p.s === request.parts[k].s && p.ids.join() === request.parts[k].ids.join());
        if (!same) return fail(`harness: the ack of request ${line.req} names other streams or ids than its send`);
        request.state = 'acked';
        request.acked = line.parts;
        for (const p of line.parts) record.ackedPosition = Math.max(record.ackedPosition, Number(p.pos));
        return;
      }
      case 'warn':
        return logger.warn(line.message, line.fields);
      case 'fatal':
        return fail(phase === 'recovery'
          ? `P8: the child could not open the store: ${line.code} ${line.message}`
          : `the child's live store failed (no crash involved: a bug under concurrent load): ${line.code} ${line.message}`);
    }
  };
  // A kill can cut the last line short (one write of a long line is not atomic): only that line may fail to parse.
  let torn: string | null = null;
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (text: string) => {
    if (torn !== null) return fail(`harness: a line followed the unparsable line ${torn.slice(0, 200)}`);
    let line: ChildLine;
    try {
      line = JSON.parse(text) as ChildLine;
    } catch {
      torn = text;
      return;
    }
    try {
      onLine(line);
    } catch (error) {
      fail(`harness: line ${text.slice(0, 200)} could not be handled: ${(error as Error).message}`);
    }
  });
  try {
    schedule('spawn');
    const [code, signal] = await closed as [number | null, NodeJS.Signals | null];
    if (failure !== null) throw failure;
    if (outcome === null || signal !== 'SIGKILL') {
      throw new Error(`the child exited by itself (code ${code}, signal ${signal}) ${(performance.now() - startedMs).toFixed(0)} ms after its spawn; stderr:\n${stderr}`);
    }
    return outcome;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await closed;
    }
  }
}

/**
 * Opens the store after a kill (P8 — a SIGKILL keeps the page cache, so no error is acceptable),
 * checks the verified log is intact, checks the events after it against the pending cycles'
 * requests and extends the verified log with them. Returns what it counted.
 */
async function verify(
  dir: string, verified: VerifiedLog, pending: CycleRecord[], owners: Map<string, Owner>, full: boolean, random: () => number, logger: Logger,
): Promise<RequestCounts> {
  let store: EventStore;
  try {
    // Recovery is the same without the idempotency window; replaying it (every child does) would
    // double the cost of a cycle once the log is long.
    store = await EventStore.open(dir, { ...KILL_STORE_OPTIONS, idempotencyWindowEvents: 0, logger });
  } catch (error) {
    throw new Error(`P8: opening the store after the kill threw ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const count = Number(await store.headPosition()) + 1;
    if (count < verified.count) throw new Error(`P1: the log shrank from ${verified.count} verified events to ${count}`);
    await checkVerified(store, verified, full, random);
    const touched = await scanNew(store, verified, pending, owners, count);
    const counts = checkRequests(pending, verified);
    await checkIndexes(store, verified, touched);
    return counts;
  } finally {
    await store.close();
  }
}

/** P1 for earlier cycles: every verified position (or its last and a sample) still holds its event. */
async function checkVerified(store: EventStore, verified: VerifiedLog, full: boolean, random: () => number): Promise<void> {
  const n = verified.count;
  const check = (event: RecordedEvent | undefined, p: number): void => {
    if (event === undefined || event.position !== BigInt(p)) {
      throw new Error(`P1: verified position ${p} reads as ${event === undefined ? 'nothing' : `position ${event.position}`}`);
    }
    const why = verified.mismatch(p, event);
    if (why !== null) throw new Error(`P1: verified position ${p} changed: ${why}`);
  };
  if (full) {
    for (let p = 0; p < n;) {
      const page = await store.readAll({ fromPosition: BigInt(p), maxCount: Math.min(READ_PAGE_EVENTS, n - p) });
      if (page.length === 0) check(undefined, p);
      for (const event of page) check(event, p++);
    }
    return;
  }
  const sample = n === 0 ? [] : [n - 1, ...Array.from({ length: SAMPLED_OLD_POSITIONS }, () => Math.floor(random() * n))];
  for (const p of sample) check((await store.readAll({ fromPosition: BigInt(p), maxCount: 1 }))[0], p);
}

interface TouchedStream { readonly fromRevision: number; readonly events: { id: string; position: bigint }[] }

/**
 * Reads $all past the verified log: each event must come from a request sent (and not rejected)
 * since the last verification, once (P2, P6), at the next revision of its stream (P4) and at a
 * dense position (P5), cycle after cycle. Each child's view at open is checked on the way.
 */
async function scanNew(store: EventStore, verified: VerifiedLog, pending: CycleRecord[], owners: Map<string, Owner>, count: number): Promise<Map<string, TouchedStream>> {
  const touched = new Map<string, TouchedStream>();
  let cursor = 0;
  checkReady(pending[0], verified);
  const enter = (index: number): void => {
    while (cursor < index) checkReady(pending[++cursor], verified);
  };
  for (let p = verified.count; p < count;) {
    const page = await store.readAll({ fromPosition: BigInt(p), maxCount: Math.min(READ_PAGE_EVENTS, count - p) });
    if (page.length === 0) throw new Error(`P5: $all ends at position ${p}, but the head position is ${count - 1}`);
    for (const event of page) {
      const at = `position ${p} (${event.streamId}@${event.revision}, id ${event.id})`;
      if (event.position !== BigInt(p)) throw new Error(`P5: ${at} reads as position ${event.position}`);
      const owner = owners.get(event.id);
      if (owner === undefined) throw new Error(`P2/P6: ${at}: no request sent since the last verification has this id (a phantom, or a duplicate of an older event)`);
      const { request } = owner;
      if (request.found[owner.order] !== -1) throw new Error(`P6: ${at}: the same id is already at position ${request.found[owner.order]}`);
      if (request.state === 'rejected') throw new Error(`P2: ${at} belongs to request ${request.req} of cycle ${request.cycle + 1}, which was rejected`);
      const index = request.cycle - pending[0].cycle;
      if (index < cursor) throw new Error(`P5: ${at} of cycle ${request.cycle + 1} follows events of cycle ${pending[cursor].cycle + 1}`);
      enter(index);
      const sent = request.parts[owner.part];
      const revision = verified.revisionCount(sent.s);
      if (event.streamId !== sent.s || event.revision !== BigInt(revision)) throw new Error(`P4: ${at}: sent to ${sent.s}, whose next revision is ${revision}`);
      const why = payloadMismatch(event, request, owner);
      if (why !== null) throw new Error(`P1: ${at}: ${why}`);
      request.found[owner.order] = p;
      let stream = touched.get(sent.s);
      if (stream === undefined) touched.set(sent.s, stream = { fromRevision: revision, events: [] });
      stream.events.push({ id: event.id, position: event.position });
      verified.push(event.id, event.streamId);
      p++;
    }
  }
  enter(pending.length - 1);
  return touched;
}

/** A child reports the head and its streams' revisions at open: they must match the log before its events. */
function checkReady(record: CycleRecord, verified: VerifiedLog): void {
  if (record.ready === null) return;
  const where = `the child of cycle ${record.cycle + 1} opened the store`;
  if (record.ready.head !== BigInt(verified.count - 1)) throw new Error(`P1/P8: ${where} at head ${record.ready.head}, but ${verified.count} events precede its own`);
  for (const [streamId, last] of Object.entries(record.ready.streams)) {
    const want = verified.revisionCount(streamId) - 1;
    if (BigInt(last) !== BigInt(want)) throw new Error(`P4/P8: ${where} with ${streamId} at revision ${last}, but the log before its events ends it at ${want}`);
  }
}

function payloadMismatch(event: RecordedEvent, request: SentRequest, owner: Owner): string | null {
  const sent = request.parts[owner.part];
  if (event.type !== sent.type) return `type ${event.type}, sent ${sent.type}`;
  const data = eventData(request.run, request.req, sent.type, owner.index, sent.pads[owner.index]);
  const same = data instanceof Uint8Array
    ? event.data instanceof Uint8Array && Buffer.from(event.data).equals(data)
    : JSON.stringify(event.data) === JSON.stringify(data);
  if (!same) return 'its data differs from what was sent';
  if (JSON.stringify(event.metadata) !== JSON.stringify(eventMetadata(sent.type, request.req, owner.index))) return 'its metadata differs from what was sent';
  return null;
}

interface RequestCounts { readonly acknowledged: number; readonly inFlightKept: number; readonly inFlightLost: number }

/** P1 and P2 per request: all its events or none, contiguous, and for an acknowledged one all, where the ack said. */
function checkRequests(pending: CycleRecord[], verified: VerifiedLog): RequestCounts {
  const counts = { acknowledged: 0, inFlightKept: 0, inFlightLost: 0 };
  for (const record of pending) {
    for (const request of record.requests) {
      const found = request.found.filter((p) => p >= 0).length;
      const where = `request ${request.req} of cycle ${request.cycle + 1} (${request.parts.map((p) => `${p.s} x${p.ids.length} expecting ${p.x}`).join(' + ')}; ${request.state})`;
      if (found > 0 && found < request.found.length) throw new Error(`P2: ${where}: only ${found} of its ${request.found.length} events are in the log`);
      if (found > 0 && request.found.some((p, k) => p !== request.found[0] + k)) throw new Error(`P2: ${where}: its events are not contiguous (${request.found.join(', ')})`);
      if (found > 0 && request.found[0] <= request.after) throw new Error(`P5: ${where}: at position ${request.found[0]}, before position ${request.after}, acknowledged before it was sent`);
      if (request.state === 'sent') counts[found > 0 ? 'inFlightKept' : 'inFlightLost']++;
      if (request.state !== 'acked' || request.acked === null) continue;
      if (found === 0) throw new Error(`P1: ${where}: acknowledged, but none of its events is in the log`);
      let order = 0;
      for (const [j, ack] of request.acked.entries()) {
        const n = ack.ids.length;
        const first = Number(ack.next) - (n - 1);
        const x = request.parts[j].x;
        const honoured = x === 'any' || (x === 'no_stream' ? first === 0 : x === 'stream_exists' ? first > 0 : first === Number(x) + 1);
        if (!honoured) throw new Error(`P4: ${where}: acknowledged at ${ack.s}@${first}, which its expected revision ${x} forbids`);
        for (let k = 0; k < n; k++, order++) {
          const position = request.found[order];
          const [wantPosition, wantRevision] = [Number(ack.pos) - (n - 1) + k, first + k];
          if (position !== wantPosition || verified.revisionAt(position) !== wantRevision) {
            throw new Error(`P1: ${where}: event ${ack.ids[k]} was acknowledged at ${ack.s}@${wantRevision}, position ${wantPosition}, but is at revision ${verified.revisionAt(position)}, position ${position}`);
          }
        }
      }
      counts.acknowledged += order;
    }
  }
  return counts;
}

/** The stream index agrees with $all: new events read back by stream, and every stream's count and last position. */
async function checkIndexes(store: EventStore, verified: VerifiedLog, touched: Map<string, TouchedStream>): Promise<void> {
  for (const [streamId, stream] of touched) {
    const events = await store.readStream(streamId, { fromRevision: BigInt(stream.fromRevision) });
    const same = events.length === stream.events.length && events.every((e, k) => e.id === stream.events[k].id && e.position === stream.events[k].position);
    if (!same) throw new Error(`P4/P5: readStream('${streamId}') from revision ${stream.fromRevision} disagrees with $all (${events.length} events, $all has ${stream.events.length})`);
  }
  for (const [streamId, stream] of verified.streams) {
    const info = await store.streamInfo(streamId);
    if (info.eventCount !== BigInt(stream.count) || info.lastPosition !== BigInt(stream.lastPosition)) {
      throw new Error(`P4: streamInfo('${streamId}') says ${info.eventCount} events ending at ${info.lastPosition}; $all says ${stream.count} ending at ${stream.lastPosition}`);
    }
  }
}
