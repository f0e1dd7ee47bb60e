// The events of the system stream `$users` and how they fold into the user table. Each event
// names its user by `login`; the table is the fold of the whole stream from revision 0.

import type { EventData } from '../store/event-input.js';
import { loginProblem, validateFullName, validateGroups } from './credentials.js';
import { parsePasswordHash, type PasswordHash } from './password-hash.js';

export const USERS_STREAM = '$users';

export const USER_CREATED = '$UserCreated';
export const USER_UPDATED = '$UserUpdated';
export const PASSWORD_CHANGED = '$PasswordChanged';
export const USER_DISABLED = '$UserDisabled';
export const USER_ENABLED = '$UserEnabled';
export const USER_DELETED = '$UserDeleted';

export type UserEvent =
  | { readonly type: typeof USER_CREATED; readonly data: { login: string; fullName: string; groups: readonly string[]; hash: PasswordHash } }
  | { readonly type: typeof USER_UPDATED; readonly data: { login: string; fullName?: string; groups?: readonly string[] } }
  | { readonly type: typeof PASSWORD_CHANGED; readonly data: { login: string; hash: PasswordHash } }
  | { readonly type: typeof USER_DISABLED | typeof USER_ENABLED | typeof USER_DELETED; readonly data: { login: string } };

/** One user as the fold of `$users` leaves it. Replaced (never mutated) by every change. */
export interface UserRecord {
  readonly login: string;
  readonly fullName: string;
  readonly groups: readonly string[];
  readonly hash: PasswordHash;
  readonly disabled: boolean;
}

export function toEventData(event: UserEvent): EventData {
  return { type: event.type, data: event.data };
}

const ALLOWED_KEYS: Record<string, readonly string[]> = {
  [USER_CREATED]: ['login', 'fullName', 'groups', 'hash'],
  [USER_UPDATED]: ['login', 'fullName', 'groups'],
  [PASSWORD_CHANGED]: ['login', 'hash'],
  [USER_DISABLED]: ['login'],
  [USER_ENABLED]: ['login'],
  [USER_DELETED]: ['login'],
};

/**
 * The user event in a stored event, or a reason it is not one. `$users` is a system stream that
 * admins may also append to, so its contents are checked like any other input.
 */
export function parseUserEvent(type: string, data: unknown): UserEvent | string {
  const allowed = ALLOWED_KEYS[type];
  if (allowed === undefined) return `unknown event type '${type}'`;
  if (typeof data !== 'object' || data === null || Array.isArray(data) || data instanceof Uint8Array) return `${type} data is not a JSON object`;
  const d = data as Record<string, unknown>;
  for (const key of Object.keys(d)) {
    if (!allowed.includes(key)) return `${type} has an unknown field '${key}'`;
  }
  const problem = loginProblem(d.login);
  if (problem !== null) return `${type}: ${problem}`;
  const login = d.login as string;
  try {
    switch (type) {
      case USER_CREATED:
        return { type, data: { login, fullName: validateFullName(d.fullName), groups: validateGroups(d.groups), hash: parsePasswordHash(d.hash) } };
      case USER_UPDATED:
        return {
          type,
          data: {
            login,
            ...(d.fullName === undefined ? {} : { fullName: validateFullName(d.fullName) }),
            ...(d.groups === undefined ? {} : { groups: validateGroups(d.groups) }),
          },
        };
      case PASSWORD_CHANGED:
        return { type, data: { login, hash: parsePasswordHash(d.hash) } };
      default:
        return { type: type as typeof USER_DISABLED, data: { login } };
    }
  } catch (error) {
    return `${type}: ${(error as Error).message}`;
  }
}

/**
 * Applies one event to the table. Returns null, or why the event changed nothing (created twice,
 * changed after deletion): Users never appends such events, so they come from another writer.
 */
export function applyUserEvent(table: Map<string, UserRecord>, event: UserEvent): string | null {
  const { login } = event.data;
  const current = table.get(login);
  if (event.type === USER_CREATED) {
    if (current !== undefined) return `${USER_CREATED} for existing user '${login}'`;
    const { fullName, groups, hash } = event.data;
    table.set(login, Object.freeze({ login, fullName, groups, hash, disabled: false }));
    return null;
  }
  if (current === undefined) return `${event.type} for unknown user '${login}'`;
  switch (event.type) {
    case USER_UPDATED:
      table.set(login, Object.freeze({ ...current, fullName: event.data.fullName ?? current.fullName, groups: event.data.groups ?? current.groups }));
      break;
    case PASSWORD_CHANGED:
      table.set(login, Object.freeze({ ...current, hash: event.data.hash }));
      break;
    case USER_DISABLED:
    case USER_ENABLED:
      table.set(login, Object.freeze({ ...current, disabled: event.type === USER_DISABLED }));
      break;
    case USER_DELETED:
      table.delete(login);
      break;
  }
  return null;
}
