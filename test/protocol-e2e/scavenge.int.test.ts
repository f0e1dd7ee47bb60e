// ScavengeDatabase over the wire: an admin starts a scavenge of the store (Started, with an id;
// InProgress while it runs), anyone else is Unauthorized; the scavenge really runs.

import { afterEach, describe, expect, it } from 'vitest';
import { TcpCommand } from '../../src/protocol/wire/commands.js';
import { ScavengeResult, messages } from '../../src/protocol/wire/messages.js';
import { ADMIN_LOGIN, ADMIN_PASSWORD, RawServer } from './raw-server.js';

const running: RawServer[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
});

describe('scavenge over TCP', () => {
  it('scavenge over TCP - admins start it (Started with an id, InProgress meanwhile); others are Unauthorized', async () => {
    const server = await RawServer.start({ chunkSizeBytes: 16 * 1024 });
    running.push(server);
    const { store } = server;
    for (let i = 0; i < 200; i++) await store.appendToStream('gone-1', [{ type: 'T', data: { i, pad: 'x'.repeat(100) } }]);
    await store.deleteStream('gone-1', { hard: true });
    for (let i = 0; i < 100; i++) await store.appendToStream('kept-1', [{ type: 'T', data: { i, pad: 'x'.repeat(100) } }]);
    const client = await server.connect();
    const anonymous = await client.request(TcpCommand.ScavengeDatabase, messages.ScavengeDatabase.encode({}));
    expect(anonymous.command).toBe(TcpCommand.ScavengeDatabaseResponse);
    expect(messages.ScavengeDatabaseResponse.decode(anonymous.payload).result).toBe(ScavengeResult.Unauthorized);
    const credentials = { login: ADMIN_LOGIN, password: ADMIN_PASSWORD };
    const [first, second] = await Promise.all([
      client.request(TcpCommand.ScavengeDatabase, messages.ScavengeDatabase.encode({}), { credentials }),
      client.request(TcpCommand.ScavengeDatabase, messages.ScavengeDatabase.encode({}), { credentials }),
    ]);
    const started = messages.ScavengeDatabaseResponse.decode(first.payload);
    expect(started.result).toBe(ScavengeResult.Started);
    expect(started.scavengeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(messages.ScavengeDatabaseResponse.decode(second.payload)).toEqual({ result: ScavengeResult.InProgress, scavengeId: started.scavengeId });
    // It ran: the hard-deleted stream's events are gone from $all.
    await expect.poll(() => server.logger.lines.some((l) => l.message === 'scavenge requested over TCP finished'), { timeout: 10_000 }).toBe(true);
    const finished = server.logger.lines.find((l) => l.message === 'scavenge requested over TCP finished')!;
    expect(finished.fields).toMatchObject({ scavengeId: started.scavengeId });
    expect(Number(finished.fields.eventsRemoved)).toBeGreaterThan(0);
    expect((await store.readAll()).some((e) => e.streamId === 'gone-1')).toBe(false);
    expect(server.logger.otherWarnings()).toEqual([]);
  });
});
