// Group settings: defaults, validation against the bounds in util/limits.ts, and the JSON form
// stored in `$persistentSubscriptionConfig` (format-spec/subscriptions.md §2).

import { InvalidArgumentError } from '../../util/errors.js';
import {
  POSITION_MAX, PERSISTENT_BUFFER_EVENTS_MAX, PERSISTENT_CHECKPOINT_AFTER_MS_MAX, PERSISTENT_CHECKPOINT_COUNT_MAX,
  PERSISTENT_CONSUMERS_PER_GROUP_MAX, PERSISTENT_MESSAGE_TIMEOUT_MS_MAX, PERSISTENT_READ_BATCH_EVENTS_MAX, PERSISTENT_RETRY_COUNT_MAX,
} from '../../util/limits.js';
import type { ConsumerStrategy, GroupSettings, GroupStartFrom } from './types.js';

export const DEFAULT_SETTINGS: Readonly<GroupSettings> = Object.freeze({
  startFrom: 'end',
  resolveLinks: false,
  messageTimeoutMs: 30_000,
  maxRetryCount: 10,
  liveBufferEvents: 500,
  readBatchEvents: 20,
  historyBufferEvents: 500,
  checkpointAfterMs: 2_000,
  checkpointMinCount: 10,
  checkpointMaxCount: 1_000,
  maxSubscriberCount: 0,
  consumerStrategy: 'RoundRobin',
  extraStatistics: false,
});

const STRATEGIES: readonly ConsumerStrategy[] = ['RoundRobin', 'DispatchToSingle', 'Pinned', 'Ordered'];

/** Integer settings and their inclusive bounds (the name of the upper bound is part of the error). */
const INTEGER_BOUNDS: Record<string, readonly [number, number, string]> = {
  messageTimeoutMs: [0, PERSISTENT_MESSAGE_TIMEOUT_MS_MAX, 'PERSISTENT_MESSAGE_TIMEOUT_MS_MAX'],
  maxRetryCount: [0, PERSISTENT_RETRY_COUNT_MAX, 'PERSISTENT_RETRY_COUNT_MAX'],
  liveBufferEvents: [1, PERSISTENT_BUFFER_EVENTS_MAX, 'PERSISTENT_BUFFER_EVENTS_MAX'],
  readBatchEvents: [1, PERSISTENT_READ_BATCH_EVENTS_MAX, 'PERSISTENT_READ_BATCH_EVENTS_MAX'],
  historyBufferEvents: [1, PERSISTENT_BUFFER_EVENTS_MAX, 'PERSISTENT_BUFFER_EVENTS_MAX'],
  checkpointAfterMs: [0, PERSISTENT_CHECKPOINT_AFTER_MS_MAX, 'PERSISTENT_CHECKPOINT_AFTER_MS_MAX'],
  checkpointMinCount: [1, PERSISTENT_CHECKPOINT_COUNT_MAX, 'PERSISTENT_CHECKPOINT_COUNT_MAX'],
  checkpointMaxCount: [1, PERSISTENT_CHECKPOINT_COUNT_MAX, 'PERSISTENT_CHECKPOINT_COUNT_MAX'],
  maxSubscriberCount: [0, PERSISTENT_CONSUMERS_PER_GROUP_MAX, 'PERSISTENT_CONSUMERS_PER_GROUP_MAX'],
};
const KEYS = new Set(Object.keys(DEFAULT_SETTINGS));

/**
 * The full settings of `changes` applied over `base`. Throws InvalidArgumentError for an unknown
 * key or a value out of its bounds (the message names the value and the bound).
 */
export function resolveSettings(changes: unknown, base: Readonly<GroupSettings> = DEFAULT_SETTINGS): GroupSettings {
  if (changes === undefined) return { ...base };
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) throw new InvalidArgumentError('settings must be an object');
  const out: GroupSettings = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (!KEYS.has(key)) throw new InvalidArgumentError(`unknown persistent subscription setting '${key}'`);
    if (value === undefined) continue;
    (out as unknown as Record<string, unknown>)[key] = checkSetting(key, value);
  }
  if (out.readBatchEvents > out.historyBufferEvents) {
    throw new InvalidArgumentError(`readBatchEvents = ${out.readBatchEvents} must be <= historyBufferEvents = ${out.historyBufferEvents}`);
  }
  if (out.checkpointMinCount > out.checkpointMaxCount) {
    throw new InvalidArgumentError(`checkpointMinCount = ${out.checkpointMinCount} must be <= checkpointMaxCount = ${out.checkpointMaxCount}`);
  }
  return out;
}

function checkSetting(key: string, value: unknown): unknown {
  const bounds = INTEGER_BOUNDS[key];
  if (bounds !== undefined) {
    const [min, max, maxName] = bounds;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`${key} = ${String(value)} must be an integer in [${min}, ${max}] (${maxName})`);
    }
    return value;
  }
  switch (key) {
    case 'startFrom':
      if (value === 'start' || value === 'end') return value;
      if (typeof value === 'bigint' && value >= 0n && value <= BigInt(POSITION_MAX)) return value;
      throw new InvalidArgumentError(`startFrom = ${String(value)} must be 'start', 'end' or a bigint in [0n, ${POSITION_MAX}n] (POSITION_MAX)`);
    case 'consumerStrategy':
      if (STRATEGIES.includes(value as ConsumerStrategy)) return value;
      throw new InvalidArgumentError(`consumerStrategy = ${String(value)} must be one of ${STRATEGIES.join(', ')}`);
    default:
      // resolveLinks, extraStatistics
      if (typeof value !== 'boolean') throw new InvalidArgumentError(`${key} = ${String(value)} must be a boolean`);
      return value;
  }
}

/** The JSON form: every field as is, except a bigint startFrom, which becomes a decimal string. */
export function settingsToJson(settings: Readonly<GroupSettings>): Record<string, unknown> {
  return { ...settings, startFrom: typeof settings.startFrom === 'bigint' ? settings.startFrom.toString() : settings.startFrom };
}

/** Reads the JSON form back (validated like user input: a damaged config is refused, not guessed). */
export function settingsFromJson(json: unknown): GroupSettings {
  if (typeof json !== 'object' || json === null) throw new InvalidArgumentError('stored settings must be an object');
  const raw = json as Record<string, unknown>;
  const startFrom = typeof raw.startFrom === 'string' && /^[0-9]+$/.test(raw.startFrom) ? BigInt(raw.startFrom) : raw.startFrom;
  return resolveSettings({ ...raw, startFrom: startFrom as GroupStartFrom });
}
