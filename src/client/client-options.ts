// The options of AnnalClient.connect: where the server is, TLS, credentials and the timing of
// requests, retries, reconnects and heartbeats. Bad values are InvalidOptionErrors, raised before
// any socket is opened.

import { InvalidOptionError } from '../util/errors.js';
import { CREDENTIAL_BYTES_MAX } from '../protocol/wire/wire-limits.js';
import {
  HEARTBEAT_INTERVAL_MS_DEFAULT, HEARTBEAT_TIMEOUT_MS_DEFAULT, MAX_RETRIES_DEFAULT, MAX_RETRIES_MAX, RECONNECT_DELAY_MS_DEFAULT,
  RECONNECT_DELAY_MS_MAX, REQUEST_TIMEOUT_MS_DEFAULT, REQUEST_TIMEOUT_MS_MAX, HEARTBEAT_CHECK_MS,
} from './client-limits.js';

export interface ClientTlsOptions {
  /** PEM certificates to trust instead of the system's (a self-signed server certificate, say). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Default true: refuse a server whose certificate does not verify. */
  rejectUnauthorized?: boolean;
  /** The name the certificate must carry (SNI); default the host when it is a name. */
  servername?: string;
}

export interface ClientCredentials {
  login: string;
  password: string;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** Present: speak TLS. */
  tls?: ClientTlsOptions;
  /** Sent once per connection (Authenticate); absent: the connection is anonymous. */
  credentials?: ClientCredentials;
  /** Shown in the server's logs. */
  connectionName?: string;
  /** How long one attempt of a request may take, default 7,000 ms. */
  requestTimeoutMs?: number;
  /** Attempts after the first before a request fails, default 10. */
  maxRetries?: number;
  /** First pause before reconnecting, doubling up to 5,000 ms; default 100 ms. */
  reconnectDelayMs?: number;
  /** Silence after which a HeartbeatRequest is sent, default 750 ms. */
  heartbeatIntervalMs?: number;
  /** Further silence after which the connection is dropped and remade, default 1,500 ms. */
  heartbeatTimeoutMs?: number;
}

export interface ResolvedConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: ClientTlsOptions | null;
  readonly credentials: ClientCredentials | null;
  readonly connectionName: string;
  readonly requestTimeoutMs: number;
  readonly maxRetries: number;
  readonly reconnectDelayMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
}

const KEYS = new Set([
  'host', 'port', 'tls', 'credentials', 'connectionName', 'requestTimeoutMs', 'maxRetries', 'reconnectDelayMs', 'heartbeatIntervalMs', 'heartbeatTimeoutMs',
]);

function integer(value: unknown, key: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`${key} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function credential(value: unknown, key: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(`credentials.${key} must be a non-empty string`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > CREDENTIAL_BYTES_MAX) throw new InvalidOptionError(`credentials.${key} is ${bytes} bytes of UTF-8, at most ${CREDENTIAL_BYTES_MAX} allowed`);
  return value;
}

function tlsOptions(value: unknown): ClientTlsOptions | null {
  if (value === undefined) return null;
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError('tls must be an object');
  for (const key of Object.keys(value)) {
    if (!['ca', 'rejectUnauthorized', 'servername'].includes(key)) throw new InvalidOptionError(`unknown tls option '${key}'`);
  }
  const t = value as ClientTlsOptions;
  if (t.rejectUnauthorized !== undefined && typeof t.rejectUnauthorized !== 'boolean') throw new InvalidOptionError('tls.rejectUnauthorized must be a boolean');
  if (t.servername !== undefined && typeof t.servername !== 'string') throw new InvalidOptionError('tls.servername must be a string');
  return t;
}

/** Validates connect options and fills in the defaults. */
export function resolveConnectOptions(options: unknown): ResolvedConnectOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('connect options must be an object');
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) throw new InvalidOptionError(`unknown connect option '${key}'`);
  }
  const o = options as ConnectOptions;
  if (typeof o.host !== 'string' || o.host.length === 0) throw new InvalidOptionError('host must be a non-empty string');
  if (o.port === undefined) throw new InvalidOptionError('port is required');
  const port = integer(o.port, 'port', 1, 65_535, 0);
  let credentials: ClientCredentials | null = null;
  if (o.credentials !== undefined) {
    if (typeof o.credentials !== 'object' || o.credentials === null) throw new InvalidOptionError('credentials must be { login, password }');
    credentials = { login: credential(o.credentials.login, 'login'), password: credential(o.credentials.password, 'password') };
  }
  if (o.connectionName !== undefined && typeof o.connectionName !== 'string') throw new InvalidOptionError('connectionName must be a string');
  return {
    host: o.host,
    port,
    tls: tlsOptions(o.tls),
    credentials,
    connectionName: o.connectionName ?? `annal-client-${process.pid}`,
    requestTimeoutMs: integer(o.requestTimeoutMs, 'requestTimeoutMs', 1, REQUEST_TIMEOUT_MS_MAX, REQUEST_TIMEOUT_MS_DEFAULT),
    maxRetries: integer(o.maxRetries, 'maxRetries', 0, MAX_RETRIES_MAX, MAX_RETRIES_DEFAULT),
    reconnectDelayMs: integer(o.reconnectDelayMs, 'reconnectDelayMs', 0, RECONNECT_DELAY_MS_MAX, RECONNECT_DELAY_MS_DEFAULT),
    heartbeatIntervalMs: integer(o.heartbeatIntervalMs, 'heartbeatIntervalMs', HEARTBEAT_CHECK_MS, REQUEST_TIMEOUT_MS_MAX, HEARTBEAT_INTERVAL_MS_DEFAULT),
    heartbeatTimeoutMs: integer(o.heartbeatTimeoutMs, 'heartbeatTimeoutMs', HEARTBEAT_CHECK_MS, REQUEST_TIMEOUT_MS_MAX, HEARTBEAT_TIMEOUT_MS_DEFAULT),
  };
}
