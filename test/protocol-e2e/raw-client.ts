// A raw TCP client for the hostile-input tests: writes any bytes (framed packages or garbage),
// collects every package the server sends back, answers the server's heartbeats if asked to, and
// records how and when the connection ended.

import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { TcpCommand, commandName } from '../../src/protocol/wire/commands.js';
import { LengthPrefixFramer } from '../../src/protocol/wire/framer.js';
import { decodePackage, encodePackageFrame, makePackage, type Credentials, type TcpPackage } from '../../src/protocol/wire/package.js';

/** How long `request`, `waitForPackage` and `waitForClose` wait unless told otherwise. */
export const RAW_WAIT_MS_DEFAULT = 10_000;

export interface RawClientOptions {
  /** Answer HeartbeatRequest with HeartbeatResponse, as every real client does (default true). */
  readonly answerHeartbeats?: boolean;
  /** Read the socket (default true). False makes a slow reader: nothing is read after connecting. */
  readonly read?: boolean;
  /** Keep every package in `packages` (default true; the fuzzer counts them instead). */
  readonly keepPackages?: boolean;
  /** Called for every package received. */
  readonly onPackage?: (pkg: TcpPackage) => void;
}

export interface SendOptions {
  readonly correlationId?: string;
  readonly credentials?: Credentials;
  /** Flag byte to put on the wire instead of the one `makePackage` computes (0x02 = TrustedWrite). */
  readonly flags?: number;
}

/** A framed package, with the flags byte overridden when `options.flags` is set. */
export function frameOf(command: number, payload: Uint8Array = new Uint8Array(0), options: SendOptions = {}): { frame: Uint8Array; correlationId: string } {
  const correlationId = options.correlationId ?? randomUUID();
  const frame = encodePackageFrame(makePackage(command, correlationId, payload, options.credentials ?? null));
  if (options.flags !== undefined) frame[5] = options.flags;
  return { frame, correlationId };
}

/** The 4-byte little-endian length prefix for `value` (any int32, negative ones included). */
export function lengthPrefix(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value | 0, true);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export class RawClient {
  /** Every package received, in order (heartbeat requests included). */
  readonly packages: TcpPackage[] = [];
  /** Set when the server sent bytes that do not decode: the server's own framing is broken. */
  decodeError: Error | null = null;
  /** Socket errors seen (ECONNRESET, EPIPE…): expected when the server hangs up on us. */
  readonly socketErrors: string[] = [];
  /** Date.now() when the socket closed, or null while open. */
  closedAtMs: number | null = null;
  /** Bytes received in total. */
  receivedBytes = 0;
  private readonly framer = new LengthPrefixFramer();
  private readonly waiters = new Set<() => void>();
  private reading: boolean;

  private constructor(readonly socket: net.Socket, private readonly options: RawClientOptions) {
    socket.on('error', (error) => this.socketErrors.push(error.message));
    socket.on('close', () => {
      this.closedAtMs = Date.now();
      this.wake();
    });
    this.reading = false;
    if (options.read !== false) this.startReading();
  }

  /** Starts reading the socket (a slow reader that catches up); a no-op when it reads already. */
  startReading(): void {
    if (this.reading) return;
    this.reading = true;
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  /** Connects to 127.0.0.1:`port`; rejects if the connection is refused. */
  static connect(port: number, options: RawClientOptions = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new RawClient(socket, options));
      });
    });
  }

  get closed(): boolean {
    return this.closedAtMs !== null;
  }

  /** Writes raw bytes; a write after the server closed is ignored (the error lands in socketErrors). */
  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Frames and writes a package; returns its correlation id. */
  send(command: number, payload?: Uint8Array, options: SendOptions = {}): string {
    const { frame, correlationId } = frameOf(command, payload, options);
    this.write(frame);
    return correlationId;
  }

  /** Sends a package and resolves with the first non-heartbeat package answering its correlation id. */
  async request(command: number, payload?: Uint8Array, options: SendOptions = {}, timeoutMs = RAW_WAIT_MS_DEFAULT): Promise<TcpPackage> {
    const correlationId = this.send(command, payload, options);
    return this.waitForPackage(`an answer to ${commandName(command)} ${correlationId}`, (p) => p.correlationId === correlationId && p.command !== TcpCommand.HeartbeatRequestCommand, timeoutMs);
  }

  /** The first package received (now or later) that satisfies `match`; rejects on close or timeout. */
  waitForPackage(what: string, match: (pkg: TcpPackage) => boolean, timeoutMs = RAW_WAIT_MS_DEFAULT): Promise<TcpPackage> {
    return this.waitUntil(what, () => this.packages.find(match) ?? null, timeoutMs, true);
  }

  /** Resolves once the socket has closed; rejects after `timeoutMs`. */
  async waitForClose(timeoutMs = RAW_WAIT_MS_DEFAULT): Promise<void> {
    await this.waitUntil('the server to close the connection', () => (this.closed ? true : null), timeoutMs, false);
  }

  /** Packages other than the server's heartbeat requests. */
  answers(): TcpPackage[] {
    return this.packages.filter((p) => p.command !== TcpCommand.HeartbeatRequestCommand);
  }

  /** Closes from our side and waits for the close event. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.socket.destroy();
    await this.waitForClose(RAW_WAIT_MS_DEFAULT);
  }

  private waitUntil<T>(what: string, probe: () => T | null, timeoutMs: number, failOnClose: boolean): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = probe();
        if (found !== null) {
          finish();
          resolve(found);
          return true;
        }
        if (failOnClose && this.closed) {
          finish();
          reject(new Error(`the connection closed while waiting for ${what}; received ${this.describe()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${this.describe()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (): void => void check();
      if (check()) return;
      this.waiters.add(waiter);
    });
  }

  private describe(): string {
    const names = this.packages.map((p) => commandName(p.command));
    return `[${names.slice(0, 20).join(', ')}${names.length > 20 ? `, … ${names.length} in all` : ''}]${this.closed ? ', closed' : ''}`;
  }

  private receive(chunk: Buffer): void {
    this.receivedBytes += chunk.length;
    if (this.decodeError !== null) return;
    try {
      for (const frame of this.framer.feed(chunk)) {
        // Frames inside a chunk are views of it; a package keeps its payload, so copy.
        const pkg = decodePackage(frame.slice());
        if (this.options.keepPackages !== false) this.packages.push(pkg);
        this.options.onPackage?.(pkg);
        if (pkg.command === TcpCommand.HeartbeatRequestCommand && this.options.answerHeartbeats !== false) {
          this.send(TcpCommand.HeartbeatResponseCommand, undefined, { correlationId: pkg.correlationId });
        }
      }
    } catch (error) {
      this.decodeError = error as Error;
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
