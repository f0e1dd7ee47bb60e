// User accounts for the servers: the system stream `$users` folded into a table, first-run
// creation of `admin` (es-tcp.md §4), user management with expected revisions, and
// `authenticate` with a verified-password cache and a failed-login throttle in front of scrypt.

import { randomBytes } from 'node:crypto';
import type { EventStore } from '../store/event-store.js';
import type { RecordedEvent } from '../store/recorded-event.js';
import { ADMINS_ROLE, type Principal } from '../store/access.js';
import { checkOptionKeys } from '../store/read-options.js';
import type { Clock } from '../util/clock.js';
import { InvalidArgumentError, WrongExpectedVersionError } from '../util/errors.js';
import { stderrLogger, type Logger } from '../util/logger.js';
import { USERS_PAGE_EVENTS, USER_WRITE_ATTEMPTS_MAX } from './auth-limits.js';
import { UserExistsError, UserNotFoundError, UsersStreamIncompleteError } from './auth-errors.js';
import { loginProblem, passwordProblem, validateFullName, validateGroups, validateLogin, validatePassword } from './credentials.js';
import { LoginThrottle } from './login-throttle.js';
import { parsePasswordHash, scryptHasher, type PasswordHash, type PasswordHasher } from './password-hash.js';
import {
  PASSWORD_CHANGED, USERS_STREAM, USER_CREATED, USER_DELETED, USER_DISABLED, USER_ENABLED, USER_UPDATED, applyUserEvent, parseUserEvent,
  toEventData, type UserEvent, type UserRecord,
} from './user-events.js';
import { VerifiedPasswordCache } from './verified-password-cache.js';

export const DEFAULT_ADMIN_LOGIN = 'admin';
export const DEFAULT_ADMIN_PASSWORD = 'changeit';

export interface UsersOptions {
  /** Password of `admin`, created only when `$users` has never been written. Default 'changeit'. */
  adminPassword?: string;
  /** How passwords are hashed and checked; default scrypt with SCRYPT_PARAMETERS_DEFAULT. */
  hasher?: PasswordHasher;
  /** The failed-login throttle; default a LoginThrottle on `clock` with the limits of auth-limits.ts. */
  throttle?: LoginThrottle;
  /** Clock of the default throttle. */
  clock?: Clock;
  /** Where events of `$users` that change nothing (written by another writer) are reported. */
  logger?: Logger;
}

/** A user as management calls show it: never the password hash. */
export interface UserInfo {
  readonly login: string;
  readonly fullName: string;
  readonly groups: readonly string[];
  readonly disabled: boolean;
}

export interface CreateUserOptions {
  /** Default: the login. */
  fullName?: string;
  /** Default: none. `$admins` makes an administrator. */
  groups?: string[];
}

function infoOf(user: UserRecord): UserInfo {
  return Object.freeze({ login: user.login, fullName: user.fullName, groups: user.groups, disabled: user.disabled });
}

function principalOf(user: UserRecord): Principal {
  return Object.freeze({ name: user.login, groups: user.groups });
}

export class Users {
  private readonly table = new Map<string, UserRecord>();
  /** Last revision of `$users` folded into `table`; -1n before the first event. */
  private revision = -1n;
  private readonly cache = new VerifiedPasswordCache();
  /** Password checks in flight, by login, hash salt and password tag: identical concurrent checks share one scrypt. */
  private readonly checks = new Map<string, Promise<boolean>>();
  /** The tail of this instance's writes to `$users`, which run one at a time. */
  private writes: Promise<unknown> = Promise.resolve();
  private dummyHash: Promise<PasswordHash> | null = null;

  private constructor(
    private readonly store: EventStore,
    private readonly hasher: PasswordHasher,
    private readonly throttle: LoginThrottle,
    private readonly logger: Logger,
  ) {}

  /**
   * Loads `$users` from `store`. When the stream has never been written (first run), creates
   * `admin` in `$admins` with `adminPassword`; a later open never recreates or resets it, even if
   * every user was deleted since. Throws UsersStreamIncompleteError when `$users` cannot be read
   * from its first event on.
   */
  static async open(store: EventStore, options: UsersOptions = {}): Promise<Users> {
    checkOptionKeys(options, ['adminPassword', 'hasher', 'throttle', 'clock', 'logger'], 'Users.open');
    const adminPassword = validatePassword(options.adminPassword ?? DEFAULT_ADMIN_PASSWORD);
    const hasher = options.hasher ?? scryptHasher();
    if (typeof hasher?.hash !== 'function' || typeof hasher.verify !== 'function') throw new InvalidArgumentError('hasher must have hash and verify');
    if (options.throttle !== undefined && !(options.throttle instanceof LoginThrottle)) throw new InvalidArgumentError('throttle must be a LoginThrottle');
    const users = new Users(store, hasher, options.throttle ?? new LoginThrottle(options.clock), options.logger ?? stderrLogger);
    await users.catchUp();
    if (users.revision === -1n) {
      const hash = await users.newHash(adminPassword);
      const admin: UserEvent = { type: USER_CREATED, data: { login: DEFAULT_ADMIN_LOGIN, fullName: 'Event Store Administrator', groups: [ADMINS_ROLE], hash } };
      // Another instance may have won the race to the first event: then there is nothing to do.
      await users.write(() => (users.revision === -1n ? admin : null));
    }
    return users;
  }

  /**
   * The principal for `login` and `password`, or null: unknown user, wrong password, disabled
   * user, or an attempt refused by the throttle (no password check then). Which of these it was is
   * never revealed, in the result or (short of the throttle) in the time taken: an unknown login is
   * checked against a dummy hash. `source` (the remote address) is throttled like the login.
   */
  async authenticate(login: string, password: string, source?: string): Promise<Principal | null> {
    if (typeof login !== 'string' || typeof password !== 'string') throw new InvalidArgumentError('login and password must be strings');
    const validLogin = loginProblem(login) === null ? login : null;
    if (this.throttle.isRefused(validLogin, source)) return null;
    // Credentials no user can have fail without a check; they still count as failures.
    if (validLogin === null || passwordProblem(password) !== null) {
      this.throttle.recordFailure(validLogin, source);
      return null;
    }
    await this.catchUp();
    const cached = this.cachedPrincipal(login, password);
    if (cached !== null) {
      this.throttle.recordSuccess(login);
      return cached;
    }
    const attempt = await this.throttle.begin(login, source);
    if (attempt === null) return null;
    let principal: Principal | null = null;
    try {
      // begin() may have waited for identical checks that have filled the cache meanwhile.
      principal = this.cachedPrincipal(login, password);
      if (principal === null) {
        const target = this.table.get(login);
        const verified = await this.check(login, target?.hash ?? (await this.dummy()), password);
        // The user may have changed while scrypt ran: succeed only against the hash still current.
        const now = this.table.get(login);
        if (verified && target !== undefined && now !== undefined && now.hash === target.hash && !now.disabled) {
          this.cache.remember(login, now.hash, password);
          principal = principalOf(now);
        }
      }
    } finally {
      attempt.end(principal !== null);
    }
    return principal;
  }

  /** Creates a user. Throws UserExistsError when the login exists, InvalidArgumentError for bad input. */
  async createUser(login: string, password: string, options?: CreateUserOptions): Promise<UserInfo> {
    validateLogin(login);
    validatePassword(password);
    checkOptionKeys(options, ['fullName', 'groups'], 'createUser');
    const fullName = validateFullName(options?.fullName ?? login);
    const groups = validateGroups(options?.groups ?? []);
    await this.catchUp();
    if (this.table.has(login)) throw new UserExistsError(login); // before paying for scrypt
    const hash = await this.newHash(password);
    await this.write(() => {
      if (this.table.has(login)) throw new UserExistsError(login);
      return { type: USER_CREATED, data: { login, fullName, groups, hash } };
    });
    return Object.freeze({ login, fullName, groups, disabled: false });
  }

  /** Sets a new password; the old one fails from the moment this resolves. Throws UserNotFoundError. */
  async changePassword(login: string, newPassword: string): Promise<void> {
    validateLogin(login);
    validatePassword(newPassword);
    await this.catchUp();
    if (!this.table.has(login)) throw new UserNotFoundError(login);
    const hash = await this.newHash(newPassword);
    await this.write(() => {
      if (!this.table.has(login)) throw new UserNotFoundError(login);
      return { type: PASSWORD_CHANGED, data: { login, hash } };
    });
  }

  /** Replaces the user's groups. Throws UserNotFoundError. */
  async setGroups(login: string, groups: string[]): Promise<void> {
    validateLogin(login);
    const valid = validateGroups(groups);
    await this.write(() => {
      if (!this.table.has(login)) throw new UserNotFoundError(login);
      return { type: USER_UPDATED, data: { login, groups: valid } };
    });
  }

  /** The user can no longer authenticate (until enabled). Disabling a disabled user changes nothing. */
  disableUser(login: string): Promise<void> {
    return this.setDisabled(login, true);
  }

  enableUser(login: string): Promise<void> {
    return this.setDisabled(login, false);
  }

  private async setDisabled(login: string, disabled: boolean): Promise<void> {
    validateLogin(login);
    await this.write(() => {
      const user = this.table.get(login);
      if (user === undefined) throw new UserNotFoundError(login);
      if (user.disabled === disabled) return null;
      return { type: disabled ? USER_DISABLED : USER_ENABLED, data: { login } };
    });
  }

  /** Deletes the user; the login may be created again later. Throws UserNotFoundError. */
  async deleteUser(login: string): Promise<void> {
    validateLogin(login);
    await this.write(() => {
      if (!this.table.has(login)) throw new UserNotFoundError(login);
      return { type: USER_DELETED, data: { login } };
    });
  }

  /** Every user, by login. */
  async list(): Promise<UserInfo[]> {
    await this.catchUp();
    return [...this.table.values()].map(infoOf).sort((a, b) => (a.login < b.login ? -1 : a.login > b.login ? 1 : 0));
  }

  /** One user, or null when there is none by that login. */
  async get(login: string): Promise<UserInfo | null> {
    validateLogin(login);
    await this.catchUp();
    const user = this.table.get(login);
    return user === undefined ? null : infoOf(user);
  }

  private cachedPrincipal(login: string, password: string): Principal | null {
    const user = this.table.get(login);
    return user !== undefined && !user.disabled && this.cache.matches(login, user.hash, password) ? principalOf(user) : null;
  }

  private async newHash(password: string): Promise<PasswordHash> {
    return parsePasswordHash(await this.hasher.hash(password));
  }

  /** One scrypt per distinct (login, hash, password) in flight. */
  private check(login: string, hash: PasswordHash, password: string): Promise<boolean> {
    const key = `${login}\u0000${hash.salt}\u0000${this.cache.tag(password)}`;
    let pending = this.checks.get(key);
    if (pending === undefined) {
      pending = this.hasher.verify(password, hash).finally(() => this.checks.delete(key));
      this.checks.set(key, pending);
    }
    return pending;
  }

  /** A hash of a random password, so that an unknown login costs what a known one does. */
  private dummy(): Promise<PasswordHash> {
    this.dummyHash ??= this.newHash(randomBytes(24).toString('base64')).catch((error: unknown) => {
      this.dummyHash = null;
      throw error;
    });
    return this.dummyHash;
  }

  /**
   * Appends the event `decide` returns (null: nothing to do; it may throw a typed error) expecting
   * `$users` at the revision `decide` saw, so that of two concurrent changes only one is written;
   * the loser catches up and decides again. Writes of this instance run one at a time.
   */
  private write(decide: () => UserEvent | null): Promise<void> {
    const run = this.writes.then(async () => {
      for (let attempt = 1; ; attempt++) {
        await this.catchUp();
        const event = decide();
        if (event === null) return;
        const expectedRevision = this.revision === -1n ? 'no_stream' : this.revision;
        try {
          await this.store.appendToStream(USERS_STREAM, [toEventData(event)], { expectedRevision });
        } catch (error) {
          if (error instanceof WrongExpectedVersionError && attempt < USER_WRITE_ATTEMPTS_MAX) continue;
          throw error;
        }
        await this.catchUp();
        return;
      }
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  /**
   * Folds the events of `$users` appended since the last fold (by this or any other instance).
   * Concurrent calls are safe: each event is folded once, in revision order.
   */
  private async catchUp(): Promise<void> {
    const { lastRevision } = await this.store.streamInfo(USERS_STREAM);
    while (this.revision < lastRevision) {
      const from = this.revision + 1n;
      const events = await this.store.readStream(USERS_STREAM, { fromRevision: from, maxCount: USERS_PAGE_EVENTS });
      if (events.length === 0 && this.revision < lastRevision) throw this.incomplete(from, null);
      for (const event of events) {
        if (event.revision <= this.revision) continue; // folded by a concurrent catch-up
        if (event.revision !== this.revision + 1n) throw this.incomplete(this.revision + 1n, event.revision);
        this.fold(event);
      }
    }
  }

  private incomplete(expected: bigint, found: bigint | null): UsersStreamIncompleteError {
    const what = found === null ? 'nothing' : `revision ${found}`;
    return new UsersStreamIncompleteError(`${USERS_STREAM}: expected revision ${expected}, read ${what} (is it truncated, aged out or deleted by its metadata?)`);
  }

  private fold(event: RecordedEvent): void {
    this.revision = event.revision;
    const parsed = parseUserEvent(event.type, event.data);
    if (typeof parsed === 'string') {
      this.logger.warn(`${USERS_STREAM}: ignored an event that is not a valid user event`, { revision: String(event.revision), reason: parsed });
      return;
    }
    // Every change to a user ends its cached verification (the cache also checks the hash itself).
    this.cache.forget(parsed.data.login);
    const unchanged = applyUserEvent(this.table, parsed);
    if (unchanged !== null) this.logger.warn(`${USERS_STREAM}: an event changed nothing`, { revision: String(event.revision), reason: unchanged });
  }
}
