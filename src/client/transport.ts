// One client connection (es-tcp.md §1, §5): a TCP or TLS socket cut into packages, the handshake
// (Authenticate when there are credentials, then IdentifyClient / ClientIdentified), heartbeats
// answered at once and sent after silence, and a close when the server goes quiet.

import { randomUUID } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { TcpCommand, commandName } from '../protocol/wire/commands.js';
import { LengthPrefixFramer } from '../protocol/wire/framer.js';
import { ZERO_GUID } from '../protocol/wire/guid.js';
import { messages } from '../protocol/wire/messages.js';
import { decodePackage, encodePackageFrame, makePackage, type TcpPackage } from '../protocol/wire/package.js';
import { HEARTBEAT_CHECK_MS } from './client-limits.js';
import { ConnectionClosedError, NotAuthenticatedError, ProtocolError } from './client-errors.js';
import type { ResolvedConnectOptions } from './client-options.js';
import { SendQueue } from './send-queue.js';

/** What a connection reports after its handshake. */
export interface TransportListener {
  /** A package other than a heartbeat. */
  onPackage(pkg: TcpPackage): void;
  /** The socket took queued bytes: more requests may be sent. */
  onWritable(): void;
  /** The connection is gone, once; `reason` says why. */
  onClose(reason: Error): void;
}

interface Exchange {
  readonly correlationId: string;
  readonly resolve: (pkg: TcpPackage) => void;
  readonly reject: (error: Error) => void;
}

const utf8 = new TextDecoder();

export class Transport {
  private readonly framer = new LengthPrefixFramer();
  private readonly queue: SendQueue;
  private readonly timer: NodeJS.Timeout;
  private lastReceivedMs = Date.now();
  private heartbeatSentMs = 0;
  private exchange: Exchange | null = null;
  private listener: TransportListener | null = null;
  private closedWith: Error | null = null;
  /** Resolves once the socket is fully closed. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket, private readonly options: ResolvedConnectOptions) {
    this.queue = new SendQueue(socket, () => this.listener?.onWritable());
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.close(new ConnectionClosedError(`connection to ${this.endpoint} failed: ${error.message}`, { cause: error })));
    socket.on('close', () => this.close(new ConnectionClosedError(`the server closed the connection to ${this.endpoint}`)));
    this.timer = setInterval(() => this.tick(), HEARTBEAT_CHECK_MS);
  }

  /**
   * Connects and completes the handshake; `listener` hears of everything after it. Rejects with
   * ConnectionClosedError (refused, TLS failure, timeout) or NotAuthenticatedError (bad credentials).
   */
  static async open(options: ResolvedConnectOptions, listener: TransportListener): Promise<Transport> {
    const transport = new Transport(await connectSocket(options), options);
    try {
      if (options.credentials !== null) {
        const reply = await transport.request(TcpCommand.Authenticate, new Uint8Array(0), true);
        if (reply.command === TcpCommand.NotAuthenticated) {
          throw new NotAuthenticatedError(`login '${options.credentials.login}' was refused: ${utf8.decode(reply.payload) || 'not authenticated'}`);
        }
        if (reply.command !== TcpCommand.Authenticated) throw new ProtocolError(`Authenticate was answered with ${commandName(reply.command)}`);
      }
      const identify = messages.IdentifyClient.encode({ version: 1, connectionName: options.connectionName });
      const reply = await transport.request(TcpCommand.IdentifyClient, identify, false);
      if (reply.command !== TcpCommand.ClientIdentified) throw new ProtocolError(`IdentifyClient was answered with ${commandName(reply.command)}`);
    } catch (error) {
      transport.close(error as Error);
      await transport.closed;
      throw error;
    }
    transport.listener = listener;
    return transport;
  }

  get endpoint(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /** Bytes sent but not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  get isClosed(): boolean {
    return this.closedWith !== null;
  }

  /** Queues a framed package (ignored once closed). */
  send(frame: Uint8Array): void {
    if (this.closedWith === null) this.queue.send(frame);
  }

  /** Closes the socket; the listener's onClose hears `reason` (once). */
  close(reason: Error): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    clearInterval(this.timer);
    this.queue.close();
    this.socket.destroy();
    this.exchange?.reject(reason);
    this.exchange = null;
    this.listener?.onClose(reason);
  }

  /** One handshake step: a package and the reply with its correlation id, within requestTimeoutMs. */
  private request(command: number, payload: Uint8Array, withCredentials: boolean): Promise<TcpPackage> {
    const correlationId = randomUUID();
    return new Promise<TcpPackage>((resolve, reject) => {
      if (this.closedWith !== null) return reject(this.closedWith);
      const timer = setTimeout(() => {
        this.close(new ConnectionClosedError(`${commandName(command)} to ${this.endpoint} had no answer within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.exchange = null;
      };
      this.exchange = {
        correlationId,
        resolve: (pkg) => (done(), resolve(pkg)),
        reject: (error) => (done(), reject(error)),
      };
      this.queue.send(encodePackageFrame(makePackage(command, correlationId, payload, withCredentials ? this.options.credentials : null)));
    });
  }

  private receive(chunk: Buffer): void {
    this.lastReceivedMs = Date.now();
    try {
      for (const frame of this.framer.feed(chunk)) {
        if (this.closedWith !== null) continue; // the rest of the chunk is moot, but the framer wants it all
        this.dispatch(decodePackage(frame));
      }
    } catch (error) {
      this.close(new ProtocolError(`bad data from ${this.endpoint}: ${(error as Error).message}`, { cause: error }));
    }
  }

  private dispatch(pkg: TcpPackage): void {
    switch (pkg.command) {
      case TcpCommand.HeartbeatRequestCommand:
        this.queue.send(encodePackageFrame(makePackage(TcpCommand.HeartbeatResponseCommand, pkg.correlationId)), true);
        return;
      case TcpCommand.HeartbeatResponseCommand:
        return;
      case TcpCommand.BadRequest:
        if (pkg.correlationId === ZERO_GUID) {
          // A connection-wide error: the server closes its side too.
          this.close(new ConnectionClosedError(`the server rejected the connection: ${utf8.decode(pkg.payload)}`));
          return;
        }
    }
    if (this.exchange !== null && this.exchange.correlationId === pkg.correlationId) {
      this.exchange.resolve(pkg);
      return;
    }
    this.listener?.onPackage(pkg);
  }

  private tick(): void {
    const now = Date.now();
    const silentMs = now - this.lastReceivedMs;
    if (silentMs > this.options.heartbeatIntervalMs + this.options.heartbeatTimeoutMs) {
      this.close(new ConnectionClosedError(`nothing from ${this.endpoint} for ${silentMs} ms (heartbeat timeout)`));
    } else if (silentMs > this.options.heartbeatIntervalMs && this.heartbeatSentMs <= this.lastReceivedMs) {
      this.heartbeatSentMs = now;
      this.queue.send(encodePackageFrame(makePackage(TcpCommand.HeartbeatRequestCommand, randomUUID())), true);
    }
  }
}

/** A connected (and, with TLS, verified) socket, or ConnectionClosedError within requestTimeoutMs. */
function connectSocket(options: ResolvedConnectOptions): Promise<net.Socket> {
  const { host, port, requestTimeoutMs } = options;
  return new Promise((resolve, reject) => {
    const t = options.tls;
    const socket = t === null
      ? net.connect({ host, port })
      : tls.connect({
        host, port, ...(t.ca !== undefined ? { ca: t.ca } : {}), rejectUnauthorized: t.rejectUnauthorized ?? true,
        // SNI carries names only; for an address the certificate is checked against its IP entries.
        ...(t.servername !== undefined ? { servername: t.servername } : net.isIP(host) === 0 ? { servername: host } : {}),
      });
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error instanceof ConnectionClosedError ? error : new ConnectionClosedError(`could not connect to ${host}:${port}: ${error.message}`, { cause: error }));
    };
    const timer = setTimeout(() => fail(new ConnectionClosedError(`could not connect to ${host}:${port} within ${requestTimeoutMs} ms`)), requestTimeoutMs);
    socket.once('error', fail);
    socket.once(t === null ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}
