// The volatile subscriptions of one connection (SubscribeToStream, FilteredSubscribeToStream,
// UnsubscribeFromStream): confirmation, then every matching event appended after it, pushed with
// the subscribe request's correlation id. format-spec/protocol.md §9.4.

import { AccessDeniedError, StreamDeletedError } from '../../util/errors.js';
import type { Principal } from '../../store/access.js';
import type { EventStore } from '../../store/event-store.js';
import type { RecordedEvent } from '../../store/recorded-event.js';
import type { LiveFeed, LiveSubscription } from '../../store/live-feed.js';
import { TcpCommand } from '../wire/commands.js';
import { SubscriptionDropReason, messages, type FilteredSubscribeToStream, type SubscribeToStream } from '../wire/messages.js';
import { encodePackageFrame, makePackage } from '../wire/package.js';
import { resolvedEventOf } from './event-convert.js';
import { filterPredicate } from './event-filter.js';
import type { Reply } from './reply.js';
import { SUBSCRIPTIONS_PER_CONNECTION_MAX } from './server-limits.js';

function dropped(reason: number): Reply {
  return { command: TcpCommand.SubscriptionDropped, payload: messages.SubscriptionDropped.encode({ reason }) };
}

export class Subscriptions {
  private readonly live = new Map<string, LiveSubscription>();

  /** `send` queues a framed package on the connection. */
  constructor(private readonly store: EventStore, private readonly feed: LiveFeed, private readonly send: (frame: Uint8Array) => void) {}

  async subscribe(correlationId: string, principal: Principal, request: SubscribeToStream): Promise<Reply | null> {
    const stream = request.eventStreamId === '' ? null : request.eventStreamId;
    return this.start(correlationId, principal, stream, stream === null ? () => true : (e) => e.streamId === stream, null);
  }

  async subscribeFiltered(correlationId: string, principal: Principal, request: FilteredSubscribeToStream): Promise<Reply | null> {
    const stream = request.eventStreamId === '' ? null : request.eventStreamId;
    const matches = filterPredicate(request.filter);
    const inStream = stream === null ? () => true : (e: RecordedEvent) => e.streamId === stream;
    return this.start(correlationId, principal, stream, (e) => inStream(e) && matches(e), request.checkpointInterval > 0 ? request.checkpointInterval : null);
  }

  private async start(
    correlationId: string, principal: Principal, stream: string | null, match: (e: RecordedEvent) => boolean, checkpointInterval: number | null,
  ): Promise<Reply | null> {
    if (this.live.size >= SUBSCRIPTIONS_PER_CONNECTION_MAX || this.live.has(correlationId)) return dropped(SubscriptionDropReason.SubscriberMaxCountReached);
    let lastEventNumber = 0n;
    try {
      if (stream === null) {
        await this.store.readAll({ maxCount: 0, principal });
      } else {
        const info = await this.store.streamInfo(stream, { principal });
        // streamInfo reports a hard delete rather than throwing it.
        if (info.deleted === 'hard') return dropped(SubscriptionDropReason.NotFound);
        lastEventNumber = info.lastRevision;
      }
    } catch (error) {
      if (error instanceof AccessDeniedError) return dropped(SubscriptionDropReason.AccessDenied);
      if (error instanceof StreamDeletedError) return dropped(SubscriptionDropReason.NotFound);
      throw error;
    }
    let examined = 0;
    const push = (command: number, payload: Uint8Array): void => this.send(encodePackageFrame(makePackage(command, correlationId, payload)));
    // With a checkpoint interval every event is looked at here, so CheckpointReached can report
    // progress through events that do not match.
    const subscription = this.feed.subscribe(
      checkpointInterval === null ? match : () => true,
      (events) => {
        for (const event of events) {
          if (checkpointInterval === null || match(event)) push(TcpCommand.StreamEventAppeared, messages.StreamEventAppeared.encode({ event: resolvedEventOf(event) }));
          if (checkpointInterval !== null && ++examined % checkpointInterval === 0) {
            push(TcpCommand.CheckpointReached, messages.CheckpointReached.encode({ commitPosition: event.position, preparePosition: event.position }));
          }
        }
      },
    );
    this.live.set(correlationId, subscription);
    if (stream !== null) {
      // The revision the confirmation reports must be the stream's at the feed's start, not at the
      // first streamInfo above: a commit may have landed in between (in the microtasks before
      // this continuation), and a client catching up to the reported revision would then miss
      // it. streamInfo takes its snapshot synchronously when called, so calling it in the same
      // synchronous block as feed.subscribe() pairs the two.
      const atStart = this.store.streamInfo(stream, { principal });
      lastEventNumber = (await atStart).lastRevision;
    }
    const confirmation = { lastCommitPosition: subscription.startAfter, ...(stream === null ? { lastEventNumber: 0n } : { lastEventNumber }) };
    return { command: TcpCommand.SubscriptionConfirmation, payload: messages.SubscriptionConfirmation.encode(confirmation) };
  }

  /** UnsubscribeFromStream carries the subscription's correlation id; the answer is a drop. */
  unsubscribe(correlationId: string): Reply | null {
    const subscription = this.live.get(correlationId);
    if (subscription === undefined) return null;
    subscription.close();
    this.live.delete(correlationId);
    return dropped(SubscriptionDropReason.Unsubscribed);
  }

  closeAll(): void {
    for (const subscription of this.live.values()) subscription.close();
    this.live.clear();
  }
}
