// Parsing and validation of read options: unknown keys and bad values are InvalidArgumentErrors.

import { InvalidArgumentError } from '../util/errors.js';
import { validatePrincipal, type Principal } from './access.js';
import { POSITION_MAX, READ_EVENTS_MAX } from '../util/limits.js';
import type { RecordedEvent } from './recorded-event.js';

export type Direction = 'forwards' | 'backwards';
export type ReadFrom = bigint | 'start' | 'end';

export interface ReadStreamOptions {
  /** First revision to return (inclusive); default 'start' forwards, 'end' backwards. */
  fromRevision?: ReadFrom;
  direction?: Direction;
  /** Most events to return; default all. */
  maxCount?: number | bigint;
  /** Most bytes of records to read (see ReadAllOptions.maxBytes); default no limit. */
  maxBytes?: number;
  /** Whose read this is (access control); absent: the embedding process. */
  principal?: Principal;
}

export type ReadAllFilter = { streamPrefix: string } | { eventType: string } | { category: string };

export interface ReadAllOptions {
  /** First position to return (inclusive); default 'start' forwards, 'end' backwards. */
  fromPosition?: ReadFrom;
  direction?: Direction;
  maxCount?: number | bigint;
  /**
   * Most bytes of records (their size in the log, format-spec/log.md §3: headers, ids, type,
   * metadata, data) the read brings into memory, those a filter or metadata then skips included;
   * default no limit. The page stops before the event that would go past it, and holds at least
   * one event whenever one follows: a budget spent before any event passed the filter starts
   * afresh (what was read is garbage by then). The next page continues after the last event
   * returned, so pages of large events stay bounded in bytes, not only in count.
   */
  maxBytes?: number;
  filter?: ReadAllFilter;
  principal?: Principal;
}

/** A page of a read bounded in bytes (readStreamPage, readAllPage). */
export interface ReadPage {
  readonly events: RecordedEvent[];
  /**
   * The page stopped at `maxBytes` before a record that exists: read on after its last event.
   * False when it stopped at `maxCount` or at the end.
   */
  readonly cut: boolean;
}

export interface ParsedRead {
  from: ReadFrom;
  direction: Direction;
  maxCount: number;
  /** Infinity when the caller set none. */
  maxBytes: number;
  principal?: Principal;
}

/** Throws InvalidArgumentError for an options value that is not an object or has unknown keys. */
export function checkOptionKeys(options: unknown, allowed: readonly string[], what: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`${what} options must be an object`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new InvalidArgumentError(`unknown ${what} option '${key}'`);
  }
}

const checkKeys = (options: object, allowed: readonly string[], what: string): void => checkOptionKeys(options, allowed, what);

function parseCommon(options: Record<string, unknown>, fromKey: string): ParsedRead {
  const direction = options.direction ?? 'forwards';
  if (direction !== 'forwards' && direction !== 'backwards') throw new InvalidArgumentError(`direction must be 'forwards' or 'backwards'`);
  const from = options[fromKey] ?? (direction === 'forwards' ? 'start' : 'end');
  if (from !== 'start' && from !== 'end' && !(typeof from === 'bigint' && from >= 0n && from <= BigInt(POSITION_MAX))) {
    throw new InvalidArgumentError(`${fromKey} must be 'start', 'end' or a bigint >= 0n`);
  }
  const rawCount = options.maxCount ?? READ_EVENTS_MAX;
  const maxCount = typeof rawCount === 'bigint' ? Number(rawCount) : rawCount;
  if (typeof maxCount !== 'number' || !Number.isInteger(maxCount) || maxCount < 0 || maxCount > READ_EVENTS_MAX) {
    throw new InvalidArgumentError(`maxCount must be an integer in [0, ${READ_EVENTS_MAX}]`);
  }
  const maxBytes = options.maxBytes ?? Infinity;
  if (maxBytes !== Infinity && (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 1)) {
    throw new InvalidArgumentError('maxBytes must be a positive integer');
  }
  const principal = validatePrincipal(options.principal);
  return { from: from as ReadFrom, direction, maxCount, maxBytes: maxBytes as number, ...(principal ? { principal } : {}) };
}

export function parseReadStreamOptions(options: ReadStreamOptions | undefined): ParsedRead {
  if (options === undefined) return parseCommon({}, 'fromRevision');
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('read options must be an object');
  checkKeys(options, ['fromRevision', 'direction', 'maxCount', 'maxBytes', 'principal'], 'readStream');
  return parseCommon(options as Record<string, unknown>, 'fromRevision');
}

export function parseReadAllOptions(options: ReadAllOptions | undefined): ParsedRead & { filter: ReadAllFilter | undefined } {
  if (options === undefined) return { ...parseCommon({}, 'fromPosition'), filter: undefined };
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('read options must be an object');
  checkKeys(options, ['fromPosition', 'direction', 'maxCount', 'maxBytes', 'filter', 'principal'], 'readAll');
  const filter = options.filter;
  if (filter !== undefined) {
    if (typeof filter !== 'object' || filter === null) throw new InvalidArgumentError('filter must be an object');
    const keys = Object.keys(filter);
    if (keys.length !== 1 || !['streamPrefix', 'eventType', 'category'].includes(keys[0])) {
      throw new InvalidArgumentError(`filter must have exactly one of streamPrefix, eventType, category`);
    }
    const value = (filter as Record<string, unknown>)[keys[0]];
    if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError(`filter ${keys[0]} must be a non-empty string`);
  }
  return { ...parseCommon(options as Record<string, unknown>, 'fromPosition'), filter };
}
