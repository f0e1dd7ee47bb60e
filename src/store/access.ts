// Who may do what: principals, roles and the access control lists of streams (EventStoreDB's
// model). A call without a principal comes from the embedding process itself and may do anything.

import { InvalidArgumentError } from '../util/errors.js';
import type { AclRoles, StreamAcl } from './stream-metadata.js';

/** An authenticated user (name and groups) or an anonymous caller (name null). */
export interface Principal {
  readonly name: string | null;
  readonly groups: readonly string[];
}

export const ANONYMOUS: Principal = { name: null, groups: [] };
export const ADMINS_ROLE = '$admins';
export const OPS_ROLE = '$ops';
/** The role every caller has (anonymous callers only when anonymous access is allowed). */
export const EVERYONE_ROLE = '$all';

export type StreamOperation = 'read' | 'write' | 'delete' | 'metaRead' | 'metaWrite';

/** Built-in defaults, used where neither the stream's `$acl` nor `$settings` says otherwise. */
export const DEFAULT_USER_STREAM_ACL: Required<StreamAcl> = {
  read: [EVERYONE_ROLE], write: [EVERYONE_ROLE], delete: [EVERYONE_ROLE], metaRead: [EVERYONE_ROLE], metaWrite: [EVERYONE_ROLE],
};
export const DEFAULT_SYSTEM_STREAM_ACL: Required<StreamAcl> = {
  read: [ADMINS_ROLE], write: [ADMINS_ROLE], delete: [ADMINS_ROLE], metaRead: [ADMINS_ROLE], metaWrite: [ADMINS_ROLE],
};

export function isAdmin(principal: Principal): boolean {
  return principal.groups.includes(ADMINS_ROLE);
}

/** Whether the principal holds one of the roles. Admins hold every role. */
export function hasRole(principal: Principal, roles: AclRoles, allowAnonymous: boolean): boolean {
  if (isAdmin(principal)) return true;
  for (const role of roles) {
    if (role === EVERYONE_ROLE && (principal.name !== null || allowAnonymous)) return true;
    if (principal.name !== null && (role === principal.name || principal.groups.includes(role))) return true;
  }
  return false;
}

/** The roles for an operation: the stream's own `$acl` entry, else the default for its kind. */
export function rolesFor(operation: StreamOperation, streamAcl: StreamAcl | undefined, defaults: StreamAcl, builtIn: Required<StreamAcl>): AclRoles {
  return streamAcl?.[operation] ?? defaults[operation] ?? builtIn[operation];
}

/** Throws InvalidArgumentError unless `value` is undefined or a Principal. */
export function validatePrincipal(value: unknown): Principal | undefined {
  if (value === undefined) return undefined;
  const p = value as Principal;
  if (typeof value !== 'object' || value === null || (p.name !== null && typeof p.name !== 'string') || !Array.isArray(p.groups) || !p.groups.every((g) => typeof g === 'string')) {
    throw new InvalidArgumentError('principal must be { name: string | null, groups: string[] }');
  }
  return p;
}
