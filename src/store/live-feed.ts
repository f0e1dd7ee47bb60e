// Live delivery: after appends become durable, the new events of $all are read once and handed to
// every subscriber whose filter they match, in position order, never before they are durable and
// never twice. The TCP server's volatile subscriptions and the store's catch-up subscriptions
// (store-subscription.ts) both listen here. The feed keeps no queue per subscriber: `deliver` is
// called synchronously and the subscriber bounds what it keeps.

import { LIVE_FEED_PAGE_EVENTS } from '../util/limits.js';
import type { ReadAllOptions } from './read-options.js';
import type { RecordedEvent } from './recorded-event.js';

/** What the feed needs of the store (an EventStore). */
export interface FeedSource {
  onAppended(listener: (headPosition: bigint) => void): () => void;
  headPosition(): Promise<bigint>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
}

export interface LiveSubscription {
  /** Position after which this subscription delivers (the head when it started). */
  readonly startAfter: bigint;
  close(): void;
}

interface Subscriber {
  readonly startAfter: bigint;
  readonly match: (event: RecordedEvent) => boolean;
  readonly deliver: (events: RecordedEvent[]) => void;
  readonly ended: ((error: unknown) => void) | undefined;
  closed: boolean;
}

export class LiveFeed {
  private readonly subscribers = new Set<Subscriber>();
  /** Every event up to this position was handed out (or had no subscriber to go to). */
  private delivered: bigint;
  private head: bigint;
  private running = false;
  private stopped_ = false;
  private readonly stopListening: () => void;

  private constructor(private readonly store: FeedSource, head: bigint) {
    this.delivered = head;
    this.head = head;
    this.stopListening = store.onAppended((next) => {
      this.head = next;
      this.pump();
    });
  }

  static async start(store: FeedSource): Promise<LiveFeed> {
    return new LiveFeed(store, await store.headPosition());
  }

  /**
   * A feed whose first subscribers start after `headPosition`, which must be the store's head
   * now (read synchronously by the caller): nothing appended after it is missed.
   */
  static startAt(store: FeedSource, headPosition: bigint): LiveFeed {
    return new LiveFeed(store, headPosition);
  }

  /**
   * Delivers, in position order, every event appended after now that `match` accepts. `deliver`
   * is called with batches, synchronously in the feed's pass: it must not block (queue the work)
   * and must not throw. `startAfter` is the head the feed knew at this call: every later event
   * is delivered, and no earlier one. `ended` is called if the feed stops because a read failed
   * (the store closed or is damaged): nothing more will be delivered.
   */
  subscribe(match: (event: RecordedEvent) => boolean, deliver: (events: RecordedEvent[]) => void, ended?: (error: unknown) => void): LiveSubscription {
    const subscriber: Subscriber = { startAfter: this.head, match, deliver, ended, closed: false };
    this.subscribers.add(subscriber);
    return {
      startAfter: subscriber.startAfter,
      close: () => {
        subscriber.closed = true;
        this.subscribers.delete(subscriber);
      },
    };
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** stop() was called (or a read failed): nothing more will be delivered to anyone. */
  get stopped(): boolean {
    return this.stopped_;
  }

  /** Reads what was appended since the last pass, one pass at a time. */
  private pump(): void {
    if (this.running) return;
    this.running = true;
    // After the current microtasks: appends acknowledged together are read together.
    setImmediate(() => void this.pass());
  }

  private async pass(): Promise<void> {
    try {
      while (this.delivered < this.head) {
        if (this.subscribers.size === 0) {
          this.delivered = this.head;
          break;
        }
        const count = Math.min(Number(this.head - this.delivered), LIVE_FEED_PAGE_EVENTS);
        const target = this.delivered + BigInt(count);
        const events = await this.store.readAll({ fromPosition: this.delivered + 1n, maxCount: count });
        if (events.length === 0) {
          // Every position up to the target is a hole a scavenge left (a read skips them): move
          // past them, or the pass would read the same nothing forever.
          this.delivered = target;
          continue;
        }
        const first = events[0].position;
        for (const subscriber of [...this.subscribers]) {
          if (subscriber.closed) continue;
          // Only a subscriber that started inside this page needs the position check.
          const matching = subscriber.startAfter < first
            ? events.filter(subscriber.match)
            : events.filter((e) => e.position > subscriber.startAfter && subscriber.match(e));
          if (matching.length > 0) subscriber.deliver(matching);
        }
        this.delivered = events[events.length - 1].position;
      }
    } catch (error) {
      // The store closed or failed under the feed: nothing more can be delivered.
      this.stop(error);
    } finally {
      this.running = false;
      // Appends that arrived during the pass started no pass of their own.
      if (this.delivered < this.head) this.pump();
    }
  }

  /**
   * Stops listening to the store; subscriptions stay open but receive nothing more. With an
   * error (a failed read), each subscriber's `ended` callback is told.
   */
  stop(error?: unknown): void {
    this.stopped_ = true;
    this.stopListening();
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    if (error === undefined) return;
    for (const subscriber of subscribers) {
      subscriber.closed = true;
      subscriber.ended?.(error);
    }
  }
}
