// Hostile clients against the persistent-subscription commands of the real TCP server: malformed
// payloads, windows of zero or 2^31-1, acks and naks for ids, subscriptions and correlation ids that
// are not theirs, too many consumers on one connection, and a consumer whose connection stops
// reading (it refuses deliveries; nothing is held for it). Each gets its exact reaction, and other clients go on. format-spec/protocol.md §9.6, §10.

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TcpCommand } from '../../src/protocol/wire/commands.js';
import {
  CreatePersistentSubscriptionResult, SubscriptionDropReason, messages, type PersistentSubscriptionSettingsFields,
} from '../../src/protocol/wire/messages.js';
import type { TcpPackage } from '../../src/protocol/wire/package.js';
import { PERSISTENT_SUBSCRIPTIONS_PER_CONNECTION_MAX } from '../../src/protocol/server/server-limits.js';
import { PERSISTENT_WINDOW_EVENTS_MAX } from '../../src/util/limits.js';
import type { RawClient } from './raw-client.js';
import { ADMIN_LOGIN, ADMIN_PASSWORD, RawServer, rawServersClosedAfterEach, expectStillInStep, wellBehavedRoundTrip } from './raw-server.js';
import { settle, waitFor } from './client-helpers.js';

const MiB = 1024 * 1024;
const ADMIN = { login: ADMIN_LOGIN, password: ADMIN_PASSWORD };
const text = (pkg: TcpPackage): string => Buffer.from(pkg.payload).toString('utf8');

const startServer = rawServersClosedAfterEach();

function groupSettings(stream: string, group: string, changes: Partial<PersistentSubscriptionSettingsFields> = {}): PersistentSubscriptionSettingsFields {
  return {
    subscriptionGroupName: group, eventStreamId: stream, resolveLinkTos: false, startFrom: 0n, messageTimeoutMilliseconds: 30_000,
    recordStatistics: false, liveBufferSize: 500, readBatchSize: 20, bufferSize: 500, maxRetryCount: 10, preferRoundRobin: true,
    checkpointAfterTime: 2_000, checkpointMaxCount: 1_000, checkpointMinCount: 10, subscriberMaxCount: 0, namedConsumerStrategy: 'RoundRobin', ...changes,
  };
}

async function createGroup(client: RawClient, stream: string, group: string, changes: Partial<PersistentSubscriptionSettingsFields> = {}): Promise<void> {
  const reply = await client.request(TcpCommand.CreatePersistentSubscription, messages.CreatePersistentSubscription.encode(groupSettings(stream, group, changes)), { credentials: ADMIN });
  expect(reply.command).toBe(TcpCommand.CreatePersistentSubscriptionCompleted);
  expect(messages.CreatePersistentSubscriptionCompleted.decode(reply.payload).result).toBe(CreatePersistentSubscriptionResult.Success);
}

function connectPayload(stream: string, group: string, window: number): Uint8Array {
  return messages.ConnectToPersistentSubscription.encode({ subscriptionId: group, eventStreamId: stream, allowedInFlightMessages: window });
}

/** Connects a consumer; resolves with its correlation id and subscription id once confirmed. */
async function connectConsumer(client: RawClient, stream: string, group: string, window = 10): Promise<{ correlationId: string; subscriptionId: string }> {
  const correlationId = randomUUID();
  const reply = await client.request(TcpCommand.ConnectToPersistentSubscription, connectPayload(stream, group, window), { correlationId, credentials: ADMIN });
  expect(reply.command).toBe(TcpCommand.PersistentSubscriptionConfirmation);
  return { correlationId, subscriptionId: messages.PersistentSubscriptionConfirmation.decode(reply.payload).subscriptionId };
}

async function append(server: RawServer, stream: string, count: number, bytes = 8): Promise<void> {
  const batch = Math.max(1, Math.min(1000, Math.floor((4 * MiB) / bytes)));
  for (let done = 0; done < count; done += batch) {
    const events = Array.from({ length: Math.min(batch, count - done) }, (_, i) => ({ type: 'Hostile', data: new Uint8Array(bytes).fill((done + i) % 256) }));
    await server.store.appendToStream(stream, events);
  }
}

function deliveries(client: RawClient, correlationId?: string): { correlationId: string; retryCount: number; id: Uint8Array; revision: bigint }[] {
  return client.packages
    .filter((p) => p.command === TcpCommand.PersistentSubscriptionStreamEventAppeared && (correlationId === undefined || p.correlationId === correlationId))
    .map((p) => {
      const appeared = messages.PersistentSubscriptionStreamEventAppeared.decode(p.payload);
      return { correlationId: p.correlationId, retryCount: appeared.retryCount, id: appeared.event!.event!.eventId.slice(), revision: appeared.event!.event!.eventNumber };
    });
}

/** A BadRequest with `correlationId` whose text matches; the connection stays open and in step, nothing is logged. */
async function expectBadRequest(server: RawServer, client: RawClient, correlationId: string, answer: RegExp): Promise<void> {
  const reply = await client.waitForPackage(`BadRequest for ${correlationId}`, (p) => p.correlationId === correlationId && p.command === TcpCommand.BadRequest);
  expect(text(reply)).toMatch(answer);
  await expectStillInStep(server, client);
}

describe('hostile persistent - malformed requests', () => {
  const cases: [string, number, Uint8Array, RegExp][] = [
    ['a CreatePersistentSubscription that is not protobuf', TcpCommand.CreatePersistentSubscription, new Uint8Array([0x0a, 0xff, 0xff, 0x0f]), /^CreatePersistentSubscription: BAD_PROTOBUF/],
    ['an UpdatePersistentSubscription of the wrong wire type', TcpCommand.UpdatePersistentSubscription, new Uint8Array([0x0d, 1, 2, 3, 4]), /^UpdatePersistentSubscription: BAD_PROTOBUF/],
    ['a DeletePersistentSubscription cut short', TcpCommand.DeletePersistentSubscription, new Uint8Array([0x0a, 0x05, 0x61]), /^DeletePersistentSubscription: BAD_PROTOBUF/],
    ['a ConnectToPersistentSubscription of wire type 7', TcpCommand.ConnectToPersistentSubscription, new Uint8Array([0x0f]), /^ConnectToPersistentSubscription: BAD_PROTOBUF/],
    ['a window of 0', TcpCommand.ConnectToPersistentSubscription, connectPayload('s', 'g', 0), /^ConnectToPersistentSubscription: allowed_in_flight_messages must be at least 1, got 0$/],
    ['a window of -5', TcpCommand.ConnectToPersistentSubscription, connectPayload('s', 'g', -5), /^ConnectToPersistentSubscription: allowed_in_flight_messages must be at least 1, got -5$/],
    ['an Ack that is not protobuf, for no subscription', TcpCommand.PersistentSubscriptionAckEvents, new Uint8Array([0xff]), /^PersistentSubscriptionAckEvents: BAD_PROTOBUF/],
  ];
  for (const [name, command, payload, answer] of cases) {
    it(`hostile persistent - ${name} gets BadRequest with the request id and the connection stays`, async () => {
      const server = await startServer();
      const client = await server.connect();
      const correlationId = client.send(command, payload, { credentials: ADMIN });
      await expectBadRequest(server, client, correlationId, answer);
      await wellBehavedRoundTrip(server);
    });
  }

  it('hostile persistent - settings out of bounds, an empty group name and an empty stream id are Fail with the reason; nothing is created', async () => {
    const server = await startServer();
    const client = await server.connect();
    const fail = async (changes: Partial<PersistentSubscriptionSettingsFields>, reason: RegExp): Promise<void> => {
      const reply = await client.request(TcpCommand.CreatePersistentSubscription, messages.CreatePersistentSubscription.encode(groupSettings('s', 'g', changes)), { credentials: ADMIN });
      const completed = messages.CreatePersistentSubscriptionCompleted.decode(reply.payload);
      expect(completed.result).toBe(CreatePersistentSubscriptionResult.Fail);
      expect(completed.reason).toMatch(reason);
    };
    await fail({ maxRetryCount: -1 }, /maxRetryCount/);
    await fail({ messageTimeoutMilliseconds: -1 }, /messageTimeoutMs/);
    await fail({ readBatchSize: 0 }, /readBatchEvents/);
    await fail({ liveBufferSize: 2_000_000_000 }, /liveBufferEvents/);
    await fail({ startFrom: -7n }, /start_from must be -1/);
    await fail({ namedConsumerStrategy: 'x'.repeat(100_000) }, /named_consumer_strategy must be one of/);
    await fail({ subscriptionGroupName: '' }, /group/i);
    await fail({ eventStreamId: '' }, /stream/i);
    expect(server.server.persistentSubscriptions.list()).toEqual([]);
    expect(server.logger.otherWarnings()).toEqual([]);
  });
});

describe('hostile persistent - acks and naks', () => {
  it('hostile persistent - acks for an unknown correlation id, another subscription id or unknown event ids change nothing and get no answer', async () => {
    const server = await startServer();
    const client = await server.connect();
    await createGroup(client, 'acks', 'g');
    const { correlationId, subscriptionId } = await connectConsumer(client, 'acks', 'g');
    await append(server, 'acks', 3);
    await waitFor('three deliveries', () => deliveries(client).length === 3);
    const ids = deliveries(client).map((d) => d.id);
    const ack = (id: string, sub: string, eventIds: Uint8Array[]) =>
      client.send(TcpCommand.PersistentSubscriptionAckEvents, messages.PersistentSubscriptionAckEvents.encode({ subscriptionId: sub, processedEventIds: eventIds }), { correlationId: id });
    ack(randomUUID(), subscriptionId, ids);
    ack(correlationId, 'acks::other', ids);
    ack(correlationId, subscriptionId, Array.from({ length: 5_000 }, () => new Uint8Array(16).map(() => Math.floor(Math.random() * 256))));
    client.send(TcpCommand.UnsubscribeFromStream, messages.UnsubscribeFromStream.encode({}), { correlationId: randomUUID() });
    await settle(200);
    expect(server.server.persistentSubscriptions.info('acks', 'g').inFlightCount).toBe(3);
    expect(client.answers().filter((p) => p.command !== TcpCommand.PersistentSubscriptionStreamEventAppeared).map((p) => p.command)).toEqual([
      TcpCommand.CreatePersistentSubscriptionCompleted, TcpCommand.PersistentSubscriptionConfirmation,
    ]);
    ack(correlationId, subscriptionId, ids);
    await waitFor('the real ack', () => server.server.persistentSubscriptions.info('acks', 'g').inFlightCount === 0);
    expect(server.logger.otherWarnings()).toEqual([]);
    expect(client.closed).toBe(false);
  });

  const endsConsumer: [string, (subscriptionId: string, id: Uint8Array) => [number, Uint8Array], RegExp][] = [
    ['an ack with an id of 15 bytes', (sub) => [TcpCommand.PersistentSubscriptionAckEvents, messages.PersistentSubscriptionAckEvents.encode({ subscriptionId: sub, processedEventIds: [new Uint8Array(15)] })], /^PersistentSubscriptionAckEvents: BAD_GUID/],
    ['an ack that is not protobuf', () => [TcpCommand.PersistentSubscriptionAckEvents, new Uint8Array([0x12, 0x7f, 0x00])], /^PersistentSubscriptionAckEvents: BAD_PROTOBUF/],
    ['a nak with action 9', (sub, id) => [TcpCommand.PersistentSubscriptionNakEvents, messages.PersistentSubscriptionNakEvents.encode({ subscriptionId: sub, processedEventIds: [id], action: 9 })], /^PersistentSubscriptionNakEvents: action must be a NakAction \(0–4\), got 9$/],
    ['a nak with an id of 17 bytes', (sub) => [TcpCommand.PersistentSubscriptionNakEvents, messages.PersistentSubscriptionNakEvents.encode({ subscriptionId: sub, processedEventIds: [new Uint8Array(17)], action: 2 })], /^PersistentSubscriptionNakEvents: BAD_GUID/],
  ];
  for (const [name, build, answer] of endsConsumer) {
    it(`hostile persistent - ${name} gets BadRequest on the subscription's id and ends that consumer; its event goes to another`, async () => {
      const server = await startServer();
      const client = await server.connect();
      await createGroup(client, 'bad-ack', 'g', { namedConsumerStrategy: 'DispatchToSingle' });
      const { correlationId, subscriptionId } = await connectConsumer(client, 'bad-ack', 'g');
      const other = await server.connect();
      const second = await connectConsumer(other, 'bad-ack', 'g');
      await append(server, 'bad-ack', 1);
      await waitFor('the delivery to the first consumer', () => deliveries(client).length === 1);
      const [command, payload] = build(subscriptionId, deliveries(client)[0].id);
      client.send(command, payload, { correlationId });
      await expectBadRequest(server, client, correlationId, answer);
      await waitFor('the event at the other consumer', () => deliveries(other).length === 1);
      expect(deliveries(other)[0]).toMatchObject({ correlationId: second.correlationId, retryCount: 1, revision: 0n });
      expect(server.server.persistentSubscriptions.info('bad-ack', 'g').connections).toHaveLength(1);
      await wellBehavedRoundTrip(server);
    });
  }
});

describe('hostile persistent - windows and counts', () => {
  it('hostile persistent - a window of 2^31-1 is cut to PERSISTENT_WINDOW_EVENTS_MAX events in flight', async () => {
    const server = await startServer({ chunkSizeBytes: 8 * MiB });
    const client = await server.connect();
    await createGroup(client, 'huge-window', 'g', { liveBufferSize: 20_000, bufferSize: 20_000, readBatchSize: 1_000 });
    await append(server, 'huge-window', PERSISTENT_WINDOW_EVENTS_MAX + 500);
    await connectConsumer(client, 'huge-window', 'g', 0x7fffffff);
    await waitFor('a full window', () => deliveries(client).length >= PERSISTENT_WINDOW_EVENTS_MAX, 30_000);
    await settle(300);
    expect(deliveries(client)).toHaveLength(PERSISTENT_WINDOW_EVENTS_MAX);
    expect(server.server.persistentSubscriptions.info('huge-window', 'g').connections[0].windowEvents).toBe(PERSISTENT_WINDOW_EVENTS_MAX);
    expect(server.logger.closeReasons()).toEqual([]);
  });

  it(`hostile persistent - one connection holds at most PERSISTENT_SUBSCRIPTIONS_PER_CONNECTION_MAX consumers; the next is SubscriberMaxCountReached`, async () => {
    const server = await startServer();
    const client = await server.connect();
    await createGroup(client, 'many', 'a');
    await createGroup(client, 'many', 'b');
    const half = PERSISTENT_SUBSCRIPTIONS_PER_CONNECTION_MAX / 2;
    const ids = [...Array.from({ length: half }, () => client.send(TcpCommand.ConnectToPersistentSubscription, connectPayload('many', 'a', 1), { credentials: ADMIN })),
      ...Array.from({ length: half }, () => client.send(TcpCommand.ConnectToPersistentSubscription, connectPayload('many', 'b', 1), { credentials: ADMIN }))];
    await waitFor('every confirmation', () => client.packages.filter((p) => p.command === TcpCommand.PersistentSubscriptionConfirmation).length === ids.length, 30_000);
    const refused = await client.request(TcpCommand.ConnectToPersistentSubscription, connectPayload('many', 'a', 1), { credentials: ADMIN });
    expect([refused.command, messages.SubscriptionDropped.decode(refused.payload).reason]).toEqual([TcpCommand.SubscriptionDropped, SubscriptionDropReason.SubscriberMaxCountReached]);
    // Leaving frees a place.
    client.send(TcpCommand.UnsubscribeFromStream, messages.UnsubscribeFromStream.encode({}), { correlationId: ids[0] });
    const left = await client.waitForPackage('the drop', (p) => p.correlationId === ids[0] && p.command === TcpCommand.SubscriptionDropped);
    expect(messages.SubscriptionDropped.decode(left.payload).reason).toBe(SubscriptionDropReason.Unsubscribed);
    await connectConsumer(client, 'many', 'b', 1);
    // Closing the connection takes every consumer out of its group.
    await client.close();
    await waitFor('the groups to empty', () => server.server.persistentSubscriptions.list().every((g) => g.connections.length === 0));
  });

  it('hostile persistent - the same correlation id connecting twice is refused the second time', async () => {
    const server = await startServer();
    const client = await server.connect();
    await createGroup(client, 'twice', 'g');
    const { correlationId } = await connectConsumer(client, 'twice', 'g');
    const again = await client.request(TcpCommand.ConnectToPersistentSubscription, connectPayload('twice', 'g', 5), { correlationId: randomUUID(), credentials: ADMIN });
    expect(again.command).toBe(TcpCommand.PersistentSubscriptionConfirmation);
    client.send(TcpCommand.ConnectToPersistentSubscription, connectPayload('twice', 'g', 5), { correlationId, credentials: ADMIN });
    const refused = await client.waitForPackage('the refusal', (p) => p.correlationId === correlationId && p.command === TcpCommand.SubscriptionDropped);
    expect(messages.SubscriptionDropped.decode(refused.payload).reason).toBe(SubscriptionDropReason.SubscriberMaxCountReached);
    expect(server.server.persistentSubscriptions.info('twice', 'g').connections).toHaveLength(2);
  });

  it('hostile persistent - anonymous and unknown: create is AccessDenied, connect to a missing group NotFound, to a $all group AccessDenied', async () => {
    const server = await startServer();
    const client = await server.connect();
    const created = await client.request(TcpCommand.CreatePersistentSubscription, messages.CreatePersistentSubscription.encode(groupSettings('anon', 'g')));
    expect(messages.CreatePersistentSubscriptionCompleted.decode(created.payload).result).toBe(CreatePersistentSubscriptionResult.AccessDenied);
    const missing = await client.request(TcpCommand.ConnectToPersistentSubscription, connectPayload('anon', 'g', 10));
    expect(messages.SubscriptionDropped.decode(missing.payload).reason).toBe(SubscriptionDropReason.NotFound);
    await createGroup(client, '$all', 'g');
    const all = await client.request(TcpCommand.ConnectToPersistentSubscription, connectPayload('$all', 'g', 10));
    expect([all.command, messages.SubscriptionDropped.decode(all.payload).reason]).toEqual([TcpCommand.SubscriptionDropped, SubscriptionDropReason.AccessDenied]);
    expect(server.logger.otherWarnings()).toEqual([]);
  });
});

describe('hostile persistent - slow consumers', () => {
  it('hostile persistent - a consumer whose connection does not read takes only what its send queue holds, is not dropped, gets no duplicate, and the others go on', async () => {
    const EVENT_BYTES = 256 * 1024;
    const WINDOW = 40; // 10 MiB of deliveries: more than the send queue and the socket buffers hold
    const TIMEOUT_MS = 4_000;
    const server = await startServer({ chunkSizeBytes: 16 * MiB, limits: { sendQueueBytesMax: 2 * MiB, persistentDeliveryQueueBytesMax: 256 * 1024 } });
    const admin = await server.connect();
    await createGroup(admin, 'slow', 'g', { messageTimeoutMilliseconds: TIMEOUT_MS });
    const slow = await server.connect({ read: false });
    const slowId = slow.send(TcpCommand.ConnectToPersistentSubscription, connectPayload('slow', 'g', WINDOW), { credentials: ADMIN });
    await waitFor('the slow consumer', () => server.server.persistentSubscriptions.info('slow', 'g').connections.length === 1);
    const fast = await connectConsumer(admin, 'slow', 'g', 10);
    const ackAll = (): void => {
      const ids = deliveries(admin, fast.correlationId).map((d) => d.id);
      admin.send(TcpCommand.PersistentSubscriptionAckEvents, messages.PersistentSubscriptionAckEvents.encode({ subscriptionId: fast.subscriptionId, processedEventIds: ids }), { correlationId: fast.correlationId });
    };
    const slowInFlight = (): number => server.server.persistentSubscriptions.info('slow', 'g').connections.find((c) => c.windowEvents === WINDOW)!.inFlight;
    const fastRevisions = (retryCount: number): bigint[] => deliveries(admin, fast.correlationId).filter((d) => d.retryCount === retryCount).map((d) => d.revision);
    const acking = setInterval(ackAll, 20);
    try {
      await append(server, 'slow', 200, EVENT_BYTES);
      // The slow consumer holds only the deliveries its connection took before its send queue
      // filled (then it refused the rest); everything else reaches the reading consumer, promptly.
      await waitFor('the others', () => fastRevisions(0).length + slowInFlight() === 200, 20_000);
      const taken = slowInFlight();
      expect(taken).toBeGreaterThan(0);
      expect(taken).toBeLessThan(WINDOW);
      expect(server.logger.closeReasons()).toEqual([]);
      // Those time out and go to the reading consumer, retried once; the slow one, still refusing,
      // gets nothing more (with deliveries held for it, the group would have sent it more, and
      // sent it the same events again).
      await waitFor('the timed-out deliveries', () => new Set([...fastRevisions(0), ...fastRevisions(1)]).size === 200, 20_000);
      await settle(100);
      expect(slowInFlight()).toBe(0);
      expect(fastRevisions(1)).toHaveLength(taken);
      expect(deliveries(admin).filter((d) => d.retryCount > 1)).toEqual([]);
      // When it reads at last, the slow consumer finds exactly the deliveries it took, once each.
      slow.startReading();
      await waitFor('the slow deliveries', () => deliveries(slow, slowId).length === taken);
      await settle(100);
      const slowRevisions = deliveries(slow, slowId).map((d) => d.revision);
      expect(new Set(slowRevisions).size).toBe(taken);
      expect(new Set(slowRevisions)).toEqual(new Set(fastRevisions(1)));
      expect(deliveries(slow, slowId).every((d) => d.retryCount === 0)).toBe(true);
      expect(server.logger.closeReasons()).toEqual([]);
      await slow.close();
    } finally {
      clearInterval(acking);
    }
    expect(server.logger.otherWarnings()).toEqual([]);
    await wellBehavedRoundTrip(server);
  });
});
