// Argument checks shared by the client's calls: unknown option keys, stream ids, counts and read
// starting points are refused with the embedded API's error classes before anything is sent.

import { InvalidArgumentError, InvalidStreamIdError } from '../util/errors.js';
import { POSITION_MAX, READ_EVENTS_MAX } from '../util/limits.js';
import type { Direction, ReadFrom } from '../store/read-options.js';

/** Throws InvalidArgumentError for an options value that is not an object or has unknown keys. */
export function checkKeys(options: unknown, allowed: readonly string[], what: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidArgumentError(`${what} options must be an object`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new InvalidArgumentError(`unknown ${what} option '${key}'`);
  }
  return options as Record<string, unknown>;
}

/** Throws InvalidStreamIdError unless `streamId` is a non-empty, well-formed string. */
export function checkStreamId(streamId: unknown): string {
  if (typeof streamId !== 'string' || streamId.length === 0) throw new InvalidStreamIdError('stream id must be a non-empty string');
  if (!streamId.isWellFormed()) throw new InvalidStreamIdError('stream id is not well-formed Unicode (lone surrogate)');
  return streamId;
}

export function parseDirection(value: unknown): Direction {
  const direction = value ?? 'forwards';
  if (direction !== 'forwards' && direction !== 'backwards') throw new InvalidArgumentError(`direction must be 'forwards' or 'backwards'`);
  return direction;
}

/** 'start' | 'end' | a bigint in 0..POSITION_MAX; `fallback` when absent. */
export function parseReadFrom(value: unknown, key: string, fallback: ReadFrom): ReadFrom {
  const from = value ?? fallback;
  if (from === 'start' || from === 'end') return from;
  if (typeof from === 'bigint' && from >= 0n && from <= BigInt(POSITION_MAX)) return from;
  throw new InvalidArgumentError(`${key} must be 'start', 'end' or a bigint >= 0n`);
}

/** An integer count in 0..READ_EVENTS_MAX (number or bigint); READ_EVENTS_MAX when absent. */
export function parseMaxCount(value: unknown): number {
  const raw = value ?? READ_EVENTS_MAX;
  const count = typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > READ_EVENTS_MAX) {
    throw new InvalidArgumentError(`maxCount must be an integer in [0, ${READ_EVENTS_MAX}]`);
  }
  return count;
}
