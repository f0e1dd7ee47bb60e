// End-to-end throughput over the TCP protocol (P1, P2): an `annal serve` child process on its own
// data directory, driven through Annal's client and through node-eventstore-client, each beside
// the embedded store measured in the same run on the same disk.
//
// P1 (appends): W2_WRITERS writers, each on its own stream, one 200-byte JSON event per append,
// each awaiting its own acknowledgement. The three cases run in interleaved slices (embedded, Annal
// client, node-eventstore-client, repeated), so drift on a shared machine hits them alike.
// P2 (reads): one forwards pass over $all in pages of the protocol's largest page, through each
// client; then the server is stopped and the same data directory is read embedded, page for page.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import esc from 'node-eventstore-client';
import { EventStore, type ExpectedRevision } from '../src/annal.js';
import { AnnalClient } from '../src/client/index.js';
import { EVENT_DATA, EVENT_TYPE, eventRecordBytes, repoRoot, sampleEvents, withFreshDir } from './fixture.js';
import { perSecond, quantile, type Figure } from './figure.js';
import { W2_WRITERS } from './writes.js';

/** Interleaved slices per append case. */
export const P1_SLICES = 3;
/** Events in the store P2 reads ($all also holds P1's events and the server's `$users` stream). */
export const P2_FILL_EVENTS = 200_000;
/** The largest page ReadAllEvents accepts (protocol.md §9.2). */
export const P2_PAGE_EVENTS = 4096;
const FILL_BATCH_EVENTS = 1000;
const FILL_IN_FLIGHT_MAX = 8;
const SERVER_START_MS_MAX = 30_000;
const ADMIN = { login: 'admin', password: 'changeit' };

export interface ProtocolTiming {
  readonly durationMs: number;
  readonly warmupMs: number;
}

interface Server {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts `annal serve` on `dataDir` on a free loopback port; resolves once it listens. */
async function startServer(dataDir: string): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, [join(repoRoot(), 'bin', 'annal.js'), 'serve', '--data-dir', dataDir, '--tcp-port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`annal serve did not listen within ${SERVER_START_MS_MAX} ms`)), SERVER_START_MS_MAX);
    child.once('exit', (code) => reject(new Error(`annal serve exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^listening tcp (\S+):(\d+)/.exec(line);
      if (m === null) return;
      clearTimeout(timer);
      resolve({ host: m[1], port: Number(m[2]) });
    });
  });
  return {
    ...address,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One append of one event to stream `w`, expecting `expected`; resolves with the next expectation. */
type AppendOne = (w: number, expected: ExpectedRevision) => Promise<ExpectedRevision>;

interface Case {
  readonly id: string;
  readonly name: string;
  readonly appendOne: AppendOne;
  readonly expected: ExpectedRevision[];
  appends: number;
  elapsedMs: number;
  readonly latenciesMs: number[];
}

function newCase(id: string, name: string, appendOne: AppendOne): Case {
  return { id, name, appendOne, expected: Array.from({ length: W2_WRITERS }, () => 'no_stream'), appends: 0, elapsedMs: 0, latenciesMs: [] };
}

/** Runs every writer of `c` until `durationMs` passed; `measure` false: a warm-up, not counted. */
async function runSlice(c: Case, durationMs: number, measure: boolean): Promise<void> {
  const started = performance.now();
  const deadline = started + durationMs;
  let appends = 0;
  await Promise.all(c.expected.map(async (_, w) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      c.expected[w] = await c.appendOne(w, c.expected[w]);
      if (measure) c.latenciesMs.push(performance.now() - t0);
      appends++;
    }
  }));
  if (!measure) return;
  c.appends += appends;
  c.elapsedMs += performance.now() - started;
}

function toBigint(value: { toString(): string }): bigint {
  return BigInt(value.toString());
}

/** esc's expected version for an ExpectedRevision (only the kinds the writers use). */
function escExpected(expected: ExpectedRevision): number {
  if (expected === 'no_stream') return esc.expectedVersion.noStream;
  if (typeof expected === 'bigint') return Number(expected);
  throw new Error(`unexpected expectation ${String(expected)}`);
}

function appendFigure(c: Case, beside: Pick<Figure, 'comparedTo' | 'target'>): Figure {
  const value = perSecond(c.appends, c.elapsedMs);
  return {
    id: c.id, name: c.name, value, unit: 'events/s', comparesToBaseline: true, ...beside,
    details: {
      writers: W2_WRITERS, slices: P1_SLICES, appends: c.appends, elapsedMs: c.elapsedMs, appendBytes: eventRecordBytes('p1-writer-00'),
      p50LatencyMs: quantile(c.latenciesMs, 0.5), p99LatencyMs: quantile(c.latenciesMs, 0.99), maxLatencyMs: quantile(c.latenciesMs, 1),
    },
  };
}

/** P1: the three append cases, interleaved. */
async function appends(server: Server, annal: AnnalClient, legacy: esc.EventStoreNodeConnection, store: EventStore, timing: ProtocolTiming): Promise<Figure[]> {
  const one = sampleEvents(1);
  const stream = (prefix: string, w: number): string => `${prefix}-${String(w).padStart(2, '0')}`;
  const cases = [
    newCase('P1e', `embedded, ${W2_WRITERS} writers x 1 event (beside P1a/P1n)`, async (w, expected) =>
      (await store.appendToStream(stream('p1-embedded', w), one, { expectedRevision: expected })).nextExpectedRevision),
    newCase('P1a', `Annal client over TCP, ${W2_WRITERS} writers x 1 event`, async (w, expected) =>
      (await annal.appendToStream(stream('p1-annal', w), one, { expectedRevision: expected })).nextExpectedRevision),
    newCase('P1n', `node-eventstore-client over TCP, ${W2_WRITERS} writers x 1 event`, async (w, expected) => {
      const event = esc.createJsonEventData(randomUUID(), EVENT_DATA, null, EVENT_TYPE);
      const result = await legacy.appendToStream(stream('p1-esc', w), escExpected(expected), [event]);
      return toBigint(result.nextExpectedVersion);
    }),
  ];
  for (const c of cases) await runSlice(c, timing.warmupMs, false);
  for (let slice = 0; slice < P1_SLICES; slice++) {
    for (const c of cases) await runSlice(c, timing.durationMs / P1_SLICES, true);
  }
  const [embedded, viaAnnal, viaEsc] = cases;
  console.log(`P1 server at ${server.host}:${server.port}; ${cases.map((c) => `${c.id} ${c.appends} appends`).join(', ')}`);
  return [
    appendFigure(embedded, {}),
    appendFigure(viaAnnal, { comparedTo: 'P1e', target: { kind: 'compared', min: 0.7 } }),
    appendFigure(viaEsc, { comparedTo: 'P1e' }),
  ];
}

/** Appends P2_FILL_EVENTS events through the Annal client, FILL_IN_FLIGHT_MAX batches at a time. */
async function fill(annal: AnnalClient): Promise<void> {
  const batch = sampleEvents(FILL_BATCH_EVENTS);
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < P2_FILL_EVENTS / FILL_BATCH_EVENTS; i++) {
    inFlight.push(annal.appendToStream(`p2-filler-${i % 100}`, batch));
    if (inFlight.length === FILL_IN_FLIGHT_MAX) await inFlight.shift();
  }
  await Promise.all(inFlight);
}

interface ReadPass {
  readonly events: number;
  readonly pages: number;
  readonly elapsedMs: number;
}

async function timedPass(pass: () => Promise<{ events: number; pages: number }>): Promise<ReadPass> {
  const started = performance.now();
  const { events, pages } = await pass();
  return { events, pages, elapsedMs: performance.now() - started };
}

async function readAllAnnal(annal: AnnalClient): Promise<{ events: number; pages: number }> {
  let events = 0;
  let pages = 0;
  let from = 0n;
  for (;;) {
    const page = await annal.readAll({ fromPosition: from, maxCount: P2_PAGE_EVENTS });
    events += page.length;
    pages++;
    if (page.length < P2_PAGE_EVENTS) return { events, pages };
    from = page[page.length - 1].position + 1n;
  }
}

async function readAllEsc(legacy: esc.EventStoreNodeConnection): Promise<{ events: number; pages: number }> {
  let events = 0;
  let pages = 0;
  let from = esc.positions.start;
  for (;;) {
    const slice = await legacy.readAllEventsForward(from, P2_PAGE_EVENTS, false, new esc.UserCredentials(ADMIN.login, ADMIN.password));
    events += slice.events.length;
    pages++;
    if (slice.isEndOfStream) return { events, pages };
    from = slice.nextPosition;
  }
}

async function readAllEmbedded(store: EventStore): Promise<{ events: number; pages: number }> {
  let events = 0;
  let pages = 0;
  let from = 0n;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: P2_PAGE_EVENTS });
    events += page.length;
    pages++;
    if (page.length < P2_PAGE_EVENTS) return { events, pages };
    from = page[page.length - 1].position + 1n;
  }
}

function readFigure(id: string, name: string, pass: ReadPass, comparedTo?: string): Figure {
  return {
    id, name, value: perSecond(pass.events, pass.elapsedMs), unit: 'events/s', comparesToBaseline: false, ...(comparedTo ? { comparedTo } : {}),
    details: { events: pass.events, pages: pass.pages, pageEvents: P2_PAGE_EVENTS, elapsedMs: pass.elapsedMs },
  };
}

/** P1 and P2. */
export async function protocol(timing: ProtocolTiming): Promise<Figure[]> {
  return withFreshDir('p-embedded', (embeddedDir) => withFreshDir('p-server', async (serverDir) => {
    const server = await startServer(serverDir);
    let serverRunning = true;
    const store = await EventStore.open(embeddedDir);
    const annal = await AnnalClient.connect({ host: server.host, port: server.port, credentials: ADMIN, connectionName: 'bench-annal' });
    const legacy = esc.createConnection(
      { defaultUserCredentials: new esc.UserCredentials(ADMIN.login, ADMIN.password), maxReconnections: 0, maxRetries: 0 },
      `tcp://${server.host}:${server.port}`, 'bench-esc',
    );
    const connected = new Promise<void>((resolve) => legacy.once('connected', () => resolve()));
    await legacy.connect();
    await connected;
    try {
      const figures = await appends(server, annal, legacy, store, timing);
      await store.close();
      await fill(annal);
      const viaAnnal = await timedPass(() => readAllAnnal(annal));
      const viaEsc = await timedPass(() => readAllEsc(legacy));
      if (viaAnnal.events !== viaEsc.events) throw new Error(`the clients read ${viaAnnal.events} and ${viaEsc.events} events of the same $all`);
      await annal.close();
      legacy.close();
      await server.stop();
      serverRunning = false;
      const reopened = await EventStore.open(serverDir);
      const embedded = await timedPass(() => readAllEmbedded(reopened)).finally(() => reopened.close());
      if (embedded.events !== viaAnnal.events) throw new Error(`embedded read ${embedded.events} events, the clients ${viaAnnal.events}`);
      figures.push(
        readFigure('P2e', `embedded $all read, pages of ${P2_PAGE_EVENTS} (beside P2a/P2n)`, embedded),
        readFigure('P2a', `Annal client $all read over TCP, pages of ${P2_PAGE_EVENTS}`, viaAnnal, 'P2e'),
        readFigure('P2n', `node-eventstore-client $all read over TCP, pages of ${P2_PAGE_EVENTS}`, viaEsc, 'P2e'),
      );
      return figures;
    } finally {
      if (serverRunning) {
        await annal.close().catch(() => undefined);
        legacy.close();
        await store.close().catch(() => undefined);
        await server.stop();
      }
    }
  }));
}
