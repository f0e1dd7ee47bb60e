// An in-process Annal TCP server for the client tests: a store in a temporary directory, the
// users of src/auth (admin/changeit in $admins, a fast scrypt), optional TLS, and a restart on the
// same port. close() removes everything it made.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore, type EventStoreOptions } from '../../../src/annal.js';
import { TcpServer } from '../../../src/protocol/server/tcp-server.js';
import { Users } from '../../../src/auth/users.js';
import { scryptHasher } from '../../../src/auth/password-hash.js';
import type { Logger } from '../../../src/util/logger.js';
import { FAST_SCRYPT } from '../../auth/auth-fixtures.js';

export const ADMIN = { login: 'admin', password: 'changeit' } as const;

export interface TestServerOptions {
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly store?: EventStoreOptions;
}

export class TestServer {
  private constructor(
    readonly dir: string,
    readonly store: EventStore,
    readonly users: Users,
    private server: TcpServer | null,
    readonly port: number,
    private readonly options: TestServerOptions,
    /** Warnings the server logged (closed connections and the like), for assertions and debugging. */
    readonly warnings: string[],
    private readonly logger: Logger,
  ) {}

  static async start(options: TestServerOptions = {}): Promise<TestServer> {
    const dir = mkdtempSync(join(tmpdir(), 'annal-client-test-'));
    const store = await EventStore.open(dir, { logger: { info() {}, warn() {} }, ...options.store });
    const users = await Users.open(store, { adminPassword: ADMIN.password, hasher: scryptHasher(FAST_SCRYPT), logger: { info() {}, warn() {} } });
    const warnings: string[] = [];
    const logger: Logger = { info() {}, warn: (message, fields) => void warnings.push(`${message} ${JSON.stringify(fields ?? {})}`) };
    const server = await TcpServer.start(store, { port: 0, authenticator: users, logger, ...(options.tls ? { tls: options.tls } : {}) });
    return new TestServer(dir, store, users, server, server.port, options, warnings, logger);
  }

  get host(): string {
    return '127.0.0.1';
  }

  get running(): boolean {
    return this.server !== null;
  }

  get connectionCount(): number {
    return this.server?.connectionCount ?? 0;
  }

  /** Closes the listener and every connection; the store stays open. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await server?.close();
  }

  /** Listens again on the same port. */
  async resume(): Promise<void> {
    if (this.server !== null) return;
    this.server = await TcpServer.start(this.store, {
      port: this.port, authenticator: this.users, logger: this.logger, ...(this.options.tls ? { tls: this.options.tls } : {}),
    });
  }

  async close(): Promise<void> {
    await this.stop();
    await this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
