// Persistent subscriptions through Annal's client against a real server: group management and its
// errors, deliveries with ack / nak, the window, retries and parking, drops as typed errors, two
// consumers sharing a group, a group on $all, a group update, and a server restart that the
// consumer rides through. format-spec/protocol.md §9.6.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import {
  AccessDeniedError, AnnalClient, InvalidArgumentError, MaxSubscribersReachedError, PersistentSubscriptionDeletedError,
  PersistentSubscriptionExistsError, PersistentSubscriptionNotFoundError, type PersistentDelivery, type PersistentSubscription,
} from '../../src/client/index.js';
import type { TcpServer } from '../../src/protocol/server/tcp-server.js';
import type { GroupInfo } from '../../src/subscriptions/persistent/types.js';
import { ADMIN, TestServer } from './support/test-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ server: TestServer; client: AnnalClient; writer: AnnalClient }> {
  const server = await TestServer.start();
  cleanups.push(() => server.close());
  const client = await AnnalClient.connect({ host: server.host, port: server.port, credentials: ADMIN, reconnectDelayMs: 10 });
  cleanups.push(() => client.close());
  const writer = await AnnalClient.connect({ host: server.host, port: server.port, credentials: ADMIN, reconnectDelayMs: 10 });
  cleanups.push(() => writer.close());
  return { server, client, writer };
}

async function connect(server: TestServer, credentials?: { login: string; password: string }): Promise<AnnalClient> {
  const client = await AnnalClient.connect({ host: server.host, port: server.port, reconnectDelayMs: 10, ...(credentials ? { credentials } : {}) });
  cleanups.push(() => client.close());
  return client;
}

/** A group as the server sees it (TestServer keeps its TcpServer private; these tests look at the groups it serves). */
function info(server: TestServer, stream: string, group: string): GroupInfo {
  const tcp = (server as unknown as { server: TcpServer | null }).server;
  if (tcp === null) throw new Error('the server is stopped');
  return tcp.persistentSubscriptions.info(stream, group);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function append(writer: AnnalClient, stream: string, count: number, from = 0): Promise<void> {
  await writer.appendToStream(stream, Array.from({ length: count }, (_, i) => ({ type: 'n', data: { n: from + i } })));
}

/** Takes `count` deliveries (failing after `timeoutMs`). */
async function take(subscription: PersistentSubscription, count: number, timeoutMs = 10_000): Promise<PersistentDelivery[]> {
  const out: PersistentDelivery[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    while (out.length < count) {
      const next = await Promise.race([subscription.next(), timeout]);
      if (next === 'timeout') throw new Error(`only ${out.length} of ${count} deliveries within ${timeoutMs} ms`);
      if (next.done) throw new Error(`the subscription ended after ${out.length} of ${count} deliveries`);
      out.push(next.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether the next delivery arrives within `ms` (it is then lost to the caller: use only at the end). */
async function nothingWithin(subscription: PersistentSubscription, ms: number): Promise<boolean> {
  const next = await Promise.race([subscription.next(), sleep(ms).then(() => 'quiet' as const)]);
  return next === 'quiet';
}

/** The error the iteration ends with. */
async function endOf(subscription: PersistentSubscription, timeoutMs = 10_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const next = await Promise.race([subscription.next(), sleep(deadline - Date.now()).then(() => null)]);
      if (next === null) break;
      if (next.done) return 'done';
    }
  } catch (error) {
    return error;
  }
  throw new Error(`the subscription did not end within ${timeoutMs} ms`);
}

const numbers = (deliveries: PersistentDelivery[]): number[] => deliveries.map((d) => (d.event.data as { n: number }).n);
const upTo = (count: number, from = 0): number[] => Array.from({ length: count }, (_, i) => from + i);

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('client persistent subscriptions', () => {
  test('client persistent - create, update and delete, with their errors', async () => {
    const { server, client } = await setup();
    const stream = unique('manage');
    await client.createPersistentSubscription(stream, 'g', { startFrom: 'start', maxRetryCount: 3, consumerStrategy: 'Ordered' });
    expect(info(server, stream, 'g').settings).toMatchObject({ startFrom: 'start', maxRetryCount: 3, consumerStrategy: 'Ordered', messageTimeoutMs: 30_000 });
    await expect(client.createPersistentSubscription(stream, 'g')).rejects.toBeInstanceOf(PersistentSubscriptionExistsError);
    // An update replaces every setting: those left out take the defaults again.
    await client.updatePersistentSubscription(stream, 'g', { maxRetryCount: 5 });
    expect(info(server, stream, 'g').settings).toMatchObject({ startFrom: 'end', maxRetryCount: 5, consumerStrategy: 'RoundRobin' });
    await expect(client.updatePersistentSubscription(stream, 'nope')).rejects.toBeInstanceOf(PersistentSubscriptionNotFoundError);
    await client.deletePersistentSubscription(stream, 'g');
    await expect(client.deletePersistentSubscription(stream, 'g')).rejects.toBeInstanceOf(PersistentSubscriptionNotFoundError);

    // Refused before anything is sent, and refused by the server (its reason in the message).
    await expect(client.createPersistentSubscription(stream, 'g', { windowEvents: 3 } as never)).rejects.toThrow(/unknown persistent subscription settings option 'windowEvents'/);
    await expect(client.createPersistentSubscription(stream, '', {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.createPersistentSubscription(stream, 'g', { messageTimeoutMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    const refused = await client.createPersistentSubscription(stream, 'g', { checkpointMinCount: 0 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect((refused as Error).message).toMatch(/the server refused it: .*checkpointMinCount/);
  });

  test('client persistent - only $admins and $ops manage groups: AccessDeniedError for others', async () => {
    const { server } = await setup();
    await server.users.createUser('ops', 'ops-password', { groups: ['$ops'] });
    await server.users.createUser('ann', 'ann-password');
    const anonymous = await connect(server);
    const ann = await connect(server, { login: 'ann', password: 'ann-password' });
    const ops = await connect(server, { login: 'ops', password: 'ops-password' });
    const stream = unique('access');
    await expect(anonymous.createPersistentSubscription(stream, 'g')).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(ann.createPersistentSubscription(stream, 'g')).rejects.toBeInstanceOf(AccessDeniedError);
    await ops.createPersistentSubscription(stream, 'g');
    await expect(ann.deletePersistentSubscription(stream, 'g')).rejects.toBeInstanceOf(AccessDeniedError);
    // Consuming needs only read access to the stream.
    const subscription = anonymous.subscribeToPersistentSubscription(stream, 'g');
    await subscription.ready;
    await ops.deletePersistentSubscription(stream, 'g');
  });

  test('client persistent - deliveries come once, in order, and acks complete them', async () => {
    const { server, client, writer } = await setup();
    const stream = unique('once');
    await client.createPersistentSubscription(stream, 'g', { startFrom: 'start' });
    await append(writer, stream, 50);
    const subscription = client.subscribeToPersistentSubscription(stream, 'g', { bufferSize: 20 });
    const got: PersistentDelivery[] = [];
    for await (const delivery of subscription) {
      got.push(delivery);
      delivery.ack();
      if (got.length === 50) break;
    }
    expect(numbers(got)).toEqual(upTo(50));
    expect(got.every((d) => d.retryCount === 0 && d.event.streamId === stream)).toBe(true);
    expect(got.map((d) => d.event.revision)).toEqual(upTo(50).map(BigInt));
    // `break` unsubscribed; the acks made before went out first.
    await waitUntil('every ack', () => info(server, stream, 'g').ackedCount === 50 && info(server, stream, 'g').connections.length === 0);
  });

  test('client persistent - the window: bufferSize deliveries unacknowledged, then one more per ack', async () => {
    const { client, writer } = await setup();
    const stream = unique('window');
    await client.createPersistentSubscription(stream, 'g', { startFrom: 'start' });
    await append(writer, stream, 10);
    const subscription = client.subscribeToPersistentSubscription(stream, 'g', { bufferSize: 3 });
    const first = await take(subscription, 3);
    expect(numbers(first)).toEqual([0, 1, 2]);
    await sleep(200);
    subscription.ack(first[0], first[1].event.id);
    expect(numbers(await take(subscription, 2))).toEqual([3, 4]);
    expect(await nothingWithin(subscription, 200)).toBe(true);
    await subscription.unsubscribe();
  });

  test('client persistent - nak retry comes again with retryCount + 1, past maxRetryCount it is parked; skip and park complete it', async () => {
    const { server, client, writer } = await setup();
    const stream = unique('nak');
    await client.createPersistentSubscription(stream, 'g', { startFrom: 'start', maxRetryCount: 2 });
    await append(writer, stream, 3);
    const subscription = client.subscribeToPersistentSubscription(stream, 'g');
    const [a, b, c] = await take(subscription, 3);
    b.nak('skip', 'not mine');
    c.nak('park', 'poison');
    a.nak('retry', 'later');
    const again = await take(subscription, 1);
    expect([numbers(again), again[0].retryCount]).toEqual([[0], 1]);
    subscription.nak('retry', 'later', again[0]);
    const third = await take(subscription, 1);
    expect([numbers(third), third[0].retryCount]).toEqual([[0], 2]);
    third[0].nak('retry', 'once more');
    await waitUntil('two parked events', () => info(server, stream, 'g').parkedCount === 2n);
    expect(await nothingWithin(subscription, 200)).toBe(true);
    const parked = await client.readStream(`$persistentsubscription-${stream}::g-parked`);
    expect(parked.map((e) => (e.data as { n: number }).n).sort()).toEqual([0, 2]);
    await subscription.unsubscribe();
  });

  test('client persistent - an unacknowledged delivery comes again after messageTimeoutMs', async () => {
    const { client, writer } = await setup();
    const stream = unique('timeout');
    await client.createPersistentSubscription(stream, 'g', { startFrom: 'start', messageTimeoutMs: 300 });
    await append(writer, stream, 1);
    const subscription = client.subscribeToPersistentSubscription(stream, 'g');
    const [first] = await take(subscription, 1);
    const [second] = await take(subscription, 1);
    expect([second.event.id, second.retryCount]).toEqual([first.event.id, 1]);
    second.ack();
    expect(await nothingWithin(subscription, 700)).toBe(true);
    await subscription.unsubscribe();
  });

  test('client persistent - nak stop ends the iteration; its events go to another consumer', async () => {
    const { client, writer } = await setup();
    const stream = unique('stop');
    await client.createPersistentSubscription(stream, 'g', { startFrom: 'start', consumerStrategy: 'DispatchToSingle' });
    await append(writer, stream, 2);
    const first = client.subscribeToPersistentSubscription(stream, 'g');
    const [a] = await take(first, 1);
    const second = client.subscribeToPersistentSubscription(stream, 'g');
    await second.ready;
    a.nak('stop', 'shutting down');
    expect(await endOf(first)).toBe('done');
    expect(numbers(await take(second, 2)).sort()).toEqual([0, 1]);
    await second.unsubscribe();
  });

  test('client persistent - drops are typed errors: not found, deleted, max subscribers, access denied', async () => {
    const { server, client } = await setup();
    const stream = unique('drops');
    const missing = client.subscribeToPersistentSubscription(stream, 'missing');
    await expect(missing.ready).rejects.toBeInstanceOf(PersistentSubscriptionNotFoundError);
    await expect(missing.next()).rejects.toBeInstanceOf(PersistentSubscriptionNotFoundError);

    await client.createPersistentSubscription(stream, 'one', { maxSubscriberCount: 1 });
    const only = client.subscribeToPersistentSubscription(stream, 'one');
    await only.ready;
    const extra = client.subscribeToPersistentSubscription(stream, 'one');
    expect(await endOf(extra)).toBeInstanceOf(MaxSubscribersReachedError);
    await client.deletePersistentSubscription(stream, 'one');
    const deleted = await endOf(only);
    expect(deleted).toBeInstanceOf(PersistentSubscriptionDeletedError);
    expect(deleted).toMatchObject({ code: 'PERSISTENT_SUBSCRIPTION_DELETED', streamId: stream, group: 'one' });

    await client.createPersistentSubscription('$all', 'everything');
    const anonymous = await connect(server);
    expect(await endOf(anonymous.subscribeToPersistentSubscription('$all', 'everything'))).toBeInstanceOf(AccessDeniedError);
    expect(() => client.subscribeToPersistentSubscription(stream, 'g', { bufferSize: 0 })).toThrow(InvalidArgumentError);
    expect(() => client.subscribeToPersistentSubscription(stream, 'g', { bufferSize: 10_001 })).toThrow(InvalidArgumentError);
  });

  test('client persistent - two consumers share a group round robin; a group on $all', async () => {
    const { server, client, writer } = await setup();
    const stream = unique('shared');
    await client.createPersistentSubscription(stream, 'g');
    const other = await connect(server, ADMIN);
    const a = client.subscribeToPersistentSubscription(stream, 'g');
    const b = other.subscribeToPersistentSubscription(stream, 'g');
    await Promise.all([a.ready, b.ready]);
    for (let n = 0; n < 20; n++) await append(writer, stream, 1, n);
    const seen: number[][] = [[], []];
    await Promise.all([a, b].map(async (subscription, i) => {
      for await (const delivery of subscription) {
        seen[i].push((delivery.event.data as { n: number }).n);
        delivery.ack();
        if (seen[0].length + seen[1].length === 20) {
          await a.unsubscribe(); // ends the other loop too
          await b.unsubscribe();
        }
      }
    }));
    expect(seen[0].length).toBeGreaterThan(0);
    expect(seen[1].length).toBeGreaterThan(0);
    expect([...seen[0], ...seen[1]].sort((x, y) => x - y)).toEqual(upTo(20));

    await client.createPersistentSubscription('$all', 'all');
    const all = client.subscribeToPersistentSubscription('$all', 'all', { bufferSize: 100 });
    await all.ready;
    const elsewhere = unique('elsewhere');
    await append(writer, elsewhere, 3);
    const mine: PersistentDelivery[] = [];
    while (mine.length < 3) {
      const [delivery] = await take(all, 1);
      delivery.ack();
      if (delivery.event.streamId === elsewhere) mine.push(delivery);
    }
    expect(numbers(mine)).toEqual([0, 1, 2]);
    await all.unsubscribe();
  });

  test('client persistent - a group update drops the consumer, which connects again and goes on', async () => {
    const { server, client, writer } = await setup();
    const stream = unique('update');
    await client.createPersistentSubscription(stream, 'g', { startFrom: 'start' });
    await append(writer, stream, 5);
    const subscription = client.subscribeToPersistentSubscription(stream, 'g');
    for (const d of await take(subscription, 5)) d.ack();
    await waitUntil('the acks', () => info(server, stream, 'g').ackedCount === 5);
    await client.updatePersistentSubscription(stream, 'g', { startFrom: 'start', maxRetryCount: 4 });
    await append(writer, stream, 5, 5);
    const after = await take(subscription, 5);
    expect(numbers(after)).toEqual(upTo(5, 5));
    expect(info(server, stream, 'g').settings.maxRetryCount).toBe(4);
    await subscription.unsubscribe();
  });

  test('client persistent - across a server restart the consumer connects again and resumes from the checkpoint, losing nothing', async () => {
    const { server, client, writer } = await setup();
    const stream = unique('restart');
    await client.createPersistentSubscription(stream, 'g', { startFrom: 'start', checkpointAfterMs: 50, checkpointMinCount: 1 });
    await append(writer, stream, 20);
    const subscription = client.subscribeToPersistentSubscription(stream, 'g', { bufferSize: 15 });
    const before = await take(subscription, 15);
    subscription.ack(...before.slice(0, 10));
    await waitUntil('the acks', () => info(server, stream, 'g').ackedCount === 10);
    await server.stop();
    await sleep(50);
    await server.resume();
    // Events 10…14 were delivered and not acknowledged: they come again, then the rest.
    const after = await take(subscription, 10);
    expect(numbers(after)).toEqual(upTo(10, 10));
    for (const d of after) d.ack();
    await append(writer, stream, 2, 20);
    const live = await take(subscription, 2);
    expect(numbers(live)).toEqual([20, 21]);
    await subscription.unsubscribe();
  });
});
