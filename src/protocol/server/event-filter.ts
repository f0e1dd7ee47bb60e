// The event filter of FilteredReadAllEvents and FilteredSubscribeToStream: prefixes or RE2
// regular expressions on the stream id or the event type (format-spec/protocol.md §9.2), mapped
// onto the store's subscription filters (src/store/subscription-filter.ts compiles them).

import { prefixPredicate, regexPredicate, type FilteredFields } from '../../store/subscription-filter.js';
import { FilterContext, FilterType, type Filter } from '../wire/messages.js';

export { FILTER_REGEX_CHARS_MAX, FILTER_REGEX_PROGRAM_SIZE_MAX } from '../../util/limits.js';
export type { FilteredFields } from '../../store/subscription-filter.js';

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
  const field = filter.context === FilterContext.EventType ? 'type' : 'streamId';
  return filter.type === FilterType.Prefix ? prefixPredicate(field, filter.data) : regexPredicate(field, filter.data);
}
