// Model-based property: random sequences of appends (single, multi-stream, retried, concurrent),
// reads, stream info and reopens run against the real store (16 KiB chunks, so chunks roll over
// often) and against test/support/store-model.ts; every result must agree. Replay a failure with
// ANNAL_SEED and ANNAL_PATH (and ANNAL_REPLAY_PATH for the command list's replayPath).

import { isDeepStrictEqual } from 'node:util';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventStore, type EventData, type EventStoreOptions, type ExpectedRevision, type ReadAllFilter, type ReadFrom } from '../../src/annal.js';
import { silentLogger } from '../../src/util/logger.js';
import { propertyParams } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';
import {
  StoreModel, expectSameEvents, issue, outcomeOf, type AppendRequestSpec, type Outcome, type RequestPart,
} from '../support/store-model.js';

const CHUNK_BYTES = 16 * 1024;
const CHUNK_HEADER_BYTES = 128;
const LIMITS = { maxAppendBytes: CHUNK_BYTES - CHUNK_HEADER_BYTES };

// Ids share prefixes ('order', 'order-1', 'order-10') so prefix and category filters have to tell
// them apart; '-dash' and 'order' have no category; 'account-x-1' is in category 'account'.
const STREAMS = ['order-1', 'order-10', 'order-2', 'account-x-1', 'nocategory', 'ünï-✓', '-dash', 'order'];
const TYPES = ['Created', 'Updated', 'Ünïcode✓'];
const FILTER_TYPES = [...TYPES, 'Missing'];
const PREFIXES = ['order', 'order-1', 'a', 'ü', '-', 'zzz'];
const CATEGORIES = ['order', 'account', 'ünï', 'nocategory', 'account-x'];

interface Real {
  store: EventStore;
  readonly dir: string;
  readonly options: EventStoreOptions;
}
type Cmd = fc.AsyncCommand<StoreModel, Real>;

// Explicit ids are unique across the whole run, so a repeated id always means a retry.
let idCounter = 0;
function freshId(): string {
  idCounter++;
  return `0000beef-0000-4000-8000-${idCounter.toString(16).padStart(12, '0')}`;
}

const padArb = fc.oneof({ weight: 3, arbitrary: fc.nat(120) }, { weight: 1, arbitrary: fc.integer({ min: 1000, max: 6000 }) });
const jsonArb = fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' });
const payloadArb: fc.Arbitrary<Pick<EventData, 'data' | 'contentType'>> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ n: fc.nat(), pad: padArb.map((n) => 'x'.repeat(n)) }).map((data) => ({ data })) },
  { weight: 2, arbitrary: jsonArb.map((data) => ({ data })) },
  { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 64 }), padArb, fc.boolean()).map(([bytes, pad, claim]) => {
    const data = new Uint8Array(bytes.length + pad);
    data.set(bytes);
    return claim ? { data, contentType: 'application/octet-stream' as const } : { data };
  }) },
  { weight: 1, arbitrary: jsonArb.map((v) => ({ data: new Uint8Array(Buffer.from(JSON.stringify(v))), contentType: 'application/json' as const })) },
);
const metadataArb = fc.option(fc.oneof(jsonArb, fc.uint8Array({ maxLength: 32 })), { nil: undefined, freq: 2 });
const eventArb: fc.Arbitrary<EventData> = fc.record({ explicitId: fc.boolean(), type: fc.constantFrom(...TYPES), payload: payloadArb, metadata: metadataArb })
  .map(({ explicitId, type, payload, metadata }) => ({
    ...(explicitId ? { id: freshId() } : {}), type, ...payload, ...(metadata === undefined ? {} : { metadata }),
  }));
const eventsArb = fc.array(eventArb, { minLength: 0, maxLength: 4 });

/**
 * An expected revision as generated. 'right' resolves to the one that matches the stream when the
 * request is issued ('no_stream' or its last revision); `rel` is an exact revision relative to it.
 */
type ExpectedSpec = 'any' | 'no_stream' | 'stream_exists' | 'right' | { rel: number } | { abs: number };
const expectedArb: fc.Arbitrary<ExpectedSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('any' as const) },
  { weight: 6, arbitrary: fc.constant('right' as const) },
  { weight: 1, arbitrary: fc.constant('no_stream' as const) },
  { weight: 1, arbitrary: fc.constant('stream_exists' as const) },
  { weight: 1, arbitrary: fc.constantFrom(-2, -1, 1).map((rel) => ({ rel })) },
  { weight: 1, arbitrary: fc.nat(4).map((abs) => ({ abs })) },
);

function resolveExpected(spec: ExpectedSpec, count: number): ExpectedRevision {
  if (spec === 'right') return count === 0 ? 'no_stream' : BigInt(count - 1);
  if (typeof spec === 'string') return spec;
  if ('abs' in spec) return BigInt(spec.abs);
  return BigInt(Math.max(0, count - 1 + spec.rel));
}

function showRequest(r: AppendRequestSpec): string {
  return `${r.kind}(${r.parts.map((p) => `${p.streamId}@${String(p.expected)}[${p.events.map((e) => e.id?.slice(-4) ?? 'gen').join(',')}]`).join(' ')})`;
}

/** Something that turns into an append request once the model's state at issue time is known. */
interface RequestMaker {
  readonly needsHistory: boolean;
  make(model: StoreModel): AppendRequestSpec;
  toString(): string;
}

const partArb = fc.record({ stream: fc.constantFrom(...STREAMS), events: eventsArb, expected: expectedArb });

const singleArb: fc.Arbitrary<RequestMaker> = fc.record({ part: partArb, omitOptions: fc.boolean() }).map(({ part, omitOptions }) => ({
  needsHistory: false,
  make: (model) => {
    const omit = omitOptions && part.expected === 'any';
    return { kind: 'single', parts: [{ streamId: part.stream, events: part.events, expected: resolveExpected(part.expected, model.count(part.stream)) }], ...(omit ? { omitOptions: true } : {}) };
  },
  toString: () => `append(${part.stream}, ${part.events.length} events, ${JSON.stringify(part.expected)})`,
}));

const multiArb: fc.Arbitrary<RequestMaker> = fc.array(partArb, { minLength: 1, maxLength: 3 }).map((parts) => ({
  needsHistory: false,
  make: (model) => {
    // Exact revisions of a stream named twice are relative to the count after its earlier parts.
    const counts = new Map<string, number>();
    return {
      kind: 'multi',
      parts: parts.map((p): RequestPart => {
        const count = counts.get(p.stream) ?? model.count(p.stream);
        counts.set(p.stream, count + p.events.length);
        return { streamId: p.stream, events: p.events, expected: resolveExpected(p.expected, count) };
      }),
    };
  },
  toString: () => `appendMulti(${parts.map((p) => `${p.stream}:${p.events.length}:${JSON.stringify(p.expected)}`).join(' ')})`,
}));

/** Re-sends an earlier request (the same ids, the same expected revisions), maybe only a prefix of a single append, maybe with upper-case ids. */
const retryArb: fc.Arbitrary<RequestMaker> = fc.record({ pick: fc.oneof(fc.nat(2), fc.nat()), upper: fc.boolean(), prefix: fc.option(fc.nat(), { nil: undefined }) }).map(({ pick, upper, prefix }) => ({
  needsHistory: true,
  make: (model) => {
    const old = model.history[model.history.length - 1 - (pick % model.history.length)];
    const parts = old.parts.map((p): RequestPart => {
      let events = p.events;
      if (old.kind === 'single' && prefix !== undefined && events.length > 1) events = events.slice(0, 1 + (prefix % events.length));
      if (upper) events = events.map((e) => (e.id === undefined ? e : { ...e, id: e.id.toUpperCase() }));
      return { ...p, events };
    });
    return { ...old, parts };
  },
  toString: () => `retry(${pick}${upper ? ', upper' : ''}${prefix === undefined ? '' : `, prefix ${prefix}`})`,
}));

async function appendAndCompare(model: StoreModel, real: Real, request: AppendRequestSpec): Promise<void> {
  const [settled] = await Promise.allSettled([issue(real.store, request)]);
  const outcome = outcomeOf(settled);
  const expected = model.apply(request);
  expect(outcome, showRequest(request)).toEqual(expected);
  expect(await real.store.headPosition(), 'an append writes exactly what it reports').toBe(model.headPosition);
}

class AppendCommand implements Cmd {
  constructor(readonly maker: RequestMaker) {}
  check(model: Readonly<StoreModel>): boolean {
    return !this.maker.needsHistory || model.history.length > 0;
  }
  async run(model: StoreModel, real: Real): Promise<void> {
    await appendAndCompare(model, real, this.maker.make(model));
  }
  toString(): string {
    return this.maker.toString();
  }
}

function* permutations(n: number): Generator<number[]> {
  const order = Array.from({ length: n }, (_, i) => i);
  function* go(k: number): Generator<number[]> {
    if (k === n) {
      yield [...order];
      return;
    }
    for (let i = k; i < n; i++) {
      [order[k], order[i]] = [order[i], order[k]];
      yield* go(k + 1);
      [order[k], order[i]] = [order[i], order[k]];
    }
  }
  yield* go(0);
}

/** Appends issued together without awaiting: the store may serialise them in any order the model can reproduce. */
class ConcurrentCommand implements Cmd {
  constructor(readonly makers: readonly RequestMaker[]) {}
  check(model: Readonly<StoreModel>): boolean {
    return model.history.length > 0 || !this.makers.some((m) => m.needsHistory);
  }
  async run(model: StoreModel, real: Real): Promise<void> {
    const before = model.events.length;
    const countsBefore = new Map(STREAMS.map((s) => [s, model.count(s)]));
    const requests = this.makers.map((m) => m.make(model));
    const settled = await Promise.allSettled(requests.map((r) => issue(real.store, r)));
    const outcomes = settled.map(outcomeOf);
    let chosen: StoreModel | null = null;
    for (const order of permutations(requests.length)) {
      const trial = model.clone();
      const expected: Outcome[] = [];
      for (const i of order) expected[i] = trial.apply(requests[i]);
      if (isDeepStrictEqual(expected, outcomes)) {
        chosen = trial;
        break;
      }
    }
    if (chosen === null) {
      // No serialisation explains the results: show the diff against issue order.
      const trial = model.clone();
      expect(outcomes, requests.map(showRequest).join(' | ')).toEqual(requests.map((r) => trial.apply(r)));
      throw new Error('unreachable: issue order reproduces the outcomes');
    }
    model.adopt(chosen);
    // Positions stay dense and every stream's revisions contiguous.
    const added = await real.store.readAll({ fromPosition: BigInt(before) });
    const next = new Map([...countsBefore].map(([s, count]) => [s, BigInt(count)]));
    added.forEach((e, k) => {
      expect(e.position, 'positions are dense').toBe(BigInt(before + k));
      expect(e.revision, `${e.streamId} revisions are contiguous`).toBe(next.get(e.streamId));
      next.set(e.streamId, e.revision + 1n);
    });
    expectSameEvents(added, model.events.slice(before), 'events appended concurrently');
  }
  toString(): string {
    return `concurrent(${this.makers.map(String).join(' | ')})`;
  }
}

const fromArb = (max: bigint): fc.Arbitrary<ReadFrom | undefined> =>
  fc.option(fc.oneof(fc.constant('start' as const), fc.constant('end' as const), fc.bigInt(0n, max)), { nil: undefined });
const directionArb = fc.option(fc.constantFrom('forwards' as const, 'backwards' as const), { nil: undefined });
const maxCountArb = fc.option(fc.oneof(fc.nat(8), fc.nat(8).map(BigInt)), { nil: undefined });
const numberOf = (n: number | bigint | undefined): number | undefined => (n === undefined ? undefined : Number(n));

class ReadStreamCommand implements Cmd {
  constructor(readonly streamId: string, readonly from: ReadFrom | undefined, readonly direction: 'forwards' | 'backwards' | undefined, readonly maxCount: number | bigint | undefined, readonly iterate: boolean) {}
  check(): boolean {
    return true;
  }
  async run(model: StoreModel, real: Real): Promise<void> {
    const options = {
      ...(this.from === undefined ? {} : { fromRevision: this.from }),
      ...(this.direction === undefined ? {} : { direction: this.direction }),
      ...(this.maxCount === undefined ? {} : { maxCount: this.maxCount }),
    };
    const got = this.iterate ? await collect(real.store.iterateStream(this.streamId, options)) : await real.store.readStream(this.streamId, options);
    expectSameEvents(got, model.readStream(this.streamId, this.from, this.direction, numberOf(this.maxCount)), this.toString());
  }
  toString(): string {
    return `${this.iterate ? 'iterateStream' : 'readStream'}(${this.streamId}, ${String(this.from)}, ${this.direction}, ${String(this.maxCount)})`;
  }
}

class ReadAllCommand implements Cmd {
  constructor(readonly from: ReadFrom | undefined, readonly direction: 'forwards' | 'backwards' | undefined, readonly maxCount: number | bigint | undefined, readonly filter: ReadAllFilter | undefined, readonly api: 'readAll' | 'iterateAll' | 'readCategory') {}
  check(): boolean {
    return true;
  }
  async run(model: StoreModel, real: Real): Promise<void> {
    const options = {
      ...(this.from === undefined ? {} : { fromPosition: this.from }),
      ...(this.direction === undefined ? {} : { direction: this.direction }),
      ...(this.maxCount === undefined ? {} : { maxCount: this.maxCount }),
    };
    const store = real.store;
    let got;
    if (this.api === 'readCategory' && this.filter !== undefined && 'category' in this.filter) got = await store.readCategory(this.filter.category, options);
    else if (this.api === 'iterateAll') got = await collect(store.iterateAll({ ...options, ...(this.filter ? { filter: this.filter } : {}) }));
    else got = await store.readAll({ ...options, ...(this.filter ? { filter: this.filter } : {}) });
    expectSameEvents(got, model.readAll(this.from, this.direction, numberOf(this.maxCount), this.filter), this.toString());
  }
  toString(): string {
    return `${this.api}(${String(this.from)}, ${this.direction}, ${String(this.maxCount)}, ${JSON.stringify(this.filter)})`;
  }
}

class InfoCommand implements Cmd {
  constructor(readonly streamId: string) {}
  check(): boolean {
    return true;
  }
  async run(model: StoreModel, real: Real): Promise<void> {
    expect(await real.store.streamInfo(this.streamId)).toEqual(model.streamInfo(this.streamId));
    expect(await real.store.headPosition()).toBe(model.headPosition);
  }
  toString(): string {
    return `streamInfo(${this.streamId})`;
  }
}

/**
 * Close and open again; 'damage-index' first flips a byte of one persisted index file (or the
 * manifest or stream directory), which open must notice and rebuild from the log.
 */
class ReopenCommand implements Cmd {
  constructor(readonly mode: 'plain' | 'damage-index', readonly pick: number) {}
  check(): boolean {
    return true;
  }
  async run(model: StoreModel, real: Real): Promise<void> {
    await real.store.close();
    if (this.mode === 'damage-index') {
      const indexDir = join(real.dir, 'index');
      const names = readdirSync(indexDir).sort();
      if (names.length > 0) {
        const file = join(indexDir, names[this.pick % names.length]);
        const bytes = readFileSync(file);
        if (bytes.length > 0) {
          bytes[(this.pick * 7919) % bytes.length] ^= 1 << (this.pick % 8);
          writeFileSync(file, bytes);
        }
      }
    }
    real.store = await EventStore.open(real.dir, real.options);
    await expectWholeStore(model, real.store);
  }
  toString(): string {
    return `reopen(${this.mode}, ${this.pick})`;
  }
}

/** A scavenge: the model has no metadata or deletes, so it must remove nothing and change no read. */
class ScavengeCommand implements Cmd {
  check(): boolean {
    return true;
  }
  async run(model: StoreModel, real: Real): Promise<void> {
    const result = await real.store.scavenge();
    expect(result.eventsRemoved).toBe(0);
    await expectWholeStore(model, real.store);
  }
  toString(): string {
    return 'scavenge';
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Every event, every stream's info and events, and the head agree with the model. */
async function expectWholeStore(model: StoreModel, store: EventStore): Promise<void> {
  expect(await store.headPosition()).toBe(model.headPosition);
  expectSameEvents(await store.readAll(), model.events, 'all events');
  expectSameEvents(await store.readAll({ direction: 'backwards' }), [...model.events].reverse(), 'all events backwards');
  for (const streamId of STREAMS) {
    expect(await store.streamInfo(streamId)).toEqual(model.streamInfo(streamId));
    expectSameEvents(await store.readStream(streamId), model.readStream(streamId, undefined, undefined, undefined), `stream ${streamId}`);
  }
}

const filterArb: fc.Arbitrary<ReadAllFilter> = fc.oneof(
  fc.constantFrom(...PREFIXES).map((streamPrefix) => ({ streamPrefix })),
  fc.constantFrom(...FILTER_TYPES).map((eventType) => ({ eventType })),
  fc.constantFrom(...CATEGORIES).map((category) => ({ category })),
);

const requestArb = fc.oneof({ weight: 3, arbitrary: singleArb }, { weight: 1, arbitrary: multiArb }, { weight: 1, arbitrary: retryArb });

const commandArbs: fc.Arbitrary<Cmd>[] = [
  singleArb.map((m) => new AppendCommand(m)),
  singleArb.map((m) => new AppendCommand(m)),
  singleArb.map((m) => new AppendCommand(m)),
  multiArb.map((m) => new AppendCommand(m)),
  retryArb.map((m) => new AppendCommand(m)),
  fc.array(requestArb, { minLength: 2, maxLength: 5 }).map((makers) => new ConcurrentCommand(makers)),
  fc.tuple(fc.constantFrom(...STREAMS), fromArb(12n), directionArb, maxCountArb, fc.boolean())
    .map(([s, from, direction, maxCount, iterate]) => new ReadStreamCommand(s, from, direction, maxCount, iterate)),
  fc.tuple(fromArb(100n), directionArb, maxCountArb, fc.option(filterArb, { nil: undefined }), fc.constantFrom('readAll' as const, 'iterateAll' as const, 'readCategory' as const))
    .map(([from, direction, maxCount, filter, api]) => new ReadAllCommand(from, direction, maxCount, filter, api)),
  fc.constantFrom(...STREAMS).map((s) => new InfoCommand(s)),
  fc.constant(new ReopenCommand('plain', 0)),
  fc.nat(1_000_000).map((pick) => new ReopenCommand('damage-index', pick)),
  fc.constant(new ScavengeCommand()),
];

describe('store model', () => {
  it('store model - random appends, retries, concurrent appends, reads and reopens agree with the model', async () => {
    const replayPath = process.env.ANNAL_REPLAY_PATH;
    await fc.assert(
      fc.asyncProperty(
        fc.commands(commandArbs, { maxCommands: 50, size: 'max', ...(replayPath ? { replayPath } : {}) }),
        // One- and three-bit stream hashes make every stream collide in the stream table; a zero
        // checkpoint interval rewrites the checkpoint after every batch; small memtables flush to
        // index files (and merge them) every few appends, while reads go on; a stream cache of
        // one or two streams leaves the others to the stream directory file after each flush.
        fc.record({
          streamHashBits: fc.constantFrom(64, 64, 1, 3),
          checkpointIntervalMs: fc.constantFrom(0, 200),
          indexMemtableEntries: fc.constantFrom(2_000_000, 1, 6, 40),
          streamCacheEntries: fc.constantFrom(262_144, 1, 2),
        }),
        async (commands, tuning) => {
          const dir = tempDir('annal-model-');
          const options: EventStoreOptions = { chunkSizeBytes: CHUNK_BYTES, logger: silentLogger, ...tuning };
          const real: Real = { store: await EventStore.open(dir, options), dir, options };
          const model = new StoreModel(LIMITS);
          try {
            await fc.asyncModelRun(() => ({ model, real }), commands);
            await expectWholeStore(model, real.store);
          } finally {
            await real.store.close();
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      propertyParams(100),
    );
  });
});
