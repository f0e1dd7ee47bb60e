// Stream metadata (`$$S` streams, es-tcp.md §4): round trips, what `$maxCount`, `$tb` and `$maxAge`
// hide from stream reads (never from $all), validation of what is written to `$$S`, expected
// revisions on metadata, reopen, and stream ids too long to have a metastream.

import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError, InvalidEventError, InvalidStreamIdError, StreamDeletedError, WrongExpectedVersionError,
} from '../../src/annal.js';
import { STREAM_ID_BYTES_MAX } from '../../src/util/limits.js';
import { expectUnchanged, storeSnapshot } from '../support/store-snapshot.js';
import { SimStore, events, expectRejects, revisions } from './policy-fixture.js';

describe('metadata', () => {
  it('metadata - set and get round trip, with user keys kept as they are', async () => {
    const { store } = await SimStore.open();
    const none = await store.getStreamMetadata('order-1');
    expect(none).toEqual({ streamId: 'order-1', metadata: null, metastreamRevision: -1n, deleted: false });
    const metadata = { $maxCount: 10, $maxAge: 3600, $cacheControl: 60, $acl: { $r: ['alice', '$admins'], $w: 'bob' }, owner: 'team-a', nested: { list: [1, 'x', null] } };
    const result = await store.setStreamMetadata('order-1', metadata);
    expect(result.nextExpectedRevision).toBe(0n);
    expect(await store.getStreamMetadata('order-1')).toEqual({ streamId: 'order-1', metadata, metastreamRevision: 0n, deleted: false });
    // The latest event wins; earlier keys are not merged in.
    await store.setStreamMetadata('order-1', { owner: 'team-b' });
    expect(await store.getStreamMetadata('order-1')).toEqual({ streamId: 'order-1', metadata: { owner: 'team-b' }, metastreamRevision: 1n, deleted: false });
    // The metastream is an ordinary readable stream of `$metadata` JSON events.
    const stored = await store.readStream('$$order-1');
    expect(stored.map((e) => [e.type, e.contentType, e.data])).toEqual([['$metadata', 'application/json', metadata], ['$metadata', 'application/json', { owner: 'team-b' }]]);
    // Metadata alone does not make the stream exist.
    expect(await store.streamInfo('order-1')).toMatchObject({ exists: false, deleted: false, lastRevision: -1n });
    await store.close();
  });

  it('metadata - a $metadata event appended to $$S directly, as JSON bytes, is the metadata', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(3));
    await store.appendToStream('$$s', [{ type: '$metadata', data: Buffer.from('{"$maxCount":1,"k":"v"}'), contentType: 'application/json' }]);
    expect((await store.getStreamMetadata('s')).metadata).toEqual({ $maxCount: 1, k: 'v' });
    expect(await revisions(store.readStream('s'))).toEqual([2n]);
    await store.close();
  });

  it('metadata - JSON bytes appended to $$S without a content type are the metadata too', async () => {
    // The append validates the bytes as metadata JSON; the store then stores them as binary. The
    // metadata must still count, rather than being accepted and then silently ignored.
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(3));
    await store.appendToStream('$$s', [{ type: '$metadata', data: Buffer.from('{"$maxCount":1}') }]);
    expect((await store.getStreamMetadata('s')).metadata).toEqual({ $maxCount: 1 });
    expect(await revisions(store.readStream('s'))).toEqual([2n]);
    await store.close();
  });

  it('metadata - $maxCount hides older events from readStream in both directions and from readEvent', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(10));
    await store.setStreamMetadata('s', { $maxCount: 3 });
    expect(await revisions(store.readStream('s'))).toEqual([7n, 8n, 9n]);
    expect(await revisions(store.readStream('s', { direction: 'backwards' }))).toEqual([9n, 8n, 7n]);
    // Forwards from inside the hidden range starts at the first visible event.
    expect(await revisions(store.readStream('s', { fromRevision: 2n }))).toEqual([7n, 8n, 9n]);
    expect(await revisions(store.readStream('s', { fromRevision: 2n, maxCount: 2 }))).toEqual([7n, 8n]);
    expect(await revisions(store.readStream('s', { fromRevision: 8n }))).toEqual([8n, 9n]);
    // Backwards from inside the hidden range: nothing is visible at or below it.
    expect(await revisions(store.readStream('s', { fromRevision: 6n, direction: 'backwards' }))).toEqual([]);
    expect(await revisions(store.readStream('s', { fromRevision: 8n, direction: 'backwards' }))).toEqual([8n, 7n]);
    expect(await revisions(store.readStream('s', { direction: 'backwards', maxCount: 2 }))).toEqual([9n, 8n]);
    expect(await store.readEvent('s', 6n)).toBeNull();
    expect(await store.readEvent('s', 0n)).toBeNull();
    expect((await store.readEvent('s', 7n))?.data).toEqual({ n: 7 });
    expect((await store.readEvent('s', 'end'))?.revision).toBe(9n);
    const seen: bigint[] = [];
    for await (const e of store.iterateStream('s')) seen.push(e.revision);
    expect(seen).toEqual([7n, 8n, 9n]);
    // The window moves as the stream grows.
    await store.appendToStream('s', events(2, 10));
    expect(await revisions(store.readStream('s'))).toEqual([9n, 10n, 11n]);
    expect(await store.streamInfo('s')).toMatchObject({ exists: true, lastRevision: 11n, eventCount: 12n });
    await store.close();
  });

  it('metadata - $tb hides the events below it from readStream and readEvent', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(6));
    await store.setStreamMetadata('s', { $tb: 4 });
    expect(await revisions(store.readStream('s'))).toEqual([4n, 5n]);
    expect(await revisions(store.readStream('s', { direction: 'backwards' }))).toEqual([5n, 4n]);
    expect(await revisions(store.readStream('s', { fromRevision: 1n, maxCount: 1 }))).toEqual([4n]);
    expect(await revisions(store.readStream('s', { fromRevision: 3n, direction: 'backwards' }))).toEqual([]);
    expect(await revisions(store.readStream('s', { fromRevision: 4n, direction: 'backwards' }))).toEqual([4n]);
    expect(await store.readEvent('s', 3n)).toBeNull();
    expect((await store.readEvent('s', 4n))?.revision).toBe(4n);
    // $tb beyond the end hides everything until the stream grows past it.
    await store.setStreamMetadata('s', { $tb: 8 });
    expect(await store.readStream('s')).toEqual([]);
    expect(await store.readEvent('s', 'end')).toBeNull();
    await store.appendToStream('s', events(3, 6));
    expect(await revisions(store.readStream('s'))).toEqual([8n]);
    // $tb and $maxCount together: the stricter one wins.
    await store.setStreamMetadata('s', { $tb: 2, $maxCount: 4 });
    expect(await revisions(store.readStream('s'))).toEqual([5n, 6n, 7n, 8n]);
    await store.setStreamMetadata('s', { $tb: 7, $maxCount: 4 });
    expect(await revisions(store.readStream('s'))).toEqual([7n, 8n]);
    await store.close();
  });

  it('metadata - $maxAge hides events older than it, by the injected clock', async () => {
    let nowMs = 1_700_000_000_000;
    const { store } = await SimStore.open({ clock: { nowMs: () => nowMs } });
    for (let i = 0; i < 5; i++) {
      await store.appendToStream('s', events(1, i)); // created at nowMs: 0 s, 10 s, 20 s, 30 s, 40 s
      nowMs += 10_000;
    }
    // Now is 50 s: events 0 and 1 are 50 and 40 seconds old.
    await store.setStreamMetadata('s', { $maxAge: 35 });
    expect(await revisions(store.readStream('s'))).toEqual([2n, 3n, 4n]);
    expect(await revisions(store.readStream('s', { direction: 'backwards' }))).toEqual([4n, 3n, 2n]);
    expect(await store.readEvent('s', 1n)).toBeNull();
    expect((await store.readEvent('s', 2n))?.revision).toBe(2n);
    // An event exactly $maxAge old is still visible.
    nowMs = 1_700_000_000_000 + 20_000 + 35_000;
    expect(await revisions(store.readStream('s'))).toEqual([2n, 3n, 4n]);
    nowMs += 1;
    expect(await revisions(store.readStream('s'))).toEqual([3n, 4n]);
    // Time passing hides more, until nothing is left.
    nowMs += 3_600_000;
    expect(await store.readStream('s')).toEqual([]);
    expect(await store.readEvent('s', 'end')).toBeNull();
    await store.close();
  });

  it('metadata - readAll still returns every event, whatever stream metadata hides', async () => {
    let nowMs = 1_700_000_000_000;
    const { store } = await SimStore.open({ clock: { nowMs: () => nowMs } });
    await store.appendToStream('count', events(4));
    await store.appendToStream('tb', events(4));
    await store.appendToStream('age', events(4));
    nowMs += 100_000;
    await store.setStreamMetadata('count', { $maxCount: 1 });
    await store.setStreamMetadata('tb', { $tb: 3 });
    await store.setStreamMetadata('age', { $maxAge: 1 });
    expect((await store.readStream('count')).length + (await store.readStream('tb')).length + (await store.readStream('age')).length).toBe(2);
    const all = await store.readAll();
    expect(all.map((e) => e.streamId)).toEqual([...Array(4).fill('count'), ...Array(4).fill('tb'), ...Array(4).fill('age'), '$$count', '$$tb', '$$age']);
    expect(all.map((e) => e.position)).toEqual(all.map((_, i) => BigInt(i)));
    expect((await store.readAll({ filter: { streamPrefix: 'count' } })).length).toBe(4);
    await store.close();
  });

  it('metadata - invalid metadata is an InvalidEventError and writes nothing', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(2));
    await store.setStreamMetadata('s', { $maxCount: 5 });
    const before = await storeSnapshot(store);
    const bad: [string, () => Promise<unknown>][] = [
      ['$maxCount -1', () => store.setStreamMetadata('s', { $maxCount: -1 })],
      ['$maxCount 1.5', () => store.setStreamMetadata('s', { $maxCount: 1.5 })],
      ['$maxCount as a string', () => store.setStreamMetadata('s', { $maxCount: '3' })],
      ['$maxAge -5', () => store.setStreamMetadata('s', { $maxAge: -5 })],
      ['$tb -1', () => store.setStreamMetadata('s', { $tb: -1 })],
      ['$cacheControl a string', () => store.appendToStream('$$s', [{ type: '$metadata', data: Buffer.from('{"$cacheControl":"x"}'), contentType: 'application/json' }])],
      ['$acl roles not strings', () => store.setStreamMetadata('s', { $acl: { $r: [1, 2] } })],
      ['$acl role a number', () => store.setStreamMetadata('s', { $acl: { $w: 7 } })],
      ['$acl not an object', () => store.setStreamMetadata('s', { $acl: '$admins' })],
      ['metadata an array', () => store.setStreamMetadata('s', [1, 2] as unknown as Record<string, unknown>)],
      ['metadata null', () => store.setStreamMetadata('s', null as unknown as Record<string, unknown>)],
      ['a non-$metadata event type on $$S', () => store.appendToStream('$$s', [{ type: 'Other', data: { $maxCount: 1 } }])],
      ['a second event of another type', () => store.appendToStream('$$s', [{ type: '$metadata', data: {} }, { type: 'Other', data: {} }])],
      ['non-JSON bytes', () => store.appendToStream('$$s', [{ type: '$metadata', data: Buffer.from('not json {') }])],
      ['non-JSON bytes claimed as JSON', () => store.appendToStream('$$s', [{ type: '$metadata', data: Buffer.from([0x7b, 0xff]), contentType: 'application/json' }])],
      ['a JSON string, not an object', () => store.appendToStream('$$s', [{ type: '$metadata', data: '{"$maxCount":1}' }])],
      ['an invalid part of appendMulti', () => store.appendMulti([{ streamId: 's', events: events(1) }, { streamId: '$$s', events: [{ type: '$metadata', data: { $maxCount: -1 } }] }])],
    ];
    for (const [name, call] of bad) {
      const error = await call().then(() => null, (e: unknown) => e);
      expect(error, name).toBeInstanceOf(InvalidEventError);
      expect((error as InvalidEventError).code, name).toBe('INVALID_EVENT');
    }
    await expectUnchanged(store, before);
    expect((await store.getStreamMetadata('s')).metadata).toEqual({ $maxCount: 5 });
    await store.close();
  });

  it('metadata - set and get on a $$ stream is an InvalidArgumentError', async () => {
    const { store } = await SimStore.open();
    const before = await storeSnapshot(store);
    await expectRejects(store.setStreamMetadata('$$s', { $maxCount: 1 }), InvalidArgumentError, 'INVALID_ARGUMENT');
    await expectRejects(store.getStreamMetadata('$$s'), InvalidArgumentError, 'INVALID_ARGUMENT');
    await expectUnchanged(store, before);
    // A `$`-prefixed (system) stream does have metadata.
    await store.setStreamMetadata('$system', { k: 1 });
    expect((await store.getStreamMetadata('$system')).metadata).toEqual({ k: 1 });
    await store.close();
  });

  it('metadata - an expected revision on metadata is checked against $$S', async () => {
    const { store } = await SimStore.open();
    await store.setStreamMetadata('s', { v: 1 }, { expectedRevision: 'no_stream' });
    const conflict = await expectRejects(store.setStreamMetadata('s', { v: 2 }, { expectedRevision: 'no_stream' }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    expect(conflict).toMatchObject({ streamId: '$$s', expected: 'no_stream', actual: 0n });
    await expectRejects(store.setStreamMetadata('s', { v: 2 }, { expectedRevision: 1n }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    await expectRejects(store.setStreamMetadata('t', { v: 2 }, { expectedRevision: 'stream_exists' }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    expect(await store.getStreamMetadata('s')).toMatchObject({ metadata: { v: 1 }, metastreamRevision: 0n });
    expect((await store.setStreamMetadata('s', { v: 2 }, { expectedRevision: 0n })).nextExpectedRevision).toBe(1n);
    expect((await store.setStreamMetadata('s', { v: 3 }, { expectedRevision: 'stream_exists' })).nextExpectedRevision).toBe(2n);
    // Two writers that both read revision 2: exactly one wins.
    const outcomes = await Promise.allSettled([
      store.setStreamMetadata('s', { v: 'a' }, { expectedRevision: 2n }),
      store.setStreamMetadata('s', { v: 'b' }, { expectedRevision: 2n }),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    expect((await store.getStreamMetadata('s')).metastreamRevision).toBe(3n);
    await store.close();
  });

  it('metadata - metadata and what it hides survive a reopen', async () => {
    const sim = await SimStore.open();
    await sim.store.appendToStream('s', events(5));
    await sim.store.appendToStream('u', events(5));
    await sim.store.setStreamMetadata('s', { $maxCount: 2, user: 'kept' });
    await sim.store.setStreamMetadata('u', { $tb: 3 });
    const store = await sim.reopen();
    expect(await store.getStreamMetadata('s')).toEqual({ streamId: 's', metadata: { $maxCount: 2, user: 'kept' }, metastreamRevision: 0n, deleted: false });
    expect(await revisions(store.readStream('s'))).toEqual([3n, 4n]);
    expect(await revisions(store.readStream('u'))).toEqual([3n, 4n]);
    expect((await store.readAll()).length).toBe(12);
    await store.close();
  });

  it('metadata - streams whose metadata came from the index directory and from records read back both count (non-ASCII ids too)', async () => {
    const sim = await SimStore.open();
    await sim.store.appendToStream('ø-s', events(5));
    await sim.store.appendToStream('t', events(5));
    await sim.store.setStreamMetadata('ø-s', { $maxCount: 1 });
    let store = await sim.reopen();
    // 'ø-s' is known from the directory written at close; 't' gets its metadata after the reopen.
    await store.setStreamMetadata('t', { $maxCount: 2 });
    expect(await revisions(store.readStream('ø-s'))).toEqual([4n]);
    expect(await revisions(store.readStream('t'))).toEqual([3n, 4n]);
    await store.deleteStream('ø-s', { hard: true });
    store = await sim.reopen();
    await expect(store.readStream('ø-s')).rejects.toBeInstanceOf(StreamDeletedError);
    expect(await revisions(store.readStream('t'))).toEqual([3n, 4n]);
    await store.close();
  });

  it('metadata - a stream id of exactly STREAM_ID_BYTES_MAX bytes can have metadata (its $$ id may be 2 bytes longer) and be deleted', async () => {
    const { store } = await SimStore.open();
    // 1024 UTF-8 bytes with multi-byte characters: '€' is 3 bytes.
    const id = 'a'.repeat(STREAM_ID_BYTES_MAX - 3 * 300) + '€'.repeat(300);
    expect(Buffer.byteLength(id, 'utf8')).toBe(STREAM_ID_BYTES_MAX);
    await store.appendToStream(id, events(3));
    await store.setStreamMetadata(id, { $maxCount: 1 });
    expect((await store.getStreamMetadata(id)).metadata).toEqual({ $maxCount: 1 });
    expect(await revisions(store.readStream(id))).toEqual([2n]);
    await store.deleteStream(id);
    expect(await store.streamInfo(id)).toMatchObject({ exists: false, deleted: 'soft' });
    // An id over the limit is refused on get and set, as everywhere; so is a `$$` id past limit + 2.
    await expectRejects(store.getStreamMetadata('d'.repeat(STREAM_ID_BYTES_MAX + 1)), InvalidStreamIdError, 'INVALID_STREAM_ID');
    await expectRejects(store.setStreamMetadata('d'.repeat(STREAM_ID_BYTES_MAX + 1), { k: 1 }), InvalidStreamIdError, 'INVALID_STREAM_ID');
    await expectRejects(store.appendToStream('$$' + 'e'.repeat(STREAM_ID_BYTES_MAX + 1), [{ type: '$metadata', data: {} }]), InvalidStreamIdError, 'INVALID_STREAM_ID');
    await store.close();
  });
});
