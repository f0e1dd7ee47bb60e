// A store, its users and a TcpServer (which opens the store's persistent-subscription groups) that
// can be stopped and started again on the same directory, as a server process restart would, with
// node-eventstore-client connections to it. For the tests of what survives a restart.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import esc from 'node-eventstore-client';
import type { EventStoreNodeConnection } from 'node-eventstore-client';
import { Users } from '../../src/auth/users.js';
import { TcpServer } from '../../src/protocol/server/tcp-server.js';
import { EventStore } from '../../src/store/event-store.js';
import type { Logger } from '../../src/util/logger.js';
import { ADMIN_PASSWORD, OPERATION_TIMEOUT_MS, adminCredentials } from './server-fixture.js';

const quietClientLog = { debug() {}, info() {}, error() {} };

export class RestartableServer {
  private running: { store: EventStore; server: TcpServer } | null = null;
  private readonly connections: EventStoreNodeConnection[] = [];
  /** Warnings the server logged over all its runs. */
  readonly warnings: string[] = [];

  private constructor(private readonly dir: string) {}

  static async start(): Promise<RestartableServer> {
    const fixture = new RestartableServer(mkdtempSync(join(tmpdir(), 'annal-e2e-restart-')));
    await fixture.startServer();
    return fixture;
  }

  get server(): TcpServer {
    if (this.running === null) throw new Error('the server is stopped');
    return this.running.server;
  }

  /** A node client connected as admin; it never reconnects (a restart ends it). */
  async connectAdmin(): Promise<EventStoreNodeConnection> {
    const connection = esc.createConnection(
      { log: quietClientLog, defaultUserCredentials: adminCredentials(), maxReconnections: 0, maxRetries: 0, operationTimeout: OPERATION_TIMEOUT_MS, failOnNoServerResponse: true },
      { host: '127.0.0.1', port: this.server.port },
      'restart',
    );
    const emitter = connection as unknown as NodeJS.EventEmitter;
    const connected = new Promise<void>((resolve, reject) => {
      emitter.once('connected', () => resolve());
      emitter.once('closed', (reason: string) => reject(new Error(`the client closed before connecting: ${reason}`)));
    });
    await connection.connect();
    await connected;
    this.connections.push(connection);
    return connection;
  }

  /** Closes the clients, the server (its groups write their final checkpoints) and the store; then opens all three again. */
  async restart(): Promise<void> {
    await this.stopServer();
    await this.startServer();
  }

  async close(): Promise<void> {
    try {
      await this.stopServer();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private async startServer(): Promise<void> {
    const store = await EventStore.open(join(this.dir, 'data'));
    try {
      const users = await Users.open(store, { adminPassword: ADMIN_PASSWORD });
      const logger: Logger = {
        info() {},
        warn: (message, fields) => void this.warnings.push(`${message} ${fields ? JSON.stringify(fields) : ''}`),
      };
      const server = await TcpServer.start(store, { host: '127.0.0.1', port: 0, authenticator: users, logger });
      this.running = { store, server };
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  private async stopServer(): Promise<void> {
    for (const connection of this.connections.splice(0)) connection.close();
    const running = this.running;
    this.running = null;
    if (running === null) return;
    try {
      await running.server.close();
    } finally {
      await running.store.close();
    }
  }
}
