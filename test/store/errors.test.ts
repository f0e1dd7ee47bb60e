// Bad input and misuse: every case throws its typed error with a stable code and leaves the store
// exactly as it was (also after a reopen).

import { closeSync, existsSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AnnalError, AppendTooLargeError, CorruptionError, EventStore, EventTooLargeError, InvalidArgumentError, InvalidEventError, InvalidOptionError,
  InvalidStreamIdError, StoreClosedError, StoreLockedError, StoreOverloadedError, WrongExpectedVersionError, type EventStoreOptions,
} from '../../src/annal.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../support/temp-dir.js';
import { expectUnchanged, storeSnapshot } from '../support/store-snapshot.js';

type ErrorClass = new (...args: never[]) => AnnalError;

async function openStore(options: EventStoreOptions = {}, dir = tempDir()): Promise<EventStore> {
  return EventStore.open(dir, { logger: silentLogger, ...options });
}

/** A store holding a few events, so "nothing written" is not trivially true of an empty one. */
async function seededStore(options: EventStoreOptions = {}, dir = tempDir()): Promise<EventStore> {
  const store = await openStore(options, dir);
  await store.appendToStream('seed-1', [{ type: 'Seeded', data: { n: 1 } }, { type: 'Seeded', data: { n: 2 } }]);
  await store.appendToStream('seed-2', [{ type: 'Seeded', data: { n: 3 } }]);
  return store;
}

async function expectRejects(promise: Promise<unknown>, type: ErrorClass, code: string): Promise<AnnalError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error, `expected ${type.name}`).toBeInstanceOf(type);
  expect(error).toBeInstanceOf(AnnalError);
  expect((error as AnnalError).code).toBe(code);
  return error as AnnalError;
}

/** Runs every bad call, checks its error, then checks nothing was written, before and after a reopen. */
async function expectAllRefused(options: EventStoreOptions, calls: [string, (s: EventStore) => Promise<unknown>, ErrorClass, string][]): Promise<void> {
  const dir = tempDir();
  let store = await seededStore(options, dir);
  const before = await storeSnapshot(store);
  for (const [what, call, type, code] of calls) {
    const error = await call(store).then(() => null, (e: unknown) => e);
    expect(error, what).toBeInstanceOf(type);
    expect((error as AnnalError).code, what).toBe(code);
  }
  await expectUnchanged(store, before);
  // The store still works after refusing.
  await store.appendToStream('seed-2', [{ type: 'After', data: 0 }], { expectedRevision: 0n });
  const after = await storeSnapshot(store);
  await store.close();
  store = await openStore(options, dir);
  await expectUnchanged(store, after);
  await store.close();
}

const ok = { type: 'T', data: 1 };

describe('errors', () => {
  it('errors - bad stream ids throw InvalidStreamIdError and write nothing', async () => {
    const tooLong = 'é'.repeat(513); // 1026 bytes of UTF-8
    const bad: unknown[] = ['', tooLong, 'a\uD800', '\uDC00b', undefined, null, 42];
    const calls: [string, (s: EventStore) => Promise<unknown>, ErrorClass, string][] = [];
    for (const id of bad) {
      const streamId = id as string;
      calls.push(
        [`appendToStream(${String(id).slice(0, 8)})`, (s) => s.appendToStream(streamId, [ok]), InvalidStreamIdError, 'INVALID_STREAM_ID'],
        [`appendMulti(${String(id).slice(0, 8)})`, (s) => s.appendMulti([{ streamId: 'fine', events: [ok] }, { streamId, events: [ok] }]), InvalidStreamIdError, 'INVALID_STREAM_ID'],
        [`readStream(${String(id).slice(0, 8)})`, (s) => s.readStream(streamId), InvalidStreamIdError, 'INVALID_STREAM_ID'],
        [`streamInfo(${String(id).slice(0, 8)})`, (s) => s.streamInfo(streamId), InvalidStreamIdError, 'INVALID_STREAM_ID'],
      );
    }
    await expectAllRefused({}, calls);
  });

  it('errors - a stream id of exactly 1 KiB of UTF-8 is accepted', async () => {
    const store = await openStore();
    const id = 'é'.repeat(512);
    await store.appendToStream(id, [ok]);
    expect((await store.readStream(id))[0].streamId).toBe(id);
    await store.close();
  });

  it('errors - malformed events throw InvalidEventError and write nothing', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const badEvents: [string, unknown][] = [
      ['missing type', { data: 1 }],
      ['empty type', { type: '', data: 1 }],
      ['type not a string', { type: 7, data: 1 }],
      ['type with a lone surrogate', { type: 'T\uD800', data: 1 }],
      ['type over 1 KiB', { type: 'x'.repeat(1025), data: 1 }],
      ['missing data', { type: 'T' }],
      ['undefined data', { type: 'T', data: undefined }],
      ['unknown field', { type: 'T', data: 1, extra: true }],
      ['misspelt metadata', { type: 'T', data: 1, metaData: {} }],
      ['bad id', { id: 'not-a-uuid', type: 'T', data: 1 }],
      ['id without dashes', { id: '0000000a000040008000000a0000000a', type: 'T', data: 1 }],
      ['id not a string', { id: 12, type: 'T', data: 1 }],
      ['bytes claimed as JSON that are not JSON', { type: 'T', data: new TextEncoder().encode('{nope'), contentType: 'application/json' }],
      ['bytes claimed as JSON that are not UTF-8', { type: 'T', data: new Uint8Array([0x22, 0xff, 0x22]), contentType: 'application/json' }],
      ['data claimed as binary that is not bytes', { type: 'T', data: { a: 1 }, contentType: 'application/octet-stream' }],
      ['unknown content type', { type: 'T', data: 1, contentType: 'text/plain' }],
      ['metadata bytes claimed as JSON that are not JSON', { type: 'T', data: 1, metadata: new TextEncoder().encode('{nope'), metadataContentType: 'application/json' }],
      ['metadata claimed as binary that is not bytes', { type: 'T', data: 1, metadata: { a: 1 }, metadataContentType: 'application/octet-stream' }],
      ['unknown metadata content type', { type: 'T', data: 1, metadata: {}, metadataContentType: 'text/plain' }],
      ['a metadata content type without metadata', { type: 'T', data: 1, metadataContentType: 'application/json' }],
      ['data with a BigInt', { type: 'T', data: { n: 1n } }],
      ['cyclic data', { type: 'T', data: cyclic }],
      ['data with no JSON form', { type: 'T', data: () => 1 }],
      ['metadata with no JSON form', { type: 'T', data: 1, metadata: Symbol('m') }],
      ['an event that is not an object', 'event'],
      ['an event that is null', null],
      ['an event that is an array', [ok]],
    ];
    const calls: [string, (s: EventStore) => Promise<unknown>, ErrorClass, string][] = [];
    for (const [what, event] of badEvents) {
      // The bad event comes after a good one: nothing of the append may be written.
      calls.push([what, (s) => s.appendToStream('seed-1', [ok, event as typeof ok]), InvalidEventError, 'INVALID_EVENT']);
      calls.push([`${what} (appendMulti)`, (s) => s.appendMulti([{ streamId: 'other', events: [ok] }, { streamId: 'seed-2', events: [event as typeof ok] }]), InvalidEventError, 'INVALID_EVENT']);
    }
    await expectAllRefused({}, calls);
  });

  it('errors - an error message names the event and the problem', async () => {
    const store = await openStore();
    const error = await expectRejects(store.appendToStream('s', [ok, { type: 'T', data: 1, colour: 'red' } as typeof ok]), InvalidEventError, 'INVALID_EVENT');
    expect(error.message).toContain('event 1');
    expect(error.message).toContain('colour');
    await store.close();
  });

  it('errors - size limits throw EventTooLargeError or AppendTooLargeError and write nothing', async () => {
    const options = { chunkSizeBytes: 64 * 1024, maxEventBytes: 4096, maxAppendBytes: 16 * 1024, maxAppendEvents: 10 };
    // An event's record is 68 bytes of header and trailer plus stream id, type and payloads.
    const eventOf = (dataBytes: number): { type: string; data: Uint8Array } => ({ type: 'T', data: new Uint8Array(dataBytes) });
    const fits = 4096 - 68 - 'seed-1'.length - 1;
    await expectAllRefused(options, [
      ['an event one byte over maxEventBytes', (s) => s.appendToStream('seed-1', [eventOf(fits + 1)]), EventTooLargeError, 'EVENT_TOO_LARGE'],
      ['metadata pushing an event over', (s) => s.appendToStream('seed-1', [{ ...eventOf(fits), metadata: new Uint8Array(1) }]), EventTooLargeError, 'EVENT_TOO_LARGE'],
      ['an event over in appendMulti', (s) => s.appendMulti([{ streamId: 'seed-1', events: [ok] }, { streamId: 'seed-1', events: [eventOf(fits + 1)] }]), EventTooLargeError, 'EVENT_TOO_LARGE'],
      ['events summing over maxAppendBytes', (s) => s.appendToStream('seed-1', Array.from({ length: 5 }, () => eventOf(fits))), AppendTooLargeError, 'APPEND_TOO_LARGE'],
      ['parts summing over maxAppendBytes', (s) => s.appendMulti([1, 2, 3, 4, 5].map(() => ({ streamId: 'seed-1', events: [eventOf(fits)] }))), AppendTooLargeError, 'APPEND_TOO_LARGE'],
      ['11 events, over maxAppendEvents', (s) => s.appendToStream('seed-1', Array.from({ length: 11 }, () => ok)), AppendTooLargeError, 'APPEND_TOO_LARGE'],
      ['parts summing over maxAppendEvents', (s) => s.appendMulti([{ streamId: 'a', events: Array.from({ length: 6 }, () => ok) }, { streamId: 'b', events: Array.from({ length: 5 }, () => ok) }]), AppendTooLargeError, 'APPEND_TOO_LARGE'],
    ]);
    // Exactly at the limits is fine.
    const store = await openStore(options);
    await store.appendToStream('seed-1', [eventOf(fits)]);
    await store.appendToStream('seed-1', Array.from({ length: 10 }, () => ok));
    expect(await store.headPosition()).toBe(10n);
    await store.close();
  });

  it('errors - the default append limit follows a small chunk size', async () => {
    await expectAllRefused({ chunkSizeBytes: 8 * 1024 }, [
      ['an append bigger than an 8 KiB chunk', (s) => s.appendToStream('seed-1', [{ type: 'T', data: new Uint8Array(5000) }, { type: 'T', data: new Uint8Array(5000) }]), AppendTooLargeError, 'APPEND_TOO_LARGE'],
      ['an event bigger than an 8 KiB chunk', (s) => s.appendToStream('seed-1', [{ type: 'T', data: new Uint8Array(9000) }]), EventTooLargeError, 'EVENT_TOO_LARGE'],
    ]);
  });

  it('errors - bad expected revisions, append options and argument shapes throw InvalidArgumentError and write nothing', async () => {
    const arg = (what: string, call: (s: EventStore) => Promise<unknown>): [string, (s: EventStore) => Promise<unknown>, ErrorClass, string] =>
      [what, call, InvalidArgumentError, 'INVALID_ARGUMENT'];
    const bad = (value: unknown) => ({ expectedRevision: value as bigint });
    await expectAllRefused({}, [
      arg('negative revision', (s) => s.appendToStream('seed-1', [ok], bad(-1n))),
      arg('number revision', (s) => s.appendToStream('seed-1', [ok], bad(1))),
      arg('unknown keyword', (s) => s.appendToStream('seed-1', [ok], bad('latest'))),
      arg('revision past POSITION_MAX', (s) => s.appendToStream('seed-1', [ok], bad(2n ** 53n))),
      arg('bad revision in appendMulti', (s) => s.appendMulti([{ streamId: 'seed-1', events: [ok] }, { streamId: 'seed-2', events: [ok], expectedRevision: -5n }])),
      arg('unknown append option', (s) => s.appendToStream('seed-1', [ok], { expectedRevision: 'any', retries: 3 } as never)),
      arg('append options not an object', (s) => s.appendToStream('seed-1', [ok], 'any' as never)),
      arg('events not an array', (s) => s.appendToStream('seed-1', ok as never)),
      arg('appendMulti with no requests', (s) => s.appendMulti([])),
      arg('appendMulti with no array', (s) => s.appendMulti({ streamId: 'seed-1', events: [ok] } as never)),
      arg('appendMulti request not an object', (s) => s.appendMulti([null as never])),
      arg('unknown appendMulti field', (s) => s.appendMulti([{ streamId: 'seed-1', events: [ok], expected: 'any' } as never])),
    ]);
  });

  it('errors - unknown and out-of-range store options throw InvalidOptionError before the directory is touched', async () => {
    const parent = tempDir();
    const bad: [string, unknown][] = [
      ['unknown option', { chunkSize: 1024 }],
      ['chunk below 8 KiB', { chunkSizeBytes: 8 * 1024 - 1 }],
      ['chunk over 1 GiB', { chunkSizeBytes: 2 ** 30 + 1 }],
      ['fractional chunk', { chunkSizeBytes: 10_000.5 }],
      ['chunk as a string', { chunkSizeBytes: '16384' }],
      ['append bytes beyond the chunk', { chunkSizeBytes: 16 * 1024, maxAppendBytes: 16 * 1024 }],
      ['event bytes beyond the append', { maxAppendBytes: 4096, maxEventBytes: 8192 }],
      ['zero append events', { maxAppendEvents: 0 }],
      ['negative window', { idempotencyWindowEvents: -1 }],
      ['negative global index cache', { globalIndexCacheBytes: -1 }],
      ['global index cache over 16 GiB', { globalIndexCacheBytes: 16 * 2 ** 30 + 1 }],
      ['logger not an object', { logger: 'console' }],
      ['options not an object', 'fast'],
    ];
    for (const [what, options] of bad) {
      const dir = join(parent, what.replaceAll(' ', '-'));
      const error = await EventStore.open(dir, options as EventStoreOptions).catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(InvalidOptionError);
      expect((error as AnnalError).code).toBe('INVALID_OPTION');
      expect(existsSync(dir), `${what}: the directory is not created`).toBe(false);
    }
    await expectRejects(EventStore.open(''), InvalidArgumentError, 'INVALID_ARGUMENT');
  });

  it('errors - bad read options throw InvalidArgumentError', async () => {
    const store = await seededStore();
    const arg = async (what: string, promise: Promise<unknown>): Promise<void> => {
      const error = await promise.catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(InvalidArgumentError);
    };
    const collect = async (iterable: AsyncIterable<unknown>): Promise<unknown[]> => {
      const out: unknown[] = [];
      for await (const item of iterable) out.push(item);
      return out;
    };
    const never = (value: unknown) => value as never;
    await arg('unknown readStream option', store.readStream('seed-1', never({ from: 0n })));
    await arg('readAll option of readStream', store.readStream('seed-1', never({ fromPosition: 0n })));
    await arg('unknown readAll option', store.readAll(never({ fromRevision: 0n })));
    await arg('bad direction', store.readAll(never({ direction: 'up' })));
    await arg('number fromRevision', store.readStream('seed-1', never({ fromRevision: 1 })));
    await arg('negative fromPosition', store.readAll({ fromPosition: -1n }));
    await arg('negative maxCount', store.readAll({ maxCount: -1 }));
    await arg('fractional maxCount', store.readStream('seed-1', { maxCount: 1.5 }));
    await arg('maxCount as a string', store.readAll(never({ maxCount: '10' })));
    await arg('maxCount over READ_EVENTS_MAX', store.readAll({ maxCount: 100_000_001 }));
    await arg('read options not an object', store.readAll(never('all')));
    await arg('empty filter', store.readAll(never({ filter: {} })));
    await arg('two filters', store.readAll(never({ filter: { eventType: 'T', category: 'seed' } })));
    await arg('unknown filter', store.readAll(never({ filter: { streamId: 'seed-1' } })));
    await arg('empty filter value', store.readAll({ filter: { streamPrefix: '' } }));
    await arg('filter value not a string', store.readAll(never({ filter: { eventType: 1 } })));
    await arg('readCategory with a filter', store.readCategory('seed', never({ filter: { eventType: 'T' } })));
    await arg('readCategory with an empty category', store.readCategory(''));
    await arg('iterateAll with a bad option', collect(store.iterateAll(never({ limit: 1 }))));
    await arg('iterateStream with a bad option', collect(store.iterateStream('seed-1', never({ direction: 'sideways' }))));
    await store.close();
  });

  it('errors - every call after close throws StoreClosedError and closing twice is harmless', async () => {
    const store = await seededStore();
    await store.close();
    await store.close();
    const closed = async (what: string, promise: Promise<unknown>): Promise<void> => {
      const error = await promise.catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(StoreClosedError);
      expect((error as AnnalError).code).toBe('STORE_CLOSED');
    };
    await closed('appendToStream', store.appendToStream('seed-1', [ok]));
    await closed('appendMulti', store.appendMulti([{ streamId: 'seed-1', events: [ok] }]));
    await closed('readStream', store.readStream('seed-1'));
    await closed('readAll', store.readAll());
    await closed('readCategory', store.readCategory('seed'));
    await closed('streamInfo', store.streamInfo('seed-1'));
    await closed('headPosition', store.headPosition());
    await closed('iterateAll', store.iterateAll()[Symbol.asyncIterator]().next());
    await closed('iterateStream', store.iterateStream('seed-1')[Symbol.asyncIterator]().next());
    // Bad input to a closed store still reports the closed store first.
    await closed('appendToStream with a bad stream id', store.appendToStream('', [ok]));
  });

  it('errors - an append issued while closing is refused and the ones before it are committed', async () => {
    const dir = tempDir();
    let store = await openStore({}, dir);
    const accepted = store.appendToStream('s', [ok]);
    const closing = store.close();
    await expectRejects(store.appendToStream('s', [ok]), StoreClosedError, 'STORE_CLOSED');
    await closing;
    expect(await accepted).toEqual({ nextExpectedRevision: 0n, position: 0n });
    store = await openStore({}, dir);
    expect(await store.headPosition()).toBe(0n);
    await store.close();
  });

  it('errors - a second open of the same directory throws StoreLockedError and leaves the first working', async () => {
    const dir = tempDir();
    const first = await seededStore({}, dir);
    await expectRejects(openStore({}, dir), StoreLockedError, 'STORE_LOCKED');
    await expectRejects(openStore({}, dir), StoreLockedError, 'STORE_LOCKED');
    await first.appendToStream('seed-1', [ok], { expectedRevision: 1n });
    expect(await first.headPosition()).toBe(3n);
    await first.close();
    const second = await openStore({}, dir);
    expect(await second.headPosition()).toBe(3n);
    await second.close();
  });

  it('errors - appends past maxPendingAppends fail fast with StoreOverloadedError and write nothing', async () => {
    const store = await seededStore({ maxPendingAppends: 2 });
    const before = await storeSnapshot(store);
    const settled = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => store.appendToStream('busy', [{ type: 'T', data: i }])));
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected']);
    for (const r of settled.slice(2)) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreOverloadedError);
      expect((r as PromiseRejectedResult).reason.code).toBe('STORE_OVERLOADED');
    }
    expect((await store.readStream('busy')).map((e) => e.data)).toEqual([0, 1]);
    expect(await store.headPosition()).toBe(before.head + 2n);
    // Once the queue drains, appends are accepted again.
    await store.appendToStream('busy', [{ type: 'T', data: 2 }]);
    await store.close();
  });

  it('errors - a damaged chunk header makes open throw CorruptionError and releases the directory', async () => {
    const dir = tempDir();
    const options = { chunkSizeBytes: 8 * 1024 };
    const store = await openStore(options, dir);
    for (let i = 0; i < 30; i++) await store.appendToStream(`c-${i % 3}`, [{ type: 'T', data: { i, pad: 'p'.repeat(500) } }]);
    await store.close();
    // Flip one bit in the header of chunk 0, which later chunks have sealed (open checks every
    // chunk header; a sealed chunk's record CRCs are checked when the records are read).
    const file = join(dir, 'chunk-000000.annal');
    const offset = 40;
    const fd = openSync(file, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    byte[0] ^= 0x10;
    writeSync(fd, byte, 0, 1, offset);
    closeSync(fd);
    const error = await expectRejects(openStore(options, dir), CorruptionError, 'CORRUPTION');
    expect(error).toMatchObject({ file: 'chunk-000000.annal' });
    // Not StoreLockedError: the failed open let go of the directory.
    await expectRejects(openStore(options, dir), CorruptionError, 'CORRUPTION');
  });

  it('errors - WrongExpectedVersionError carries the stream, the expected and the actual revision', async () => {
    const store = await seededStore();
    const error = await expectRejects(store.appendToStream('seed-1', [ok], { expectedRevision: 7n }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    expect(error).toMatchObject({ name: 'WrongExpectedVersionError', streamId: 'seed-1', expected: 7n, actual: 1n });
    expect(error.message).toBe("stream 'seed-1': expected revision 7, actual 1");
    const missing = await expectRejects(store.appendToStream('nope', [ok], { expectedRevision: 'stream_exists' }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    expect(missing).toMatchObject({ streamId: 'nope', expected: 'stream_exists', actual: -1n });
    expect(missing.message).toContain('no stream');
    await store.close();
  });
});
