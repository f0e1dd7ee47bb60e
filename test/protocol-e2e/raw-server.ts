// The fixture of the hostile-input and fuzz tests: a store on a SimDisk and a TcpServer on
// 127.0.0.1 (any free port) whose logger keeps every line, so a test can assert why the server
// closed a connection; plus the well-behaved round trip that must keep working after each attack.

import { randomUUID } from 'node:crypto';
import { afterEach, expect } from 'vitest';
import type { Principal } from '../../src/store/access.js';
import { EventStore } from '../../src/store/event-store.js';
import type { Logger } from '../../src/util/logger.js';
import { TcpServer } from '../../src/protocol/server/tcp-server.js';
import type { ServerLimits } from '../../src/protocol/server/server-limits.js';
import { TcpCommand } from '../../src/protocol/wire/commands.js';
import { uuidToWire } from '../../src/protocol/wire/guid.js';
import { OperationResult, ReadStreamResult, messages, type NewEvent } from '../../src/protocol/wire/messages.js';
import { SimDisk } from '../harness/sim-disk.js';
import { DATA_DIR, storeOptions } from '../harness/workload.js';
import { RawClient, type RawClientOptions } from './raw-client.js';

export const ADMIN_LOGIN = 'admin';
export const ADMIN_PASSWORD = 'changeit';
const ADMIN: Principal = { name: ADMIN_LOGIN, groups: ['$admins'] };

/** What Connection.close logs when it hangs up on a client (connection.ts). */
export const CLOSE_MESSAGE = 'closing a client connection';

export interface LogLine {
  readonly level: 'info' | 'warn';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A logger that keeps every line. */
export class CapturingLogger implements Logger {
  readonly lines: LogLine[] = [];
  info(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  /** The `reason` of every connection the server closed, in order. */
  closeReasons(): string[] {
    return this.lines.filter((l) => l.message === CLOSE_MESSAGE).map((l) => String(l.fields.reason));
  }
  /** Warnings other than connection closes (a request that failed unexpectedly, …). */
  otherWarnings(): LogLine[] {
    return this.lines.filter((l) => l.level === 'warn' && l.message !== CLOSE_MESSAGE);
  }
}

export interface RawServerOptions {
  readonly limits?: Partial<ServerLimits>;
  /** Chunk size of the simulated store (default 1 MiB; an event must fit one chunk). */
  readonly chunkSizeBytes?: number;
}

export class RawServer {
  private readonly clients = new Set<RawClient>();

  private constructor(readonly disk: SimDisk, readonly store: EventStore, readonly server: TcpServer, readonly logger: CapturingLogger) {}

  /** Opens a store on a fresh SimDisk and starts the server; admin/changeit is the only login. */
  static async start(options: RawServerOptions = {}): Promise<RawServer> {
    const disk = new SimDisk();
    const store = await EventStore.open(DATA_DIR, storeOptions(disk, { chunkSizeBytes: options.chunkSizeBytes ?? 1024 * 1024 }));
    const logger = new CapturingLogger();
    try {
      const server = await TcpServer.start(store, {
        host: '127.0.0.1',
        port: 0,
        logger,
        authenticator: { authenticate: async (login, password) => (login === ADMIN_LOGIN && password === ADMIN_PASSWORD ? ADMIN : null) },
        ...(options.limits ? { limits: options.limits } : {}),
      });
      return new RawServer(disk, store, server, logger);
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  get port(): number {
    return this.server.port;
  }

  /** A raw client that `close` will close if the test does not. */
  async connect(options?: RawClientOptions): Promise<RawClient> {
    const client = await RawClient.connect(this.port, options);
    this.clients.add(client);
    client.socket.once('close', () => this.clients.delete(client));
    return client;
  }

  /** Resolves once the server has logged `count` connection closes; rejects after `timeoutMs`. */
  async waitForCloseReasons(count: number, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.logger.closeReasons().length < count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} logged closes; have ${JSON.stringify(this.logger.closeReasons())}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.logger.closeReasons();
  }

  /** Closes every client, the server, then the store. */
  async close(): Promise<void> {
    try {
      for (const client of this.clients) client.socket.destroy();
      this.clients.clear();
      await this.server.close();
    } finally {
      await this.store.close();
    }
  }
}

let wellBehavedCount = 0;

export function newEvent(type: string, data: Uint8Array): NewEvent {
  return { eventId: uuidToWire(randomUUID()), eventType: type, dataContentType: 0, metadataContentType: 0, data };
}

/**
 * After a request the server refused: the connection still answers a Ping in order, stays open,
 * and the server logged neither a close nor any other warning.
 */
export async function expectStillInStep(server: RawServer, client: RawClient): Promise<void> {
  const pong = await client.request(TcpCommand.Ping, new Uint8Array(Buffer.from('still in step', 'utf8')));
  expect([pong.command, Buffer.from(pong.payload).toString('utf8')]).toEqual([TcpCommand.Pong, 'still in step']);
  expect(client.closed).toBe(false);
  expect(server.logger.closeReasons()).toEqual([]);
  expect(server.logger.otherWarnings()).toEqual([]);
}

/**
 * What every hostile test checks last: a fresh, well-behaved connection writes an event to a new
 * stream and reads it back. Returns the milliseconds the round trip took.
 */
export async function wellBehavedRoundTrip(server: RawServer, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  const client = await RawClient.connect(server.port);
  try {
    const stream = `well-behaved-${++wellBehavedCount}-${randomUUID().slice(0, 8)}`;
    const data = new Uint8Array(Buffer.from(`payload ${wellBehavedCount}`));
    const written = await client.request(
      TcpCommand.WriteEvents,
      messages.WriteEvents.encode({ eventStreamId: stream, expectedVersion: -1n, events: [newEvent('Checked', data)], requireLeader: false }),
      {},
      timeoutMs,
    );
    expect(written.command).toBe(TcpCommand.WriteEventsCompleted);
    const completed = messages.WriteEventsCompleted.decode(written.payload);
    expect(completed.result).toBe(OperationResult.Success);
    expect(completed.firstEventNumber).toBe(0n);
    const read = await client.request(
      TcpCommand.ReadStreamEventsForward,
      messages.ReadStreamEvents.encode({ eventStreamId: stream, fromEventNumber: 0n, maxCount: 10, resolveLinkTos: false, requireLeader: false }),
      {},
      timeoutMs,
    );
    expect(read.command).toBe(TcpCommand.ReadStreamEventsForwardCompleted);
    const page = messages.ReadStreamEventsCompleted.decode(read.payload);
    expect(page.result).toBe(ReadStreamResult.Success);
    expect(page.events.map((e) => Buffer.from(e.event!.data).toString())).toEqual([`payload ${wellBehavedCount}`]);
    expect(client.closed).toBe(false);
    return performance.now() - started;
  } finally {
    await client.close();
  }
}

/**
 * For a test file: a function that starts a RawServer, each closed after the test that started it
 * (call once, at the file's top level).
 */
export function rawServersClosedAfterEach(): (options?: Parameters<typeof RawServer.start>[0]) => Promise<RawServer> {
  const running: RawServer[] = [];
  afterEach(async () => {
    for (const server of running.splice(0)) await server.close();
  });
  return async (options = {}) => {
    const server = await RawServer.start(options);
    running.push(server);
    return server;
  };
}
