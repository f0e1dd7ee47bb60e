// readStream and readAll over protocol pages of at most READ_PAGE_EVENTS events (fewer when they
// would not fit a frame): each page starts where the server said the previous one ended, until
// maxCount events or the end.

import { POSITION_MAX } from '../util/limits.js';
import type { Direction, ReadFrom } from '../store/read-options.js';
import type { ClientCore } from './client-core.js';
import { READ_PAGE_EVENTS } from './client-limits.js';
import type { FilterPlan } from './all-filter.js';
import { readAllPageOperation, readStreamPageOperation } from './read-operations.js';
import { PageSize, readPage } from './page-size.js';
import type { RecordedEvent } from './recorded-event.js';

/** A start that lies after every event (POSITION_MAX is the largest revision or position there is). */
const BEYOND_END = BigInt(POSITION_MAX);

/** Events of one stream as the embedded readStream returns them ([] when the stream does not exist). */
export async function readStreamPaged(core: ClientCore, streamId: string, from: ReadFrom, direction: Direction, maxCount: number): Promise<RecordedEvent[]> {
  const forwards = direction === 'forwards';
  let next = forwards ? (from === 'start' ? 0n : from === 'end' ? BEYOND_END : from) : from === 'end' ? -1n : from === 'start' ? 0n : from;
  const out: RecordedEvent[] = [];
  const size = new PageSize(READ_PAGE_EVENTS);
  for (;;) {
    const from = next;
    const page = await readPage(core, size, maxCount - out.length, (count) => readStreamPageOperation(streamId, from, count, forwards));
    for (const event of page.events) out.push(event);
    // An empty page that is not the end moved the start (a backward window past the last event).
    if (!page.exists || page.endOfStream || out.length >= maxCount || (page.events.length === 0 && page.next === from)) return out;
    next = page.next;
  }
}

/**
 * Events of $all as the embedded readAll returns them. `from` is inclusive both ways; backwards
 * the protocol reads below its start, so the request starts one higher.
 */
export async function readAllPaged(core: ClientCore, from: ReadFrom, direction: Direction, maxCount: number, filter: FilterPlan | null): Promise<RecordedEvent[]> {
  const forwards = direction === 'forwards';
  let next = forwards ? (from === 'start' ? 0n : from === 'end' ? BEYOND_END : from) : from === 'end' ? -1n : from === 'start' ? 1n : from + 1n;
  const out: RecordedEvent[] = [];
  const size = new PageSize(READ_PAGE_EVENTS);
  for (;;) {
    const from = next;
    const page = await readPage(core, size, maxCount - out.length, (count) => readAllPageOperation(from, count, forwards, filter?.wire ?? null));
    for (const event of page.events) {
      if (out.length >= maxCount) break;
      if (filter === null || filter.accepts(event)) out.push(event);
    }
    if (page.end || out.length >= maxCount || page.next === from) return out;
    next = page.next;
  }
}
