// Persistent subscriptions with the real node-eventstore-client (23.10.1) against TcpServer
// (es-tcp.md §3.6, §5 item 8): create / update / delete with their results, connect with auto-ack
// and with manual acknowledge / fail, round robin over two connections, retries, parking, message
// timeouts, drops, access, a group on $all, and a server restart that resumes from the checkpoint.
// The retry count, which this client does not expose, is checked on the wire. format-spec/protocol.md §9.6.

import { randomUUID } from 'node:crypto';
import esc from 'node-eventstore-client';
import type { EventStoreNodeConnection, EventStorePersistentSubscription, PersistentSubscriptionSettings, ResolvedEvent } from 'node-eventstore-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TcpCommand } from '../../src/protocol/wire/commands.js';
import { NakAction, SubscriptionDropReason, messages } from '../../src/protocol/wire/messages.js';
import { RawClient } from './raw-client.js';
import { appendNumbered, numberOf, rejection, settle, streamName, waitFor } from './client-helpers.js';
import { useRealClients } from './real-client-suite.js';
import { RestartableServer } from './restartable-server.js';
import { ADMIN_LOGIN, ADMIN_PASSWORD, adminCredentials, type ServerFixture } from './server-fixture.js';

/** The settings the node client sends, with some changed (its property names). */
type NodeSettings = {
  startFrom: number; messageTimeout: number; maxRetryCount: number; maxSubscriberCount: number; namedConsumerStrategy: string;
  checkPointAfter: number; minCheckPointCount: number; maxCheckPointCount: number;
};

function settings(changes: Partial<NodeSettings> = {}): PersistentSubscriptionSettings {
  const s = esc.PersistentSubscriptionSettings.create();
  Object.assign(s, changes);
  return s;
}

function groupName(): string {
  return `group-${randomUUID().slice(0, 8)}`;
}

/** A connected consumer and everything it saw. */
interface Consumer {
  readonly subscription: EventStorePersistentSubscription;
  readonly events: ResolvedEvent[];
  readonly drops: { reason: string; error: Error | undefined }[];
}

interface ConsumeOptions {
  autoAck?: boolean;
  bufferSize?: number;
  credentials?: esc.UserCredentials;
  /** Called for each event before it is recorded (a throw drops the subscription, as in the client). */
  onEvent?: (subscription: EventStorePersistentSubscription, event: ResolvedEvent) => void | Promise<void>;
}

async function consume(connection: EventStoreNodeConnection, stream: string, group: string, options: ConsumeOptions = {}): Promise<Consumer> {
  const events: ResolvedEvent[] = [];
  const drops: Consumer['drops'] = [];
  const subscription = await connection.connectToPersistentSubscription(
    stream,
    group,
    async (s, event) => {
      await options.onEvent?.(s, event);
      events.push(event);
    },
    (_s, reason, error) => void drops.push({ reason, error }),
    options.credentials,
    options.bufferSize ?? 10,
    options.autoAck ?? true,
  );
  return { subscription, events, drops };
}

const numbers = (events: ResolvedEvent[]): number[] => events.map(numberOf);
const upTo = (count: number, from = 0): number[] => Array.from({ length: count }, (_, i) => from + i);
const parkedStream = (stream: string, group: string): string => `$persistentsubscription-${stream}::${group}-parked`;

describe('persistent subscriptions - real client', () => {
  let fixture: ServerFixture;
  let admin: EventStoreNodeConnection;
  let anonymous: EventStoreNodeConnection;
  const clients = useRealClients('tcp');
  beforeAll(() => {
    ({ fixture, admin, anonymous } = clients);
  });

  test('persistent - create with PersistentSubscriptionSettings.create() succeeds; the same group again is AlreadyExists', async () => {
    const stream = streamName('ps-create');
    const group = groupName();
    const created = await admin.createPersistentSubscription(stream, group, settings());
    expect(created.status).toBe('success');
    const again = await rejection(admin.createPersistentSubscription(stream, group, settings()));
    expect(again.message).toMatch(/already exists/);
    // The same name on another stream is another group.
    expect((await admin.createPersistentSubscription(streamName('ps-create-other'), group, settings())).status).toBe('success');
    expect(fixture.server.persistentSubscriptions.info(stream, group).settings.maxRetryCount).toBe(500);
  });

  test('persistent - every setting the client sends reaches the group; an unknown strategy or a bad bound is Fail with the reason', async () => {
    const stream = streamName('ps-settings');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, new esc.PersistentSubscriptionSettings(false, 7, true, 12_345, 3, 400, 15, 300, 1_500, 5, 900, 4, 'DispatchToSingle'));
    expect(fixture.server.persistentSubscriptions.info(stream, group).settings).toEqual({
      startFrom: 7n, resolveLinks: false, extraStatistics: true, messageTimeoutMs: 12_345, maxRetryCount: 3, liveBufferEvents: 400, readBatchEvents: 15,
      historyBufferEvents: 300, checkpointAfterMs: 1_500, checkpointMinCount: 5, checkpointMaxCount: 900, maxSubscriberCount: 4, consumerStrategy: 'DispatchToSingle',
    });
    const ordered = groupName();
    await admin.createPersistentSubscription(stream, ordered, settings({ namedConsumerStrategy: 'Ordered' }));
    expect(fixture.server.persistentSubscriptions.info(stream, ordered).settings.consumerStrategy).toBe('Ordered');
    const unknown = await rejection(admin.createPersistentSubscription(stream, groupName(), settings({ namedConsumerStrategy: 'Fastest' })));
    expect(unknown.message).toMatch(/failed '.*named_consumer_strategy must be one of RoundRobin, DispatchToSingle, Pinned, Ordered/);
    const badStart = await rejection(admin.createPersistentSubscription(stream, groupName(), settings({ startFrom: -2 })));
    expect(badStart.message).toMatch(/start_from must be -1/);
    const badBound = await rejection(admin.createPersistentSubscription(stream, groupName(), settings({ minCheckPointCount: 0 })));
    expect(badBound.message).toMatch(/failed '.*checkpointMinCount/);
  });

  test('persistent - a non-admin may not create, update or delete a group: AccessDenied', async () => {
    const stream = streamName('ps-access');
    const group = groupName();
    expect((await rejection(anonymous.createPersistentSubscription(stream, group, settings()))).message).toMatch(/access denied/i);
    await admin.createPersistentSubscription(stream, group, settings());
    expect((await rejection(anonymous.updatePersistentSubscription(stream, group, settings()))).message).toMatch(/access denied/i);
    expect((await rejection(anonymous.deletePersistentSubscription(stream, group))).message).toMatch(/access denied/i);
    // With an admin's credentials on the request itself, the anonymous connection may.
    expect((await anonymous.deletePersistentSubscription(stream, group, adminCredentials())).status).toBe('success');
  });

  test('persistent - connect with auto-ack: every event once, in order, acknowledged', async () => {
    const stream = streamName('ps-auto');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings());
    const consumer = await consume(anonymous, stream, group);
    await appendNumbered(anonymous, stream, 30);
    await waitFor('30 events', () => consumer.events.length >= 30);
    expect(numbers(consumer.events)).toEqual(upTo(30));
    expect(consumer.events.every((e) => e.event!.eventStreamId === stream && e.originalPosition === null)).toBe(true);
    await waitFor('every ack', () => fixture.server.persistentSubscriptions.info(stream, group).ackedCount === 30);
    await settle();
    expect(consumer.events).toHaveLength(30);
    consumer.subscription.stop();
    await waitFor('the drop', () => consumer.drops.length === 1);
    expect(consumer.drops[0].reason).toBe('userInitiated');
    await waitFor('the consumer to leave', () => fixture.server.persistentSubscriptions.info(stream, group).connections.length === 0);
  });

  test('persistent - startFrom 0 delivers the history first; startFrom N from revision N', async () => {
    const stream = streamName('ps-history');
    await appendNumbered(anonymous, stream, 10);
    const fromStart = groupName();
    const fromFive = groupName();
    await admin.createPersistentSubscription(stream, fromStart, settings({ startFrom: 0 }));
    await admin.createPersistentSubscription(stream, fromFive, settings({ startFrom: 5 }));
    const a = await consume(anonymous, stream, fromStart);
    const b = await consume(anonymous, stream, fromFive);
    await appendNumbered(anonymous, stream, 2, 10);
    await waitFor('the history and the live events', () => a.events.length >= 12 && b.events.length >= 7);
    expect(numbers(a.events)).toEqual(upTo(12));
    expect(numbers(b.events)).toEqual(upTo(7, 5));
  });

  test('persistent - manual acknowledge and fail: a retried event comes again, a skipped one does not, a parked one goes to the parked stream', async () => {
    const stream = streamName('ps-manual');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings());
    const seen = new Map<number, number>();
    const consumer = await consume(anonymous, stream, group, {
      autoAck: false,
      onEvent: (s, event) => {
        const n = numberOf(event);
        const times = (seen.get(n) ?? 0) + 1;
        seen.set(n, times);
        if (n === 1 && times === 1) s.fail(event, esc.PersistentSubscriptionNakEventAction.Retry, 'try again');
        else if (n === 2) s.fail(event, esc.PersistentSubscriptionNakEventAction.Skip, 'not for us');
        else if (n === 3) s.fail(event, esc.PersistentSubscriptionNakEventAction.Park, 'poison');
        else s.acknowledge(event);
      },
    });
    await appendNumbered(anonymous, stream, 5);
    await waitFor('the retried event again', () => seen.get(1) === 2 && consumer.events.length >= 6);
    await settle(300);
    expect([...seen.entries()].sort((x, y) => x[0] - y[0])).toEqual([[0, 1], [1, 2], [2, 1], [3, 1], [4, 1]]);
    const parked = await admin.readStreamEventsForward(parkedStream(stream, group), 0, 10, false);
    expect(parked.events.map((e) => JSON.parse(e.event!.data!.toString()).n)).toEqual([3]);
    await waitFor('the group to be done', () => fixture.server.persistentSubscriptions.info(stream, group).inFlightCount === 0);
  });

  test('persistent - an event failed with retry more than maxRetryCount times is parked', async () => {
    const stream = streamName('ps-park');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings({ maxRetryCount: 2 }));
    let deliveries = 0;
    const consumer = await consume(anonymous, stream, group, {
      autoAck: false,
      onEvent: (s, event) => {
        deliveries++;
        s.fail(event, esc.PersistentSubscriptionNakEventAction.Retry, `attempt ${deliveries}`);
      },
    });
    await appendNumbered(anonymous, stream, 1);
    await waitFor('the parked event', () => fixture.server.persistentSubscriptions.info(stream, group).parkedCount === 1n);
    await settle(200);
    // The first delivery and two retries; the third nak parks it.
    expect(deliveries).toBe(3);
    expect(consumer.events).toHaveLength(3);
    const parked = await admin.readStreamEventsForward(parkedStream(stream, group), 0, 10, false);
    expect(parked.events).toHaveLength(1);
  });

  test('persistent - an event not acknowledged within messageTimeout is delivered again', async () => {
    const stream = streamName('ps-timeout');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings({ messageTimeout: 300 }));
    const consumer = await consume(anonymous, stream, group, { autoAck: false });
    await appendNumbered(anonymous, stream, 1);
    await waitFor('a redelivery', () => consumer.events.length >= 2, 5_000);
    consumer.subscription.acknowledge(consumer.events.at(-1)!);
    const count = consumer.events.length;
    await settle(800);
    expect(consumer.events).toHaveLength(count);
  });

  test('persistent - the window: with bufferSize 3 and nothing acknowledged, three events are in flight', async () => {
    const stream = streamName('ps-window');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings());
    const consumer = await consume(anonymous, stream, group, { autoAck: false, bufferSize: 3 });
    await appendNumbered(anonymous, stream, 10);
    await waitFor('three events', () => consumer.events.length >= 3);
    await settle(200);
    expect(numbers(consumer.events)).toEqual([0, 1, 2]);
    consumer.subscription.acknowledge(consumer.events.slice(0, 2));
    await waitFor('two more', () => consumer.events.length >= 5);
    await settle(200);
    expect(numbers(consumer.events)).toEqual(upTo(5));
  });

  test('persistent - two connections share a group round robin: every event once between them', async () => {
    const stream = streamName('ps-rr');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings());
    const second = await fixture.connect({ name: 'second' });
    try {
      const a = await consume(anonymous, stream, group);
      const b = await consume(second.connection, stream, group);
      expect(fixture.server.persistentSubscriptions.info(stream, group).connections).toHaveLength(2);
      for (let i = 0; i < 40; i++) await appendNumbered(admin, stream, 1, i);
      await waitFor('40 events between them', () => a.events.length + b.events.length >= 40);
      await settle(200);
      expect(a.events.length).toBeGreaterThanOrEqual(10);
      expect(b.events.length).toBeGreaterThanOrEqual(10);
      expect([...numbers(a.events), ...numbers(b.events)].sort((x, y) => x - y)).toEqual(upTo(40));
    } finally {
      await fixture.disconnect(second);
    }
  });

  test('persistent - a connection that closes gives its unacknowledged events to the other consumers', async () => {
    const stream = streamName('ps-leave');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings({ namedConsumerStrategy: 'DispatchToSingle' }));
    const leaving = await fixture.connect({ name: 'leaving' });
    const holder = await consume(leaving.connection, stream, group, { autoAck: false, bufferSize: 5 });
    await appendNumbered(admin, stream, 5);
    await waitFor('the first consumer to hold five', () => holder.events.length === 5);
    const taker = await consume(anonymous, stream, group);
    await settle(100);
    expect(taker.events).toHaveLength(0);
    await fixture.disconnect(leaving);
    await waitFor('the five again, at the other consumer', () => taker.events.length >= 5);
    expect(numbers(taker.events)).toEqual(upTo(5));
  });

  test('persistent - updatePersistentSubscription changes the settings and drops the connected consumer; an unknown group is DoesNotExist', async () => {
    const stream = streamName('ps-update');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings());
    const consumer = await consume(anonymous, stream, group);
    const updated = await admin.updatePersistentSubscription(stream, group, settings({ maxRetryCount: 7, namedConsumerStrategy: 'Pinned' }));
    expect(updated.status).toBe('success');
    // EventStoreDB has no drop reason for an update: the server says Unsubscribed, which this client reports as userInitiated.
    await waitFor('the drop', () => consumer.drops.length === 1);
    expect(consumer.drops[0].reason).toBe('userInitiated');
    const info = fixture.server.persistentSubscriptions.info(stream, group);
    expect([info.settings.maxRetryCount, info.settings.consumerStrategy]).toEqual([7, 'Pinned']);
    expect((await rejection(admin.updatePersistentSubscription(stream, groupName(), settings()))).message).toMatch(/does not exist/);
    // The group still works after the update.
    const again = await consume(anonymous, stream, group);
    await appendNumbered(admin, stream, 2);
    await waitFor('two events', () => again.events.length >= 2);
  });

  test('persistent - deletePersistentSubscription drops the connected consumer with persistentSubscriptionDeleted; deleting again is DoesNotExist', async () => {
    const stream = streamName('ps-delete');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings());
    const consumer = await consume(anonymous, stream, group);
    expect((await admin.deletePersistentSubscription(stream, group)).status).toBe('success');
    await waitFor('the drop', () => consumer.drops.length === 1);
    expect(consumer.drops[0].reason).toBe('persistentSubscriptionDeleted');
    expect((await rejection(admin.deletePersistentSubscription(stream, group))).message).toMatch(/does not exist/);
    expect((await rejection(consume(anonymous, stream, group))).message).toMatch(/Subscription not found/);
  });

  test('persistent - connecting to a group that does not exist fails with NotFound', async () => {
    const error = await rejection(consume(anonymous, streamName('ps-none'), groupName()));
    expect(error.message).toMatch(/Subscription not found/);
  });

  test('persistent - maxSubscriberCount: a consumer past it is refused with maxSubscribersReached', async () => {
    const stream = streamName('ps-max');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings({ maxSubscriberCount: 1 }));
    await consume(anonymous, stream, group);
    const error = await rejection(consume(admin, stream, group));
    expect(error.message).toMatch(/Maximum subscribers reached/);
  });

  test('persistent - connecting needs read access to the stream: AccessDenied for a stream only admins read', async () => {
    const stream = streamName('ps-acl');
    const group = groupName();
    await admin.setStreamMetadataRaw(stream, esc.expectedVersion.any, { $acl: { $r: '$admins' } });
    await admin.createPersistentSubscription(stream, group, settings());
    const error = await rejection(consume(anonymous, stream, group));
    expect(error.message).toMatch(/You do not have access to the stream/);
    const allowed = await consume(anonymous, stream, group, { credentials: adminCredentials() });
    await appendNumbered(admin, stream, 1);
    await waitFor('the event', () => allowed.events.length === 1);
  });

  test('persistent - a group on $all: created and read by an admin, refused to anonymous', async () => {
    const group = groupName();
    await admin.createPersistentSubscription('$all', group, settings());
    expect((await rejection(consume(anonymous, '$all', group))).message).toMatch(/You do not have access to the stream/);
    const consumer = await consume(admin, '$all', group);
    const stream = streamName('ps-all');
    await appendNumbered(anonymous, stream, 3);
    await waitFor('three events of the stream', () => consumer.events.filter((e) => e.event!.eventStreamId === stream).length >= 3);
    expect(numbers(consumer.events.filter((e) => e.event!.eventStreamId === stream))).toEqual(upTo(3));
    await admin.deletePersistentSubscription('$all', group);
  });

  test('persistent - on the wire: confirmation, retryCount 0 then 1 after a nak retry, acks for unknown ids ignored, Unsubscribe answered', async () => {
    const stream = streamName('ps-wire');
    const group = groupName();
    await admin.createPersistentSubscription(stream, group, settings());
    const raw = await RawClient.connect(fixture.server.port);
    try {
      const credentials = { login: ADMIN_LOGIN, password: ADMIN_PASSWORD };
      const correlationId = randomUUID();
      const confirmation = await raw.request(TcpCommand.ConnectToPersistentSubscription, messages.ConnectToPersistentSubscription.encode({
        subscriptionId: group, eventStreamId: stream, allowedInFlightMessages: 10,
      }), { correlationId, credentials });
      expect(confirmation.command).toBe(TcpCommand.PersistentSubscriptionConfirmation);
      const confirmed = messages.PersistentSubscriptionConfirmation.decode(confirmation.payload);
      expect(confirmed.subscriptionId).toBe(`${stream}::${group}`);
      expect(confirmed.lastEventNumber).toBe(-1n);
      await appendNumbered(admin, stream, 1);
      const appearedAt = (n: number) => raw.waitForPackage(`delivery ${n}`, () => raw.packages.filter((p) => p.command === TcpCommand.PersistentSubscriptionStreamEventAppeared).length >= n);
      await appearedAt(1);
      const deliveries = () => raw.packages.filter((p) => p.command === TcpCommand.PersistentSubscriptionStreamEventAppeared).map((p) => ({ correlationId: p.correlationId, ...messages.PersistentSubscriptionStreamEventAppeared.decode(p.payload) }));
      const first = deliveries()[0];
      expect([first.correlationId, first.retryCount, first.event!.event!.eventStreamId, first.event!.event!.eventNumber]).toEqual([correlationId, 0, stream, 0n]);
      const id = first.event!.event!.eventId;
      raw.send(TcpCommand.PersistentSubscriptionNakEvents, messages.PersistentSubscriptionNakEvents.encode({
        subscriptionId: confirmed.subscriptionId, processedEventIds: [id], message: 'again', action: NakAction.Retry,
      }), { correlationId });
      await appearedAt(2);
      expect(deliveries()[1].retryCount).toBe(1);
      // An ack naming another subscription, and one under another correlation id, change nothing.
      raw.send(TcpCommand.PersistentSubscriptionAckEvents, messages.PersistentSubscriptionAckEvents.encode({ subscriptionId: `${stream}::other`, processedEventIds: [id] }), { correlationId });
      raw.send(TcpCommand.PersistentSubscriptionAckEvents, messages.PersistentSubscriptionAckEvents.encode({ subscriptionId: confirmed.subscriptionId, processedEventIds: [id] }), { correlationId: randomUUID() });
      await settle(100);
      expect(fixture.server.persistentSubscriptions.info(stream, group).inFlightCount).toBe(1);
      raw.send(TcpCommand.PersistentSubscriptionAckEvents, messages.PersistentSubscriptionAckEvents.encode({ subscriptionId: confirmed.subscriptionId, processedEventIds: [id] }), { correlationId });
      await waitFor('the ack', () => fixture.server.persistentSubscriptions.info(stream, group).inFlightCount === 0);
      raw.send(TcpCommand.UnsubscribeFromStream, messages.UnsubscribeFromStream.encode({}), { correlationId });
      const dropped = await raw.waitForPackage('the drop', (p) => p.command === TcpCommand.SubscriptionDropped && p.correlationId === correlationId);
      expect(messages.SubscriptionDropped.decode(dropped.payload).reason).toBe(SubscriptionDropReason.Unsubscribed);
      // Fire-and-forget: none of the acks and naks was answered.
      expect(raw.answers().map((p) => p.command).filter((c) => c !== TcpCommand.PersistentSubscriptionStreamEventAppeared)).toEqual([
        TcpCommand.PersistentSubscriptionConfirmation, TcpCommand.SubscriptionDropped,
      ]);
    } finally {
      await raw.close();
    }
  });
});

describe('persistent subscriptions - real client across a server restart', () => {
  let fixture: RestartableServer;
  beforeAll(async () => {
    fixture = await RestartableServer.start();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  test('persistent - a restart keeps the group and resumes from its checkpoint without losing or repeating events', async () => {
    const stream = streamName('ps-restart');
    const group = groupName();
    let admin = await fixture.connectAdmin();
    await admin.createPersistentSubscription(stream, group, settings({ startFrom: 0, checkPointAfter: 100, minCheckPointCount: 1 }));
    await appendNumbered(admin, stream, 30);
    // Acknowledge the first 10 only; the next ones are delivered (in the window) but not acknowledged.
    const before = await consume(admin, stream, group, { autoAck: false, bufferSize: 15 });
    await waitFor('15 deliveries', () => before.events.length >= 15);
    before.subscription.acknowledge(before.events.slice(0, 10));
    await waitFor('the acks', () => fixture.server.persistentSubscriptions.info(stream, group).ackedCount === 10);
    await fixture.restart();
    admin = await fixture.connectAdmin();
    expect(fixture.server.persistentSubscriptions.list({ streamId: stream }).map((g) => g.group)).toEqual([group]);
    expect(fixture.server.persistentSubscriptions.info(stream, group).lastCheckpoint).toBe(9n);
    const after = await consume(admin, stream, group);
    await appendNumbered(admin, stream, 5, 30);
    await waitFor('the rest', () => after.events.length >= 25);
    await settle(200);
    expect(numbers(after.events)).toEqual(upTo(25, 10));
    expect(fixture.warnings).toEqual([]);
  });
});
