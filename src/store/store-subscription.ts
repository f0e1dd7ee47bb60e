// A catch-up subscription (subscribeToStream, subscribeToAll): pages of history read from the log
// only when the consumer has taken the previous page, then live events from the feed, with no gap
// and no duplicate across the switch, and back to the log when the consumer falls behind.

import { assert } from '../util/assert.js';
import { SUBSCRIPTION_READ_PAGE_EVENTS } from '../util/limits.js';
import type { LiveFeed, LiveSubscription } from './live-feed.js';
import type { RecordedEvent } from './recorded-event.js';

/**
 * Events of a stream or of $all: first those already in the log, then each one as it becomes
 * durable. Iterate with `for await`; breaking out of the loop unsubscribes.
 */
export interface StoreSubscription extends AsyncIterableIterator<RecordedEvent> {
  /** Ends the subscription: a pending and every later next() is `done`. Resolves at once. */
  unsubscribe(): Promise<void>;
  /**
   * Resolves the first time the subscription is live: the consumer has taken every event that
   * was in the log when it switched to live events. The consumer's next() calls drive the
   * catch-up, so await it beside the loop, not before it. Rejects with the error that ended the
   * subscription first; resolves when unsubscribe() came first.
   */
  readonly caughtUp: Promise<void>;
}

/** One page of a read of the log after a key (a position in $all, a revision in a stream). */
export interface CursorPage {
  /** The events the subscription delivers, keys ascending, all after the key read from. */
  readonly events: RecordedEvent[];
  /** Every key up to this one has been looked at (matching or not). */
  readonly through: bigint;
  /** The read reached the store's head: what comes next is live. */
  readonly atEnd: boolean;
  /** The store's head position when the read was made (the read is synchronous). */
  readonly headPosition: bigint;
}

/** What a subscription reads: $all (filtered) or one stream. */
export interface SubscriptionCursor {
  /** Reads synchronously, so that the live registration made right after misses nothing. */
  read(after: bigint, maxCount: number): CursorPage;
  /** The key events are ordered and deduplicated by. */
  keyOf(event: RecordedEvent): bigint;
  /** Whether a live event is delivered (the feed may pass others, for checkpoints). */
  matches(event: RecordedEvent): boolean;
  /** What the live feed is asked for. */
  readonly feedMatch: (event: RecordedEvent) => boolean;
  /** The error that ends the subscription at this live event (a stream's tombstone), else null. */
  endsAt(event: RecordedEvent): Error | null;
}

export interface SubscriptionSettings {
  /** Key after which events are delivered (-1n: from the first). */
  readonly after: bigint;
  /** Register with the feed at once: 'end' (the caller read `after` as the head, synchronously). */
  readonly liveNow: boolean;
  readonly liveBufferEvents: number;
  /** $all only: called with a position every `intervalEvents` positions examined and when live. */
  readonly checkpoint: { readonly intervalEvents: number; readonly onCheckpoint: (position: bigint) => void } | null;
}

/** What the subscription needs of the store. */
export interface SubscriptionHost {
  readonly feed: () => LiveFeed;
  /** Throws StoreClosedError once the store is closing. */
  readonly checkOpen: () => void;
  /** The subscription ended: the host forgets it. */
  readonly forget: (subscription: CatchUpSubscription) => void;
}

type MarkerKind = 'checkpoint' | 'caughtUp' | 'error';

/** Something to do when the consumer reaches this point of the queue (everything before it was taken). */
class Marker {
  constructor(readonly kind: MarkerKind, public position: bigint, readonly error: unknown = undefined) {}
}

type Item = RecordedEvent | Marker;

interface Waiter {
  readonly resolve: (result: IteratorResult<RecordedEvent>) => void;
  readonly reject: (error: unknown) => void;
}

const DONE: IteratorResult<RecordedEvent> = Object.freeze({ value: undefined, done: true });

const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class CatchUpSubscription implements StoreSubscription {
  readonly caughtUp: Promise<void>;
  private settleCaughtUp: ((error?: unknown) => void) | null = null;
  /** Events and markers not yet taken; `first` is the next one. */
  private items: Item[] = [];
  private first = 0;
  private events = 0;
  /** Key of the last event queued or examined: the next read of the log starts after it. */
  private last: bigint;
  private live: LiveSubscription | null = null;
  private reading = false;
  private ended = false;
  /** The error the next next() rejects with, once; later calls are done. */
  private endError: unknown = undefined;
  private readonly waiters: Waiter[] = [];
  private serving = false;
  private serveAgain = false;
  /** The latest checkpoint queued (the start key before any): checkpoints only move forwards. */
  private queuedCheckpoint: bigint;
  private nextCheckpointAt: bigint;
  private fallbacks = 0;

  /** `failure`: a subscription that ends at once with it (bad options, access, a closed store). */
  constructor(
    private readonly cursor: SubscriptionCursor | null,
    private readonly settings: SubscriptionSettings,
    private readonly host: SubscriptionHost | null,
    failure?: unknown,
  ) {
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.settleCaughtUp = (error) => (error === undefined ? resolve() : reject(error));
    });
    // A caller that never looks at caughtUp must not get an unhandled rejection from it.
    this.caughtUp.catch(() => undefined);
    this.last = settings.after;
    this.queuedCheckpoint = settings.after;
    this.nextCheckpointAt = settings.after + BigInt(settings.checkpoint?.intervalEvents ?? 0);
    if (failure !== undefined || cursor === null || host === null) {
      this.end(failure);
      return;
    }
    if (settings.liveNow) {
      this.register();
      this.resolveCaughtUp();
    }
  }

  /** A subscription whose first next() rejects with `error` (as iterateAll reports bad options). */
  static failing(error: unknown): CatchUpSubscription {
    return new CatchUpSubscription(null, { after: -1n, liveNow: false, liveBufferEvents: 1, checkpoint: null }, null, error);
  }

  /** Test hook: events held for the consumer (live ones or one page of history). */
  get bufferedEventCount(): number {
    return this.events;
  }

  /** Test hook: whether it is registered with the live feed now. */
  get isLive(): boolean {
    return this.live !== null;
  }

  /** Test hook: how many times it fell behind its live buffer and went back to the log. */
  get fallbackCount(): number {
    return this.fallbacks;
  }

  next(): Promise<IteratorResult<RecordedEvent>> {
    // The common case costs one resolved promise: an event is waiting and nobody is before us.
    if (this.waiters.length === 0 && this.first < this.items.length) {
      const item = this.items[this.first];
      if (!(item instanceof Marker)) {
        this.shift();
        return Promise.resolve({ value: item, done: false });
      }
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.serve();
    });
  }

  return(): Promise<IteratorResult<RecordedEvent>> {
    this.end(undefined);
    return Promise.resolve(DONE);
  }

  unsubscribe(): Promise<void> {
    this.end(undefined);
    return Promise.resolve();
  }

  /** The store closed (StoreClosedError) or the feed failed: ends with `error`, dropping what is queued. */
  fail(error: unknown): void {
    this.end(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RecordedEvent> {
    return this;
  }

  private shift(): Item {
    const item = this.items[this.first];
    this.items[this.first++] = undefined as unknown as Item;
    if (!(item instanceof Marker)) this.events--;
    if (this.first === this.items.length) {
      this.items = [];
      this.first = 0;
    } else if (this.first >= 1024 && this.first * 2 >= this.items.length) {
      this.items = this.items.slice(this.first);
      this.first = 0;
    }
    return item;
  }

  /** Hands queued events to waiting next() calls, runs the markers they pass, and reads the log when the queue is empty. */
  private serve(): void {
    if (this.serving) {
      this.serveAgain = true;
      return;
    }
    this.serving = true;
    try {
      do {
        this.serveAgain = false;
        this.serveOnce();
      } while (this.serveAgain);
    } finally {
      this.serving = false;
    }
  }

  private serveOnce(): void {
    while (this.waiters.length > 0) {
      if (this.ended) {
        const error = this.endError;
        this.endError = undefined;
        const waiters = this.waiters.splice(0);
        if (error !== undefined) waiters.shift()!.reject(error);
        for (const waiter of waiters) waiter.resolve(DONE);
        return;
      }
      if (this.first < this.items.length) {
        const item = this.shift();
        if (item instanceof Marker) this.reach(item);
        else this.waiters.shift()!.resolve({ value: item, done: false });
        continue;
      }
      if (this.live === null && !this.reading) void this.readLog();
      return;
    }
  }

  /** The consumer took everything before the marker. */
  private reach(marker: Marker): void {
    if (marker.kind === 'error') {
      this.end(marker.error);
    } else if (marker.kind === 'caughtUp') {
      this.resolveCaughtUp();
    } else {
      try {
        this.settings.checkpoint!.onCheckpoint(marker.position);
      } catch (error) {
        // The consumer's own callback failed: its loop hears of it, as of any other end.
        this.end(error);
      }
    }
  }

  /**
   * Reads pages of the log while a consumer waits and nothing is queued; a page that reaches the
   * head switches to live events. A page in which nothing matched is followed by another, after
   * letting I/O run, so that a rare filter over a long history does not hold the event loop.
   */
  private async readLog(): Promise<void> {
    const cursor = this.cursor!;
    this.reading = true;
    try {
      while (!this.ended && this.live === null && this.waiters.length > 0 && this.events === 0) {
        this.host!.checkOpen();
        const page = cursor.read(this.last, SUBSCRIPTION_READ_PAGE_EVENTS);
        for (const event of page.events) this.push(event);
        if (page.through > this.last) this.last = page.through;
        this.checkpointThrough(this.last);
        if (page.atEnd) {
          // Same synchronous block as the read: the feed's head is the head the read saw (or,
          // when another onAppended listener subscribed first, an earlier one: onLive's key
          // check then skips the events the read already queued).
          const live = this.register();
          assert(live.startAfter <= page.headPosition, 'the live feed starts at or before the head the read saw');
          if (this.settleCaughtUp !== null) this.items.push(new Marker('caughtUp', this.last));
          if (this.settings.checkpoint !== null) this.pushCheckpoint(this.last);
        } else if (page.events.length === 0) {
          this.serve();
          await yieldToIo();
        }
      }
    } catch (error) {
      this.end(error);
    } finally {
      this.reading = false;
    }
    this.serve();
  }

  private register(): LiveSubscription {
    const cursor = this.cursor!;
    this.live = this.host!.feed().subscribe(cursor.feedMatch, (events) => this.onLive(events), (error) => this.end(error));
    return this.live;
  }

  /** Live events from the feed (synchronously in its pass: never throws). */
  private onLive(events: RecordedEvent[]): void {
    if (this.ended || this.live === null) return;
    const cursor = this.cursor!;
    try {
      for (const event of events) {
        const end = cursor.endsAt(event);
        if (end !== null) {
          this.items.push(new Marker('error', event.position, end));
          this.stopLive();
          break;
        }
        const key = cursor.keyOf(event);
        if (key <= this.last) continue;
        if (cursor.matches(event)) {
          if (this.events >= this.settings.liveBufferEvents) {
            // The consumer is too far behind: stop listening and read the log from the last
            // queued event once it has taken what is queued. Memory stays at the bound.
            this.stopLive();
            this.fallbacks++;
            break;
          }
          this.push(event);
        }
        this.last = key;
      }
      this.checkpointThrough(this.last);
    } catch (error) {
      this.end(error);
    }
    this.serve();
  }

  /** Queues an event, after a checkpoint for what was examined before it when one is due. */
  private push(event: RecordedEvent): void {
    if (this.settings.checkpoint !== null) this.checkpointThrough(event.position - 1n);
    this.items.push(event);
    this.events++;
  }

  /** Every position up to `through` was examined and every match up to it queued. */
  private checkpointThrough(through: bigint): void {
    if (this.settings.checkpoint !== null && through >= this.nextCheckpointAt) this.pushCheckpoint(through);
  }

  private pushCheckpoint(position: bigint): void {
    const checkpoint = this.settings.checkpoint!;
    this.nextCheckpointAt = position + BigInt(checkpoint.intervalEvents);
    if (position <= this.queuedCheckpoint) return;
    this.queuedCheckpoint = position;
    const tail = this.items.length > this.first ? this.items[this.items.length - 1] : undefined;
    // Consecutive checkpoints with no event between them: only the latest matters, and keeping
    // one bounds the queue by its events even when nothing matches for a long time.
    if (tail instanceof Marker && tail.kind === 'checkpoint') tail.position = position;
    else this.items.push(new Marker('checkpoint', position));
  }

  private stopLive(): void {
    this.live?.close();
    this.live = null;
  }

  private resolveCaughtUp(error?: unknown): void {
    const settle = this.settleCaughtUp;
    this.settleCaughtUp = null;
    settle?.(error);
  }

  private end(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.stopLive();
    this.items = [];
    this.first = 0;
    this.events = 0;
    this.endError = error;
    this.resolveCaughtUp(error);
    this.host?.forget(this);
    this.serve();
  }
}
