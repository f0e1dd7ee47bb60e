// deleteStream (es-tcp.md §4): a soft delete writes `$tb` = int64 max to `$$S` and a later append
// brings the stream back with its numbering continued; a hard delete writes a tombstone after
// which the stream can be neither read nor written. Expected revisions, races and reopen.

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, WrongExpectedVersionError } from '../../src/annal.js';
import { StreamDeletedError } from '../../src/util/errors.js';
import { expectUnchanged, storeSnapshot } from '../support/store-snapshot.js';
import { SimStore, events, expectRejects, revisions } from './policy-fixture.js';

const INT64_MAX = '9223372036854775807';

describe('soft delete', () => {
  it('soft delete - the stream reads as absent while its metadata shows $tb', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(3));
    await store.setStreamMetadata('s', { owner: 'team-a', $maxCount: 10 });
    const { position } = await store.deleteStream('s');
    expect(position).toBe(await store.headPosition());
    expect(await store.readStream('s')).toEqual([]);
    expect(await store.readStream('s', { direction: 'backwards' })).toEqual([]);
    expect(await store.readEvent('s', 0n)).toBeNull();
    expect(await store.readEvent('s', 'end')).toBeNull();
    expect(await store.streamInfo('s')).toMatchObject({ streamId: 's', exists: false, deleted: 'soft' });
    const meta = await store.getStreamMetadata('s');
    expect(meta).toMatchObject({ deleted: false, metastreamRevision: 1n });
    // Other keys are kept; $tb parses to int64 max as a double.
    expect(meta.metadata).toEqual({ $tb: Number(INT64_MAX), owner: 'team-a', $maxCount: 10 });
    const deletion = await store.readEvent('$$s', 'end');
    expect(deletion).toMatchObject({ type: '$metadata', contentType: 'application/json', position });
    // The stream's events are still in $all.
    expect((await store.readAll({ filter: { streamPrefix: 's' } })).length).toBe(3);
    await store.close();
  });

  it('soft delete - $tb is written as the exact text of int64 max', async () => {
    const sim = await SimStore.open();
    await sim.store.appendToStream('gone', events(1));
    await sim.store.deleteStream('gone');
    await sim.store.close();
    // A record is header, stream id, type, then data (no event metadata): those three are adjacent.
    const bytes = sim.chunkBytes();
    const record = Buffer.from(`$$gone$metadata{"$tb":${INT64_MAX}}`, 'utf8');
    expect(bytes.indexOf(record)).toBeGreaterThan(0);
    // Never as a rounded double.
    expect(bytes.indexOf(Buffer.from('9223372036854776000'))).toBe(-1);
  });

  it('soft delete - other metadata keys are kept in the text written', async () => {
    const sim = await SimStore.open();
    await sim.store.setStreamMetadata('kept', { owner: 'x', $tb: 1 });
    await sim.store.deleteStream('kept');
    await sim.store.close();
    expect(sim.chunkBytes().indexOf(Buffer.from(`{"$tb":${INT64_MAX},"owner":"x"}`))).toBeGreaterThan(0);
  });

  it('soft delete - appending again undeletes: revisions continue, old events stay hidden', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(3));
    await store.setStreamMetadata('s', { owner: 'team-a' });
    await store.deleteStream('s');
    const result = await store.appendToStream('s', events(2, 3));
    expect(result.nextExpectedRevision).toBe(4n);
    expect(await revisions(store.readStream('s'))).toEqual([3n, 4n]);
    expect((await store.readStream('s')).map((e) => e.data)).toEqual([{ n: 3 }, { n: 4 }]);
    expect(await revisions(store.readStream('s', { direction: 'backwards' }))).toEqual([4n, 3n]);
    expect(await revisions(store.readStream('s', { fromRevision: 0n }))).toEqual([3n, 4n]);
    expect(await store.readEvent('s', 2n)).toBeNull();
    expect((await store.readEvent('s', 3n))?.data).toEqual({ n: 3 });
    expect(await store.streamInfo('s')).toMatchObject({ exists: true, deleted: false, lastRevision: 4n, eventCount: 5n });
    // $tb was rewritten to the first new revision; other keys kept.
    expect((await store.getStreamMetadata('s')).metadata).toEqual({ $tb: 3, owner: 'team-a' });
    // The undeleting events and their `$$S` event were one transaction: adjacent in $all.
    const tail = await store.readAll({ direction: 'backwards', maxCount: 3 });
    expect(tail.map((e) => e.streamId)).toEqual(['$$s', 's', 's']);
    // Delete and undelete again.
    await store.deleteStream('s');
    expect(await store.readStream('s')).toEqual([]);
    expect((await store.appendToStream('s', events(1, 5))).nextExpectedRevision).toBe(5n);
    expect(await revisions(store.readStream('s'))).toEqual([5n]);
    await store.close();
  });

  it('soft delete - expected revisions see the stream as absent, except its exact last revision', async () => {
    const { store } = await SimStore.open();
    for (const id of ['a', 'b', 'c', 'd', 'e']) await store.appendToStream(id, events(3));
    for (const id of ['a', 'b', 'c', 'd', 'e']) await store.deleteStream(id);
    const before = await storeSnapshot(store);
    for (const expectedRevision of [1n, 3n, 0n, 'stream_exists'] as const) {
      const error = await expectRejects(store.appendToStream('a', events(1), { expectedRevision }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
      expect(error).toMatchObject({ streamId: 'a', expected: expectedRevision, actual: -1n });
    }
    await expectUnchanged(store, before);
    expect((await store.appendToStream('a', events(1), { expectedRevision: 'no_stream' })).nextExpectedRevision).toBe(3n);
    expect((await store.appendToStream('b', events(1), { expectedRevision: 'any' })).nextExpectedRevision).toBe(3n);
    expect((await store.appendToStream('c', events(1))).nextExpectedRevision).toBe(3n);
    // As in EventStoreDB, the exact revision of the last (hidden) event re-creates the stream too.
    expect((await store.appendToStream('e', events(1), { expectedRevision: 2n })).nextExpectedRevision).toBe(3n);
    expect(await revisions(store.readStream('e'))).toEqual([3n]);
    // Once undeleted, revisions are ordinary again.
    expect((await store.appendToStream('a', events(1), { expectedRevision: 3n })).nextExpectedRevision).toBe(4n);
    await expectRejects(store.appendToStream('a', events(1), { expectedRevision: 'no_stream' }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    // appendMulti undeletes as well.
    const [r] = await store.appendMulti([{ streamId: 'd', events: events(2), expectedRevision: 'no_stream' }]);
    expect(r.nextExpectedRevision).toBe(4n);
    expect(await revisions(store.readStream('d'))).toEqual([3n, 4n]);
    await store.close();
  });

  it('soft delete - writers racing the undelete: the first undeletes, the others are decided after it (no duplicate revisions, no spurious conflict)', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(3));
    await store.deleteStream('s');
    const before = await store.headPosition();
    // Issued together: the first undeletes; the others wait for its `$$S` write and are then
    // checked against the stream it left (one visible event at revision 3).
    const outcomes = await Promise.allSettled([
      store.appendToStream('s', [{ type: 'First', data: 1 }]),
      store.appendToStream('s', [{ type: 'Second', data: 2 }], { expectedRevision: 'no_stream' }),
      store.appendMulti([{ streamId: 's', events: [{ type: 'Third', data: 3 }] }]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    expect((await store.readStream('s')).map((e) => [e.revision, e.type])).toEqual([[3n, 'First'], [4n, 'Third']]);
    // One undelete: two events and one `$$S` event; the loser wrote nothing.
    expect(await store.headPosition()).toBe(before + 3n);
    expect((await store.getStreamMetadata('s')).metadata).toEqual({ $tb: 3 });
    await store.close();
  });

  it('soft delete - an append issued while the delete is in flight lands after it and undeletes (its event stays visible)', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(3));
    const deleted = store.deleteStream('s');
    const appended = store.appendToStream('s', [{ type: 'After', data: 1 }]);
    await deleted;
    expect(await appended).toMatchObject({ nextExpectedRevision: 3n });
    expect((await store.readStream('s')).map((e) => [e.revision, e.type])).toEqual([[3n, 'After']]);
    expect((await store.getStreamMetadata('s')).metadata).toEqual({ $tb: 3 });
    // A later append keeps it: the raced event is not hidden by a second undelete.
    await store.appendToStream('s', [{ type: 'Later', data: 2 }]);
    expect((await store.readStream('s')).map((e) => e.type)).toEqual(['After', 'Later']);
    await store.close();
  });

  it('soft delete - a stream that never existed', async () => {
    const { store } = await SimStore.open();
    await store.deleteStream('never');
    expect(await store.streamInfo('never')).toMatchObject({ exists: false, deleted: 'soft', lastRevision: -1n, eventCount: 0n });
    expect(await store.readStream('never')).toEqual([]);
    expect((await store.getStreamMetadata('never')).metadata).toEqual({ $tb: Number(INT64_MAX) });
    // It starts from revision 0 when written, with $tb 0.
    expect((await store.appendToStream('never', events(1), { expectedRevision: 'no_stream' })).nextExpectedRevision).toBe(0n);
    expect(await revisions(store.readStream('never'))).toEqual([0n]);
    expect((await store.getStreamMetadata('never')).metadata).toEqual({ $tb: 0 });
    // An exact expected revision on deleting a stream that does not exist is a conflict.
    const error = await expectRejects(store.deleteStream('nothing', { expectedRevision: 0n }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    expect(error).toMatchObject({ streamId: 'nothing', actual: -1n });
    expect((await store.getStreamMetadata('nothing')).metastreamRevision).toBe(-1n);
    await store.close();
  });

  it('soft delete - the expected revision of the delete is checked', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(3));
    const before = await storeSnapshot(store);
    const error = await expectRejects(store.deleteStream('s', { expectedRevision: 1n }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    expect(error).toMatchObject({ streamId: 's', actual: 2n });
    await expectRejects(store.deleteStream('s', { expectedRevision: 'no_stream' }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    await expectUnchanged(store, before);
    await store.deleteStream('s', { expectedRevision: 2n });
    // Deleting again: the stream now shows as absent, but its exact last revision still holds.
    await expectRejects(store.deleteStream('s', { expectedRevision: 1n }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    await expectRejects(store.deleteStream('s', { expectedRevision: 'stream_exists' }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    await store.deleteStream('s', { expectedRevision: 2n });
    await store.deleteStream('s', { expectedRevision: 'no_stream' });
    expect(await store.streamInfo('s')).toMatchObject({ deleted: 'soft' });
    await store.close();
  });

  it('soft delete - survives a reopen, and so does an undelete', async () => {
    const sim = await SimStore.open();
    await sim.store.appendToStream('s', events(3));
    await sim.store.appendToStream('t', events(3));
    await sim.store.deleteStream('s');
    await sim.store.deleteStream('t');
    await sim.store.appendToStream('t', events(1, 3));
    const store = await sim.reopen();
    expect(await store.readStream('s')).toEqual([]);
    expect(await store.streamInfo('s')).toMatchObject({ exists: false, deleted: 'soft' });
    expect(await revisions(store.readStream('t'))).toEqual([3n]);
    expect(await store.streamInfo('t')).toMatchObject({ exists: true, deleted: false });
    expect((await store.appendToStream('s', events(1), { expectedRevision: 'no_stream' })).nextExpectedRevision).toBe(3n);
    expect(await revisions(store.readStream('s'))).toEqual([3n]);
    await store.close();
  });
});

describe('hard delete', () => {
  it('hard delete - every read and write of the stream is a StreamDeletedError', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(3));
    await store.setStreamMetadata('s', { owner: 'x' });
    await store.deleteStream('s', { hard: true });
    const before = await storeSnapshot(store);
    const calls: [string, () => Promise<unknown>][] = [
      ['readStream', () => store.readStream('s')],
      ['readStream backwards', () => store.readStream('s', { direction: 'backwards' })],
      ['readEvent', () => store.readEvent('s', 0n)],
      ['readEvent end', () => store.readEvent('s', 'end')],
      ['appendToStream', () => store.appendToStream('s', events(1))],
      ['appendToStream no_stream', () => store.appendToStream('s', events(1), { expectedRevision: 'no_stream' })],
      ['appendToStream empty', () => store.appendToStream('s', [])],
      ['appendMulti', () => store.appendMulti([{ streamId: 'other', events: events(1) }, { streamId: 's', events: events(1) }])],
      ['deleteStream soft', () => store.deleteStream('s')],
      ['deleteStream hard', () => store.deleteStream('s', { hard: true })],
      ['setStreamMetadata', () => store.setStreamMetadata('s', { owner: 'y' })],
      ['append to $$S', () => store.appendToStream('$$s', [{ type: '$metadata', data: {} }])],
      ['readStream $$S', () => store.readStream('$$s')],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(() => null, (e: unknown) => e);
      expect(error, name).toBeInstanceOf(StreamDeletedError);
      expect(error, name).toMatchObject({ code: 'STREAM_DELETED', streamId: 's' });
    }
    await expectUnchanged(store, before);
    expect(await store.getStreamMetadata('s')).toEqual({ streamId: 's', metadata: null, metastreamRevision: 1n, deleted: true });
    expect(await store.streamInfo('s')).toMatchObject({ exists: false, deleted: 'hard' });
    // The stream's events stay in $all, with the tombstone in `$$S`.
    const all = await store.readAll();
    expect(all.map((e) => [e.streamId, e.type])).toEqual([['s', 'T'], ['s', 'T'], ['s', 'T'], ['$$s', '$metadata'], ['$$s', '$streamDeleted']]);
    await store.close();
  });

  it('hard delete - appends and metadata issued while the tombstone is in flight are refused, never written after it', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(2));
    const deleted = store.deleteStream('s', { hard: true });
    const outcomes = await Promise.allSettled([
      store.appendToStream('s', events(1)),
      store.appendMulti([{ streamId: 't', events: events(1) }, { streamId: 's', events: events(1) }]),
      store.setStreamMetadata('s', { $maxCount: 5 }),
      store.deleteStream('s'),
    ]);
    const { position } = await deleted;
    for (const o of outcomes) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(StreamDeletedError);
    // The tombstone is the last event of the log: nothing of 's', '$$s' or the multi ('t') came after it.
    expect(await store.headPosition()).toBe(position);
    await store.close();
  });

  it('hard delete - after a soft delete, and of a stream that never existed', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(2));
    await store.deleteStream('s');
    await store.deleteStream('s', { hard: true });
    await expectRejects(store.readStream('s'), StreamDeletedError, 'STREAM_DELETED');
    await store.deleteStream('never', { hard: true, expectedRevision: 'no_stream' });
    await expectRejects(store.appendToStream('never', events(1)), StreamDeletedError, 'STREAM_DELETED');
    expect(await store.streamInfo('never')).toMatchObject({ exists: false, deleted: 'hard', eventCount: 0n });
    await store.close();
  });

  it('hard delete - the expected revision is honoured', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(3));
    const before = await storeSnapshot(store);
    for (const expectedRevision of [0n, 5n, 'no_stream'] as const) {
      const error = await expectRejects(store.deleteStream('s', { hard: true, expectedRevision }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
      expect(error).toMatchObject({ streamId: 's', expected: expectedRevision, actual: 2n });
    }
    await expectUnchanged(store, before);
    expect(await revisions(store.readStream('s'))).toEqual([0n, 1n, 2n]);
    await store.deleteStream('s', { hard: true, expectedRevision: 2n });
    expect(await store.streamInfo('s')).toMatchObject({ deleted: 'hard' });
    await store.close();
  });

  it('hard delete - survives a reopen', async () => {
    const sim = await SimStore.open();
    await sim.store.appendToStream('s', events(3));
    await sim.store.appendToStream('kept', events(1));
    await sim.store.deleteStream('s', { hard: true });
    const store = await sim.reopen();
    await expectRejects(store.readStream('s'), StreamDeletedError, 'STREAM_DELETED');
    await expectRejects(store.appendToStream('s', events(1)), StreamDeletedError, 'STREAM_DELETED');
    await expectRejects(store.setStreamMetadata('s', {}), StreamDeletedError, 'STREAM_DELETED');
    expect(await store.getStreamMetadata('s')).toMatchObject({ metadata: null, deleted: true });
    expect(await store.streamInfo('s')).toMatchObject({ deleted: 'hard' });
    expect(await revisions(store.readStream('kept'))).toEqual([0n]);
    await store.close();
  });

  it('hard delete - deleting a $$ stream is an InvalidArgumentError', async () => {
    const { store } = await SimStore.open();
    await store.setStreamMetadata('s', { k: 1 });
    const before = await storeSnapshot(store);
    await expectRejects(store.deleteStream('$$s', { hard: true }), InvalidArgumentError, 'INVALID_ARGUMENT');
    await expectRejects(store.deleteStream('$$s'), InvalidArgumentError, 'INVALID_ARGUMENT');
    await expectUnchanged(store, before);
    await store.close();
  });
});
