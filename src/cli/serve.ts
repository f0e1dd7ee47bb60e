// `annal serve` (what `npm start` runs): opens the store in a data directory, its users and its
// persistent-subscription groups, and serves the EventStoreDB-compatible TCP protocol on it,
// optionally over TLS. Stops cleanly on SIGINT/SIGTERM (groups write their final checkpoints).

import { readFileSync } from 'node:fs';
import { EventStore } from '../store/event-store.js';
import { Users } from '../auth/users.js';
import { PersistentSubscriptions } from '../subscriptions/persistent/persistent-subscriptions.js';
import { TcpServer, DEFAULT_TCP_PORT } from '../protocol/server/tcp-server.js';
import { stderrLogger } from '../util/logger.js';
import { makeDevCertificate } from './dev-cert.js';

export interface ServeOptions {
  readonly dataDir: string;
  readonly host: string;
  readonly tcpPort: number;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly devCert: boolean;
  readonly adminPassword?: string;
  readonly anonymous: boolean;
}

export async function runServe(options: ServeOptions): Promise<void> {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
  if (options.devCert && options.tlsCert !== undefined) throw new Error('--dev-cert replaces --tls-cert/--tls-key: give one or the other');
  let tls: { cert: string | Buffer; key: string | Buffer } | undefined;
  if (options.tlsCert !== undefined && options.tlsKey !== undefined) {
    tls = { cert: readFileSync(options.tlsCert), key: readFileSync(options.tlsKey) };
  } else if (options.devCert) {
    const dev = await makeDevCertificate();
    tls = dev;
    console.log(`tls: self-signed development certificate for localhost, SHA-1 fingerprint ${dev.fingerprint}`);
  }
  const store = await EventStore.open(options.dataDir, { allowAnonymousStreamAccess: options.anonymous });
  try {
    const users = await Users.open(store, options.adminPassword !== undefined ? { adminPassword: options.adminPassword } : {});
    const persistentSubscriptions = await PersistentSubscriptions.open(store, { logger: stderrLogger });
    try {
      const server = await TcpServer.start(store, {
        host: options.host, port: options.tcpPort, ...(tls ? { tls } : {}),
        authenticator: { authenticate: (login, password, source) => users.authenticate(login, password, source) },
        logger: stderrLogger,
        persistentSubscriptions,
      });
      console.log(`listening tcp ${server.host}:${server.port}${tls ? ' (tls)' : ''}`);
      const groups = persistentSubscriptions.list().length;
      console.log(`data in ${options.dataDir}: ${(await store.headPosition()) + 1n} events, ${groups} persistent subscription group${groups === 1 ? '' : 's'}; anonymous access to user streams ${options.anonymous ? 'on' : 'off'}`);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      console.log('stopping');
      await server.close();
    } finally {
      await persistentSubscriptions.close();
    }
  } finally {
    await store.close();
  }
}

export { DEFAULT_TCP_PORT };
