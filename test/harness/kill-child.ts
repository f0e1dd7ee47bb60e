// The child process of the kill harness (RELIABILITY.md F12): reopens the store in argv[2], then
// appends from concurrent writers until it is SIGKILLed, writing one JSON line to stdout for each
// request before it is sent and for each outcome once it settles. Driven by kill-loop.ts.

import { randomUUID } from 'node:crypto';
import { writeSync } from 'node:fs';
import { EventStore, WrongExpectedVersionError, type AppendResult, type EventData, type ExpectedRevision, type Logger } from '../../src/annal.js';
import { seededRandom } from '../support/random.js';
import {
  KILL_STORE_OPTIONS, eventData, eventMetadata, expectedText, type ChildLine, type SentPart,
} from './kill-loop.js';

const WRITERS = 24;
const SHARED_STREAMS = 4;
const BIG_STREAMS = 4;
/** A child the parent forgot (it died without closing our stdin) exits by itself. */
const LIFETIME_MS_MAX = 120_000;

// Blocking writes to fd 1: a line is in the pipe before the append it announces is issued, so a
// kill can never lose a 'send' line whose events reach the disk.
function report(line: ChildLine): void {
  const bytes = Buffer.from(JSON.stringify(line) + '\n');
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(1, bytes, done, bytes.length - done);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

const logger: Logger = {
  info() {},
  warn(message, fields) {
    report({ t: 'warn', message, ...(fields ? { fields } : {}) });
  },
};

const [dir, seedText] = process.argv.slice(2);
if (dir === undefined || seedText === undefined) throw new Error('usage: kill-child.ts <dir> <seed>');
const run = Number(seedText) | 0;
const random = seededRandom(run);
const runTag = (run >>> 0).toString(16);
const pick = (n: number): number => Math.floor(random() * n);

setTimeout(() => process.exit(3), LIFETIME_MS_MAX).unref();
process.stdin.on('close', () => process.exit(4));
process.stdin.resume();

/** The last revision each stream is known to have (-1n: no events); exact for a writer's own streams. */
const known = new Map<string, bigint>();
let nextRequest = 0;
let nextFresh = 0;

function learn(streamId: string, lastRevision: bigint): void {
  if (lastRevision > (known.get(streamId) ?? -1n)) known.set(streamId, lastRevision);
}

/** The right expectation for `streamId` as far as this child knows (a race may still make it wrong). */
function exact(streamId: string): ExpectedRevision {
  const last = known.get(streamId) ?? -1n;
  return last < 0n ? 'no_stream' : last;
}

/** Mostly right, sometimes 'any' / 'stream_exists', sometimes wrong on purpose (a certain rejection). */
function ownExpectation(streamId: string): ExpectedRevision {
  const last = known.get(streamId) ?? -1n;
  const r = random();
  if (r < 0.6) return exact(streamId);
  if (r < 0.75) return 'any';
  if (r < 0.85) return last < 0n ? 'no_stream' : 'stream_exists';
  if (last < 0n) return random() < 0.5 ? 'stream_exists' : 0n;
  return [`no_stream` as const, last + 1n + BigInt(pick(3)), last > 0n ? last - 1n : last + 1n][pick(3)];
}

function part(streamId: string, expected: ExpectedRevision, type: string, count: number, padMax: number): SentPart {
  return {
    s: streamId, x: expectedText(expected), type,
    ids: Array.from({ length: count }, () => randomUUID()),
    pads: Array.from({ length: count }, () => pick(padMax)),
  };
}

/** The next request of writer `w`: its own streams, shared ones, multi-stream, new streams, big appends. */
function plan(w: number): SentPart[] {
  const own = `own-${w}`;
  const r = random();
  const few = (): number => (random() < 0.8 ? 1 + pick(3) : 4 + pick(9));
  if (r < 0.4) return [part(own, ownExpectation(own), 'Own', few(), 200)];
  if (r < 0.65) {
    const shared = `shared-${pick(SHARED_STREAMS)}`;
    const k = random();
    return [part(shared, k < 0.5 ? exact(shared) : k < 0.75 ? 'any' : 'stream_exists', 'Shared', few(), 150)];
  }
  if (r < 0.8) {
    // One transaction over two streams: both the writer's own (accepted) or one shared (may race).
    const other = random() < 0.5 ? `shared-${pick(SHARED_STREAMS)}` : own;
    return [part(`${own}-b`, exact(`${own}-b`), 'Multi', few(), 150), part(other, exact(other), 'Multi', few(), 150)];
  }
  if (r < 0.97) {
    // Two claims per name: writers race to create each fresh stream; the loser is rejected.
    const fresh = `fresh-${runTag}-${Math.floor(nextFresh++ / 2)}`;
    return [part(fresh, random() < 0.9 ? 'no_stream' : 'stream_exists', 'Fresh', 1 + pick(2), 100)];
  }
  return [part(`big-${pick(BIG_STREAMS)}`, 'any', 'Big', 5 + pick(20), 3000)];
}

function toEvents(p: SentPart, req: number): EventData[] {
  return p.ids.map((id, i) => {
    const metadata = eventMetadata(p.type, req, i);
    return { id, type: p.type, data: eventData(run, req, p.type, i, p.pads[i]), ...(metadata === undefined ? {} : { metadata }) };
  });
}

async function send(store: EventStore, parts: SentPart[]): Promise<void> {
  const req = nextRequest++;
  const expected = parts.map((p) => parseExpected(p.x));
  report({ t: 'send', req, parts });
  let results: AppendResult[];
  try {
    results = parts.length === 1
      ? [await store.appendToStream(parts[0].s, toEvents(parts[0], req), { expectedRevision: expected[0] })]
      : await store.appendMulti(parts.map((p, k) => ({ streamId: p.s, events: toEvents(p, req), expectedRevision: expected[k] })));
  } catch (error) {
    if (!(error instanceof WrongExpectedVersionError)) throw error;
    learn(error.streamId, error.actual);
    report({ t: 'reject', req, code: error.code, message: error.message });
    return;
  }
  parts.forEach((p, k) => learn(p.s, results[k].nextExpectedRevision));
  report({ t: 'ack', req, parts: parts.map((p, k) => ({ s: p.s, ids: p.ids, next: String(results[k].nextExpectedRevision), pos: String(results[k].position) })) });
}

function parseExpected(text: string): ExpectedRevision {
  return text === 'any' || text === 'no_stream' || text === 'stream_exists' ? text : BigInt(text);
}

async function main(): Promise<void> {
  report({ t: 'open', run });
  const store = await EventStore.open(dir, { ...KILL_STORE_OPTIONS, logger });
  const streams: Record<string, string> = {};
  const names = [
    ...Array.from({ length: WRITERS }, (_, w) => [`own-${w}`, `own-${w}-b`]).flat(),
    ...Array.from({ length: SHARED_STREAMS }, (_, k) => `shared-${k}`),
    ...Array.from({ length: BIG_STREAMS }, (_, k) => `big-${k}`),
  ];
  for (const name of names) {
    const info = await store.streamInfo(name);
    known.set(name, info.lastRevision);
    streams[name] = String(info.lastRevision);
  }
  report({ t: 'ready', head: String(await store.headPosition()), streams });
  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    for (;;) await send(store, plan(w));
  }));
}

main().catch((error: unknown) => {
  report({ t: 'fatal', message: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error), code: (error as { code?: string }).code ?? '' });
  process.exit(1);
});
