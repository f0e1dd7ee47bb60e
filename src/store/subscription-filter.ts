// The event filters of subscriptions: stream-id or event-type prefixes, RE2 regular expressions
// (compiled here for the embedded API and for the wire's Filter, format-spec/protocol.md §9.2),
// a category or an event type. A filter is a predicate on an event's stream id and type only, so
// catch-up from the log and live delivery select exactly the same events.

import { RE2JS, RE2JSException } from 're2js';
import { InvalidArgumentError } from '../util/errors.js';
import { FILTER_REGEX_CHARS_MAX, FILTER_REGEX_PROGRAM_SIZE_MAX, SUBSCRIPTION_FILTER_PREFIXES_MAX } from '../util/limits.js';
import { categoryOf } from '../index/keyed-positions.js';
import type { ReadAllFilter } from './read-options.js';
import type { RecordedEvent } from './recorded-event.js';

/**
 * Which events of $all a subscription delivers: exactly one of
 * - `streamPrefix` / `eventTypePrefix`: the stream id / event type starts with one of the strings;
 * - `streamRegex` / `eventTypeRegex`: the RE2 pattern is found in the stream id / event type;
 * - `category`: the stream id's part before its first '-' equals it (as readCategory);
 * - `eventType`: the event type equals it.
 */
export type SubscriptionFilter =
  | { streamPrefix: string[] }
  | { eventTypePrefix: string[] }
  | { streamRegex: string }
  | { eventTypeRegex: string }
  | { category: string }
  | { eventType: string };

/** The fields a filter looks at; a RecordedEvent has them. */
export type FilteredFields = Pick<RecordedEvent, 'streamId' | 'type'>;
export type EventPredicate = (event: FilteredFields) => boolean;
export type FilterField = 'streamId' | 'type';

export interface ParsedFilter {
  readonly matches: EventPredicate;
  /** For a category or event type: the index that finds the matching events without a scan. */
  readonly indexed: ReadAllFilter | undefined;
}

// Only used to word the error for a pattern RE2 has already refused, so a false hit costs nothing
// but a hint. RE2's own description of `(?<=` is "invalid named capture", which misleads.
const LOOKAROUND = /\(\?<?[=!]/;
const BACKREFERENCE = /\\(?:[1-9]|k<)/;

/**
 * Compiles an RE2 pattern; throws InvalidArgumentError for one longer than
 * FILTER_REGEX_CHARS_MAX, not RE2 syntax (backreferences and lookaround included) or larger than
 * FILTER_REGEX_PROGRAM_SIZE_MAX once compiled.
 */
export function compileFilterRegex(source: string): RE2JS {
  if (source.length > FILTER_REGEX_CHARS_MAX) {
    throw new InvalidArgumentError(`a filter regex is at most ${FILTER_REGEX_CHARS_MAX} characters (FILTER_REGEX_CHARS_MAX), got ${source.length}`);
  }
  let regex: RE2JS;
  try {
    // No flags: RE2 syntax as written. Not RE2JS.translateRegExp, which would rewrite the
    // caller's pattern into something it did not write.
    regex = RE2JS.compile(source);
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    const hint = LOOKAROUND.test(source) ? ' (RE2 syntax has no lookahead or lookbehind)'
      : BACKREFERENCE.test(source) ? ' (RE2 syntax has no backreferences)' : '';
    throw new InvalidArgumentError(`filter regex '${source}' is not valid RE2 syntax: ${error.message}${hint}`);
  }
  const programSize = regex.programSize();
  if (programSize > FILTER_REGEX_PROGRAM_SIZE_MAX) {
    throw new InvalidArgumentError(
      `filter regex '${source}' compiles to ${programSize} instructions, more than ${FILTER_REGEX_PROGRAM_SIZE_MAX} (FILTER_REGEX_PROGRAM_SIZE_MAX); use smaller repetition counts`,
    );
  }
  return regex;
}

/** Matches when the field starts with any of the prefixes (UTF-16 `startsWith`; a prefix is a literal). */
export function prefixPredicate(field: FilterField, prefixes: readonly string[]): EventPredicate {
  const list = [...prefixes];
  return field === 'streamId' ? (e) => list.some((p) => e.streamId.startsWith(p)) : (e) => list.some((p) => e.type.startsWith(p));
}

/**
 * Matches when any of the patterns is found anywhere in the field (like JS
 * `RegExp.prototype.test`), in time linear in the field's length, with `.` and classes taking
 * whole code points. Throws as compileFilterRegex.
 */
export function regexPredicate(field: FilterField, sources: readonly string[]): EventPredicate {
  const patterns = sources.map(compileFilterRegex);
  // RE2JS.test is the unanchored search; matches()/testExact() would anchor at both ends.
  return field === 'streamId' ? (e) => patterns.some((p) => p.test(e.streamId)) : (e) => patterns.some((p) => p.test(e.type));
}

const FILTER_KEYS = ['streamPrefix', 'eventTypePrefix', 'streamRegex', 'eventTypeRegex', 'category', 'eventType'];

function prefixList(value: unknown, key: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > SUBSCRIPTION_FILTER_PREFIXES_MAX || !value.every((p) => typeof p === 'string')) {
    throw new InvalidArgumentError(`filter ${key} must be an array of 1..${SUBSCRIPTION_FILTER_PREFIXES_MAX} strings (SUBSCRIPTION_FILTER_PREFIXES_MAX)`);
  }
  return value as string[];
}

function nonEmptyString(value: unknown, key: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError(`filter ${key} must be a non-empty string`);
  return value;
}

/** Validates a SubscriptionFilter (undefined: every event) and compiles it; throws InvalidArgumentError. */
export function parseSubscriptionFilter(filter: unknown): ParsedFilter {
  if (filter === undefined) return { matches: () => true, indexed: undefined };
  if (typeof filter !== 'object' || filter === null) throw new InvalidArgumentError('filter must be an object');
  const keys = Object.keys(filter);
  if (keys.length !== 1 || !FILTER_KEYS.includes(keys[0])) throw new InvalidArgumentError(`filter must have exactly one of ${FILTER_KEYS.join(', ')}`);
  const key = keys[0];
  const value = (filter as Record<string, unknown>)[key];
  switch (key) {
    case 'streamPrefix':
      return { matches: prefixPredicate('streamId', prefixList(value, key)), indexed: undefined };
    case 'eventTypePrefix':
      return { matches: prefixPredicate('type', prefixList(value, key)), indexed: undefined };
    case 'streamRegex':
      if (typeof value !== 'string') throw new InvalidArgumentError(`filter ${key} must be a string`);
      return { matches: regexPredicate('streamId', [value]), indexed: undefined };
    case 'eventTypeRegex':
      if (typeof value !== 'string') throw new InvalidArgumentError(`filter ${key} must be a string`);
      return { matches: regexPredicate('type', [value]), indexed: undefined };
    case 'category': {
      const category = nonEmptyString(value, key);
      // As the category index files it: the id before the first '-', none when it starts with one.
      return { matches: (e) => categoryOf(e.streamId) === category, indexed: { category } };
    }
    default: {
      const eventType = nonEmptyString(value, key);
      return { matches: (e) => e.type === eventType, indexed: { eventType } };
    }
  }
}
