// The embedded face of a consumer: an async iterator of deliveries with ack and nak. It takes every
// delivery (never refuses); they arrive only while the consumer's window has room, so the queue
// here never holds more than the window.

import { InvalidArgumentError } from '../../util/errors.js';
import type { ConsumerDropReason, ConsumerHandle, ConsumerSink, NakAction, PersistentEvent, PersistentSubscription } from './types.js';

export class SubscriptionIterator implements PersistentSubscription {
  private readonly queue: PersistentEvent[] = [];
  private waiter: ((result: IteratorResult<PersistentEvent>) => void) | null = null;
  private ended = false;
  private handle: ConsumerHandle | null = null;
  private resolveDropped!: (reason: ConsumerDropReason) => void;
  readonly dropped: Promise<ConsumerDropReason>;
  /** What the group pushes to. */
  readonly sink: ConsumerSink = {
    deliver: (delivery) => this.deliver(delivery),
    dropped: (reason) => this.end(reason),
  };

  constructor() {
    this.dropped = new Promise((resolve) => {
      this.resolveDropped = resolve;
    });
  }

  /** Called once, right after connect returned the handle (before any delivery). */
  attach(handle: ConsumerHandle): void {
    this.handle = handle;
  }

  private deliver(delivery: PersistentEvent): void {
    if (this.ended) return;
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      waiter({ value: delivery, done: false });
    } else {
      this.queue.push(delivery);
    }
  }

  private end(reason: ConsumerDropReason): void {
    if (this.ended) return;
    this.ended = true;
    // Deliveries not taken yet were not acked: the group redelivers them.
    this.queue.length = 0;
    this.resolveDropped(reason);
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<PersistentEvent>> {
    const delivery = this.queue.shift();
    if (delivery !== undefined) return Promise.resolve({ value: delivery, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter !== null) return Promise.reject(new InvalidArgumentError('next() called again before the previous one resolved'));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  async return(): Promise<IteratorResult<PersistentEvent>> {
    await this.unsubscribe();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<PersistentEvent> {
    return this;
  }

  ack(...deliveries: (PersistentEvent | string)[]): void {
    this.handle?.ack(deliveries.map(idOf));
  }

  nak(action: NakAction, reason: string, ...deliveries: (PersistentEvent | string)[]): void {
    this.handle?.nak(deliveries.map(idOf), action, reason);
  }

  /** Leaves the group; events delivered and not acked are redelivered to other consumers. */
  async unsubscribe(): Promise<void> {
    this.handle?.close();
  }
}

function idOf(delivery: PersistentEvent | string): string {
  return typeof delivery === 'string' ? delivery : delivery.event.id;
}
