// The client's connection against a real server: TLS (self-signed), credentials and anonymous
// access, heartbeats, timeouts, and reconnects (cut connections, lost replies, a server restart)
// with appends in flight, each resolving once or rejecting and none written twice; then close.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import {
  AccessDeniedError, AnnalClient, ConnectionClosedError, InvalidOptionError, NotAuthenticatedError, RequestTimeoutError,
} from '../../src/client/index.js';
import { CuttingProxy } from './support/cutting-proxy.js';
import { selfSignedCertificate } from './support/self-signed.js';
import { ADMIN, TestServer } from './support/test-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options: Parameters<typeof TestServer.start>[0] = {}): Promise<TestServer> {
  const server = await TestServer.start(options);
  cleanups.push(() => server.close());
  return server;
}

async function connect(options: Parameters<typeof AnnalClient.connect>[0]): Promise<AnnalClient> {
  const client = await AnnalClient.connect(options);
  cleanups.push(() => client.close());
  return client;
}

async function proxyTo(server: TestServer): Promise<CuttingProxy> {
  const proxy = await CuttingProxy.start(server.port);
  cleanups.push(() => proxy.close());
  return proxy;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function settleAll<T>(promises: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(promises);
}

describe('client connection', () => {
  test('client connection - TLS with a self-signed certificate: trusted by ca, refused without, allowed when told not to check', async () => {
    const certificate = selfSignedCertificate();
    const server = await serve({ tls: certificate });
    const trusted = await connect({ host: '127.0.0.1', port: server.port, tls: { ca: certificate.cert }, credentials: ADMIN });
    await trusted.appendToStream('tls-1', [{ type: 't', data: { secure: true } }]);
    expect((await trusted.readAll({ maxCount: 1, direction: 'backwards' }))[0].data).toEqual({ secure: true });
    const byName = await connect({ host: 'localhost', port: server.port, tls: { ca: certificate.cert } });
    expect(await byName.readStream('tls-1')).toHaveLength(1);
    await expect(AnnalClient.connect({ host: '127.0.0.1', port: server.port, tls: {}, requestTimeoutMs: 2_000 })).rejects.toThrow(/self-signed|certificate/i);
    await expect(AnnalClient.connect({ host: '127.0.0.1', port: server.port, tls: { ca: certificate.cert, servername: 'other.example' } }))
      .rejects.toBeInstanceOf(ConnectionClosedError);
    const unchecked = await connect({ host: '127.0.0.1', port: server.port, tls: { rejectUnauthorized: false } });
    expect(await unchecked.readStream('tls-1')).toHaveLength(1);
    // Plain TCP to a TLS server never completes the handshake.
    await expect(AnnalClient.connect({ host: '127.0.0.1', port: server.port, requestTimeoutMs: 500 })).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  test('client connection - credentials: admin reads $all, anonymous is denied it, a wrong password is refused at connect', async () => {
    const server = await serve();
    const admin = await connect({ host: server.host, port: server.port, credentials: ADMIN });
    const anonymous = await connect({ host: server.host, port: server.port });
    await anonymous.appendToStream('user-stream', [{ type: 'a', data: {} }]);
    expect(await anonymous.readStream('user-stream')).toHaveLength(1);
    expect((await admin.readAll()).some((e) => e.streamId === 'user-stream')).toBe(true);
    await expect(anonymous.readAll()).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(anonymous.readAll({ filter: { eventType: 'a' } })).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(anonymous.headPosition()).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(anonymous.appendToStream('$system', [{ type: 'a', data: {} }])).rejects.toMatchObject({ name: 'AccessDeniedError', operation: 'write' });
    for (const fromPosition of ['start', 'end'] as const) {
      const subscription = anonymous.subscribeToAll({ fromPosition });
      await expect(subscription.next()).rejects.toBeInstanceOf(AccessDeniedError);
    }
    await expect(AnnalClient.connect({ host: server.host, port: server.port, credentials: { login: 'admin', password: 'wrong' } })).rejects.toBeInstanceOf(NotAuthenticatedError);
    await expect(AnnalClient.connect({ host: server.host, port: server.port, credentials: { login: 'nobody', password: 'x' } })).rejects.toBeInstanceOf(NotAuthenticatedError);
  });

  test('client connection - bad options and an unreachable server fail connect', async () => {
    const server = await serve();
    await expect(AnnalClient.connect({ host: server.host } as never)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(AnnalClient.connect({ host: server.host, port: server.port, retries: 3 } as never)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(AnnalClient.connect({ host: server.host, port: server.port, credentials: { login: 'a'.repeat(200), password: 'x' } })).rejects.toBeInstanceOf(InvalidOptionError);
    const port = server.port;
    await server.stop();
    await expect(AnnalClient.connect({ host: '127.0.0.1', port })).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  test('client connection - heartbeats keep an idle connection, and a server that goes quiet is left for a new connection', async () => {
    const server = await serve();
    const proxy = await proxyTo(server);
    const client = await connect({ host: '127.0.0.1', port: proxy.port, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 300 });
    await sleep(1_200); // many intervals: the server answers each heartbeat
    expect(proxy.accepted).toBe(1);
    proxy.freeze();
    const append = client.appendToStream('after-freeze', [{ type: 'a', data: {} }]);
    const result = await append; // the frozen connection is given up, the append is resent on a new one
    expect(result.nextExpectedRevision).toBe(0n);
    expect(proxy.accepted).toBe(2);
    expect(await client.readStream('after-freeze')).toHaveLength(1);
  });

  test('client connection - a request with no answer fails with RequestTimeoutError after its retries', async () => {
    const server = await serve();
    const proxy = await proxyTo(server);
    const client = await connect({ host: '127.0.0.1', port: proxy.port, requestTimeoutMs: 150, maxRetries: 2, heartbeatIntervalMs: 60_000 });
    proxy.freeze();
    const started = Date.now();
    const error = await client.readStream('anything').then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as RequestTimeoutError).attempts).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  test('client connection - appends whose replies were lost are resent with the same ids and recognised, not written twice', async () => {
    const server = await serve();
    const proxy = await proxyTo(server);
    const client = await connect({ host: '127.0.0.1', port: proxy.port, reconnectDelayMs: 5, heartbeatIntervalMs: 5_000 });
    const s = `lost-replies-${randomUUID()}`;
    const before = await server.store.headPosition();
    proxy.hold(); // the server writes every append, but no answer reaches the client
    const any = Array.from({ length: 100 }, (_, i) => client.appendToStream(s, [{ type: 'any', data: { i } }]));
    const exact = Array.from({ length: 50 }, (_, i) => client.appendToStream(`${s}-${i}`, [{ type: 'exact', data: { i } }, { type: 'exact', data: { i } }], { expectedRevision: 'no_stream' }));
    while ((await server.store.headPosition()) < before + 200n) await sleep(5);
    expect(proxy.cutAll()).toBe(1);
    const results = await Promise.all([...any, ...exact]);
    expect(proxy.accepted).toBe(2);
    expect(await server.store.headPosition()).toBe(before + 200n);
    const stored = await server.store.readStream(s);
    expect(stored).toHaveLength(100);
    expect(new Set(stored.map((e) => (e.data as { i: number }).i)).size).toBe(100);
    expect(results.slice(100).every((r) => r.nextExpectedRevision === 1n)).toBe(true);
    for (let i = 0; i < 50; i++) expect(await server.store.readStream(`${s}-${i}`)).toHaveLength(2);
  });

  test('client connection - appends in flight while connections are cut: each resolves once or rejects, none is written twice', async () => {
    const server = await serve();
    const proxy = await proxyTo(server);
    const client = await connect({ host: '127.0.0.1', port: proxy.port, reconnectDelayMs: 5, requestTimeoutMs: 2_000, maxRetries: 20 });
    const s = `cut-${randomUUID()}`;
    const ids = Array.from({ length: 600 }, () => randomUUID());
    let resolvedTimes = 0;
    const appends = ids.map((id, i) => client.appendToStream(s, [{ id, type: 'cut', data: { i } }]).then((r) => (resolvedTimes++, r)));
    // A chain of appends with exact expected revisions: a retry must be recognised by its ids.
    const chain = `${s}-chain`;
    const chained = (async () => {
      for (let i = 0; i < 150; i++) await client.appendToStream(chain, [{ type: 'link', data: { i } }], { expectedRevision: i === 0 ? 'no_stream' : BigInt(i - 1) });
    })();
    let cuts = 0;
    for (let round = 0; round < 8; round++) {
      await sleep(25);
      cuts += proxy.cutAll();
    }
    const outcomes = await settleAll(appends);
    await chained;
    expect(cuts).toBeGreaterThan(1);
    expect(proxy.accepted).toBeGreaterThan(1);
    const stored = await server.store.readStream(s);
    const storedIds = stored.map((e) => e.id);
    expect(new Set(storedIds).size).toBe(storedIds.length);
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') expect(storedIds).toContain(ids[i]);
      else expect([ConnectionClosedError, RequestTimeoutError].some((type) => outcome.reason instanceof type)).toBe(true);
    });
    expect(resolvedTimes).toBe(outcomes.filter((o) => o.status === 'fulfilled').length);
    expect((await server.store.readStream(chain)).map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });

  test('client connection - the server restarts on the same port: requests made meanwhile wait and go through', async () => {
    const server = await serve();
    const client = await connect({ host: server.host, port: server.port, credentials: ADMIN, reconnectDelayMs: 20 });
    await client.appendToStream('restart', [{ type: 'before', data: {} }]);
    const inFlight = Array.from({ length: 50 }, (_, i) => client.appendToStream('restart', [{ type: 'during', data: { i } }]));
    await server.stop();
    const whileDown = client.appendToStream('restart', [{ type: 'down', data: {} }]);
    await sleep(300);
    expect(client.connected).toBe(false);
    await server.resume();
    await Promise.all([...inFlight, whileDown]);
    const events = await client.readStream('restart');
    expect(events).toHaveLength(52);
    expect(new Set(events.map((e) => e.id)).size).toBe(52);
    expect(client.connected).toBe(true);
    expect((await client.readAll({ maxCount: 1 })).length).toBe(1); // re-authenticated as admin
  });

  test('client connection - close fails what is still waiting and ends subscriptions', async () => {
    const server = await serve();
    const client = await AnnalClient.connect({ host: server.host, port: server.port, reconnectDelayMs: 20 });
    const subscription = client.subscribeToStream('closing');
    await subscription.caughtUp;
    await server.stop();
    const pending = client.appendToStream('closing', [{ type: 'a', data: {} }]).then(() => null, (error: unknown) => error);
    await client.close();
    expect(await pending).toBeInstanceOf(ConnectionClosedError);
    expect(await subscription.next()).toEqual({ value: undefined, done: true });
    await expect(client.readStream('closing')).rejects.toBeInstanceOf(ConnectionClosedError);
    await client.close();
  });
});
