// An async iterator over events fetched a page at a time (iterateAll, iterateStream). Written by
// hand rather than as an async generator: a generator costs a promise chain per event, this costs
// one resolved promise.

import { READ_PAGE_EVENTS } from '../util/limits.js';
import type { Direction, ReadFrom } from './read-options.js';
import type { RecordedEvent } from './recorded-event.js';

/**
 * Fetches up to `maxCount` events starting at `from` (inclusive) in the iterator's direction;
 * `cut`: the page stopped at its byte budget, more may follow.
 */
export type PageFetch = (from: ReadFrom, maxCount: number) => Promise<{ events: RecordedEvent[]; cut: boolean }>;

export class PagedEvents implements AsyncIterableIterator<RecordedEvent> {
  private page: RecordedEvent[] = [];
  private next_ = 0;
  private finished = false;

  /** `keyOf` gives the position or revision the next page continues from. */
  constructor(
    private readonly fetch: PageFetch,
    private readonly keyOf: (event: RecordedEvent) => bigint,
    private from: ReadFrom,
    private readonly direction: Direction,
    private left: number,
  ) {}

  /** An iterator whose first next() rejects with `error`. */
  static failing(error: unknown): PagedEvents {
    return new PagedEvents(() => Promise.reject(error), () => 0n, 'start', 'forwards', 1);
  }

  next(): Promise<IteratorResult<RecordedEvent>> {
    if (this.next_ < this.page.length) return Promise.resolve({ value: this.page[this.next_++], done: false });
    return this.fill();
  }

  private async fill(): Promise<IteratorResult<RecordedEvent>> {
    if (this.finished || this.left === 0) return this.end();
    const want = Math.min(this.left, READ_PAGE_EVENTS);
    const { events: page, cut } = await this.fetch(this.from, want);
    this.left -= page.length;
    if (page.length < want && !cut) this.finished = true;
    if (page.length === 0) return this.end();
    const last = this.keyOf(page[page.length - 1]);
    if (this.direction === 'backwards' && last === 0n) this.finished = true;
    this.from = this.direction === 'forwards' ? last + 1n : last - 1n;
    this.page = page;
    this.next_ = 1;
    return { value: page[0], done: false };
  }

  private end(): IteratorResult<RecordedEvent> {
    this.finished = true;
    this.page = [];
    return { value: undefined, done: true };
  }

  return(): Promise<IteratorResult<RecordedEvent>> {
    return Promise.resolve(this.end());
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RecordedEvent> {
    return this;
  }
}
