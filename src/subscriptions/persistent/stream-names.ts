// The system streams persistent subscriptions write, their event types, and the checks on group
// names that keep `<stream>::<group>` unambiguous. format-spec/subscriptions.md §1.

import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../util/errors.js';
import { PERSISTENT_GROUP_NAME_BYTES_MAX, STREAM_ID_BYTES_MAX } from '../../util/limits.js';

/** The stream a group on `$all` names. */
export const ALL_STREAM_ID = '$all';
export const CONFIG_STREAM = '$persistentSubscriptionConfig';
export const CONFIG_EVENT_TYPE = '$PersistentConfig';
export const CHECKPOINT_EVENT_TYPE = '$SubscriptionCheckpoint';
/** Version of the config event's JSON layout. */
export const CONFIG_VERSION = 1;

export function checkpointStreamOf(streamId: string, group: string): string {
  return `$persistentsubscription-${streamId}::${group}-checkpoint`;
}

export function parkedStreamOf(streamId: string, group: string): string {
  return `$persistentsubscription-${streamId}::${group}-parked`;
}

/** A group's key in maps: the pair, unambiguous since group names have no ':'. */
export function groupKey(streamId: string, group: string): string {
  return `${streamId}::${group}`;
}

/**
 * Throws InvalidArgumentError unless `group` is a usable group name for `streamId`: 1 …
 * PERSISTENT_GROUP_NAME_BYTES_MAX bytes of well-formed Unicode without ':' (so that
 * `<stream>::<group>` names one pair only), and short enough that the parked stream id (the
 * longest derived id) fits in STREAM_ID_BYTES_MAX.
 */
export function validateGroupName(streamId: string, group: unknown): asserts group is string {
  if (typeof group !== 'string' || group.length === 0) throw new InvalidArgumentError('group must be a non-empty string');
  if (!group.isWellFormed()) throw new InvalidArgumentError('group is not well-formed Unicode (lone surrogate)');
  if (group.includes(':')) throw new InvalidArgumentError(`group '${group}' contains ':' (names are joined as <stream>::<group>)`);
  const bytes = Buffer.byteLength(group, 'utf8');
  if (bytes > PERSISTENT_GROUP_NAME_BYTES_MAX) {
    throw new InvalidArgumentError(`group is ${bytes} bytes, more than PERSISTENT_GROUP_NAME_BYTES_MAX = ${PERSISTENT_GROUP_NAME_BYTES_MAX}`);
  }
  const derived = Buffer.byteLength(parkedStreamOf(streamId, group), 'utf8');
  if (derived > STREAM_ID_BYTES_MAX) {
    throw new InvalidArgumentError(`the parked stream id of '${group}' on this stream would be ${derived} bytes, more than STREAM_ID_BYTES_MAX = ${STREAM_ID_BYTES_MAX}`);
  }
}

/**
 * The id of a parked copy: a name-based UUID (SHA-1, version 5 layout) of the group, the original
 * event id and the park's generation ('p' for the first park, 'r<n>' when the event came back from
 * parked revision n by a replay). Deterministic, so parking the same event again after a crash is
 * an idempotent retry; not the original id, since an append with a known id in the same stream is
 * taken for a retry and would write nothing.
 */
export function parkedEventId(streamId: string, group: string, originalId: string, generation: string): string {
  const hash = createHash('sha1').update(`annal-parked\u0000${streamId}\u0000${group}\u0000${originalId}\u0000${generation}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
