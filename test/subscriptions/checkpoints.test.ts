// Persistent subscriptions: the checkpoint rule (never past an event that is not done — the bug of
// EventStoreDB PR #4991), when checkpoints are written, and what a restart resumes from.

import { afterEach, describe, expect, test } from 'vitest';
import { Fixture, numbered, settle, until } from './persistent-fixture.js';

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

describe('persistent checkpoints', () => {
  test('persistent checkpoints - a later ack does not move the checkpoint past an event still in flight (PR #4991)', async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('s-1', numbered(0, 5));
    await fixture.create('s-1', 'g', { checkpointMinCount: 1, checkpointMaxCount: 1 });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 5);
    sink.ack(sink.idOf(0), sink.idOf(2), sink.idOf(3), sink.idOf(4));
    await until(async () => (await fixture.checkpoint('s-1', 'g')) === 0n, 'checkpoint 0');
    await settle();
    expect(await fixture.checkpoint('s-1', 'g')).toBe(0n);
    await fixture.restart();
    expect(fixture.groups.info('s-1', 'g').lastCheckpoint).toBe(0n);
    const after = fixture.connect('s-1', 'g', 10);
    await until(() => after.deliveries.length === 4);
    expect(after.values()).toEqual([1, 2, 3, 4]);
  });

  test('persistent checkpoints - an event waiting for its retry holds the checkpoint back across a restart', async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('s-1', numbered(0, 3));
    await fixture.create('s-1', 'g', { checkpointMinCount: 1, checkpointMaxCount: 1 });
    const first = fixture.connect('s-1', 'g', 2);
    await until(() => first.deliveries.length === 2);
    // Event 0 goes back for a retry; the consumer's room takes event 2, not event 0 again yet.
    first.ack(first.idOf(1));
    await until(() => first.deliveries.length === 3);
    first.nak('retry', first.idOf(0));
    first.handle.close();
    const second = fixture.connect('s-1', 'g', 10);
    await until(() => second.deliveries.length === 2);
    second.ack(second.idOf(2));
    await settle();
    expect(await fixture.checkpoint('s-1', 'g')).toBeNull();
    await fixture.restart();
    const third = fixture.connect('s-1', 'g', 10);
    await until(() => third.deliveries.length === 3);
    expect(third.values()).toEqual([0, 1, 2]);
  });

  test('persistent checkpoints - written after checkpointMaxCount done events, or checkpointMinCount and checkpointAfterMs', async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('s-1', numbered(0, 10));
    await fixture.create('s-1', 'g', { checkpointMinCount: 2, checkpointMaxCount: 4, checkpointAfterMs: 1000 });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 10);
    sink.ack(sink.idOf(0), sink.idOf(1), sink.idOf(2));
    await settle();
    expect(await fixture.checkpoint('s-1', 'g')).toBeNull();
    sink.ack(sink.idOf(3));
    await until(async () => (await fixture.checkpoint('s-1', 'g')) === 3n, 'max count reached');
    sink.ack(sink.idOf(4), sink.idOf(5));
    fixture.advance(999, ['s-1', 'g']);
    await settle();
    expect(await fixture.checkpoint('s-1', 'g')).toBe(3n);
    fixture.advance(1, ['s-1', 'g']);
    await until(async () => (await fixture.checkpoint('s-1', 'g')) === 5n, 'min count and time');
    sink.ack(sink.idOf(6));
    fixture.advance(5000, ['s-1', 'g']);
    await settle();
    expect(await fixture.checkpoint('s-1', 'g')).toBe(5n);
    // close writes the final one.
    await fixture.groups.close();
    expect(await fixture.checkpoint('s-1', 'g')).toBe(6n);
  });

  test('persistent checkpoints - a restart resumes after the checkpoint and redelivers what came after it', async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('s-1', numbered(0, 6));
    await fixture.create('s-1', 'g', { checkpointMinCount: 3, checkpointMaxCount: 3 });
    const sink = fixture.connect('s-1', 'g', 10);
    await until(() => sink.deliveries.length === 6);
    sink.ack(sink.idOf(0), sink.idOf(1), sink.idOf(2), sink.idOf(3));
    await until(async () => (await fixture.checkpoint('s-1', 'g')) === 2n);
    // A crash: the store goes away without the groups writing their final checkpoint.
    await fixture.store.close();
    await fixture.restart();
    expect(fixture.groups.info('s-1', 'g').lastCheckpoint).toBe(2n);
    const after = fixture.connect('s-1', 'g', 10);
    await until(() => after.deliveries.length === 3);
    expect(after.values()).toEqual([3, 4, 5]);
  });

  test("persistent checkpoints - startFrom 'end' is fixed at creation, so a restart before any checkpoint loses nothing", async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('s-1', numbered(0, 3));
    await fixture.store.appendToStream('t-1', numbered(0, 3));
    await fixture.groups.create('s-1', 'g');
    await fixture.groups.create('$all', 'g');
    await fixture.store.appendToStream('s-1', numbered(3, 2));
    await fixture.store.appendToStream('t-1', numbered(3, 1));
    await fixture.restart();
    const stream = fixture.connect('s-1', 'g');
    const all = fixture.connect('$all', 'g');
    await until(() => stream.deliveries.length === 2 && all.deliveries.length === 3);
    expect(stream.values()).toEqual([3, 4]);
    expect(all.values()).toEqual([3, 4, 3]);
  });

  test('persistent checkpoints - a $all group skips system streams, keys are positions and the checkpoint passes skipped events', async () => {
    fixture = await Fixture.open();
    await fixture.create('$all', 'g', { checkpointMinCount: 1, checkpointMaxCount: 1 });
    await fixture.store.appendToStream('a-1', numbered(0, 1));
    await fixture.store.setStreamMetadata('a-1', { owner: 'me' });
    await fixture.store.appendToStream('$system', numbered(50, 1));
    const { position } = await fixture.store.appendToStream('b-1', numbered(1, 1));
    const sink = fixture.connect('$all', 'g');
    await until(() => sink.deliveries.length === 2);
    await settle();
    expect(sink.deliveries.map((d) => d.event.streamId)).toEqual(['a-1', 'b-1']);
    sink.ackAll();
    await until(async () => (await fixture.checkpoint('$all', 'g')) === position, 'checkpoint at b-1');
  });

  test('persistent checkpoints - a stream group skips events its metadata hides', async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('s-1', numbered(0, 5));
    await fixture.store.setStreamMetadata('s-1', { $tb: 3 });
    await fixture.create('s-1', 'g', { checkpointMinCount: 1, checkpointMaxCount: 1 });
    const sink = fixture.connect('s-1', 'g');
    await until(() => sink.deliveries.length === 2);
    expect(sink.values()).toEqual([3, 4]);
    sink.ackAll();
    await until(async () => (await fixture.checkpoint('s-1', 'g')) === 4n);
  });

  test('persistent checkpoints - a checkpoint stream with an unreadable checkpoint starts from the group start', async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('s-1', numbered(0, 2));
    await fixture.create('s-1', 'g');
    await fixture.store.appendToStream('$persistentsubscription-s-1::g-checkpoint', [{ type: '$SubscriptionCheckpoint', data: { no: 1 } }]);
    await fixture.restart();
    const sink = fixture.connect('s-1', 'g');
    await until(() => sink.deliveries.length === 2);
  });

  test('persistent checkpoints - hard-deleted checkpoint and parked streams do not keep the groups from opening', async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('s-1', numbered(0, 2));
    await fixture.create('s-1', 'g', { checkpointMinCount: 1, checkpointMaxCount: 1 });
    const sink = fixture.connect('s-1', 'g');
    await until(() => sink.deliveries.length === 2);
    sink.ack(sink.idOf(0));
    sink.nak('park', sink.idOf(1));
    await until(async () => (await fixture.checkpoint('s-1', 'g')) === 1n);
    await fixture.store.deleteStream('$persistentsubscription-s-1::g-checkpoint', { hard: true });
    await fixture.store.deleteStream('$persistentsubscription-s-1::g-parked', { hard: true });
    await fixture.restart();
    expect(fixture.groups.info('s-1', 'g')).toMatchObject({ lastCheckpoint: null, parkedCount: 0n });
    expect(await fixture.groups.replayParked('s-1', 'g')).toEqual({ replayed: 0 });
    const again = fixture.connect('s-1', 'g');
    await until(() => again.deliveries.length === 2);
  });
});
