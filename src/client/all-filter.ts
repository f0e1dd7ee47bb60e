// The embedded API's $all filters over the protocol's prefix filters (es-tcp.md §3.4): the server
// narrows by prefix, and the client keeps exactly what the embedded filter would (an event type
// equal to, not just starting with, the one asked for; a category up to the first '-').

import { InvalidArgumentError } from '../util/errors.js';
import { FilterContext, FilterType, type Filter } from '../protocol/wire/messages.js';
import type { ReadAllFilter } from '../store/read-options.js';
import type { RecordedEvent } from './recorded-event.js';

export interface FilterPlan {
  /** What the server is asked to filter by. */
  readonly wire: Filter;
  /** Whether the embedded filter accepts the event (true for everything the wire filter passed, or less). */
  readonly accepts: (event: RecordedEvent) => boolean;
}

/** The category of a stream: its id before the first '-', or null when it has no '-'. */
function categoryOf(streamId: string): string | null {
  const dash = streamId.indexOf('-');
  return dash < 0 ? null : streamId.slice(0, dash);
}

/** Validates a filter (exactly one of streamPrefix, eventType, category, a non-empty string) and plans it. */
export function planFilter(filter: unknown): FilterPlan | null {
  if (filter === undefined) return null;
  if (typeof filter !== 'object' || filter === null) throw new InvalidArgumentError('filter must be an object');
  const keys = Object.keys(filter);
  if (keys.length !== 1 || !['streamPrefix', 'eventType', 'category'].includes(keys[0])) {
    throw new InvalidArgumentError('filter must have exactly one of streamPrefix, eventType, category');
  }
  const value = (filter as Record<string, unknown>)[keys[0]];
  if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError(`filter ${keys[0]} must be a non-empty string`);
  const f = filter as ReadAllFilter;
  if ('eventType' in f) {
    return { wire: { context: FilterContext.EventType, type: FilterType.Prefix, data: [value] }, accepts: (e) => e.type === value };
  }
  if ('category' in f) {
    return { wire: { context: FilterContext.StreamId, type: FilterType.Prefix, data: [`${value}-`] }, accepts: (e) => categoryOf(e.streamId) === value };
  }
  return { wire: { context: FilterContext.StreamId, type: FilterType.Prefix, data: [value] }, accepts: (e) => e.streamId.startsWith(value) };
}
