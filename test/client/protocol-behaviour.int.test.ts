// What the client does on the wire, against a scripted fake server: the handshake order,
// heartbeat answers, retries under new correlation ids with the same bytes (NotHandled, timeouts),
// BadRequest, a connection-wide BadRequest, and replies it did not expect.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { AnnalClient, BadRequestError, ProtocolError, ServerError } from '../../src/client/index.js';
import { TcpCommand } from '../../src/protocol/wire/commands.js';
import { NotHandledReason, OperationResult, ReadEventResult, messages } from '../../src/protocol/wire/messages.js';
import { ZERO_GUID } from '../../src/protocol/wire/guid.js';
import { ScriptedServer, type Handler } from './support/scripted-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function scripted(handler: Handler, options: Partial<Parameters<typeof AnnalClient.connect>[0]> = {}): Promise<{ server: ScriptedServer; client: AnnalClient }> {
  const server = await ScriptedServer.start(handler);
  cleanups.push(() => server.close());
  const client = await AnnalClient.connect({ host: '127.0.0.1', port: server.port, reconnectDelayMs: 10, ...options });
  cleanups.push(() => client.close());
  return { server, client };
}

const notFound = (): Uint8Array => messages.ReadEventCompleted.encode({ result: ReadEventResult.NoStream, event: {} });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('client protocol behaviour', () => {
  test('client protocol - Authenticate with the credentials, then IdentifyClient version 1 with the connection name', async () => {
    const { server } = await scripted(() => {}, { credentials: { login: 'ops', password: 's3cret' }, connectionName: 'scripted' });
    const [authenticate, identify] = server.received;
    expect(authenticate.command).toBe(TcpCommand.Authenticate);
    expect(authenticate.credentials).toEqual({ login: 'ops', password: 's3cret' });
    expect(identify.command).toBe(TcpCommand.IdentifyClient);
    expect(identify.credentials).toBeNull();
    expect(messages.IdentifyClient.decode(identify.payload)).toEqual({ version: 1, connectionName: 'scripted' });
  });

  test('client protocol - a HeartbeatRequest is answered with its correlation id', async () => {
    let send: ((command: number, id: string) => void) | null = null;
    const { server, client } = await scripted((pkg, reply) => {
      send = (command, id) => reply(command, new Uint8Array(0), id);
      reply(TcpCommand.ReadEventCompleted, notFound());
    });
    await client.readEvent('s', 0n);
    const id = randomUUID();
    send!(TcpCommand.HeartbeatRequestCommand, id);
    for (let i = 0; i < 100 && server.of(TcpCommand.HeartbeatResponseCommand).length === 0; i++) await sleep(10);
    expect(server.of(TcpCommand.HeartbeatResponseCommand).map((p) => p.correlationId)).toEqual([id]);
  });

  test('client protocol - NotHandled TooBusy / NotReady and a timeout are retried under new correlation ids with the same bytes', async () => {
    let reads = 0;
    let writes = 0;
    const { server, client } = await scripted((pkg, reply) => {
      if (pkg.command === TcpCommand.ReadEvent) {
        reads++;
        if (reads === 1) reply(TcpCommand.NotHandled, messages.NotHandled.encode({ reason: NotHandledReason.TooBusy }));
        else if (reads === 2) reply(TcpCommand.NotHandled, messages.NotHandled.encode({ reason: NotHandledReason.NotReady }));
        else reply(TcpCommand.ReadEventCompleted, notFound());
      } else if (pkg.command === TcpCommand.WriteEvents) {
        if (++writes === 1) return; // no answer: the client times out and resends
        reply(TcpCommand.WriteEventsCompleted, messages.WriteEventsCompleted.encode({ result: OperationResult.Success, firstEventNumber: 0n, lastEventNumber: 0n, commitPosition: 7n, preparePosition: 7n }));
      }
    }, { requestTimeoutMs: 200 });
    expect(await client.readEvent('s', 0n)).toBeNull();
    const readAttempts = server.of(TcpCommand.ReadEvent);
    expect(readAttempts).toHaveLength(3);
    expect(new Set(readAttempts.map((p) => p.correlationId)).size).toBe(3);
    expect(await client.appendToStream('s', [{ type: 't', data: { a: 1 } }])).toEqual({ nextExpectedRevision: 0n, position: 7n });
    const [first, second] = server.of(TcpCommand.WriteEvents);
    expect(first.correlationId).not.toBe(second.correlationId);
    expect(Buffer.from(first.payload).equals(Buffer.from(second.payload))).toBe(true); // the same event id
  });

  test('client protocol - BadRequest fails one request, NotLeader is not retried, an unexpected reply is a ProtocolError', async () => {
    const { client } = await scripted((pkg, reply) => {
      const stream = messages.ReadEvent.decode(pkg.payload).eventStreamId;
      if (stream === 'bad') reply(TcpCommand.BadRequest, new TextEncoder().encode('no such thing'));
      else if (stream === 'leader') reply(TcpCommand.NotHandled, messages.NotHandled.encode({ reason: NotHandledReason.NotLeader }));
      else if (stream === 'odd') reply(TcpCommand.Pong);
      else reply(TcpCommand.ReadEventCompleted, notFound());
    });
    await expect(client.readEvent('bad', 0n)).rejects.toThrow(BadRequestError);
    await expect(client.readEvent('bad', 0n)).rejects.toThrow(/no such thing/);
    await expect(client.readEvent('leader', 0n)).rejects.toBeInstanceOf(ServerError);
    await expect(client.readEvent('odd', 0n)).rejects.toBeInstanceOf(ProtocolError);
    expect(await client.readEvent('fine', 0n)).toBeNull();
  });

  test('client protocol - a BadRequest with the zero correlation id drops the connection, and the client reconnects', async () => {
    let first = true;
    const { server, client } = await scripted((pkg, reply) => {
      if (first) {
        first = false;
        reply(TcpCommand.BadRequest, new TextEncoder().encode('go away'), ZERO_GUID);
        return;
      }
      reply(TcpCommand.ReadEventCompleted, notFound());
    });
    expect(await client.readEvent('s', 0n)).toBeNull();
    expect(server.accepted).toBe(2);
    expect(server.of(TcpCommand.IdentifyClient)).toHaveLength(2);
  });
});
