// appendToStream and appendMulti: what is stored and read back, results, idempotent retries,
// atomicity, chunk rollover and large events.

import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { EventStore, WrongExpectedVersionError, type EventData, type EventStoreOptions } from '../../src/annal.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../support/temp-dir.js';
import { plainEvent } from '../support/store-model.js';
import { expectUnchanged, storeSnapshot } from '../support/store-snapshot.js';

const LOWER_UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ID_A = '0000000a-0000-4000-8000-00000000000a';
const ID_B = '0000000b-0000-4000-8000-00000000000b';
const ID_C = '0000000c-0000-4000-8000-00000000000c';
const ID_D = '0000000d-0000-4000-8000-00000000000d';

async function openStore(options: EventStoreOptions = {}, dir = tempDir()): Promise<EventStore> {
  return EventStore.open(dir, { logger: silentLogger, ...options });
}

function withId(id: string, data: unknown = { id }): EventData {
  return { id, type: 'Happened', data };
}

async function expectConflict(promise: Promise<unknown>, streamId: string, actual: bigint): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(WrongExpectedVersionError);
  expect(error).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', streamId, actual });
}

describe('append', () => {
  it('append - JSON data and metadata round trip as application/json', async () => {
    const store = await openStore();
    const data = { text: 'héllo ✓ 𝄞', n: 1.5, list: [1, null, true], nested: { deep: ['x'] } };
    const metadata = { correlationId: 'c-1', causationId: null };
    await store.appendToStream('order-1', [{ type: 'OrderPlaced', data, metadata }, { type: 'Scalar', data: 'just a string' }, { type: 'Zero', data: 0 }]);
    const [a, b, c] = await store.readStream('order-1');
    expect(a.contentType).toBe('application/json');
    expect(a.data).toEqual(data);
    expect(a.metadata).toEqual(metadata);
    expect(a.type).toBe('OrderPlaced');
    expect(b.data).toBe('just a string');
    expect(c.data).toBe(0);
    await store.close();
  });

  it('append - a lone surrogate inside JSON data survives the round trip', async () => {
    const store = await openStore();
    await store.appendToStream('s', [{ type: 'T', data: { text: 'a\uD800b' } }]);
    const [event] = await store.readStream('s');
    expect(event.data).toEqual({ text: 'a\uD800b' });
    await store.close();
  });

  it('append - binary data and metadata come back as Uint8Array as application/octet-stream', async () => {
    const store = await openStore();
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const meta = Buffer.from([9, 8, 7]);
    await store.appendToStream('bin', [
      { type: 'Blob', data: bytes, metadata: meta },
      { type: 'Blob', data: new Uint8Array(0), contentType: 'application/octet-stream' },
      { type: 'Mixed', data: { json: true }, metadata: new Uint8Array([1]) },
    ]);
    const [a, b, c] = await store.readStream('bin');
    expect(a.contentType).toBe('application/octet-stream');
    expect(a.data).toBeInstanceOf(Uint8Array);
    expect(a.data).toEqual(bytes);
    expect(a.metadata).toBeInstanceOf(Uint8Array);
    expect(Array.from(a.metadata as Uint8Array)).toEqual([9, 8, 7]);
    expect(b.data).toEqual(new Uint8Array(0));
    expect(c.contentType).toBe('application/json');
    expect(c.data).toEqual({ json: true });
    expect(c.metadata).toEqual(new Uint8Array([1]));
    await store.close();
  });

  it('append - metadata is undefined when not given and null when given as null', async () => {
    const store = await openStore();
    await store.appendToStream('m', [{ type: 'T', data: 1 }, { type: 'T', data: 2, metadata: null }, { type: 'T', data: 3, metadata: undefined }]);
    const events = await store.readStream('m');
    expect(events.map((e) => e.metadata)).toEqual([undefined, null, undefined]);
    expect('metadata' in events[0].toJSON()).toBe(true);
    await store.close();
  });

  it('append - Uint8Array data claimed as JSON is stored as JSON and read back parsed', async () => {
    const store = await openStore();
    await store.appendToStream('j', [{ type: 'T', data: new TextEncoder().encode('{"a":[1,2]}'), contentType: 'application/json' }]);
    const [event] = await store.readStream('j');
    expect(event.contentType).toBe('application/json');
    expect(event.data).toEqual({ a: [1, 2] });
    await store.close();
  });

  it('append - Uint8Array metadata claimed as JSON is stored as JSON; bytes stay bytes', async () => {
    const store = await openStore();
    const text = new TextEncoder().encode('{"causation":"c-1"}');
    await store.appendToStream('mj', [
      { type: 'T', data: 1, metadata: text, metadataContentType: 'application/json' },
      { type: 'T', data: 1, metadata: text },
    ]);
    const [json, binary] = await store.readStream('mj');
    expect(json.metadata).toEqual({ causation: 'c-1' });
    expect(binary.metadata).toEqual(text);
    expect(json.metadataBytes()).toEqual(text);
    await store.close();
  });

  it('append - data and metadata are parsed lazily, once, on first access', async () => {
    const store = await openStore();
    await store.appendToStream('lazy', Array.from({ length: 50 }, (_, i) => ({ type: 'T', data: { i }, metadata: { m: i } })));
    const events = await store.readStream('lazy');
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(events.map((e) => e.type).length).toBe(50);
      expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i)));
      expect(parse).not.toHaveBeenCalled();
      const first = events[7].data;
      expect(events[7].data).toBe(first);
      expect(first).toEqual({ i: 7 });
      expect(parse).toHaveBeenCalledTimes(1);
      expect(events[7].metadata).toEqual({ m: 7 });
      expect(parse).toHaveBeenCalledTimes(2);
    } finally {
      parse.mockRestore();
    }
    await store.close();
  });

  it('append - created is the store clock at the append, and the real time by default', async () => {
    const fixedMs = Date.UTC(2024, 1, 29, 12, 34, 56, 789);
    const dir = tempDir();
    let store = await openStore({ clock: { nowMs: () => fixedMs } }, dir);
    await store.appendToStream('t', [{ type: 'T', data: 1 }]);
    expect((await store.readStream('t'))[0].created.getTime()).toBe(fixedMs);
    await store.close();
    store = await openStore({}, dir);
    const beforeMs = Date.now();
    await store.appendToStream('t', [{ type: 'T', data: 2 }]);
    const afterMs = Date.now();
    const [old, fresh] = await store.readStream('t');
    expect(old.created).toEqual(new Date(fixedMs));
    expect(fresh.created.getTime()).toBeGreaterThanOrEqual(beforeMs);
    expect(fresh.created.getTime()).toBeLessThanOrEqual(afterMs);
    await store.close();
  });

  it('append - explicit ids come back lower-case and generated ids are distinct lower-case v4 UUIDs', async () => {
    const store = await openStore();
    await store.appendToStream('ids', [{ id: 'ABCDEF01-2345-4678-9ABC-DEF012345678', type: 'T', data: 1 }]);
    await store.appendToStream('ids', Array.from({ length: 300 }, () => ({ type: 'T', data: 0 })));
    const events = await store.readStream('ids');
    expect(events[0].id).toBe('abcdef01-2345-4678-9abc-def012345678');
    const generated = events.slice(1).map((e) => e.id);
    for (const id of generated) expect(id).toMatch(LOWER_UUID_V4);
    expect(new Set(generated).size).toBe(300);
    await store.close();
  });

  it('append - results report the stream last revision and the position of the last event', async () => {
    const store = await openStore();
    expect(await store.appendToStream('a', [{ type: 'T', data: 1 }, { type: 'T', data: 2 }])).toEqual({ nextExpectedRevision: 1n, position: 1n });
    expect(await store.appendToStream('b', [{ type: 'T', data: 3 }], { expectedRevision: 'no_stream' })).toEqual({ nextExpectedRevision: 0n, position: 2n });
    expect(await store.appendToStream('a', [{ type: 'T', data: 4 }], { expectedRevision: 1n })).toEqual({ nextExpectedRevision: 2n, position: 3n });
    expect(await store.appendToStream('b', [{ type: 'T', data: 5 }], { expectedRevision: 'stream_exists' })).toEqual({ nextExpectedRevision: 1n, position: 4n });
    expect(await store.appendMulti([
      { streamId: 'a', events: [{ type: 'T', data: 6 }], expectedRevision: 2n },
      { streamId: 'c', events: [{ type: 'T', data: 7 }, { type: 'T', data: 8 }] },
    ])).toEqual([{ nextExpectedRevision: 3n, position: 5n }, { nextExpectedRevision: 1n, position: 7n }]);
    expect(await store.headPosition()).toBe(7n);
    await store.close();
  });

  it('append - a wrong expected revision throws with the actual revision and writes nothing', async () => {
    const store = await openStore();
    await store.appendToStream('s', [{ type: 'T', data: 1 }, { type: 'T', data: 2 }]);
    const before = await storeSnapshot(store);
    await expectConflict(store.appendToStream('s', [{ type: 'T', data: 3 }], { expectedRevision: 'no_stream' }), 's', 1n);
    await expectConflict(store.appendToStream('s', [{ type: 'T', data: 3 }], { expectedRevision: 0n }), 's', 1n);
    await expectConflict(store.appendToStream('s', [{ type: 'T', data: 3 }], { expectedRevision: 2n }), 's', 1n);
    await expectConflict(store.appendToStream('missing', [{ type: 'T', data: 3 }], { expectedRevision: 'stream_exists' }), 'missing', -1n);
    await expectConflict(store.appendToStream('missing', [{ type: 'T', data: 3 }], { expectedRevision: 0n }), 'missing', -1n);
    const error = await store.appendToStream('s', [{ type: 'T', data: 3 }], { expectedRevision: 5n }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'WrongExpectedVersionError', expected: 5n, actual: 1n });
    expect((error as Error).message).toContain("stream 's'");
    await expectUnchanged(store, before);
    await store.close();
  });

  it('append - an empty append writes nothing and reports the stream as it stands', async () => {
    const store = await openStore();
    expect(await store.appendToStream('e', [], { expectedRevision: 'no_stream' })).toEqual({ nextExpectedRevision: -1n, position: -1n });
    expect(await store.appendToStream('e', [])).toEqual({ nextExpectedRevision: -1n, position: -1n });
    expect(await store.streamInfo('e')).toMatchObject({ exists: false });
    await store.appendToStream('other', [{ type: 'T', data: 0 }]);
    await store.appendToStream('e', [{ type: 'T', data: 1 }]);
    const before = await storeSnapshot(store);
    expect(await store.appendToStream('e', [], { expectedRevision: 0n })).toEqual({ nextExpectedRevision: 0n, position: 1n });
    expect(await store.appendToStream('e', [], { expectedRevision: 'stream_exists' })).toEqual({ nextExpectedRevision: 0n, position: 1n });
    await expectConflict(store.appendToStream('e', [], { expectedRevision: 'no_stream' }), 'e', 0n);
    await expectConflict(store.appendToStream('gone', [], { expectedRevision: 'stream_exists' }), 'gone', -1n);
    await expectUnchanged(store, before);
    await store.close();
  });

  it("append - retrying the same ids with 'any' or 'stream_exists' writes nothing and returns the first result", async () => {
    const store = await openStore();
    const first = await store.appendToStream('r', [withId(ID_A), withId(ID_B)]);
    await store.appendToStream('r', [{ type: 'T', data: 'later' }]);
    const before = await storeSnapshot(store);
    expect(await store.appendToStream('r', [withId(ID_A), withId(ID_B)])).toEqual(first);
    expect(await store.appendToStream('r', [withId(ID_A), withId(ID_B)], { expectedRevision: 'any' })).toEqual(first);
    expect(await store.appendToStream('r', [withId(ID_A), withId(ID_B)], { expectedRevision: 'stream_exists' })).toEqual(first);
    expect(await store.appendToStream('r', [withId(ID_A.toUpperCase()), withId(ID_B.toUpperCase())])).toEqual(first);
    expect(await store.appendToStream('r', [withId(ID_A)])).toEqual({ nextExpectedRevision: 0n, position: 0n });
    await expectUnchanged(store, before);
    await store.close();
  });

  it("append - 'any' retries are recognised after a reopen", async () => {
    const dir = tempDir();
    let store = await openStore({}, dir);
    const first = await store.appendToStream('r', [withId(ID_A), withId(ID_B)]);
    await store.close();
    store = await openStore({}, dir);
    const before = await storeSnapshot(store);
    expect(await store.appendToStream('r', [withId(ID_A), withId(ID_B)])).toEqual(first);
    await expectUnchanged(store, before);
    await store.close();
  });

  it("append - an 'any' retry older than the idempotency window is written again", async () => {
    const store = await openStore({ idempotencyWindowEvents: 2 });
    await store.appendToStream('w', [withId(ID_A)]);
    expect(await store.appendToStream('w', [withId(ID_A)])).toEqual({ nextExpectedRevision: 0n, position: 0n });
    await store.appendToStream('w', [withId(ID_B), withId(ID_C)]);
    expect(await store.appendToStream('w', [withId(ID_C)])).toEqual({ nextExpectedRevision: 2n, position: 2n });
    // A has left the window of the two newest ids: the same request is now a new append.
    expect(await store.appendToStream('w', [withId(ID_A)])).toEqual({ nextExpectedRevision: 3n, position: 3n });
    expect((await store.readStream('w')).map((e) => e.id)).toEqual([ID_A, ID_B, ID_C, ID_A]);
    await store.close();
  });

  it("append - a partial 'any' retry is a WrongExpectedVersionError and writes nothing", async () => {
    const store = await openStore();
    await store.appendToStream('q', [withId(ID_A), withId(ID_B)]);
    const before = await storeSnapshot(store);
    // The first id was written to this stream, the rest differs: a retry gone wrong, not new events.
    await expectConflict(store.appendToStream('q', [withId(ID_A), withId(ID_B), withId(ID_C)]), 'q', 1n);
    await expectConflict(store.appendToStream('q', [withId(ID_A), withId(ID_D)], { expectedRevision: 'stream_exists' }), 'q', 1n);
    await expectUnchanged(store, before);
    await store.close();
  });

  it('append - the idempotency window remembers the same events before and after a reopen', async () => {
    const dir = tempDir();
    let store = await openStore({ idempotencyWindowEvents: 2 }, dir);
    const first = await store.appendToStream('k', [withId(ID_A)]);
    // Events with generated ids cannot be retried by id, so they do not push A out of the window.
    for (let i = 0; i < 3; i++) await store.appendToStream('k', [{ type: 'T', data: i }]);
    expect(await store.appendToStream('k', [withId(ID_A)])).toEqual(first);
    await store.close();
    store = await openStore({ idempotencyWindowEvents: 2 }, dir);
    const before = await storeSnapshot(store);
    expect(await store.appendToStream('k', [withId(ID_A)])).toEqual(first);
    await expectUnchanged(store, before);
    await store.close();
  });

  it('append - retrying an exact-revision append returns its first result even after the stream moved on', async () => {
    const store = await openStore();
    const first = await store.appendToStream('x', [withId(ID_A), withId(ID_B)], { expectedRevision: 'no_stream' });
    const second = await store.appendToStream('x', [withId(ID_C)], { expectedRevision: 1n });
    await store.appendToStream('x', [{ type: 'T', data: 'more' }]);
    const before = await storeSnapshot(store);
    expect(await store.appendToStream('x', [withId(ID_A), withId(ID_B)], { expectedRevision: 'no_stream' })).toEqual(first);
    expect(await store.appendToStream('x', [withId(ID_C)], { expectedRevision: 1n })).toEqual(second);
    expect(await store.appendToStream('x', [withId(ID_A)], { expectedRevision: 'no_stream' })).toEqual({ nextExpectedRevision: 0n, position: 0n });
    expect(await store.appendToStream('x', [withId(ID_B), withId(ID_C)], { expectedRevision: 0n })).toEqual(second);
    await expectUnchanged(store, before);
    await store.close();
  });

  it('append - a partial retry at an exact revision is a WrongExpectedVersionError and writes nothing', async () => {
    const store = await openStore();
    await store.appendToStream('p', [withId(ID_A), withId(ID_B)], { expectedRevision: 'no_stream' });
    const before = await storeSnapshot(store);
    // Runs past the stream's end: part was written, part was not.
    await expectConflict(store.appendToStream('p', [withId(ID_A), withId(ID_B), withId(ID_C)], { expectedRevision: 'no_stream' }), 'p', 1n);
    // Same revisions, a different id.
    await expectConflict(store.appendToStream('p', [withId(ID_A), withId(ID_D)], { expectedRevision: 'no_stream' }), 'p', 1n);
    await expectConflict(store.appendToStream('p', [withId(ID_B)], { expectedRevision: 'no_stream' }), 'p', 1n);
    // Ids without explicit values never match.
    await expectConflict(store.appendToStream('p', [{ type: 'Happened', data: {} }], { expectedRevision: 'no_stream' }), 'p', 1n);
    await expectUnchanged(store, before);
    await store.close();
  });

  it('append - appendMulti is all or nothing when any part conflicts', async () => {
    const store = await openStore();
    await store.appendToStream('a', [{ type: 'T', data: 1 }]);
    const before = await storeSnapshot(store);
    await expectConflict(store.appendMulti([
      { streamId: 'b', events: [{ type: 'T', data: 2 }], expectedRevision: 'no_stream' },
      { streamId: 'c', events: [{ type: 'T', data: 3 }] },
      { streamId: 'a', events: [{ type: 'T', data: 4 }], expectedRevision: 'no_stream' },
    ]), 'a', 0n);
    await expectConflict(store.appendMulti([
      { streamId: 'a', events: [{ type: 'T', data: 4 }], expectedRevision: 0n },
      { streamId: 'b', events: [{ type: 'T', data: 2 }], expectedRevision: 'stream_exists' },
    ]), 'b', -1n);
    await expectUnchanged(store, before);
    expect(await store.streamInfo('b')).toMatchObject({ exists: false });
    expect(await store.streamInfo('c')).toMatchObject({ exists: false });
    await store.close();
  });

  it('append - appendMulti naming one stream twice appends both parts in order', async () => {
    const store = await openStore();
    const results = await store.appendMulti([
      { streamId: 'twice', events: [{ type: 'T', data: 1 }], expectedRevision: 'no_stream' },
      { streamId: 'other', events: [{ type: 'T', data: 2 }] },
      { streamId: 'twice', events: [{ type: 'T', data: 3 }, { type: 'T', data: 4 }], expectedRevision: 0n },
    ]);
    expect(results).toEqual([{ nextExpectedRevision: 0n, position: 0n }, { nextExpectedRevision: 0n, position: 1n }, { nextExpectedRevision: 2n, position: 3n }]);
    expect((await store.readStream('twice')).map((e) => [e.revision, e.position, e.data])).toEqual([[0n, 0n, 1], [1n, 2n, 3], [2n, 3n, 4]]);
    // The second part is checked against the stream as the first part leaves it.
    const before = await storeSnapshot(store);
    await expectConflict(store.appendMulti([
      { streamId: 'twice', events: [{ type: 'T', data: 5 }], expectedRevision: 2n },
      { streamId: 'twice', events: [{ type: 'T', data: 6 }], expectedRevision: 2n },
    ]), 'twice', 2n);
    await expectUnchanged(store, before);
    await store.close();
  });

  it('append - retrying an appendMulti returns its first results and writes nothing', async () => {
    const store = await openStore();
    const request = [
      { streamId: 'm1', events: [withId(ID_A)], expectedRevision: 'no_stream' as const },
      { streamId: 'm2', events: [withId(ID_B), withId(ID_C)] },
    ];
    const first = await store.appendMulti(request);
    await store.appendToStream('m1', [{ type: 'T', data: 'later' }]);
    const before = await storeSnapshot(store);
    expect(await store.appendMulti(request)).toEqual(first);
    await expectUnchanged(store, before);
    // A request that is half old and half new cannot be a retry.
    await expectConflict(store.appendMulti([request[0], { streamId: 'm3', events: [withId(ID_D)] }]), 'm1', 1n);
    await expectUnchanged(store, before);
    await store.close();
  });

  it('append - retrying an appendMulti that has an empty part returns its first results', async () => {
    // Found by the model test: the empty part used to count as "newly written", so the retry of
    // the other part was taken for a half-old, half-new request and refused.
    const store = await openStore();
    const request = [
      { streamId: 'empty', events: [] },
      { streamId: 'full', events: [withId(ID_A)], expectedRevision: 'no_stream' as const },
    ];
    const first = await store.appendMulti(request);
    expect(first).toEqual([{ nextExpectedRevision: -1n, position: -1n }, { nextExpectedRevision: 0n, position: 0n }]);
    const before = await storeSnapshot(store);
    expect(await store.appendMulti(request)).toEqual(first);
    expect(await store.appendMulti([...request].reverse())).toEqual([...first].reverse());
    await expectUnchanged(store, before);
    await store.close();
  });

  it("append - concurrent 'any' appends to one stream get contiguous revisions and dense positions", async () => {
    const store = await openStore({ chunkSizeBytes: 16 * 1024 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.appendToStream(i % 2 ? 'hot' : `cold-${i}`, [{ type: 'T', data: { i } }])));
    const hot = results.filter((_, i) => i % 2).map((r) => r.nextExpectedRevision).sort((a, b) => (a < b ? -1 : 1));
    expect(hot).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)));
    expect(results.map((r) => r.position).sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i)));
    const all = await store.readAll();
    expect(all.map((e) => e.position)).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i)));
    expect((await store.readStream('hot')).map((e) => e.revision)).toEqual(hot);
    await store.close();
  });

  it('append - close commits every append already accepted', async () => {
    const dir = tempDir();
    let store = await openStore({}, dir);
    const pending = Array.from({ length: 50 }, (_, i) => store.appendToStream('drain', [{ type: 'T', data: i }]));
    await store.close();
    await Promise.all(pending);
    store = await openStore({}, dir);
    expect((await store.readStream('drain')).map((e) => e.data)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await store.close();
  });

  it('append - appends across many chunk rollovers read back identically after a reopen', async () => {
    const dir = tempDir();
    const options = { chunkSizeBytes: 8 * 1024 };
    let store = await openStore(options, dir);
    const sizes = [0, 10, 100, 1000, 3000, 7000];
    for (let i = 0; i < 60; i++) {
      const events = Array.from({ length: 1 + (i % 3) }, (_, k) => ({ type: `T${k}`, data: { i, pad: 'p'.repeat(sizes[(i + k) % sizes.length] / (1 + (i % 3))) } }));
      await store.appendToStream(`roll-${i % 4}`, events);
    }
    // Concurrent appends that a group commit must split across chunks.
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.appendToStream(`roll-${i % 4}`, [{ type: 'C', data: 'c'.repeat(500 + 100 * i) }])));
    const written = await storeSnapshot(store);
    expect(written.head).toBe(BigInt(60 * 2 + 40 - 1));
    const streams = await Promise.all([0, 1, 2, 3].map(async (k) => (await store.readStream(`roll-${k}`)).map(plainEvent)));
    await store.close();
    store = await openStore(options, dir);
    await expectUnchanged(store, written);
    expect(await Promise.all([0, 1, 2, 3].map(async (k) => (await store.readStream(`roll-${k}`)).map(plainEvent)))).toEqual(streams);
    expect(await Promise.all([0, 1, 2, 3].map(async (k) => (await store.readStream(`roll-${k}`, { direction: 'backwards' })).map(plainEvent))))
      .toEqual(streams.map((s) => [...s].reverse()));
    await store.appendToStream('roll-0', [{ type: 'After', data: 'reopen' }]);
    expect((await store.readAll({ direction: 'backwards', maxCount: 1 }))[0].position).toBe(written.head + 1n);
    await store.close();
  });

  it('append - 3 MiB events round trip, also after a reopen', async () => {
    const dir = tempDir();
    const options = { chunkSizeBytes: 8 * 1024 * 1024 };
    let store = await openStore(options, dir);
    const MiB = 1024 * 1024;
    const binary = new Uint8Array(randomBytes(3 * MiB));
    const text = 'j'.repeat(3 * MiB - 100);
    await store.appendToStream('big', [{ type: 'Binary', data: binary }, { type: 'Json', data: { text } }]);
    await store.appendToStream('big', [{ type: 'Binary', data: binary, metadata: { size: binary.length } }]);
    await store.appendToStream('small', [{ type: 'Small', data: 1 }]);
    // Byte-wise toEqual on megabytes is slow: compare with Buffer.equals.
    const sameBytes = (value: unknown): boolean => value instanceof Uint8Array && Buffer.from(value.buffer, value.byteOffset, value.byteLength).equals(binary);
    const check = async (s: EventStore): Promise<void> => {
      const [a, b, c] = await s.readStream('big');
      expect(sameBytes(a.data)).toBe(true);
      expect((b.data as { text: string }).text === text).toBe(true);
      expect(sameBytes(c.data)).toBe(true);
      expect(c.metadata).toEqual({ size: 3 * MiB });
      expect((await s.readAll({ direction: 'backwards' })).map((e) => e.type)).toEqual(['Small', 'Binary', 'Json', 'Binary']);
    };
    await check(store);
    await store.close();
    store = await openStore(options, dir);
    await check(store);
    await store.close();
  });
});
