// Validation of what identifies a user: logins, passwords, group names and full names. Sizes are
// UTF-8 bytes, because that is what the wire protocol carries (es-tcp.md §1).

import { InvalidArgumentError } from '../util/errors.js';
import { FULL_NAME_BYTES_MAX, GROUP_NAME_BYTES_MAX, LOGIN_BYTES_MAX, PASSWORD_BYTES_MAX, USER_GROUPS_MAX } from './auth-limits.js';

// C0 controls, DEL and C1 controls.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `login` cannot be a login, or null when it can. */
export function loginProblem(login: unknown): string | null {
  if (typeof login !== 'string' || login.length === 0) return 'login must be a non-empty string';
  if (!login.isWellFormed()) return 'login is not well-formed Unicode';
  const bytes = Buffer.byteLength(login, 'utf8');
  if (bytes > LOGIN_BYTES_MAX) return `login is ${bytes} bytes, more than LOGIN_BYTES_MAX = ${LOGIN_BYTES_MAX}`;
  if (CONTROL_CHARACTER.test(login)) return 'login contains a control character';
  // ACL roles name users and groups alike, and `$admins`, `$ops`, `$all` are roles: a user named
  // `$admins` would match every ACL entry that grants `$admins`.
  if (login.startsWith('$')) return `login may not start with '$' (reserved for system roles)`;
  return null;
}

/** Returns `login` or throws InvalidArgumentError. */
export function validateLogin(login: unknown): string {
  const problem = loginProblem(login);
  if (problem !== null) throw new InvalidArgumentError(problem);
  return login as string;
}

/** Why `password` cannot be set as a password, or null when it can. */
export function passwordProblem(password: unknown): string | null {
  if (typeof password !== 'string' || password.length === 0) return 'password must be a non-empty string';
  if (!password.isWellFormed()) return 'password is not well-formed Unicode';
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes > PASSWORD_BYTES_MAX) return `password is ${bytes} bytes, more than PASSWORD_BYTES_MAX = ${PASSWORD_BYTES_MAX}`;
  return null;
}

/** Returns `password` or throws InvalidArgumentError (the message never contains the password). */
export function validatePassword(password: unknown): string {
  const problem = passwordProblem(password);
  if (problem !== null) throw new InvalidArgumentError(problem);
  return password as string;
}

/** Returns the groups without duplicates (first occurrence kept), frozen; throws InvalidArgumentError. */
export function validateGroups(groups: unknown): readonly string[] {
  if (!Array.isArray(groups)) throw new InvalidArgumentError('groups must be an array of strings');
  if (groups.length > USER_GROUPS_MAX) throw new InvalidArgumentError(`${groups.length} groups, more than USER_GROUPS_MAX = ${USER_GROUPS_MAX}`);
  for (const group of groups) {
    if (typeof group !== 'string' || group.length === 0 || !group.isWellFormed()) throw new InvalidArgumentError('each group must be a non-empty well-formed string');
    const bytes = Buffer.byteLength(group, 'utf8');
    if (bytes > GROUP_NAME_BYTES_MAX) throw new InvalidArgumentError(`group is ${bytes} bytes, more than GROUP_NAME_BYTES_MAX = ${GROUP_NAME_BYTES_MAX}`);
    if (CONTROL_CHARACTER.test(group)) throw new InvalidArgumentError(`group '${group}' contains a control character`);
  }
  return Object.freeze([...new Set(groups as string[])]);
}

/** Returns `fullName` or throws InvalidArgumentError. */
export function validateFullName(fullName: unknown): string {
  if (typeof fullName !== 'string' || !fullName.isWellFormed()) throw new InvalidArgumentError('fullName must be a well-formed string');
  const bytes = Buffer.byteLength(fullName, 'utf8');
  if (bytes > FULL_NAME_BYTES_MAX) throw new InvalidArgumentError(`fullName is ${bytes} bytes, more than FULL_NAME_BYTES_MAX = ${FULL_NAME_BYTES_MAX}`);
  if (CONTROL_CHARACTER.test(fullName)) throw new InvalidArgumentError('fullName contains a control character');
  return fullName;
}
