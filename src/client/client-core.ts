// The request engine under AnnalClient (es-tcp.md §1, §5): requests pipelined on one connection and
// matched by correlation id, each attempt timed and retried under a new id (timeout, busy server,
// lost connection), reconnects with a doubling delay, and subscription pushes routed.

import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../util/errors.js';
import { TcpCommand } from '../protocol/wire/commands.js';
import { NotHandledReason, messages } from '../protocol/wire/messages.js';
import { encodePackageFrame, makePackage, PACKAGE_HEADER_BYTES, type TcpPackage } from '../protocol/wire/package.js';
import { WireError } from '../protocol/wire/wire-error.js';
import { FRAME_BYTES_MAX, FRAME_PREFIX_BYTES } from '../protocol/wire/wire-limits.js';
import {
  BUSY_RETRY_DELAY_MS, RECONNECT_DELAY_MS_MAX, REQUESTS_IN_FLIGHT_MAX, REQUESTS_WAITING_MAX, SEND_QUEUE_BYTES_MAX, STALE_SUBSCRIPTIONS_REMEMBERED_MAX,
} from './client-limits.js';
import {
  BadRequestError, ClientOverloadedError, ConnectionClosedError, NotAuthenticatedError, ProtocolError, RequestTimeoutError, ServerError,
} from './client-errors.js';
import type { ResolvedConnectOptions } from './client-options.js';
import { Transport } from './transport.js';

/** What a reply means for its request. */
export type Outcome<T> =
  | { readonly kind: 'done'; readonly value: T }
  | { readonly kind: 'retry'; readonly error: Error; readonly delayMs: number }
  | { readonly kind: 'fail'; readonly error: Error };

/** Packages that belong to a subscription rather than answer a request. */
export interface PushListener {
  /** An attempt of the subscribe request went out under this correlation id: pushes under earlier ids are stale. */
  sent(correlationId: string): void;
  /** StreamEventAppeared / CheckpointReached / PersistentSubscriptionStreamEventAppeared (even before the confirmation), or SubscriptionDropped after it. */
  push(pkg: TcpPackage): void;
  /** The connection of a confirmed subscription is gone. */
  lost(): void;
}

/** One request: its bytes are built once, so every attempt sends the same (event ids included). */
export interface Operation<T> {
  /** For errors: "appendToStream('orders-1')". */
  readonly description: string;
  readonly command: number;
  readonly payload: Uint8Array;
  /** The meaning of a reply; NotHandled, BadRequest and NotAuthenticated are handled before. May throw WireError. */
  interpret(pkg: TcpPackage, retries: number): Outcome<T>;
  /** Set for a subscribe request: its correlation id keeps routing pushes here after the reply. */
  readonly listener?: PushListener;
}

interface Pending {
  readonly op: Operation<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  retries: number;
  /** Bumped per attempt, so stale queue entries and timers recognise themselves. */
  attempt: number;
  state: 'waiting' | 'sent' | 'delayed' | 'settled';
  correlationId: string | null;
  timer: NodeJS.Timeout | null;
}

interface Route {
  /** The request awaiting its reply; null once a subscription is confirmed. */
  pending: Pending | null;
  readonly listener: PushListener | null;
  readonly transport: Transport;
}

const utf8 = new TextDecoder();
const PUSH_COMMANDS: ReadonlySet<number> = new Set([
  TcpCommand.StreamEventAppeared, TcpCommand.CheckpointReached, TcpCommand.PersistentSubscriptionStreamEventAppeared,
]);

export const retry = <T>(error: Error, delayMs = BUSY_RETRY_DELAY_MS): Outcome<T> => ({ kind: 'retry', error, delayMs });
export const fail = <T>(error: Error): Outcome<T> => ({ kind: 'fail', error });
export const done = <T>(value: T): Outcome<T> => ({ kind: 'done', value });

export class ClientCore {
  private transport: Transport | null = null;
  private readonly waiting: { pending: Pending; attempt: number }[] = [];
  private waitingHead = 0;
  private readonly routes = new Map<string, Route>();
  private readonly active = new Set<Pending>();
  private inFlight = 0;
  private closing: Promise<void> | null = null;
  private connecting: Promise<void> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectAttempts = 0;
  private lastConnectionError: Error | null = null;
  private readonly staleSubscriptions = new Set<string>();

  constructor(readonly options: ResolvedConnectOptions) {}

  /** The first connection; rejects (and leaves nothing open) when it cannot be made. */
  async start(): Promise<void> {
    this.transport = await this.open();
  }

  /** Whether a connection is up right now. */
  get connected(): boolean {
    return this.transport !== null;
  }

  /**
   * Runs a request to its outcome: resolves with the value of a 'done' reply, rejects with the
   * error of a 'fail' one, or with the last attempt's error after maxRetries retries.
   */
  execute<T>(op: Operation<T>): Promise<T> {
    if (this.closing !== null) return Promise.reject(new ConnectionClosedError(`${op.description}: the client is closed`));
    if (PACKAGE_HEADER_BYTES + op.payload.length > FRAME_BYTES_MAX) {
      return Promise.reject(new InvalidArgumentError(`${op.description}: the request is ${op.payload.length} bytes, more than a frame holds (${FRAME_BYTES_MAX})`));
    }
    if (this.waiting.length - this.waitingHead >= REQUESTS_WAITING_MAX) {
      return Promise.reject(new ClientOverloadedError(`${op.description}: ${REQUESTS_WAITING_MAX} requests are already waiting (REQUESTS_WAITING_MAX)`));
    }
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { op, resolve: resolve as (value: unknown) => void, reject, retries: 0, attempt: 0, state: 'waiting', correlationId: null, timer: null };
      this.active.add(pending);
      this.startAttempt(pending);
    });
  }

  /**
   * Sends a package of a confirmed subscription (a persistent subscription's Ack or Nak) under its
   * correlation id, on the connection it was confirmed on. False, and nothing sent, when that
   * subscription is not routed here any more or its connection is gone.
   */
  sendForSubscription(correlationId: string, command: number, payload: Uint8Array): boolean {
    const route = this.routes.get(correlationId);
    if (route === undefined || route.pending !== null || route.transport !== this.transport || route.transport.isClosed) return false;
    route.transport.send(encodePackageFrame(makePackage(command, correlationId, payload)));
    return true;
  }

  /** Stops a confirmed subscription: tells the server (on the same connection) and forgets its pushes. */
  unsubscribe(correlationId: string): void {
    const route = this.routes.get(correlationId);
    if (route === undefined) return;
    this.routes.delete(correlationId);
    if (route.transport === this.transport) route.transport.send(encodePackageFrame(makePackage(TcpCommand.UnsubscribeFromStream, correlationId)));
  }

  /** Fails every request still open with ConnectionClosedError and closes the connection. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const error = new ConnectionClosedError('the client was closed');
    for (const pending of [...this.active]) this.settle(pending, fail(error));
    this.routes.clear();
    await this.connecting?.catch(() => {});
    const transport = this.transport;
    this.transport = null;
    if (transport !== null) {
      transport.close(error);
      await transport.closed;
    }
  }

  private async open(): Promise<Transport> {
    let opened: Transport | null = null;
    const transport = await Transport.open(this.options, {
      onPackage: (pkg) => this.onPackage(opened as Transport, pkg),
      onWritable: () => this.pump(),
      onClose: (reason) => this.onTransportClose(opened as Transport, reason),
    });
    opened = transport;
    return transport;
  }

  private startAttempt(pending: Pending): void {
    const attempt = ++pending.attempt;
    pending.state = 'waiting';
    pending.correlationId = null;
    pending.timer = setTimeout(() => this.onTimeout(pending, attempt), this.options.requestTimeoutMs);
    this.waiting.push({ pending, attempt });
    this.pump();
  }

  /** Sends waiting requests while the connection is up and the in-flight and queued-bytes bounds allow. */
  private pump(): void {
    const transport = this.transport;
    if (transport === null || transport.isClosed) return;
    while (this.inFlight < REQUESTS_IN_FLIGHT_MAX && this.waitingHead < this.waiting.length) {
      const { pending, attempt } = this.waiting[this.waitingHead];
      if (pending.attempt !== attempt || pending.state !== 'waiting') {
        this.dequeue();
        continue;
      }
      const frameBytes = FRAME_PREFIX_BYTES + PACKAGE_HEADER_BYTES + pending.op.payload.length;
      const queuedBytes = transport.queuedBytes;
      if (queuedBytes > 0 && queuedBytes + frameBytes > SEND_QUEUE_BYTES_MAX) return; // onWritable pumps again
      this.dequeue();
      const correlationId = randomUUID();
      pending.state = 'sent';
      pending.correlationId = correlationId;
      this.routes.set(correlationId, { pending, listener: pending.op.listener ?? null, transport });
      this.inFlight++;
      pending.op.listener?.sent(correlationId);
      transport.send(encodePackageFrame(makePackage(pending.op.command, correlationId, pending.op.payload)));
    }
  }

  private dequeue(): void {
    this.waitingHead++;
    if (this.waitingHead === this.waiting.length) {
      this.waiting.length = 0;
      this.waitingHead = 0;
    } else if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
  }

  private onPackage(transport: Transport, pkg: TcpPackage): void {
    if (transport !== this.transport) return;
    const route = this.routes.get(pkg.correlationId);
    if (route === undefined) {
      // Pushes for a subscription whose request timed out, or that was given up: stop them once.
      if (PUSH_COMMANDS.has(pkg.command)) this.unsubscribeStale(transport, pkg.correlationId);
      return;
    }
    if (route.pending === null) {
      if (pkg.command === TcpCommand.SubscriptionDropped) this.routes.delete(pkg.correlationId);
      route.listener?.push(pkg);
      return;
    }
    if (route.listener !== null && PUSH_COMMANDS.has(pkg.command)) {
      route.listener.push(pkg);
      return;
    }
    const pending = route.pending;
    this.inFlight--;
    const outcome = this.interpret(pending, pkg);
    if (outcome.kind === 'done' && route.listener !== null) route.pending = null;
    else this.routes.delete(pkg.correlationId);
    this.settle(pending, outcome);
    this.pump();
  }

  private interpret(pending: Pending, pkg: TcpPackage): Outcome<unknown> {
    const what = pending.op.description;
    try {
      switch (pkg.command) {
        case TcpCommand.NotHandled: {
          const { reason } = messages.NotHandled.decode(pkg.payload);
          if (reason === NotHandledReason.NotReady) return retry(new ServerError(`${what}: the server is not ready`));
          if (reason === NotHandledReason.TooBusy) return retry(new ServerError(`${what}: the server is too busy`));
          const name = reason === NotHandledReason.NotLeader ? 'NotLeader' : reason === NotHandledReason.IsReadOnly ? 'IsReadOnly' : `reason ${reason}`;
          return fail(new ServerError(`${what}: not handled by the server (${name}); this client talks to a single node`));
        }
        case TcpCommand.BadRequest:
          return fail(new BadRequestError(`${what}: the server refused the request: ${utf8.decode(pkg.payload)}`));
        case TcpCommand.NotAuthenticated:
          return fail(new NotAuthenticatedError(`${what}: ${utf8.decode(pkg.payload) || 'not authenticated'}`));
      }
      return pending.op.interpret(pkg, pending.retries);
    } catch (error) {
      if (error instanceof WireError) return fail(new ProtocolError(`${what}: the reply does not decode: ${error.message}`, { cause: error }));
      throw error;
    }
  }

  private settle(pending: Pending, outcome: Outcome<unknown>): void {
    if (pending.state === 'settled') return;
    if (pending.timer !== null) clearTimeout(pending.timer);
    pending.timer = null;
    if (outcome.kind === 'retry') {
      this.retryOrFail(pending, outcome.error, outcome.delayMs);
      return;
    }
    pending.state = 'settled';
    this.active.delete(pending);
    if (outcome.kind === 'done') pending.resolve(outcome.value);
    else pending.reject(outcome.error);
  }

  private retryOrFail(pending: Pending, error: Error, delayMs: number): void {
    if (pending.timer !== null) clearTimeout(pending.timer);
    pending.timer = null;
    if (this.closing !== null || pending.retries >= this.options.maxRetries) {
      pending.state = 'settled';
      this.active.delete(pending);
      pending.reject(this.closing !== null ? new ConnectionClosedError(`${pending.op.description}: the client was closed`) : error);
      return;
    }
    pending.retries++;
    if (delayMs <= 0) {
      this.startAttempt(pending);
      return;
    }
    pending.state = 'delayed';
    pending.timer = setTimeout(() => this.startAttempt(pending), delayMs);
  }

  private onTimeout(pending: Pending, attempt: number): void {
    if (pending.attempt !== attempt || (pending.state !== 'waiting' && pending.state !== 'sent')) return;
    pending.timer = null;
    if (pending.state === 'sent' && pending.correlationId !== null) {
      const route = this.routes.get(pending.correlationId);
      if (route !== undefined && route.pending === pending) {
        this.routes.delete(pending.correlationId);
        this.inFlight--;
        // A late confirmation would start pushes nobody reads.
        if (route.listener !== null) this.unsubscribeStale(route.transport, pending.correlationId);
      }
    }
    const cause = this.transport === null ? this.lastConnectionError : null;
    this.retryOrFail(pending, new RequestTimeoutError(pending.op.description, pending.retries + 1, this.options.requestTimeoutMs, cause), 0);
    this.pump();
  }

  private unsubscribeStale(transport: Transport, correlationId: string): void {
    if (this.staleSubscriptions.has(correlationId)) return;
    if (this.staleSubscriptions.size >= STALE_SUBSCRIPTIONS_REMEMBERED_MAX) this.staleSubscriptions.clear();
    this.staleSubscriptions.add(correlationId);
    transport.send(encodePackageFrame(makePackage(TcpCommand.UnsubscribeFromStream, correlationId)));
  }

  private onTransportClose(transport: Transport, reason: Error): void {
    if (transport !== this.transport) return;
    this.transport = null;
    this.lastConnectionError = reason;
    this.inFlight = 0;
    const routes = [...this.routes.values()];
    this.routes.clear();
    this.staleSubscriptions.clear();
    const lost = reason instanceof ConnectionClosedError ? reason : new ConnectionClosedError(reason.message, { cause: reason });
    for (const route of routes) {
      if (route.pending !== null) this.retryOrFail(route.pending, lost, 0);
      else route.listener?.lost();
    }
    if (this.closing === null) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== null || this.closing !== null) return;
    const delayMs = Math.min(this.options.reconnectDelayMs * 2 ** Math.min(this.reconnectAttempts, 20), RECONNECT_DELAY_MS_MAX);
    this.reconnectAttempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connecting = this.reconnect().finally(() => (this.connecting = null));
    }, delayMs);
  }

  private async reconnect(): Promise<void> {
    try {
      const transport = await this.open();
      if (this.closing !== null) {
        transport.close(new ConnectionClosedError('the client was closed'));
        await transport.closed;
        return;
      }
      this.transport = transport;
      this.reconnectAttempts = 0;
      this.lastConnectionError = null;
      this.pump();
    } catch (error) {
      this.lastConnectionError = error as Error;
      this.scheduleReconnect();
    }
  }
}
