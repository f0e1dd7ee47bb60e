// One client connection: frames in, packages decoded, requests dispatched concurrently (answers go
// out as they complete, matched by correlation id; reads through a gate), heartbeats,
// authentication, volatile and persistent subscriptions, and every way a misbehaving peer is cut
// off. format-spec/protocol.md §8, §9.6, §10.

import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { AnnalError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { ANONYMOUS, OPS_ROLE, isAdmin, type Principal } from '../../store/access.js';
import type { EventStore } from '../../store/event-store.js';
import type { LiveFeed } from '../../store/live-feed.js';
import type { PersistentSubscriptions } from '../../subscriptions/persistent/persistent-subscriptions.js';
import { TcpCommand, commandName, isClientRequest } from '../wire/commands.js';
import { LengthPrefixFramer } from '../wire/framer.js';
import { ZERO_GUID } from '../wire/guid.js';
import { COMMAND_PAYLOADS, messages, NotHandledReason, ScavengeResult } from '../wire/messages.js';
import { TcpFlags, decodePackage, encodePackageFrame, makePackage, type TcpPackage } from '../wire/package.js';
import { WireError } from '../wire/wire-error.js';
import type { SharedAssemblyBudget } from './assembly-budget.js';
import type { SharedSendBudget } from './send-budget.js';
import { filteredReadAllEvents, readAllEvents, readEvent, readStreamEvents } from './read-operations.js';
import { ReadGate, isReadCommand } from './read-gate.js';
import type { Reply } from './reply.js';
import { SendQueue } from './send-queue.js';
import { REQUESTS_IN_FLIGHT_MAX, type ServerLimits } from './server-limits.js';
import { Subscriptions } from './subscriptions.js';
import { Transactions, deleteStream, writeEvents } from './write-operations.js';
import { PersistentConsumers } from './persistent-consumers.js';
import { createGroup, deleteGroup, updateGroup } from './persistent-groups.js';

/** Checks a login; null when it is unknown, wrong, disabled or throttled. */
export interface Authenticator {
  authenticate(login: string, password: string, source: string): Promise<Principal | null>;
}

export interface ServerContext {
  readonly store: EventStore;
  readonly feed: LiveFeed;
  /** The persistent-subscription groups served. */
  readonly persistent: PersistentSubscriptions;
  readonly transactions: Transactions;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** The bounds of every connection (server-limits.ts; the defaults unless the server was started with others). */
  readonly limits: ServerLimits;
  /** Bytes in unfinished frames, shared by all connections (FRAME_ASSEMBLY_BYTES_MAX). */
  readonly assemblyBudget: SharedAssemblyBudget;
  /** Bytes in all send queues (SEND_QUEUES_BYTES_MAX). */
  readonly sendBudget: SharedSendBudget;
  /** The id of the scavenge a client started, while it runs (one at a time, server-wide). */
  readonly scavenge: { running: string | null };
}

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

/** IdentifyClient's connection name, or '' when there is none or the payload does not decode (it is answered either way). */
function connectionNameOf(payload: Uint8Array): string {
  try {
    return messages.IdentifyClient.decode(payload).connectionName ?? '';
  } catch {
    return '';
  }
}

export class Connection {
  private readonly framer: LengthPrefixFramer;
  private readonly queue: SendQueue;
  private readonly reads: ReadGate;
  private readonly subscriptions: Subscriptions;
  private readonly consumers: PersistentConsumers;
  /** The name the client gave in IdentifyClient, if any. */
  private clientName = '';
  private defaultPrincipal: Principal = ANONYMOUS;
  private inFlight = 0;
  private lastReceivedMs = Date.now();
  private heartbeatSentMs = 0;
  private frameStartedMs = 0;
  /** Date.now() since when the server has stopped reading the socket (back-pressure), or 0. */
  private pausedSinceMs = 0;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly socket: Socket, private readonly context: ServerContext, private readonly onClose: (connection: Connection) => void) {
    const { limits } = context;
    this.framer = new LengthPrefixFramer(context.assemblyBudget);
    this.queue = new SendQueue(socket, (reason) => this.close(reason), limits, () => {
      this.reads.admit();
      this.consumers.drain();
    }, context.sendBudget);
    this.reads = new ReadGate(limits.readsInFlightMax, limits.readStartQueueBytesMax, () => this.queue.bytes, () => this.updateFlow());
    this.subscriptions = new Subscriptions(context.store, context.feed, (frame) => this.queue.send(frame));
    // While the peer is behind, this connection's consumers refuse deliveries: the group gives the
    // events to its other consumers and sends these nothing until the queue drains (drain above).
    const deliveryPackagesMax = Math.floor(limits.sendQueuePackagesMax / 2);
    this.consumers = new PersistentConsumers({
      groups: context.persistent,
      store: context.store,
      logger: context.logger,
      send: (frame) => this.queue.send(frame),
      queueHasRoom: () => this.queue.bytes <= limits.persistentDeliveryQueueBytesMax && this.queue.packages <= deliveryPackagesMax,
      consumerName: () => (this.clientName === '' ? this.remote : `${this.clientName} (${this.remote})`),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.close(`socket error: ${error.message}`));
    socket.on('close', () => {
      const leftBytes = this.framer.bufferedBytes;
      this.close(leftBytes > 0 ? `the peer closed the connection in the middle of a frame (${leftBytes} bytes of it received)` : null);
    });
    const { heartbeatIntervalMs, frameCompletionMsMax } = context.limits;
    this.timer = setInterval(() => this.tick(), Math.min(heartbeatIntervalMs, frameCompletionMsMax, 1000));
    this.timer.unref();
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** Closes the connection; `reason` (when not a normal close) is logged. */
  close(reason: string | null): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.reads.close();
    this.framer.discard();
    this.subscriptions.closeAll();
    this.consumers.closeAll();
    this.queue.flushNow();
    this.queue.close();
    if (reason !== null) this.context.logger.warn('closing a client connection', { remote: this.remote, reason });
    this.socket.destroy();
    this.onClose(this);
  }

  private receive(chunk: Buffer): void {
    this.lastReceivedMs = Date.now();
    let framesCompleted = 0;
    try {
      for (const frame of this.framer.feed(chunk)) {
        framesCompleted++;
        this.dispatch(frame);
        // A frame that closed the connection (TrustedWrite, an unreadable header) ends the chunk:
        // requests behind it are not executed, however the bytes happened to be cut into reads.
        if (this.closed) return;
      }
    } catch (error) {
      if (error instanceof WireError && error.code === 'ASSEMBLY_REFUSED') {
        // Not this client's fault alone, and its byte stream is sound; but the frame cannot be
        // finished, so the connection cannot go on. No BadRequest: the request was not bad.
        const { frameAssemblyBytesMax } = this.context.limits;
        this.close(`unfinished frames of all connections would pass ${frameAssemblyBytesMax} bytes (FRAME_ASSEMBLY_BYTES_MAX; ${this.context.assemblyBudget.bytes} held by the others): ${error.message}`);
        return;
      }
      // A framing error desynchronises the byte stream: say why, then hang up.
      this.reply(ZERO_GUID, { command: TcpCommand.BadRequest, payload: utf8(error instanceof Error ? error.message : String(error)) });
      this.close(`framing error: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    // The slowloris clock runs from when the unfinished frame began: if this chunk completed a
    // frame, the bytes left over started a new one now. (Measuring from when the buffer was last
    // empty would cut off a client that streams whole frames whose chunks all end mid-frame.)
    if (this.framer.bufferedBytes === 0) this.frameStartedMs = 0;
    else if (framesCompleted > 0 || this.frameStartedMs === 0) this.frameStartedMs = this.lastReceivedMs;
  }

  /**
   * Stops reading the socket while REQUESTS_IN_FLIGHT_MAX requests are in progress or reads wait
   * at the gate, and reads again once neither holds. Time spent not reading is not the peer's:
   * its unfinished frame's clock is moved on by it, and the silence clock starts afresh.
   */
  private updateFlow(): void {
    if (this.closed) return;
    const hold = this.inFlight >= REQUESTS_IN_FLIGHT_MAX || this.reads.waiting > 0;
    if (hold && this.pausedSinceMs === 0) {
      this.pausedSinceMs = Date.now();
      this.socket.pause();
    } else if (!hold && this.pausedSinceMs !== 0) {
      const now = Date.now();
      if (this.frameStartedMs !== 0) this.frameStartedMs += now - this.pausedSinceMs;
      this.lastReceivedMs = now;
      this.pausedSinceMs = 0;
      this.socket.resume();
    }
  }

  private tick(): void {
    const now = Date.now();
    const { frameCompletionMsMax, heartbeatIntervalMs, heartbeatTimeoutMs } = this.context.limits;
    if (this.pausedSinceMs !== 0) {
      // The server is not reading this peer, so it can neither hear it nor see its frame finish;
      // the peer shows it is alive by taking its answers. One that takes nothing is not reading.
      const stalledSinceMs = this.queue.stalledSinceMs;
      const stalledMs = stalledSinceMs === 0 ? 0 : now - Math.max(stalledSinceMs, this.lastReceivedMs);
      if (stalledMs > heartbeatIntervalMs + heartbeatTimeoutMs) {
        this.close(`the peer took no bytes for ${stalledMs} ms while the server waited for it to read (HEARTBEAT_INTERVAL_MS + HEARTBEAT_TIMEOUT_MS)`);
      }
      return;
    }
    if (this.frameStartedMs !== 0 && now - this.frameStartedMs > frameCompletionMsMax) {
      this.close(`a frame was not completed within ${frameCompletionMsMax} ms (FRAME_COMPLETION_MS_MAX)`);
      return;
    }
    const silentMs = now - this.lastReceivedMs;
    if (silentMs > heartbeatIntervalMs + heartbeatTimeoutMs) {
      this.close(`no package for ${silentMs} ms (HEARTBEAT_TIMEOUT_MS)`);
    } else if (silentMs > heartbeatIntervalMs && now - this.heartbeatSentMs > heartbeatIntervalMs) {
      this.heartbeatSentMs = now;
      this.queue.send(encodePackageFrame(makePackage(TcpCommand.HeartbeatRequestCommand, crypto.randomUUID())), true);
    }
  }

  /**
   * Queues an answer. One too large for a frame (a read page of huge events) is answered with a
   * BadRequest saying so: a throw here would be an unhandled rejection, which ends the process.
   */
  private reply(correlationId: string, reply: Reply, urgent = false, request?: number): void {
    if (this.closed) return;
    let frame: Uint8Array;
    try {
      frame = encodePackageFrame(makePackage(reply.command, correlationId, reply.payload));
    } catch (error) {
      if (!(error instanceof WireError) || error.code !== 'FRAME_TOO_LARGE') throw error;
      const what = request === undefined ? '' : `${commandName(request)}: `;
      frame = encodePackageFrame(makePackage(TcpCommand.BadRequest, correlationId, utf8(`${what}${error.message}; ask for fewer events`)));
    }
    this.queue.send(frame, urgent);
  }

  private dispatch(frame: Uint8Array): void {
    let pkg: TcpPackage;
    try {
      pkg = decodePackage(frame);
    } catch (error) {
      // The header itself is unreadable: no correlation id to answer to.
      this.reply(ZERO_GUID, { command: TcpCommand.BadRequest, payload: utf8((error as Error).message) });
      this.close(`bad package: ${(error as Error).message}`);
      return;
    }
    if (pkg.flags & TcpFlags.TrustedWrite) {
      this.reply(pkg.correlationId, { command: TcpCommand.BadRequest, payload: utf8('the TrustedWrite flag is for node-to-node traffic only') });
      this.close('a client sent the TrustedWrite flag');
      return;
    }
    switch (pkg.command) {
      case TcpCommand.HeartbeatRequestCommand:
        this.reply(pkg.correlationId, { command: TcpCommand.HeartbeatResponseCommand, payload: new Uint8Array(0) }, true);
        return;
      case TcpCommand.HeartbeatResponseCommand:
      case TcpCommand.BadRequest:
        return;
      case TcpCommand.Ping:
        this.reply(pkg.correlationId, { command: TcpCommand.Pong, payload: pkg.payload }, true);
        return;
      case TcpCommand.IdentifyClient:
        this.clientName = connectionNameOf(pkg.payload);
        this.context.logger.info('client identified', { remote: this.remote, ...(this.clientName === '' ? {} : { name: this.clientName }) });
        this.reply(pkg.correlationId, { command: TcpCommand.ClientIdentified, payload: new Uint8Array(0) });
        return;
    }
    if (!isClientRequest(pkg.command) || !COMMAND_PAYLOADS.has(pkg.command)) {
      this.reply(pkg.correlationId, { command: TcpCommand.BadRequest, payload: utf8(`unknown or unexpected command ${commandName(pkg.command)}`) });
      return;
    }
    this.inFlight++;
    this.updateFlow();
    void (isReadCommand(pkg.command) ? this.respondToRead(pkg) : this.respond(pkg)).finally(() => {
      this.inFlight--;
      this.updateFlow();
    });
  }

  /** Handles a request and queues its answer (or the failure it ended in). */
  private async respond(pkg: TcpPackage): Promise<void> {
    let reply: Reply | null;
    try {
      reply = await this.handle(pkg);
    } catch (error) {
      reply = this.failure(pkg, error);
    }
    if (reply !== null) this.reply(pkg.correlationId, reply, false, pkg.command);
  }

  /**
   * A read waits its turn at the gate and holds it until its answer is in the send queue, so the
   * next read to start sees that answer's bytes there.
   */
  private async respondToRead(pkg: TcpPackage): Promise<void> {
    if (!(await this.reads.acquire())) return; // the connection ended while the read waited
    try {
      await this.respond(pkg);
    } finally {
      this.reads.release();
    }
  }

  /** What a request that threw gets: BadRequest for bad input, NotHandled when the store is down. */
  private failure(pkg: TcpPackage, error: unknown): Reply {
    if (error instanceof WireError || error instanceof AnnalError) {
      if (error.code === 'STORE_FAILED' || error.code === 'STORE_CLOSED' || error.code === 'STORE_OVERLOADED') {
        return { command: TcpCommand.NotHandled, payload: messages.NotHandled.encode({ reason: error.code === 'STORE_OVERLOADED' ? NotHandledReason.TooBusy : NotHandledReason.NotReady }) };
      }
      return { command: TcpCommand.BadRequest, payload: utf8(`${commandName(pkg.command)}: ${error.message}`) };
    }
    this.context.logger.warn('a request failed unexpectedly', { remote: this.remote, command: commandName(pkg.command), error: String(error) });
    return { command: TcpCommand.BadRequest, payload: utf8(`${commandName(pkg.command)}: internal error`) };
  }

  /** The request's principal: its own credentials, else the connection's login, else anonymous. */
  private async principalOf(pkg: TcpPackage): Promise<Principal | null> {
    if (pkg.credentials === null) return this.defaultPrincipal;
    return this.context.authenticator.authenticate(pkg.credentials.login, pkg.credentials.password, this.socket.remoteAddress ?? '');
  }

  private async handle(pkg: TcpPackage): Promise<Reply | null> {
    const principal = await this.principalOf(pkg);
    if (principal === null) return { command: TcpCommand.NotAuthenticated, payload: utf8('not authenticated') };
    const { store, transactions } = this.context;
    const c = TcpCommand;
    switch (pkg.command) {
      case c.Authenticate:
        if (pkg.credentials === null) return { command: c.NotAuthenticated, payload: utf8('Authenticate needs credentials') };
        this.defaultPrincipal = principal;
        return { command: c.Authenticated, payload: new Uint8Array(0) };
      case c.WriteEvents:
        return writeEvents(store, principal, messages.WriteEvents.decode(pkg.payload));
      case c.DeleteStream:
        return deleteStream(store, principal, messages.DeleteStream.decode(pkg.payload));
      case c.TransactionStart:
        return transactions.start(principal, messages.TransactionStart.decode(pkg.payload));
      case c.TransactionWrite:
        return transactions.write(principal, messages.TransactionWrite.decode(pkg.payload));
      case c.TransactionCommit:
        return transactions.commit(principal, messages.TransactionCommit.decode(pkg.payload));
      case c.ReadEvent:
        return readEvent(store, principal, messages.ReadEvent.decode(pkg.payload));
      case c.ReadStreamEventsForward:
      case c.ReadStreamEventsBackward:
        return readStreamEvents(store, principal, messages.ReadStreamEvents.decode(pkg.payload), pkg.command === c.ReadStreamEventsForward, this.context.limits.readPageBytesMax);
      case c.ReadAllEventsForward:
      case c.ReadAllEventsBackward:
        return readAllEvents(store, principal, messages.ReadAllEvents.decode(pkg.payload), pkg.command === c.ReadAllEventsForward, this.context.limits.readPageBytesMax);
      case c.FilteredReadAllEventsForward:
      case c.FilteredReadAllEventsBackward:
        return filteredReadAllEvents(store, principal, messages.FilteredReadAllEvents.decode(pkg.payload), pkg.command === c.FilteredReadAllEventsForward, this.context.limits.readPageBytesMax);
      case c.SubscribeToStream:
        return this.subscriptions.subscribe(pkg.correlationId, principal, messages.SubscribeToStream.decode(pkg.payload));
      case c.FilteredSubscribeToStream:
        return this.subscriptions.subscribeFiltered(pkg.correlationId, principal, messages.FilteredSubscribeToStream.decode(pkg.payload));
      case c.UnsubscribeFromStream:
        return this.subscriptions.unsubscribe(pkg.correlationId) ?? this.consumers.unsubscribe(pkg.correlationId);
      case c.CreatePersistentSubscription:
        return createGroup(this.context.persistent, principal, messages.CreatePersistentSubscription.decode(pkg.payload));
      case c.UpdatePersistentSubscription:
        return updateGroup(this.context.persistent, principal, messages.UpdatePersistentSubscription.decode(pkg.payload));
      case c.DeletePersistentSubscription:
        return deleteGroup(this.context.persistent, principal, messages.DeletePersistentSubscription.decode(pkg.payload));
      case c.ConnectToPersistentSubscription:
        return this.consumers.connect(pkg.correlationId, principal, messages.ConnectToPersistentSubscription.decode(pkg.payload));
      case c.PersistentSubscriptionAckEvents:
        return this.consumers.ack(pkg.correlationId, pkg.payload); // fire-and-forget: no answer
      case c.PersistentSubscriptionNakEvents:
        return this.consumers.nak(pkg.correlationId, pkg.payload);
      case c.ScavengeDatabase:
        return this.startScavenge(principal);
      default:
        return { command: c.NotHandled, payload: messages.NotHandled.encode({ reason: NotHandledReason.NotReady }) };
    }
  }

  /**
   * ScavengeDatabase: admins (and `$ops`) start a scavenge of the store in the background and are
   * answered Started with its id (InProgress while one runs); anyone else gets Unauthorized. The
   * outcome is logged (the 20.x protocol reports no completion).
   */
  private startScavenge(principal: Principal): Reply {
    const reply = (result: number, scavengeId = ''): Reply => ({
      command: TcpCommand.ScavengeDatabaseResponse, payload: messages.ScavengeDatabaseResponse.encode({ result, scavengeId }),
    });
    if (!isAdmin(principal) && !principal.groups.includes(OPS_ROLE)) return reply(ScavengeResult.Unauthorized);
    if (this.context.scavenge.running !== null) return reply(ScavengeResult.InProgress, this.context.scavenge.running);
    const scavengeId = randomUUID();
    this.context.scavenge.running = scavengeId;
    const { logger } = this.context;
    this.context.store.scavenge()
      .then((result) => logger.info('scavenge requested over TCP finished', { scavengeId, ...result }))
      .catch((error: unknown) => logger.warn('scavenge requested over TCP failed', { scavengeId, error: String(error) }))
      .finally(() => {
        this.context.scavenge.running = null;
      });
    return reply(ScavengeResult.Started, scavengeId);
  }
}
