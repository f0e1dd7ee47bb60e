// The hand-over between a subscription and its consumer: a bounded queue whose producer waits
// while it is full and whose consumer waits while it is empty; it ends normally or with an error.

import type { RecordedEvent } from './recorded-event.js';

interface Reader {
  readonly resolve: (result: IteratorResult<RecordedEvent>) => void;
  readonly reject: (error: Error) => void;
}

export class EventBuffer {
  private items: RecordedEvent[] = [];
  private head = 0;
  private readonly readers: Reader[] = [];
  private space: (() => void) | null = null;
  private ended = false;
  private error: Error | null = null;

  constructor(private readonly capacityEvents: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds an event (dropped once ended); resolves when the buffer has room again. */
  async push(event: RecordedEvent): Promise<void> {
    if (this.ended) return;
    const reader = this.readers.shift();
    if (reader !== undefined) {
      reader.resolve({ value: event, done: false });
      return;
    }
    this.items.push(event);
    while (!this.ended && this.length >= this.capacityEvents) await new Promise<void>((resolve) => (this.space = resolve));
  }

  next(): Promise<IteratorResult<RecordedEvent>> {
    if (this.length > 0) {
      const value = this.items[this.head++];
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      }
      this.release();
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return this.finished();
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  /**
   * Ends the stream. Without an error, events not yet taken are discarded (the consumer asked to
   * stop); with one, they are still handed out and the error comes after them, once.
   */
  end(error: Error | null): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    if (error === null) {
      this.items = [];
      this.head = 0;
    }
    for (const reader of this.readers.splice(0)) {
      const result = this.finished();
      result.then(reader.resolve, reader.reject);
    }
    this.release();
  }

  private finished(): Promise<IteratorResult<RecordedEvent>> {
    const error = this.error;
    this.error = null;
    return error === null ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error);
  }

  private release(): void {
    const space = this.space;
    this.space = null;
    space?.();
  }
}
