// A store with its users and a TcpServer on 127.0.0.1 (any free port), over plain TCP or TLS with a
// self-signed certificate made by the system `openssl`, and node-eventstore-client connections to
// it. One fixture serves a whole describe block; `close` stops everything and removes its directory.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import esc from 'node-eventstore-client';
import type { EventStoreNodeConnection, UserCredentials } from 'node-eventstore-client';
import { Users } from '../../src/auth/users.js';
import { TcpServer } from '../../src/protocol/server/tcp-server.js';
import { EventStore } from '../../src/store/event-store.js';
import type { Logger } from '../../src/util/logger.js';

export type Transport = 'tcp' | 'tls';

export const ADMIN_LOGIN = 'admin';
export const ADMIN_PASSWORD = 'changeit';

/**
 * Long enough for a 3 MiB event over TLS on a slow CI machine; short enough to fail a hang. The
 * client also waits this long for an answer to Authenticate before it goes on without one.
 */
export const OPERATION_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 5_000;

export function adminCredentials(): UserCredentials {
  return new esc.UserCredentials(ADMIN_LOGIN, ADMIN_PASSWORD);
}

/** One client connection and the connection events it has emitted, in order. */
export interface Client {
  readonly connection: EventStoreNodeConnection;
  /** 'connected', 'reconnecting', 'disconnected', 'error: …', 'closed'. */
  readonly events: string[];
  /** Set when the test (not the server or the network) closes the connection. */
  closing: boolean;
  /** HeartbeatResponses the client matched to its own HeartbeatRequests. */
  heartbeats: number;
}

export interface ClientOptions {
  /** Default user of the connection (sent once, with Authenticate); none means anonymous. */
  credentials?: UserCredentials;
  name?: string;
}

const quietClientLog = { debug() {}, info() {}, error() {} };

/** A self-signed certificate for CN=localhost, valid for a day, written into `dir`. */
function makeCertificate(dir: string): { cert: Buffer; key: Buffer } {
  const keyFile = join(dir, 'server-key.pem');
  const certFile = join(dir, 'server-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost'], {
    stdio: 'pipe',
  });
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

export class ServerFixture {
  private readonly clients: Client[] = [];

  private constructor(
    readonly transport: Transport,
    private readonly dir: string,
    readonly store: EventStore,
    readonly server: TcpServer,
    /** Warnings the server logged; a healthy run has none. */
    readonly warnings: readonly string[],
  ) {}

  /**
   * Opens a store in a fresh directory (not test/support/temp-dir.ts: that removes directories
   * after every test, and this fixture outlives one), `Users` with admin/changeit, and the server.
   */
  static async start(transport: Transport): Promise<ServerFixture> {
    const dir = mkdtempSync(join(tmpdir(), `annal-e2e-${transport}-`));
    let store: EventStore | undefined;
    try {
      const tls = transport === 'tls' ? makeCertificate(dir) : undefined;
      store = await EventStore.open(join(dir, 'data'));
      const users = await Users.open(store, { adminPassword: ADMIN_PASSWORD });
      const warnings: string[] = [];
      const logger: Logger = {
        info() {},
        warn(message, fields) {
          warnings.push(`${message} ${fields ? JSON.stringify(fields) : ''}`);
        },
      };
      const server = await TcpServer.start(store, { host: '127.0.0.1', port: 0, authenticator: users, logger, ...(tls ? { tls } : {}) });
      return new ServerFixture(transport, dir, store, server, warnings);
    } catch (error) {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * A connected client: resolves once the client has done its handshake (Authenticate when it has
   * credentials, then IdentifyClient) and says 'connected'. It never reconnects or retries, so a
   * dropped connection or an unanswered request fails the test instead of being papered over.
   */
  async connect(options: ClientOptions = {}): Promise<Client> {
    const connection = esc.createConnection(
      {
        log: quietClientLog,
        useSslConnection: this.transport === 'tls',
        validateServer: false,
        ...(options.credentials ? { defaultUserCredentials: options.credentials } : {}),
        maxReconnections: 0,
        maxRetries: 0,
        operationTimeout: OPERATION_TIMEOUT_MS,
        failOnNoServerResponse: true,
      },
      { host: '127.0.0.1', port: this.server.port },
      options.name ?? 'e2e',
    );
    const client: Client = { connection, events: [], closing: false, heartbeats: 0 };
    this.clients.push(client);
    const emitter = connection as unknown as NodeJS.EventEmitter;
    for (const name of ['connected', 'reconnecting', 'disconnected', 'closed']) emitter.on(name, () => client.events.push(name));
    emitter.on('error', (error: Error) => client.events.push(`error: ${error.message}`));
    emitter.on('heartbeatInfo', () => client.heartbeats++);
    const connected = new Promise<void>((resolve, reject) => {
      emitter.once('connected', () => resolve());
      emitter.once('closed', (reason: string) => reject(new Error(`the client closed before connecting: ${reason}`)));
    });
    await connection.connect();
    await connected;
    return client;
  }

  /** Closes the client and waits for its 'closed' event. */
  async disconnect(client: Client): Promise<void> {
    client.closing = true;
    if (client.events.includes('closed')) return;
    const emitter = client.connection as unknown as NodeJS.EventEmitter;
    const closed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the client did not close within ${CLOSE_TIMEOUT_MS} ms`)), CLOSE_TIMEOUT_MS);
      emitter.once('closed', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    client.connection.close();
    await closed;
  }

  /** Events that mean a connection went wrong behind the test's back. */
  troubleOf(client: Client): string[] {
    return client.events.filter((e) => e === 'reconnecting' || e.startsWith('error') || (e === 'closed' && !client.closing));
  }

  /** Closes every client, then the server and the store, then removes the directory. */
  async close(): Promise<void> {
    try {
      for (const client of this.clients.splice(0)) await this.disconnect(client);
      await this.server.close();
    } finally {
      await this.store.close();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
