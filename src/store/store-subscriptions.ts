// subscribeToStream and subscribeToAll of the embedded store: their options, the cursors that read
// one stream or $all for a subscription, the store's live feed (started by the first subscription)
// and the open subscriptions that closing the store ends.

import { InvalidArgumentError, StoreClosedError, StoreOverloadedError, StreamDeletedError } from '../util/errors.js';
import {
  SUBSCRIPTIONS_OPEN_MAX, POSITION_MAX, SUBSCRIPTION_CHECKPOINT_INTERVAL_EVENTS_DEFAULT, SUBSCRIPTION_CHECKPOINT_INTERVAL_EVENTS_MAX,
  SUBSCRIPTION_LIVE_BUFFER_EVENTS_DEFAULT, SUBSCRIPTION_LIVE_BUFFER_EVENTS_MAX,
} from '../util/limits.js';
import { validatePrincipal, type Principal } from './access.js';
import { validateStreamId } from './event-input.js';
import { LiveFeed, type FeedSource } from './live-feed.js';
import { checkOptionKeys, type ReadAllFilter } from './read-options.js';
import type { RecordedEvent } from './recorded-event.js';
import { CatchUpSubscription, type CursorPage, type StoreSubscription, type SubscriptionCursor, type SubscriptionSettings } from './store-subscription.js';
import { ALL_STREAM, STREAM_DELETED_EVENT_TYPE, isMetastream, metastreamOf, streamOfMetastream } from './stream-names.js';
import { parseSubscriptionFilter, type EventPredicate, type SubscriptionFilter } from './subscription-filter.js';

/** Where a subscription starts: 'start' (the first event), 'end' (events appended after the call), or after this key (exclusive). */
export type SubscribeFrom = 'start' | 'end' | bigint;

export interface SubscribeToStreamOptions {
  /** Default 'start'. A bigint delivers the events after that revision (exclusive, as EventStoreDB). */
  fromRevision?: SubscribeFrom;
  /**
   * Live events held for a consumer that has not taken them, 1 … 100,000
   * (SUBSCRIPTION_LIVE_BUFFER_EVENTS_MAX; default 10,000). A consumer further behind is served
   * from the log instead, so no event is lost and memory stays bounded.
   */
  liveBufferEvents?: number;
  /** Whose subscription this is (access control, as readStream); absent: the embedding process. */
  principal?: Principal;
}

export interface SubscribeToAllOptions {
  /** Default 'start'. A bigint delivers the events after that position (exclusive, as EventStoreDB). */
  fromPosition?: SubscribeFrom;
  /** Only these events (default: every event of $all, as readAll shows $all). */
  filter?: SubscriptionFilter;
  /**
   * Positions examined (matching or not) between two onCheckpoint calls, 1 … 100,000,000
   * (SUBSCRIPTION_CHECKPOINT_INTERVAL_EVENTS_MAX; default 1000). Needs onCheckpoint.
   */
  checkpointIntervalEvents?: number;
  /**
   * Called with a position p while the consumer waits in next(), once it has taken every matching
   * event up to p and the subscription has examined every event up to p: resubscribing with
   * `fromPosition: p` continues without a gap or a duplicate. Due every checkpointIntervalEvents
   * positions examined (reported at the next matching event or page or live batch; checkpoints
   * due together are reported once, as the latest) and each time the subscription becomes live.
   * A throw ends the subscription with that error.
   */
  onCheckpoint?: (position: bigint) => void;
  /** As subscribeToStream's. */
  liveBufferEvents?: number;
  /** Whose subscription this is (access control, as readAll); absent: the embedding process. */
  principal?: Principal;
}

/** What the subscriptions read of the store; every call is synchronous. */
export interface SubscriptionSource {
  /** Throws StoreClosedError once the store is closing. */
  checkOpen(): void;
  /** Throws AccessDeniedError unless the principal may read the stream (`$all` for $all). */
  checkRead(principal: Principal | undefined, streamId: string): void;
  /** Throws StreamDeletedError when the stream (or the stream of a metastream) is hard-deleted. */
  checkNotDeleted(streamId: string): void;
  /** Position of the last durable event, -1 when there is none. */
  headPosition(): number;
  /** Events in the stream, visible or not (its last revision + 1). */
  eventCount(streamId: string): number;
  /**
   * $all forwards from `from` (inclusive) as written, by the category or event-type index when
   * given; `cut`: the page stopped at its byte budget (READ_PAGE_BYTES), more may follow.
   */
  readAll(from: bigint, maxCount: number, indexed: ReadAllFilter | undefined): { events: RecordedEvent[]; cut: boolean };
  /** As readStream forwards from `fromRevision` (inclusive): metadata, access and deletes apply; `cut` as readAll. */
  readStream(streamId: string, fromRevision: bigint, maxCount: number, principal: Principal | undefined): { events: RecordedEvent[]; cut: boolean };
}

/** $all, or the part a filter selects. Keys are positions. */
class AllCursor implements SubscriptionCursor {
  readonly feedMatch: (event: RecordedEvent) => boolean;

  /** `examineAll`: the feed passes every event (checkpoints count the ones that do not match). */
  constructor(private readonly source: SubscriptionSource, readonly matches: EventPredicate, private readonly indexed: ReadAllFilter | undefined, examineAll: boolean) {
    this.feedMatch = examineAll ? () => true : matches;
  }

  read(after: bigint, maxCount: number): CursorPage {
    const headPosition = BigInt(this.source.headPosition());
    // With an index the page holds up to maxCount matching events; a scan examines maxCount.
    const { events: page, cut } = this.source.readAll(after + 1n, maxCount, this.indexed);
    // A read returns fewer than asked only when it reached the head (holes are skipped, not counted)
    // or its byte budget (it then holds at least one event).
    const atEnd = page.length < maxCount && !cut;
    const through = atEnd ? (headPosition > after ? headPosition : after) : page[page.length - 1].position;
    return { events: this.indexed === undefined ? page.filter(this.matches) : page, through, atEnd, headPosition };
  }

  keyOf(event: RecordedEvent): bigint {
    return event.position;
  }

  endsAt(): Error | null {
    return null;
  }
}

/** One stream as readStream shows it; keys are revisions. A hard delete ends it. */
class StreamCursor implements SubscriptionCursor {
  readonly feedMatch: (event: RecordedEvent) => boolean;
  /** The stream whose tombstone ends the subscription (S for `$$S` too: reads of `$$S` then fail as well). */
  private readonly target: string;
  private readonly tombstoneStream: string;

  constructor(private readonly source: SubscriptionSource, private readonly streamId: string, private readonly principal: Principal | undefined) {
    this.target = isMetastream(streamId) ? streamOfMetastream(streamId) : streamId;
    this.tombstoneStream = metastreamOf(this.target);
    this.feedMatch = (e) => e.streamId === streamId || (e.streamId === this.tombstoneStream && e.type === STREAM_DELETED_EVENT_TYPE);
  }

  read(after: bigint, maxCount: number): CursorPage {
    const headPosition = BigInt(this.source.headPosition());
    const { events, cut } = this.source.readStream(this.streamId, after + 1n, maxCount, this.principal);
    const through = events.length > 0 ? events[events.length - 1].revision : after;
    return { events, through, atEnd: events.length < maxCount && !cut, headPosition };
  }

  keyOf(event: RecordedEvent): bigint {
    return event.revision;
  }

  matches(event: RecordedEvent): boolean {
    return event.streamId === this.streamId;
  }

  endsAt(event: RecordedEvent): Error | null {
    return event.streamId === this.tombstoneStream && event.type === STREAM_DELETED_EVENT_TYPE ? new StreamDeletedError(this.target) : null;
  }
}

function parseFrom(value: unknown, key: string): SubscribeFrom {
  if (value === undefined) return 'start';
  // POSITION_MAX itself is refused: nothing can come after it.
  if (value === 'start' || value === 'end' || (typeof value === 'bigint' && value >= 0n && value < BigInt(POSITION_MAX))) return value;
  throw new InvalidArgumentError(`${key} must be 'start', 'end' or a bigint >= 0n`);
}

function parseCount(value: unknown, key: string, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(`${key} must be an integer in 1..${max}`);
  }
  return value;
}

const STREAM_KEYS = ['fromRevision', 'liveBufferEvents', 'principal'];
const ALL_KEYS = ['fromPosition', 'filter', 'checkpointIntervalEvents', 'onCheckpoint', 'liveBufferEvents', 'principal'];

export class StoreSubscriptions {
  private feed: LiveFeed | null = null;
  private readonly open = new Set<CatchUpSubscription>();
  private closed = false;
  private readonly host = {
    feed: (): LiveFeed => {
      if (this.closed) throw new StoreClosedError();
      // A feed whose read failed told its subscribers so (they ended with the error); later
      // ones get a new feed from the head now rather than one that delivers nothing.
      if (this.feed === null || this.feed.stopped) this.feed = LiveFeed.startAt(this.feedSource, BigInt(this.source.headPosition()));
      return this.feed;
    },
    checkOpen: (): void => this.source.checkOpen(),
    forget: (subscription: CatchUpSubscription): void => void this.open.delete(subscription),
  };

  constructor(private readonly feedSource: FeedSource, private readonly source: SubscriptionSource) {}

  /** See EventStore.subscribeToStream. Errors reject the first next(). */
  toStream(streamId: string, options: SubscribeToStreamOptions | undefined): StoreSubscription {
    try {
      this.source.checkOpen();
      checkOptionKeys(options, STREAM_KEYS, 'subscribeToStream');
      validateStreamId(streamId);
      if (streamId === ALL_STREAM) throw new InvalidArgumentError(`'${ALL_STREAM}' is subscribed to with subscribeToAll`);
      const from = parseFrom(options?.fromRevision, 'fromRevision');
      const liveBufferEvents = parseCount(options?.liveBufferEvents, 'liveBufferEvents', SUBSCRIPTION_LIVE_BUFFER_EVENTS_MAX, SUBSCRIPTION_LIVE_BUFFER_EVENTS_DEFAULT);
      const principal = validatePrincipal(options?.principal);
      this.source.checkRead(principal, streamId);
      this.source.checkNotDeleted(streamId);
      const after = from === 'start' ? -1n : from === 'end' ? BigInt(this.source.eventCount(streamId) - 1) : from;
      return this.add(new StreamCursor(this.source, streamId, principal), { after, liveNow: from === 'end', liveBufferEvents, checkpoint: null });
    } catch (error) {
      return CatchUpSubscription.failing(error);
    }
  }

  /** See EventStore.subscribeToAll. Errors reject the first next(). */
  toAll(options: SubscribeToAllOptions | undefined): StoreSubscription {
    try {
      this.source.checkOpen();
      checkOptionKeys(options, ALL_KEYS, 'subscribeToAll');
      const from = parseFrom(options?.fromPosition, 'fromPosition');
      const filter = parseSubscriptionFilter(options?.filter);
      const liveBufferEvents = parseCount(options?.liveBufferEvents, 'liveBufferEvents', SUBSCRIPTION_LIVE_BUFFER_EVENTS_MAX, SUBSCRIPTION_LIVE_BUFFER_EVENTS_DEFAULT);
      const onCheckpoint = options?.onCheckpoint;
      if (onCheckpoint !== undefined && typeof onCheckpoint !== 'function') throw new InvalidArgumentError('onCheckpoint must be a function');
      if (options?.checkpointIntervalEvents !== undefined && onCheckpoint === undefined) {
        throw new InvalidArgumentError('checkpointIntervalEvents needs onCheckpoint');
      }
      const intervalEvents = parseCount(
        options?.checkpointIntervalEvents, 'checkpointIntervalEvents', SUBSCRIPTION_CHECKPOINT_INTERVAL_EVENTS_MAX, SUBSCRIPTION_CHECKPOINT_INTERVAL_EVENTS_DEFAULT,
      );
      const principal = validatePrincipal(options?.principal);
      this.source.checkRead(principal, ALL_STREAM);
      const after = from === 'start' ? -1n : from === 'end' ? BigInt(this.source.headPosition()) : from;
      const checkpoint = onCheckpoint === undefined ? null : { intervalEvents, onCheckpoint };
      const cursor = new AllCursor(this.source, filter.matches, filter.indexed, checkpoint !== null);
      return this.add(cursor, { after, liveNow: from === 'end', liveBufferEvents, checkpoint });
    } catch (error) {
      return CatchUpSubscription.failing(error);
    }
  }

  /** Ends every open subscription with StoreClosedError and stops the feed (the store is closing). */
  closeAll(): void {
    this.closed = true;
    this.feed?.stop();
    const error = new StoreClosedError();
    for (const subscription of [...this.open]) subscription.fail(error);
    this.open.clear();
  }

  private add(cursor: SubscriptionCursor, settings: SubscriptionSettings): StoreSubscription {
    if (this.open.size >= SUBSCRIPTIONS_OPEN_MAX) {
      throw new StoreOverloadedError(`${this.open.size} subscriptions are open on this store, the most there may be (SUBSCRIPTIONS_OPEN_MAX); unsubscribe one first`);
    }
    const subscription = new CatchUpSubscription(cursor, settings, this.host);
    this.open.add(subscription);
    return subscription;
  }
}
