// Stream metadata and deletes through the client against a real in-process server: `$$S`
// metadata with expected revisions, soft deletes that a later append undoes, hard deletes that
// are final.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AnnalClient, InvalidArgumentError, StreamDeletedError, WrongExpectedVersionError } from '../../src/client/index.js';
import { ADMIN, TestServer } from './support/test-server.js';

let server: TestServer;
let client: AnnalClient;

beforeAll(async () => {
  server = await TestServer.start();
  client = await AnnalClient.connect({ host: server.host, port: server.port, credentials: ADMIN });
});

afterAll(async () => {
  await client?.close();
  await server?.close();
});

const fill = (s: string, count: number) => client.appendToStream(s, Array.from({ length: count }, (_, n) => ({ type: 'e', data: { n } })));

describe('client metadata and deletes', () => {
  test('client metadata - set and get through $$S, with expected revisions, as the embedded API shows it', async () => {
    const s = `meta-${randomUUID()}`;
    expect(await client.getStreamMetadata(s)).toEqual({ streamId: s, metadata: null, metastreamRevision: -1n, deleted: false });
    await fill(s, 5);
    const first = await client.setStreamMetadata(s, { $maxCount: 2, owner: 'ops' }, { expectedRevision: 'no_stream' });
    expect(first.nextExpectedRevision).toBe(0n);
    const got = await client.getStreamMetadata(s);
    expect(got).toEqual({ streamId: s, metadata: { $maxCount: 2, owner: 'ops' }, metastreamRevision: 0n, deleted: false });
    expect(got).toEqual(await server.store.getStreamMetadata(s));
    // $maxCount applies to reads.
    expect((await client.readStream(s)).map((e) => e.revision)).toEqual([3n, 4n]);
    await expect(client.setStreamMetadata(s, { owner: 'x' }, { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    await client.setStreamMetadata(s, { owner: 'dev' }, { expectedRevision: 0n });
    expect((await client.getStreamMetadata(s)).metadata).toEqual({ owner: 'dev' });
    expect(await client.readStream(s)).toHaveLength(5);
    await expect(client.setStreamMetadata(`$$${s}`, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.getStreamMetadata(`$$${s}`)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  test('client delete - a soft delete hides the stream until an append brings it back, numbering on', async () => {
    const s = `soft-${randomUUID()}`;
    await fill(s, 3);
    await expect(client.deleteStream(s, { expectedRevision: 1n })).rejects.toMatchObject({ name: 'WrongExpectedVersionError', actual: 2n });
    const { position } = await client.deleteStream(s, { expectedRevision: 2n });
    expect(position).toBeGreaterThan(0n);
    expect(await client.readStream(s)).toEqual([]);
    expect(await client.readEvent(s, 'end')).toBeNull();
    const meta = await client.getStreamMetadata(s);
    expect(meta.deleted).toBe(false);
    expect(Number(meta.metadata?.$tb)).toBeGreaterThan(2 ** 53);
    const back = await client.appendToStream(s, [{ type: 'again', data: {} }]);
    expect(back.nextExpectedRevision).toBe(3n);
    expect((await client.readStream(s)).map((e) => [e.revision, e.type])).toEqual([[3n, 'again']]);
  });

  test('client delete - a hard delete is final: reads, writes, metadata and subscriptions see a deleted stream', async () => {
    const s = `hard-${randomUUID()}`;
    await fill(s, 2);
    await client.deleteStream(s, { hard: true });
    await expect(client.readStream(s)).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(client.readEvent(s, 0n)).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(client.appendToStream(s, [{ type: 'x', data: {} }])).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(client.deleteStream(s)).rejects.toBeInstanceOf(StreamDeletedError);
    await expect(client.deleteStream(s, { hard: true })).rejects.toMatchObject({ streamId: s, code: 'STREAM_DELETED' });
    const meta = await client.getStreamMetadata(s);
    expect(meta).toMatchObject({ streamId: s, metadata: null, deleted: true });
    expect((await server.store.getStreamMetadata(s)).deleted).toBe(true);
    for (const fromRevision of ['start', 'end'] as const) {
      const subscription = client.subscribeToStream(s, { fromRevision });
      await expect(subscription.next()).rejects.toBeInstanceOf(StreamDeletedError);
      expect(await subscription.next()).toEqual({ value: undefined, done: true });
    }
    await expect(client.deleteStream(s, { hard: 'yes' } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
