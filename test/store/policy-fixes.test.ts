// Regressions for the metadata and delete bugs found while testing them (each failed before its fix).

import { describe, expect, it } from 'vitest';
import { InvalidEventError, InvalidStreamIdError, WrongExpectedVersionError } from '../../src/annal.js';
import { SimStore, expectRejects } from './policy-fixture.js';

const events = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'T', data: { i } }));

describe('policy fixes', () => {
  it('policy - a page of a $maxAge stream skips expired events before counting maxCount', async () => {
    let now = 1_000_000;
    const { store } = await SimStore.open({ clock: { nowMs: () => now } });
    await store.appendToStream('age', events(3));
    now += 10_000;
    await store.appendToStream('age', events(2));
    await store.setStreamMetadata('age', { $maxAge: 5 });
    expect((await store.readStream('age', { maxCount: 2 })).map((e) => e.revision)).toEqual([3n, 4n]);
    const all = [];
    for await (const e of store.iterateStream('age')) all.push(e.revision);
    expect(all).toEqual([3n, 4n]);
    expect((await store.readStream('age', { direction: 'backwards', maxCount: 5 })).map((e) => e.revision)).toEqual([4n, 3n]);
    await store.close();
  });

  it('policy - an empty append to a soft-deleted stream holds it to the deleted stream\'s expectations', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('d', events(2));
    await store.deleteStream('d');
    await expectRejects(store.appendToStream('d', [], { expectedRevision: 0n }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    await expectRejects(store.appendToStream('d', [], { expectedRevision: 'stream_exists' }), WrongExpectedVersionError, 'WRONG_EXPECTED_VERSION');
    expect(await store.appendToStream('d', [], { expectedRevision: 'no_stream' })).toMatchObject({ nextExpectedRevision: 1n });
    expect(await store.appendToStream('d', [], { expectedRevision: 1n })).toMatchObject({ nextExpectedRevision: 1n });
    expect(await store.streamInfo('d')).toMatchObject({ deleted: 'soft' });
    await store.close();
  });

  it('policy - setStreamMetadata checks the stream id, and $all cannot be written or deleted', async () => {
    const { store } = await SimStore.open();
    await expectRejects(store.setStreamMetadata(undefined as unknown as string, {}), InvalidStreamIdError, 'INVALID_STREAM_ID');
    await expectRejects(store.setStreamMetadata('', {}), InvalidStreamIdError, 'INVALID_STREAM_ID');
    await expectRejects(store.appendToStream('$all', events(1)), InvalidStreamIdError, 'INVALID_STREAM_ID');
    await expectRejects(store.deleteStream('$all'), InvalidStreamIdError, 'INVALID_STREAM_ID');
    expect(await store.headPosition()).toBe(-1n);
    await store.close();
  });

  it('policy - $maxCount and $maxAge must be at least 1, as EventStoreDB requires', async () => {
    const { store } = await SimStore.open();
    await expectRejects(store.setStreamMetadata('s', { $maxCount: 0 }), InvalidEventError, 'INVALID_EVENT');
    await expectRejects(store.setStreamMetadata('s', { $maxAge: 0 }), InvalidEventError, 'INVALID_EVENT');
    await store.close();
  });
});
