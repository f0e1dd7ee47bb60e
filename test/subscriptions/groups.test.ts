// Persistent subscriptions: creating, updating, deleting, listing and describing groups; settings
// validation with the bounds of util/limits.ts; the config surviving a restart.

import { afterEach, describe, expect, test } from 'vitest';
import {
  InvalidArgumentError, MaxSubscribersReachedError, PersistentSubscriptionExistsError, PersistentSubscriptionNotFoundError,
  AccessDeniedError, StoreClosedError, type GroupSettings,
} from '../../src/annal.js';
import { DEFAULT_SETTINGS } from '../../src/subscriptions/persistent/settings.js';
import {
  PERSISTENT_BUFFER_EVENTS_MAX, PERSISTENT_CHECKPOINT_COUNT_MAX, PERSISTENT_CONSUMERS_PER_GROUP_MAX, PERSISTENT_MESSAGE_TIMEOUT_MS_MAX,
  PERSISTENT_READ_BATCH_EVENTS_MAX, PERSISTENT_WINDOW_EVENTS_MAX,
} from '../../src/util/limits.js';
import { Fixture, RecordingSink, numbered, settle, until } from './persistent-fixture.js';

let fixture: Fixture;
afterEach(async () => {
  await fixture?.close();
});

describe('persistent groups', () => {
  test('persistent groups - create, list and info; defaults as documented', async () => {
    fixture = await Fixture.open();
    await fixture.groups.create('s-1', 'b');
    await fixture.groups.create('s-1', 'a', { consumerStrategy: 'Ordered', startFrom: 5n });
    await fixture.groups.create('$all', 'z', { resolveLinks: true, extraStatistics: true });
    expect(fixture.groups.list().map((g) => `${g.streamId}::${g.group}`)).toEqual(['$all::z', 's-1::a', 's-1::b']);
    expect(fixture.groups.list({ streamId: 's-1' }).map((g) => g.group)).toEqual(['a', 'b']);
    expect(fixture.groups.info('s-1', 'b')).toEqual({
      streamId: 's-1', group: 'b', settings: DEFAULT_SETTINGS, status: 'idle', lastCheckpoint: null, lastKnownEvent: null,
      parkedCount: 0n, inFlightCount: 0, deliveredCount: 0, ackedCount: 0, nakedCount: 0, connections: [],
    });
    expect(DEFAULT_SETTINGS).toEqual({
      startFrom: 'end', resolveLinks: false, messageTimeoutMs: 30_000, maxRetryCount: 10, liveBufferEvents: 500, readBatchEvents: 20,
      historyBufferEvents: 500, checkpointAfterMs: 2_000, checkpointMinCount: 10, checkpointMaxCount: 1_000, maxSubscriberCount: 0,
      consumerStrategy: 'RoundRobin', extraStatistics: false,
    } satisfies GroupSettings);
    expect(fixture.groups.info('s-1', 'a').settings).toMatchObject({ consumerStrategy: 'Ordered', startFrom: 5n });
    expect(fixture.groups.info('$all', 'z').settings).toMatchObject({ resolveLinks: true, extraStatistics: true });
  });

  test('persistent groups - exists and not-found errors', async () => {
    fixture = await Fixture.open();
    await fixture.groups.create('s-1', 'g');
    await expect(fixture.groups.create('s-1', 'g')).rejects.toBeInstanceOf(PersistentSubscriptionExistsError);
    await expect(fixture.groups.create('s-1', 'g')).rejects.toMatchObject({ code: 'PERSISTENT_SUBSCRIPTION_EXISTS', streamId: 's-1', group: 'g' });
    await fixture.groups.create('s-2', 'g');
    for (const call of [
      () => fixture.groups.update('s-1', 'nope', {}), () => fixture.groups.delete('s-3', 'g'), () => fixture.groups.replayParked('s-1', 'x'),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'PERSISTENT_SUBSCRIPTION_NOT_FOUND' });
    }
    expect(() => fixture.groups.info('s-1', 'nope')).toThrow(PersistentSubscriptionNotFoundError);
    expect(() => fixture.connect('s-1', 'nope')).toThrow(PersistentSubscriptionNotFoundError);
    expect(() => fixture.groups.subscribe('s-9', 'g')).toThrow(PersistentSubscriptionNotFoundError);
  });

  test('persistent groups - bad settings are InvalidArgumentErrors naming the value and the bound; nothing is created', async () => {
    fixture = await Fixture.open();
    const bad: [Partial<Record<keyof GroupSettings, unknown>> & Record<string, unknown>, RegExp][] = [
      [{ messageTimeoutMs: -1 }, /messageTimeoutMs = -1 .*\[0, 86400000\] \(PERSISTENT_MESSAGE_TIMEOUT_MS_MAX\)/],
      [{ messageTimeoutMs: PERSISTENT_MESSAGE_TIMEOUT_MS_MAX + 1 }, /messageTimeoutMs = 86400001/],
      [{ maxRetryCount: 1.5 }, /maxRetryCount = 1.5 must be an integer/],
      [{ liveBufferEvents: 0 }, /liveBufferEvents = 0 .*PERSISTENT_BUFFER_EVENTS_MAX/],
      [{ historyBufferEvents: PERSISTENT_BUFFER_EVENTS_MAX + 1 }, /historyBufferEvents = 100001/],
      [{ readBatchEvents: PERSISTENT_READ_BATCH_EVENTS_MAX + 1 }, /readBatchEvents = 10001 .*PERSISTENT_READ_BATCH_EVENTS_MAX/],
      [{ readBatchEvents: 600 }, /readBatchEvents = 600 must be <= historyBufferEvents = 500/],
      [{ checkpointMinCount: 0 }, /checkpointMinCount = 0 .*\[1, /],
      [{ checkpointMaxCount: PERSISTENT_CHECKPOINT_COUNT_MAX + 1 }, /checkpointMaxCount = 1000001 .*PERSISTENT_CHECKPOINT_COUNT_MAX/],
      [{ checkpointMinCount: 20, checkpointMaxCount: 10 }, /checkpointMinCount = 20 must be <= checkpointMaxCount = 10/],
      [{ checkpointAfterMs: '5' }, /checkpointAfterMs = 5 must be an integer/],
      [{ maxSubscriberCount: PERSISTENT_CONSUMERS_PER_GROUP_MAX + 1 }, /maxSubscriberCount = 1001 .*PERSISTENT_CONSUMERS_PER_GROUP_MAX/],
      [{ consumerStrategy: 'Random' }, /consumerStrategy = Random must be one of RoundRobin, DispatchToSingle, Pinned, Ordered/],
      [{ startFrom: -1n }, /startFrom = -1 must be/],
      [{ startFrom: 5 }, /startFrom = 5 must be 'start', 'end' or a bigint/],
      [{ resolveLinks: 'yes' }, /resolveLinks = yes must be a boolean/],
      [{ bufferSize: 10 }, /unknown persistent subscription setting 'bufferSize'/],
    ];
    for (const [settings, message] of bad) {
      const error = await fixture.groups.create('s-1', 'g', settings as Partial<GroupSettings>).catch((e: unknown) => e);
      expect(error, JSON.stringify(settings, (_, v) => (typeof v === 'bigint' ? String(v) : v))).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(message);
    }
    expect(fixture.groups.list()).toEqual([]);
    await fixture.groups.create('s-1', 'g');
    await expect(fixture.groups.update('s-1', 'g', { maxRetryCount: -5 })).rejects.toThrow(/maxRetryCount = -5/);
    expect(fixture.groups.info('s-1', 'g').settings.maxRetryCount).toBe(10);
  });

  test('persistent groups - group names and connect options are checked', async () => {
    fixture = await Fixture.open();
    for (const name of ['', 'a:b', 'x'.repeat(257), '\uD800']) {
      await expect(fixture.groups.create('s-1', name)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    await expect(fixture.groups.create('s'.repeat(1000), 'g')).rejects.toThrow(/STREAM_ID_BYTES_MAX/);
    await expect(fixture.groups.create('', 'g')).rejects.toBeInstanceOf(InvalidArgumentError);
    await fixture.groups.create('s-1', 'g');
    const sink = new RecordingSink();
    for (const windowEvents of [0, -1, 1.5, PERSISTENT_WINDOW_EVENTS_MAX + 1]) {
      expect(() => fixture.groups.connect('s-1', 'g', sink, { windowEvents })).toThrow(/windowEvents = .* \[1, 10000\] \(PERSISTENT_WINDOW_EVENTS_MAX\)/);
    }
    expect(() => fixture.groups.connect('s-1', 'g', sink, { windowEvents: 1, extra: 1 } as never)).toThrow(/unknown connect option 'extra'/);
    sink.handle = fixture.groups.connect('s-1', 'g', sink, { windowEvents: 1, name: 'ü'.repeat(200) });
    expect(Buffer.byteLength(fixture.groups.info('s-1', 'g').connections[0].name)).toBeLessThanOrEqual(256);
    expect(() => sink.handle.nak([], 'explode' as never)).toThrow(/nak action = explode/);
    expect(() => sink.handle.ack(Array.from({ length: 10_001 }, () => 'x'))).toThrow(/PERSISTENT_ACK_IDS_MAX/);
    await expect(fixture.groups.replayParked('s-1', 'g', { stopAt: -1 })).rejects.toThrow(/stopAt = -1/);
  });

  test('persistent groups - maxSubscriberCount is enforced', async () => {
    fixture = await Fixture.open();
    await fixture.groups.create('s-1', 'g', { maxSubscriberCount: 2 });
    const a = fixture.connect('s-1', 'g');
    fixture.connect('s-1', 'g');
    expect(() => fixture.connect('s-1', 'g')).toThrow(MaxSubscribersReachedError);
    expect(() => fixture.connect('s-1', 'g')).toThrow(expect.objectContaining({ code: 'MAX_SUBSCRIBERS_REACHED', maxSubscriberCount: 2 }));
    a.handle.close();
    fixture.connect('s-1', 'g');
    expect(fixture.groups.info('s-1', 'g').connections).toHaveLength(2);
  });

  test('persistent groups - the config survives a restart', async () => {
    fixture = await Fixture.open();
    await fixture.groups.create('s-1', 'a', { startFrom: 7n, consumerStrategy: 'Pinned', messageTimeoutMs: 0 });
    await fixture.groups.create('$all', 'b', { startFrom: 'start' });
    await fixture.groups.create('s-2', 'c');
    await fixture.groups.update('s-2', 'c', { maxRetryCount: 3 });
    await fixture.groups.delete('$all', 'b');
    const before = fixture.groups.list().map((g) => g.settings);
    await fixture.restart();
    expect(fixture.groups.list().map((g) => `${g.streamId}::${g.group}`)).toEqual(['s-1::a', 's-2::c']);
    expect(fixture.groups.list().map((g) => g.settings)).toEqual(before);
    expect(fixture.groups.info('s-2', 'c').settings.maxRetryCount).toBe(3);
  });

  test('persistent groups - update drops consumers, keeps the checkpoint and applies the new settings', async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('s-1', numbered(0, 4));
    await fixture.create('s-1', 'g', { checkpointMaxCount: 1000 });
    const sink = fixture.connect('s-1', 'g');
    await until(() => sink.deliveries.length === 4);
    sink.ack(sink.idOf(0), sink.idOf(1));
    await fixture.groups.update('s-1', 'g', { consumerStrategy: 'DispatchToSingle' });
    expect(sink.droppedReason).toBe('groupUpdated');
    expect(fixture.groups.info('s-1', 'g')).toMatchObject({ lastCheckpoint: 1n, settings: { consumerStrategy: 'DispatchToSingle', startFrom: 'start' } });
    const after = fixture.connect('s-1', 'g');
    await until(() => after.deliveries.length === 2);
    expect(after.values()).toEqual([2, 3]);
  });

  test('persistent groups - delete removes the checkpoint and parked events: a new group of that name starts afresh', async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('s-1', numbered(0, 3));
    await fixture.create('s-1', 'g', { checkpointMinCount: 1, checkpointMaxCount: 1 });
    const sink = fixture.connect('s-1', 'g');
    await until(() => sink.deliveries.length === 3);
    sink.ack(sink.idOf(0), sink.idOf(1));
    sink.nak('park', sink.idOf(2));
    await until(async () => (await fixture.checkpoint('s-1', 'g')) === 2n);
    await fixture.groups.delete('s-1', 'g');
    expect(sink.droppedReason).toBe('groupDeleted');
    expect(fixture.groups.list()).toEqual([]);
    expect(await fixture.checkpoint('s-1', 'g')).toBeNull();
    expect(await fixture.parked('s-1', 'g')).toEqual([]);
    await fixture.create('s-1', 'g');
    expect(fixture.groups.info('s-1', 'g')).toMatchObject({ lastCheckpoint: null, parkedCount: 0n });
    const again = fixture.connect('s-1', 'g');
    await until(() => again.deliveries.length === 3);
    again.ackAll();
    await fixture.restart();
    expect(fixture.groups.info('s-1', 'g').lastCheckpoint).toBe(2n);
  });

  test('persistent groups - leftovers of a group deleted half-way are hidden when the name is created again', async () => {
    fixture = await Fixture.open();
    await fixture.store.appendToStream('$persistentsubscription-s-1::g-checkpoint', [{ type: '$SubscriptionCheckpoint', data: '7' }]);
    await fixture.store.appendToStream('$persistentsubscription-s-1::g-parked', numbered(0, 2));
    await fixture.store.appendToStream('s-1', numbered(0, 3));
    await fixture.create('s-1', 'g');
    expect(fixture.groups.info('s-1', 'g')).toMatchObject({ lastCheckpoint: null, parkedCount: 0n });
    const sink = fixture.connect('s-1', 'g');
    await until(() => sink.deliveries.length === 3);
  });

  test('persistent groups - calls after close fail with StoreClosedError', async () => {
    fixture = await Fixture.open();
    await fixture.groups.create('s-1', 'g');
    await fixture.groups.close();
    await expect(fixture.groups.create('s-1', 'h')).rejects.toBeInstanceOf(StoreClosedError);
    expect(() => fixture.connect('s-1', 'g')).toThrow(StoreClosedError);
    await fixture.groups.close();
    await settle();
  });

  test('persistent groups - with a principal, managing a group takes an authenticated one that may read the stream', async () => {
    fixture = await Fixture.open();
    await fixture.store.setStreamMetadata('secret-1', { $acl: { $r: ['ann'] } });
    const anonymous = { name: null, groups: [] };
    await expect(fixture.groups.create('s-1', 'g', {}, { principal: anonymous })).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(fixture.groups.create('secret-1', 'g', {}, { principal: { name: 'bob', groups: [] } })).rejects.toBeInstanceOf(AccessDeniedError);
    await fixture.groups.create('secret-1', 'g', {}, { principal: { name: 'ann', groups: [] } });
    await fixture.groups.create('$all', 'g', {}, { principal: { name: 'root', groups: ['$admins'] } });
    await expect(fixture.groups.delete('secret-1', 'g', { principal: { name: 'bob', groups: [] } })).rejects.toBeInstanceOf(AccessDeniedError);
    await fixture.groups.update('secret-1', 'g', { maxRetryCount: 1 }, { principal: { name: 'ann', groups: [] } });
    expect(fixture.groups.list().map((g) => g.streamId)).toEqual(['$all', 'secret-1']);
  });
});
