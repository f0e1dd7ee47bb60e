// Stream metadata as EventStoreDB clients write it: a JSON object in the latest `$metadata` event
// of `$$S`, with `$maxCount`, `$maxAge` (seconds), `$tb` (truncate before), `$cacheControl`,
// `$acl` and any user keys, which are kept as they are.

import { InvalidEventError } from '../util/errors.js';

/** `$tb` at or beyond this marks a soft-deleted stream (EventStoreDB writes int64 max). */
export const SOFT_DELETED_TB = 2 ** 53;
/** The text EventStoreDB writes for a soft delete's `$tb`: int64 max, exactly. */
export const SOFT_DELETED_TB_TEXT = '9223372036854775807';

export type AclRoles = readonly string[];

export interface StreamAcl {
  readonly read?: AclRoles;
  readonly write?: AclRoles;
  readonly delete?: AclRoles;
  readonly metaRead?: AclRoles;
  readonly metaWrite?: AclRoles;
}

export interface StreamMetadata {
  readonly maxCount?: number;
  /** Seconds. */
  readonly maxAge?: number;
  /** Revisions below this are invisible; SOFT_DELETED_TB or more: the stream is soft-deleted. */
  readonly truncateBefore?: number;
  /** Seconds, for HTTP caching. */
  readonly cacheControl?: number;
  readonly acl?: StreamAcl;
}

const ACL_KEYS: Record<string, keyof StreamAcl> = { $r: 'read', $w: 'write', $d: 'delete', $mr: 'metaRead', $mw: 'metaWrite' };

function roles(value: unknown, where: string): AclRoles {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new InvalidEventError(`metadata ${where} must be a role name or an array of role names`);
}

function count(value: unknown, key: string, min = 0): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || Math.floor(value) !== value) {
    throw new InvalidEventError(`metadata ${key} must be an integer of at least ${min}`);
  }
  return value;
}

/** The acl object of `$acl` or of `$settings`' `$userStreamAcl` / `$systemStreamAcl`. */
export function parseAcl(value: unknown, where: string): StreamAcl {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidEventError(`${where} must be an object`);
  const acl: Record<string, AclRoles> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = ACL_KEYS[key];
    if (field !== undefined && v !== null && v !== undefined) acl[field] = roles(v, `${where}.${key}`);
  }
  return acl;
}

/**
 * Parses the JSON object of a `$metadata` event. Throws InvalidEventError for values of the known
 * keys that have the wrong shape (so bad metadata is refused when written, not when read).
 */
export function parseStreamMetadata(json: unknown): StreamMetadata {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidEventError('stream metadata must be a JSON object');
  const raw = json as Record<string, unknown>;
  const metadata: { -readonly [K in keyof StreamMetadata]: StreamMetadata[K] } = {};
  metadata.maxCount = count(raw.$maxCount, '$maxCount', 1);
  metadata.maxAge = count(raw.$maxAge, '$maxAge', 1);
  metadata.truncateBefore = count(raw.$tb, '$tb');
  metadata.cacheControl = count(raw.$cacheControl, '$cacheControl');
  if (raw.$acl !== undefined && raw.$acl !== null) metadata.acl = parseAcl(raw.$acl, '$acl');
  return metadata;
}

export function isSoftDeleted(metadata: StreamMetadata | null): boolean {
  return metadata !== null && metadata.truncateBefore !== undefined && metadata.truncateBefore >= SOFT_DELETED_TB;
}

/**
 * The JSON text of `raw` with `$tb` set: used to soft-delete (int64 max, written exactly) and to
 * undelete (the first new revision). Other keys are kept.
 */
export function withTruncateBefore(raw: Record<string, unknown> | null, tb: number | 'deleted'): string {
  const rest = { ...(raw ?? {}) };
  delete rest.$tb;
  const body = JSON.stringify(rest);
  const tbText = tb === 'deleted' ? SOFT_DELETED_TB_TEXT : String(tb);
  return body === '{}' ? `{"$tb":${tbText}}` : `{"$tb":${tbText},${body.slice(1)}`;
}
