// The client's appendToStream against a real in-process server: expected revisions, idempotent
// retries, a pipelined burst on one connection, 3 MiB events and argument checks.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AnnalClient, InvalidArgumentError, InvalidEventError, InvalidStreamIdError, WrongExpectedVersionError, type RecordedEvent,
} from '../../src/client/index.js';
import { CuttingProxy } from './support/cutting-proxy.js';
import { ADMIN, TestServer } from './support/test-server.js';

let server: TestServer;
let client: AnnalClient;

beforeAll(async () => {
  server = await TestServer.start();
  client = await AnnalClient.connect({ host: server.host, port: server.port, credentials: ADMIN, connectionName: 'append-tests' });
});

afterAll(async () => {
  await client?.close();
  await server?.close();
});

async function wrongVersion(promise: Promise<unknown>): Promise<WrongExpectedVersionError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(WrongExpectedVersionError);
  return error as WrongExpectedVersionError;
}

describe('client append', () => {
  test('client append - every expected-revision kind, and WrongExpectedVersion carries the actual revision', async () => {
    const s = `kinds-${randomUUID()}`;
    const e = (n: number) => ({ type: 'e', data: { n } });
    const missing = await wrongVersion(client.appendToStream(s, [e(0)], { expectedRevision: 'stream_exists' }));
    expect(missing.actual).toBe(-1n);
    expect(missing.streamId).toBe(s);
    expect(missing.expected).toBe('stream_exists');
    expect(await client.appendToStream(s, [e(0), e(1)], { expectedRevision: 'no_stream' })).toMatchObject({ nextExpectedRevision: 1n });
    expect((await wrongVersion(client.appendToStream(s, [e(2)], { expectedRevision: 'no_stream' }))).actual).toBe(1n);
    expect(await client.appendToStream(s, [e(2)], { expectedRevision: 'stream_exists' })).toMatchObject({ nextExpectedRevision: 2n });
    expect(await client.appendToStream(s, [e(3)], { expectedRevision: 2n })).toMatchObject({ nextExpectedRevision: 3n });
    const stale = await wrongVersion(client.appendToStream(s, [e(4)], { expectedRevision: 1n }));
    expect([stale.expected, stale.actual]).toEqual([1n, 3n]);
    expect((await wrongVersion(client.appendToStream(s, [e(4)], { expectedRevision: 9n }))).actual).toBe(3n);
    const any = await client.appendToStream(s, [e(4)], { expectedRevision: 'any' });
    const none = await client.appendToStream(s, [e(5)]);
    expect([any.nextExpectedRevision, none.nextExpectedRevision]).toEqual([4n, 5n]);
    expect(none.position).toBeGreaterThan(any.position);
    // The results match what the store holds.
    const stored = await server.store.readStream(s);
    expect(stored.map((x) => (x.data as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(stored[5].position).toBe(none.position);
    expect(await client.appendToStream(s, [], { expectedRevision: 5n })).toMatchObject({ nextExpectedRevision: 5n });
  });

  test('client append - re-sending the same event ids is a success that writes nothing twice', async () => {
    const s = `idempotent-${randomUUID()}`;
    const events = [{ id: randomUUID(), type: 'a', data: { k: 1 } }, { id: randomUUID(), type: 'b', data: { k: 2 } }];
    const first = await client.appendToStream(s, events, { expectedRevision: 'no_stream' });
    const again = await client.appendToStream(s, events, { expectedRevision: 'no_stream' });
    expect(again).toEqual(first);
    const anyFirst = await client.appendToStream(`${s}-any`, events);
    expect(await client.appendToStream(`${s}-any`, events)).toEqual(anyFirst);
    const read = await client.readStream(s);
    expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(await client.readStream(`${s}-any`)).toHaveLength(2);
  });

  test('client append - 1,000 appends at once are pipelined on one connection', async () => {
    // Through a proxy that holds every reply back: all 1,000 appends reach the store before the
    // client has seen a single answer, so none waited for another.
    const proxy = await CuttingProxy.start(server.port);
    const piped = await AnnalClient.connect({ host: '127.0.0.1', port: proxy.port, heartbeatIntervalMs: 5_000 });
    try {
      const s = `burst-${randomUUID()}`;
      const before = await server.store.headPosition();
      proxy.hold();
      const appends = Array.from({ length: 1000 }, (_, i) => piped.appendToStream(`${s}-${i % 10}`, [{ type: 'burst', data: { i } }]));
      const deadline = Date.now() + 5_000;
      while ((await server.store.headPosition()) < before + 1000n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(await server.store.headPosition()).toBe(before + 1000n);
      proxy.release();
      const results = await Promise.all(appends);
      expect(proxy.accepted).toBe(1);
      expect(new Set(results.map((r) => r.position)).size).toBe(1000);
      for (let k = 0; k < 10; k++) {
        const events = await piped.readStream(`${s}-${k}`);
        expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)));
      }
    } finally {
      await piped.close();
      await proxy.close();
    }
  });

  test('client append - a 3 MiB binary event and a 3 MiB JSON event come back whole', async () => {
    const s = `large-${randomUUID()}`;
    const binary = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 131 + 7) & 0xff;
    const text = 'x'.repeat(3 * 1024 * 1024);
    await client.appendToStream(s, [{ type: 'bin', data: binary, metadata: { size: binary.length } }]);
    await client.appendToStream(s, [{ type: 'json', data: { text } }]);
    const [bin, json] = await client.readStream(s);
    expect(bin.contentType).toBe('application/octet-stream');
    expect(Buffer.from(bin.data as Uint8Array).equals(Buffer.from(binary))).toBe(true);
    expect((json.data as { text: string }).text.length).toBe(text.length);
    const last = await client.readEvent(s, 'end');
    expect(last?.type).toBe('json');
    // Enough of them to pass the 64 MiB frame: the read pages shrink to fit.
    const many = `${s}-many`;
    for (let i = 0; i < 24; i++) await client.appendToStream(many, [{ type: 'bin', data: binary }]);
    const back: RecordedEvent[] = await client.readStream(many);
    expect(back).toHaveLength(24);
    expect(back.every((e) => (e.data as Uint8Array).length === binary.length)).toBe(true);
  });

  test('client append - metadata: objects as JSON, bytes claimed as JSON as JSON, other bytes as bytes', async () => {
    const s = `meta-${randomUUID()}`;
    const text = new TextEncoder().encode('{"causation":"c-1"}');
    await client.appendToStream(s, [
      { type: 'e', data: { n: 0 }, metadata: { causation: 'c-0' } },
      { type: 'e', data: { n: 1 }, metadata: text, metadataContentType: 'application/json' },
      { type: 'e', data: new Uint8Array([1]), metadata: new Uint8Array([0xff]) },
    ]);
    const stored = await server.store.readStream(s);
    expect(stored.map((e) => e.metadata)).toEqual([{ causation: 'c-0' }, { causation: 'c-1' }, new Uint8Array([0xff])]);
    const read = await client.readStream(s);
    expect(read[1].metadata).toEqual({ causation: 'c-1' });
    expect(read[2].metadataBytes()).toEqual(new Uint8Array([0xff]));
  });

  test('client append - bad arguments are refused before anything is sent', async () => {
    await expect(client.appendToStream('', [{ type: 'a', data: {} }])).rejects.toBeInstanceOf(InvalidStreamIdError);
    await expect(client.appendToStream('s', [{ type: '', data: {} }])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(client.appendToStream('s', [{ type: 'a', data: undefined }])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(client.appendToStream('s', [{ id: 'not-a-uuid', type: 'a', data: {} }])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(client.appendToStream('s', [{ type: 'a', data: {}, extra: 1 } as never])).rejects.toBeInstanceOf(InvalidEventError);
    await expect(client.appendToStream('s', [], { expectedRevision: -1n })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.appendToStream('s', [], { expected: 'any' } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.appendToStream('s', {} as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
