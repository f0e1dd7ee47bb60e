// Catch-up subscriptions on the client (es-tcp.md §5.7): history in pages, a volatile subscribe,
// history again up to the confirmation, then the queued live events without what was delivered;
// after a lost connection or an overflowing queue it starts over from the last event delivered.

import { AccessDeniedError, StreamDeletedError } from '../util/errors.js';
import { TcpCommand, commandName } from '../protocol/wire/commands.js';
import { SubscriptionDropReason, messages } from '../protocol/wire/messages.js';
import type { TcpPackage } from '../protocol/wire/package.js';
import type { ClientCore, Operation } from './client-core.js';
import { done, fail } from './client-core.js';
import { ProtocolError, SubscriptionDroppedError } from './client-errors.js';
import { CATCH_UP_PAGE_EVENTS, LIVE_QUEUE_EVENTS_MAX, SUBSCRIPTION_BUFFER_EVENTS_MAX } from './client-limits.js';
import type { FilterPlan } from './all-filter.js';
import { readAllPageOperation, readStreamPageOperation } from './read-operations.js';
import { RecordedEvent } from './recorded-event.js';
import { EventBuffer } from './event-buffer.js';
import { PageSize, readPage } from './page-size.js';

export type SubscriptionTarget = { readonly kind: 'stream'; readonly streamId: string } | { readonly kind: 'all'; readonly filter: FilterPlan | null };

const DROP_REASONS: Record<number, string> = Object.fromEntries(Object.entries(SubscriptionDropReason).map(([name, code]) => [code, name]));

export class Subscription implements AsyncIterableIterator<RecordedEvent> {
  private readonly buffer: EventBuffer;
  private readonly pageSize = new PageSize(CATCH_UP_PAGE_EVENTS);
  /**
   * The last revision (stream) or position ($all) handled: delivered, or passed over by the filter.
   * null until a subscription from 'end' learns where the end is.
   */
  private checkpoint: bigint | null;
  private live: RecordedEvent[] = [];
  private attemptId: string | null = null;
  private confirmedId: string | null = null;
  private lost = false;
  private overflowed = false;
  private dropped: Error | null = null;
  private wake: (() => void) | null = null;
  private closed = false;
  private markCaughtUp: () => void = () => {};
  private failCaughtUp: (error: Error) => void = () => {};
  /** Resolves the first time the subscription has read the history and listens live; rejects if it fails first. */
  readonly caughtUp: Promise<void>;

  /** `from`: the first revision / position to deliver, or null for 'end'. `onEnd` runs once when it stops. */
  constructor(private readonly core: ClientCore, private readonly target: SubscriptionTarget, from: bigint | null, private readonly onEnd: (s: Subscription) => void) {
    this.checkpoint = from === null ? null : from - 1n;
    this.buffer = new EventBuffer(SUBSCRIPTION_BUFFER_EVENTS_MAX);
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.markCaughtUp = resolve;
      this.failCaughtUp = reject;
    });
    this.caughtUp.catch(() => {}); // observed through iteration when nobody awaits it
    void this.run();
  }

  /** Stops the subscription: the iteration ends (events not yet taken are discarded) and the server is told. */
  unsubscribe(): Promise<void> {
    this.stop(null);
    return Promise.resolve();
  }

  next(): Promise<IteratorResult<RecordedEvent>> {
    return this.buffer.next();
  }

  return(): Promise<IteratorResult<RecordedEvent>> {
    this.stop(null);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RecordedEvent> {
    return this;
  }

  private get what(): string {
    return this.target.kind === 'stream' ? `subscribeToStream('${this.target.streamId}')` : 'subscribeToAll()';
  }

  private stop(error: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.end(error);
    if (error !== null) this.failCaughtUp(error);
    else this.markCaughtUp();
    this.leaveLive();
    this.signal();
    this.onEnd(this);
  }

  private async run(): Promise<void> {
    try {
      while (!this.closed) await this.cycle();
    } catch (error) {
      this.stop(error as Error);
    } finally {
      this.leaveLive();
    }
  }

  /** One history → subscribe → history → live pass; returns when it must start over. */
  private async cycle(): Promise<void> {
    this.live = [];
    this.lost = false;
    this.overflowed = false;
    this.dropped = null;
    if (this.checkpoint !== null) await this.catchUp(null);
    if (this.closed) return;
    const point = await this.core.execute(this.subscribeOperation());
    if (this.closed) return;
    // From 'end' the confirmation says where the end is. Reading once past it anyway costs one
    // page and catches what a confirmation that lags the subscription would miss (and a stream
    // that is deleted, which the server may confirm).
    if (this.checkpoint === null) this.checkpoint = point;
    await this.catchUp(point);
    this.markCaughtUp();
    while (!this.closed) {
      if (this.dropped !== null) throw this.dropped;
      if (this.lost || this.overflowed) {
        this.leaveLive();
        return;
      }
      const event = this.live.shift();
      if (event === undefined) await new Promise<void>((resolve) => (this.wake = resolve));
      else await this.handleLive(event);
    }
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private leaveLive(): void {
    if (this.confirmedId !== null) this.core.unsubscribe(this.confirmedId);
    this.confirmedId = null;
    this.attemptId = null;
  }

  /** Hands an event to the consumer, waiting while its buffer is full. */
  private async deliver(event: RecordedEvent, key: bigint): Promise<void> {
    this.checkpoint = key;
    await this.buffer.push(event);
  }

  private async handleLive(event: RecordedEvent): Promise<void> {
    const checkpoint = this.checkpoint as bigint;
    if (this.target.kind === 'all') {
      if (event.position <= checkpoint) return;
      if (this.target.filter !== null && !this.target.filter.accepts(event)) {
        this.checkpoint = event.position;
        return;
      }
      await this.deliver(event, event.position);
      return;
    }
    if (event.revision <= checkpoint) return;
    // A revision was skipped (the confirmation was behind, or events were truncated): read it.
    if (event.revision > checkpoint + 1n) await this.catchUp(event.revision - 1n);
    if (this.closed || event.revision <= (this.checkpoint as bigint)) return;
    await this.deliver(event, event.revision);
  }

  /** Reads and delivers from the checkpoint on, until the end (`until` null) or past `until`. */
  private async catchUp(until: bigint | null): Promise<void> {
    if (this.target.kind === 'stream') await this.catchUpStream(this.target.streamId, until);
    else await this.catchUpAll(this.target.filter, until);
  }

  private async catchUpStream(streamId: string, until: bigint | null): Promise<void> {
    while (!this.closed) {
      const from = (this.checkpoint as bigint) + 1n;
      const page = await readPage(this.core, this.pageSize, CATCH_UP_PAGE_EVENTS, (count) => readStreamPageOperation(streamId, from, count, true));
      if (!page.exists) return;
      for (const event of page.events) {
        if (this.closed) return;
        if (event.revision > (this.checkpoint as bigint)) await this.deliver(event, event.revision);
      }
      if (page.endOfStream || page.events.length === 0) return;
      if (until !== null && (this.checkpoint as bigint) >= until) return;
    }
  }

  private async catchUpAll(filter: FilterPlan | null, until: bigint | null): Promise<void> {
    while (!this.closed) {
      const from = (this.checkpoint as bigint) + 1n;
      const page = await readPage(this.core, this.pageSize, CATCH_UP_PAGE_EVENTS, (count) => readAllPageOperation(from, count, true, filter?.wire ?? null));
      for (const event of page.events) {
        if (this.closed) return;
        if (event.position <= (this.checkpoint as bigint)) continue;
        if (filter === null || filter.accepts(event)) await this.deliver(event, event.position);
        else this.checkpoint = event.position;
      }
      // Everything before `next` was examined (a filtered page may have matched none of it).
      if (page.next - 1n > (this.checkpoint as bigint)) this.checkpoint = page.next - 1n;
      if (page.end || page.next <= from) return;
      if (until !== null && (this.checkpoint as bigint) >= until) return;
    }
  }

  /** SubscribeToStream (or the filtered form for a filtered $all); resolves with the confirmation's point. */
  private subscribeOperation(): Operation<bigint> {
    const target = this.target;
    const description = this.what;
    const filter = target.kind === 'all' ? target.filter : null;
    const streamId = target.kind === 'stream' ? target.streamId : '';
    return {
      description,
      command: filter === null ? TcpCommand.SubscribeToStream : TcpCommand.FilteredSubscribeToStream,
      payload: filter === null
        ? messages.SubscribeToStream.encode({ eventStreamId: streamId, resolveLinkTos: false })
        : messages.FilteredSubscribeToStream.encode({ eventStreamId: '', resolveLinkTos: false, filter: filter.wire, checkpointInterval: 0 }),
      listener: {
        sent: (correlationId) => {
          this.attemptId = correlationId;
          this.live = [];
          this.overflowed = false;
        },
        push: (pkg) => this.onPush(pkg),
        lost: () => {
          this.lost = true;
          this.confirmedId = null;
          this.signal();
        },
      },
      interpret: (pkg) => {
        if (pkg.command === TcpCommand.SubscriptionConfirmation) {
          const confirmation = messages.SubscriptionConfirmation.decode(pkg.payload);
          this.confirmedId = pkg.correlationId;
          return done(target.kind === 'stream' ? confirmation.lastEventNumber : confirmation.lastCommitPosition);
        }
        if (pkg.command === TcpCommand.SubscriptionDropped) return fail(this.dropError(messages.SubscriptionDropped.decode(pkg.payload).reason));
        return fail(new ProtocolError(`${description}: unexpected reply ${commandName(pkg.command)}`));
      },
    };
  }

  private onPush(pkg: TcpPackage): void {
    if (pkg.correlationId !== this.attemptId || this.closed) return;
    switch (pkg.command) {
      case TcpCommand.StreamEventAppeared: {
        const { event } = messages.StreamEventAppeared.decode(pkg.payload);
        if (event?.event === undefined) return;
        if (this.live.length >= LIVE_QUEUE_EVENTS_MAX) {
          // The consumer or the catch-up is behind: stop listening and read instead.
          this.overflowed = true;
          this.live = [];
        } else if (!this.overflowed) {
          this.live.push(new RecordedEvent(event.event, event.commitPosition));
        }
        break;
      }
      case TcpCommand.SubscriptionDropped:
        this.confirmedId = null;
        this.dropped = this.dropError(messages.SubscriptionDropped.decode(pkg.payload).reason);
        break;
      default:
        return; // CheckpointReached: no checkpoint interval is asked for
    }
    this.signal();
  }

  private dropError(reason: number): Error {
    const streamId = this.target.kind === 'stream' ? this.target.streamId : '$all';
    if (reason === SubscriptionDropReason.AccessDenied) return new AccessDeniedError(streamId, 'read');
    // The server drops a subscription to a hard-deleted stream as NotFound.
    if (reason === SubscriptionDropReason.NotFound && this.target.kind === 'stream') return new StreamDeletedError(streamId);
    return new SubscriptionDroppedError(this.what, DROP_REASONS[reason] ?? `reason ${reason}`);
  }
}
