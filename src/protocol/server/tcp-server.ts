// The TCP (and TLS) listener of the EventStoreDB-compatible client protocol: accepts connections
// up to CONNECTIONS_MAX and serves each with its own Connection over one shared store, one set of
// persistent-subscription groups and one shared budget of bytes in unfinished frames.
// format-spec/protocol.md §8, §9.6, §10.

import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../util/logger.js';
import type { EventStore } from '../../store/event-store.js';
import { LiveFeed } from '../../store/live-feed.js';
import { PersistentSubscriptions } from '../../subscriptions/persistent/persistent-subscriptions.js';
import { SharedAssemblyBudget } from './assembly-budget.js';
import { SharedSendBudget } from './send-budget.js';
import { Connection, type Authenticator } from './connection.js';
import { CONNECTIONS_MAX, serverLimits, type ServerLimits } from './server-limits.js';
import { Transactions } from './write-operations.js';

export const DEFAULT_TCP_PORT = 1113;

export interface TcpServerOptions {
  /** Default 127.0.0.1: the server is reachable from this machine only unless told otherwise. */
  readonly host?: string;
  /** Default 1113; 0 picks any free port (see `port` after start). */
  readonly port?: number;
  /** PEM certificate and key: the server then speaks TLS. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /**
   * Overrides of the bounds (send queue, reads in flight, frame completion, heartbeats, the
   * server-wide frame assembly budget); every one left out keeps its default from
   * server-limits.ts. Tests shrink them; servers rarely need to.
   */
  readonly limits?: Partial<ServerLimits>;
  /**
   * The persistent-subscription groups to serve, opened over the same store; the caller closes
   * them after the server. Left out, the server opens its own at start and closes it at close.
   * A store has one PersistentSubscriptions: servers sharing a store must share it too.
   */
  readonly persistentSubscriptions?: PersistentSubscriptions;
}

export class TcpServer {
  private readonly connections = new Set<Connection>();

  private constructor(
    private readonly server: net.Server,
    private readonly feed: LiveFeed,
    private readonly assemblyBudget: SharedAssemblyBudget,
    private readonly sendBudget: SharedSendBudget,
    /** The groups served (PersistentSubscriptions' list, info, replayParked work on them). */
    readonly persistentSubscriptions: PersistentSubscriptions,
    /** Set when the server opened the groups itself, and so closes them. */
    private readonly ownPersistent: PersistentSubscriptions | null,
    readonly secure: boolean,
  ) {}

  /** Listens; resolves once the port is bound. Throws InvalidArgumentError for bad `limits`. */
  static async start(store: EventStore, options: TcpServerOptions): Promise<TcpServer> {
    const limits = serverLimits(options.limits);
    const ownPersistent = options.persistentSubscriptions === undefined ? await PersistentSubscriptions.open(store, { logger: options.logger }) : null;
    const persistent = options.persistentSubscriptions ?? (ownPersistent as PersistentSubscriptions);
    let feed: LiveFeed;
    try {
      feed = await LiveFeed.start(store);
    } catch (error) {
      await ownPersistent?.close();
      throw error;
    }
    const assemblyBudget = new SharedAssemblyBudget(limits.frameAssemblyBytesMax);
    const sendBudget = new SharedSendBudget(limits.sendQueuesBytesMax);
    const context = { store, feed, persistent, transactions: new Transactions(store), authenticator: options.authenticator, logger: options.logger, limits, assemblyBudget, sendBudget, scavenge: { running: null } };
    let instance: TcpServer | undefined;
    const accept = (socket: net.Socket): void => {
      const self = instance!;
      if (self.connections.size >= CONNECTIONS_MAX) {
        options.logger.warn('refusing a connection', { reason: `${CONNECTIONS_MAX} connections are open (CONNECTIONS_MAX)` });
        socket.destroy();
        return;
      }
      self.connections.add(new Connection(socket, context, (c) => self.connections.delete(c)));
    };
    const server = options.tls ? tls.createServer({ cert: options.tls.cert, key: options.tls.key }, accept) : net.createServer(accept);
    // A TLS handshake that fails is that client's problem, not the server's.
    server.on('tlsClientError', (error: Error) => options.logger.warn('TLS handshake failed', { error: error.message }));
    instance = new TcpServer(server, feed, assemblyBudget, sendBudget, persistent, ownPersistent, options.tls !== undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? DEFAULT_TCP_PORT, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      feed.stop();
      await ownPersistent?.close();
      throw error;
    }
    return instance;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get host(): string {
    return (this.server.address() as net.AddressInfo).address;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Bytes all connections hold now in frames they have begun and not finished. */
  get frameAssemblyBytes(): number {
    return this.assemblyBudget.bytes;
  }

  /** Bytes waiting in the send queues of all connections now. */
  get sendQueueBytes(): number {
    return this.sendBudget.bytes;
  }

  /**
   * Stops accepting, closes every connection (their persistent consumers leave their groups), the
   * live feed, and the persistent-subscription groups if the server opened them. The store stays open.
   */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of [...this.connections]) connection.close(null);
    this.feed.stop();
    await closed;
    await this.ownPersistent?.close();
  }
}
