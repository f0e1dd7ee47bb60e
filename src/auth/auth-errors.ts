// Typed operating errors of the auth layer (stable codes, like src/util/errors.ts). Bad arguments
// reuse InvalidArgumentError; these are the ones only user management can raise.

import { AnnalError } from '../util/errors.js';

/** createUser for a login that already exists. */
export class UserExistsError extends AnnalError {
  override readonly code = 'USER_EXISTS';
  override name = 'UserExistsError';
  readonly login: string;
  constructor(login: string) {
    super(`user '${login}' already exists`);
    this.login = login;
  }
}

/** A change to a user that does not exist (or was deleted). */
export class UserNotFoundError extends AnnalError {
  override readonly code = 'USER_NOT_FOUND';
  override name = 'UserNotFoundError';
  readonly login: string;
  constructor(login: string) {
    super(`user '${login}' does not exist`);
    this.login = login;
  }
}

/**
 * `$users` cannot be read from its first event on (its metadata truncates or ages it out, or it was
 * soft-deleted), so the user table cannot be rebuilt. Refused rather than folded from a suffix,
 * which could resurrect a deleted user or forget a password change.
 */
export class UsersStreamIncompleteError extends AnnalError {
  override readonly code = 'USERS_STREAM_INCOMPLETE';
  override name = 'UsersStreamIncompleteError';
}
