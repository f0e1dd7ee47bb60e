// The event filter of FilteredReadAllEvents and FilteredSubscribeToStream: prefixes or RE2
// regular expressions on the stream id or the event type (format-spec/protocol.md §9.2).

import { RE2JS, RE2JSException } from 're2js';
import { InvalidArgumentError } from '../../util/errors.js';
import type { RecordedEvent } from '../../store/recorded-event.js';
import { FilterContext, FilterType, type Filter } from '../wire/messages.js';

/** Longest regular expression a filter may carry (they run against every examined event). */
export const FILTER_REGEX_CHARS_MAX = 256;

/**
 * Largest compiled program (re2js `programSize()`, about one instruction per atom after counted
 * repetitions are expanded) a filter regex may have. Matching is linear in the input, but the
 * constant grows with the program: past a few thousand instructions re2js's DFA exceeds its
 * memory budget and falls back to the NFA, and `(?:a?){700}a{700}` or `\pL{1000}\pL{1000}…`
 * within 256 characters then cost 50–200 ms per 1 KiB stream id — per event, on the event loop.
 * 1000 leaves everyday patterns (`^[\w-]{1,100}$` is about 200) far below it.
 */
export const FILTER_REGEX_PROGRAM_SIZE_MAX = 1000;

/** The fields a filter looks at; a RecordedEvent has them. */
export type FilteredFields = Pick<RecordedEvent, 'streamId' | 'type'>;

// Only used to word the error for a pattern RE2 has already refused, so a false hit costs nothing
// but a hint. RE2's own description of `(?<=` is "invalid named capture", which misleads.
const LOOKAROUND = /\(\?<?[=!]/;
const BACKREFERENCE = /\\(?:[1-9]|k<)/;

function compileRegex(source: string): RE2JS {
  if (source.length > FILTER_REGEX_CHARS_MAX) {
    throw new InvalidArgumentError(`a filter regex is at most ${FILTER_REGEX_CHARS_MAX} characters (FILTER_REGEX_CHARS_MAX), got ${source.length}`);
  }
  let regex: RE2JS;
  try {
    // No flags: RE2 syntax as written. Not RE2JS.translateRegExp, which would rewrite the
    // client's pattern into something it did not write.
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

/**
 * The predicate of a filter, compiled once; throws InvalidArgumentError for a regex that is too
 * long, not RE2 syntax (backreferences and lookaround included) or too large once compiled.
 * No filter or no data matches every event. Prefix filters compare UTF-16 strings with
 * `startsWith`; a regex matches when it is found anywhere in the field (like JS
 * `RegExp.prototype.test`), in time linear in the field's length, with `.` and classes taking
 * whole code points. Any listed prefix or regex may match.
 */
export function filterPredicate(filter: Filter | undefined): (event: FilteredFields) => boolean {
  if (filter === undefined || filter.data.length === 0) return () => true;
  const field = filter.context === FilterContext.EventType ? (e: FilteredFields) => e.type : (e: FilteredFields) => e.streamId;
  if (filter.type === FilterType.Prefix) {
    const prefixes = filter.data;
    return (e) => prefixes.some((p) => field(e).startsWith(p));
  }
  const patterns = filter.data.map(compileRegex);
  // RE2JS.test is the unanchored search; matches()/testExact() would anchor at both ends.
  return (e) => patterns.some((p) => p.test(field(e)));
}
