import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  FILTER_REGEX_CHARS_MAX, FILTER_REGEX_PROGRAM_SIZE_MAX, filterPredicate, type FilteredFields,
} from '../../../src/protocol/server/event-filter.js';
import { FilterContext, FilterType, type Filter } from '../../../src/protocol/wire/messages.js';
import { InvalidArgumentError } from '../../../src/util/errors.js';
import { propertyParams } from '../../support/random.js';

const event = (streamId: string, type: string): FilteredFields => ({ streamId, type });
const regexOn = (context: number, ...data: string[]): Filter => ({ context, type: FilterType.Regex, data });
const prefixOn = (context: number, ...data: string[]): Filter => ({ context, type: FilterType.Prefix, data });

/** The InvalidArgumentError message `filterPredicate(filter)` throws; fails if it throws nothing else. */
function refusal(filter: Filter): string {
  try {
    filterPredicate(filter);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as InvalidArgumentError).message;
  }
  throw new Error(`filter ${JSON.stringify(filter.data)} was accepted`);
}

describe('event filter', () => {
  test('event filter - no filter or no data matches every event', () => {
    expect(filterPredicate(undefined)(event('a', 'b'))).toBe(true);
    expect(filterPredicate(regexOn(FilterContext.StreamId))(event('a', 'b'))).toBe(true);
    expect(filterPredicate(prefixOn(FilterContext.EventType))(event('a', 'b'))).toBe(true);
  });

  test('event filter - prefixes on the stream id or on the event type, any of them', () => {
    const byStream = filterPredicate(prefixOn(FilterContext.StreamId, 'order-', 'invoice-'));
    expect(byStream(event('order-1', 'Placed'))).toBe(true);
    expect(byStream(event('invoice-7', 'Placed'))).toBe(true);
    expect(byStream(event('customer-1', 'order-Placed'))).toBe(false);
    const byType = filterPredicate(prefixOn(FilterContext.EventType, 'Order'));
    expect(byType(event('x', 'OrderPlaced'))).toBe(true);
    expect(byType(event('Order-1', 'Shipped'))).toBe(false);
    // A prefix is a literal: regex characters in it mean themselves.
    expect(filterPredicate(prefixOn(FilterContext.StreamId, 'a.b'))(event('a.b-1', 't'))).toBe(true);
    expect(filterPredicate(prefixOn(FilterContext.StreamId, 'a.b'))(event('axb-1', 't'))).toBe(false);
  });

  test('event filter - a regex is searched for anywhere in the stream id or event type, unless anchored', () => {
    const byStream = filterPredicate(regexOn(FilterContext.StreamId, 'der-\\d+'));
    expect(byStream(event('order-12', 'Placed'))).toBe(true);
    expect(byStream(event('order-', 'der-12'))).toBe(false);
    const anchored = filterPredicate(regexOn(FilterContext.EventType, '^Order(Placed|Shipped)$'));
    expect(anchored(event('s', 'OrderShipped'))).toBe(true);
    expect(anchored(event('s', 'OrderShippedTwice'))).toBe(false);
    expect(anchored(event('s', 'AnOrderPlaced'))).toBe(false);
    const either = filterPredicate(regexOn(FilterContext.EventType, '^A$', '^B$'));
    expect([either(event('s', 'A')), either(event('s', 'B')), either(event('s', 'C'))]).toEqual([true, true, false]);
    expect(filterPredicate(regexOn(FilterContext.StreamId, ''))(event('anything', 't'))).toBe(true);
  });

  test('event filter - regexes take whole code points in non-ASCII stream ids and event types', () => {
    const on = (source: string, type: string): boolean => filterPredicate(regexOn(FilterContext.EventType, source))(event('s', type));
    expect(on('^Grüße-\\d+$', 'Grüße-12')).toBe(true);
    expect(on('^[à-ü]+$', 'éèö')).toBe(true);
    expect(on('ß$', 'Straße')).toBe(false);
    expect(on('^.$', '😀')).toBe(true); // one code point, two UTF-16 units
    expect(on('^..$', '😀')).toBe(false);
    expect(on('^a.b$', 'a😀b')).toBe(true);
    expect(on('^[😀x]+$', 'x😀x')).toBe(true);
    expect(on('z$', '😀😀ééz')).toBe(true);
    expect(on('^\\p{Greek}+$', 'αβγ')).toBe(true);
    expect(on('^\\x{e9}$', 'é')).toBe(true);
    // A precomposed é is not an e.
    expect(on('e$', 'caf\u00e9')).toBe(false);
    const byStream = filterPredicate(regexOn(FilterContext.StreamId, '^заказ-'));
    expect(byStream(event('заказ-1', 't'))).toBe(true);
    expect(byStream(event('t', 'заказ-1'))).toBe(false);
  });

  test('event filter - a regex past FILTER_REGEX_CHARS_MAX characters is refused', () => {
    const longest = 'a'.repeat(FILTER_REGEX_CHARS_MAX);
    expect(filterPredicate(regexOn(FilterContext.StreamId, longest))(event(longest, 't'))).toBe(true);
    expect(refusal(regexOn(FilterContext.StreamId, `${longest}a`))).toMatch(/at most 256 characters/);
    // Prefixes are not regexes and have no such bound here.
    expect(filterPredicate(prefixOn(FilterContext.StreamId, `${longest}a`))(event(`${longest}a`, 't'))).toBe(true);
  });

  test('event filter - an invalid regex is refused with InvalidArgumentError naming it', () => {
    for (const source of ['(', '[z-a]', 'a**', '*a', '[^]', '\\', '\\Z']) {
      expect(refusal(regexOn(FilterContext.EventType, '^ok$', source))).toContain(`filter regex '${source}' is not valid RE2 syntax`);
    }
  });

  test('event filter - JavaScript-only syntax is refused, never rewritten', () => {
    expect(refusal(regexOn(FilterContext.StreamId, '(a)\\1'))).toMatch(/no backreferences/);
    expect(refusal(regexOn(FilterContext.StreamId, '(?<n>a)\\k<n>'))).toMatch(/no backreferences/);
    for (const source of ['a(?=b)', 'a(?!b)', '(?<=a)b', '(?<!a)b']) {
      expect(refusal(regexOn(FilterContext.StreamId, source))).toMatch(/no lookahead or lookbehind/);
    }
    // JS escapes RE2 does not know (RE2 writes \x{e9} and has no \cX).
    expect(refusal(regexOn(FilterContext.StreamId, '\\u00e9'))).toMatch(/not valid RE2 syntax/);
    expect(refusal(regexOn(FilterContext.StreamId, '\\cA'))).toMatch(/not valid RE2 syntax/);
  });

  test('event filter - a regex past FILTER_REGEX_PROGRAM_SIZE_MAX instructions is refused', () => {
    expect(refusal(regexOn(FilterContext.StreamId, '.{1000}'))).toMatch(/FILTER_REGEX_PROGRAM_SIZE_MAX/);
    expect(refusal(regexOn(FilterContext.StreamId, '(?:a|aa){700}'))).toMatch(/instructions/);
    // Counts RE2 itself refuses (over 1000) are syntax errors.
    expect(refusal(regexOn(FilterContext.StreamId, '(a{100}){100}'))).toMatch(/not valid RE2 syntax/);
    // Everyday patterns are far below the bound.
    for (const source of ['^[a-zA-Z0-9_-]{1,100}$', '.{0,250}x', '(?i)^(order|invoice|customer)-\\d+$', `^${'x'.repeat(250)}$`]) {
      expect(() => filterPredicate(regexOn(FilterContext.StreamId, source))).not.toThrow();
    }
    expect(FILTER_REGEX_PROGRAM_SIZE_MAX).toBe(1000);
  });

  test('event filter - a catastrophic-backtracking pattern is decided without backtracking (ReDoS)', () => {
    // With a backtracking engine this takes about 2^5000 steps; vitest's timeout is the guard,
    // rather than a timed assertion on a noisy machine.
    const matches = filterPredicate(regexOn(FilterContext.EventType, '^(a+)+$'));
    expect(matches(event('s', `${'a'.repeat(5000)}!`))).toBe(false);
    expect(matches(event('s', 'a'.repeat(5000)))).toBe(true);
    const nested = filterPredicate(regexOn(FilterContext.StreamId, '(x+x+)+y', '(.*a){20}$'));
    expect(nested(event('x'.repeat(5000), 't'))).toBe(false);
    expect(nested(event(`${'a'.repeat(30)}b`, 't'))).toBe(false);
  });

  test('event filter - simple regexes decide as JavaScript RegExp with the u flag does', () => {
    // Characters with no special meaning in either syntax; no line terminators, where `.` differs
    // (RE2 excludes only \n, JavaScript also \r, \u2028 and \u2029).
    const chars = ['a', 'b', 'c', 'é', 'ß', '😀', '-'];
    const literal = fc.constantFrom(...chars, '\\.');
    const charClass = fc.constantFrom('[ab]', '[^a]', '[a-c]', '[é😀]', '[^😀-]', '\\d', '\\w', '.');
    const atom = fc.oneof(literal, charClass);
    const pattern = fc.letrec<{ alternation: string; sequence: string; piece: string; group: string }>((tie) => ({
      alternation: fc.array(tie('sequence'), { minLength: 1, maxLength: 3 }).map((parts) => parts.join('|')),
      sequence: fc.array(fc.oneof({ weight: 1, arbitrary: fc.constantFrom('^', '$') }, { weight: 8, arbitrary: tie('piece') }), { minLength: 1, maxLength: 4 })
        .map((parts) => parts.join('')),
      // A quantifier applies to an atom or a group, never to another quantifier or an anchor.
      piece: fc.tuple(fc.oneof({ maxDepth: 2, depthIdentifier: 'group', withCrossShrink: true }, atom, tie('group')), fc.constantFrom('', '', '', '*', '+', '?'))
        .map(([base, quantifier]) => base + quantifier),
      group: fc.tuple(fc.constantFrom('(', '(?:'), tie('alternation')).map(([open, body]) => `${open}${body})`),
    })).alternation.filter((source) => source.length <= FILTER_REGEX_CHARS_MAX);
    const input = fc.array(fc.constantFrom(...chars, '.', '1'), { maxLength: 10 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(pattern, input, fc.boolean(), (source, text, onType) => {
        const expected = new RegExp(source, 'u').test(text);
        const context = onType ? FilterContext.EventType : FilterContext.StreamId;
        const matches = filterPredicate(regexOn(context, source));
        expect(matches(onType ? event('s', text) : event(text, 't'))).toBe(expected);
      }),
      propertyParams(500),
    );
  });
});
