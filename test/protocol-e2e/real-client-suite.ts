// The shared setup of the real-client suites: one server per transport (ServerFixture), a client
// connected as admin and one as anonymous, and after every test a check that neither client
// reconnected or errored and that the server logged no warnings.

import type { EventStoreNodeConnection } from 'node-eventstore-client';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { ServerFixture, adminCredentials, type Client, type Transport } from './server-fixture.js';

export interface RealClients {
  readonly fixture: ServerFixture;
  /** Connected with admin/changeit as default credentials. */
  readonly adminClient: Client;
  readonly admin: EventStoreNodeConnection;
  /** Connected without credentials. */
  readonly anonymousClient: Client;
  readonly anonymous: EventStoreNodeConnection;
}

/** Registers the hooks of one describe block; the fields of the result are set once beforeAll ran. */
export function useRealClients(transport: Transport): RealClients {
  const clients = {} as { -readonly [K in keyof RealClients]: RealClients[K] };
  beforeAll(async () => {
    clients.fixture = await ServerFixture.start(transport);
    clients.adminClient = await clients.fixture.connect({ credentials: adminCredentials(), name: 'admin' });
    clients.anonymousClient = await clients.fixture.connect({ name: 'anonymous' });
    clients.admin = clients.adminClient.connection;
    clients.anonymous = clients.anonymousClient.connection;
  });
  afterAll(async () => {
    await clients.fixture?.close();
  });
  afterEach(() => {
    expect(clients.fixture.troubleOf(clients.adminClient)).toEqual([]);
    expect(clients.fixture.troubleOf(clients.anonymousClient)).toEqual([]);
    expect(clients.fixture.warnings).toEqual([]);
  });
  return clients;
}
