import { describe, expect, test } from 'vitest';
import {
  LOGIN_COOLDOWN_MS_MAX, LOGIN_COOLDOWN_MS_MIN, LOGIN_FAILURE_WINDOW_MS, LOGIN_FAILURES_MAX, THROTTLE_ENTRIES_MAX,
} from '../../src/auth/auth-limits.js';
import { LoginThrottle, THROTTLE_LIMITS_DEFAULT } from '../../src/auth/login-throttle.js';
import { InvalidArgumentError } from '../../src/util/errors.js';
import { ManualClock, gate, openRig, settle } from './auth-fixtures.js';

function failTimes(throttle: LoginThrottle, n: number, login: string | null, source?: string): void {
  for (let i = 0; i < n; i++) throttle.recordFailure(login, source);
}

describe('login throttle', () => {
  test('login throttle - the limits are the documented ones', () => {
    expect([LOGIN_FAILURES_MAX, LOGIN_FAILURE_WINDOW_MS, LOGIN_COOLDOWN_MS_MAX, THROTTLE_ENTRIES_MAX]).toEqual([5, 60_000, 60_000, 10_000]);
    expect(() => new LoginThrottle(new ManualClock(), { ...THROTTLE_LIMITS_DEFAULT, failuresMax: 0 })).toThrow(InvalidArgumentError);
    expect(() => new LoginThrottle(new ManualClock(), { ...THROTTLE_LIMITS_DEFAULT, cooldownMsMin: 2, cooldownMsMax: 1 })).toThrow(InvalidArgumentError);
    expect(() => new LoginThrottle().isRefused('a', 'x'.repeat(257))).toThrow(InvalidArgumentError);
  });

  test('login throttle - after 5 failures the 6th attempt is refused, even with the right password, until the cooldown passes', async () => {
    const { store, users, hasher, clock } = await openRig();
    for (let i = 0; i < LOGIN_FAILURES_MAX; i++) expect(await users.authenticate('admin', `guess-${i}`)).toBeNull();
    const verifies = hasher.verifyCalls;
    expect(await users.authenticate('admin', 'changeit')).toBeNull();
    clock.advance(LOGIN_COOLDOWN_MS_MIN - 1);
    expect(await users.authenticate('admin', 'changeit')).toBeNull();
    expect(hasher.verifyCalls).toBe(verifies); // refused without a password check
    clock.advance(1);
    expect(await users.authenticate('admin', 'changeit')).toEqual({ name: 'admin', groups: ['$admins'] });
    // Success cleared the login's failures: four more may fail without a refusal.
    for (let i = 0; i < LOGIN_FAILURES_MAX - 1; i++) expect(await users.authenticate('admin', `again-${i}`)).toBeNull();
    expect(await users.authenticate('admin', 'changeit')).not.toBeNull();
    await store.close();
  });

  test('login throttle - a cached password is refused too while the login cools down', async () => {
    const { store, users, hasher, clock } = await openRig();
    expect(await users.authenticate('admin', 'changeit')).not.toBeNull();
    for (let i = 0; i < LOGIN_FAILURES_MAX; i++) expect(await users.authenticate('admin', `guess-${i}`)).toBeNull();
    expect(await users.authenticate('admin', 'changeit')).toBeNull();
    clock.advance(LOGIN_COOLDOWN_MS_MIN);
    const verifies = hasher.verifyCalls;
    expect(await users.authenticate('admin', 'changeit')).not.toBeNull();
    expect(hasher.verifyCalls).toBe(verifies);
    await store.close();
  });

  test('login throttle - the cooldown doubles with each further failure, up to the maximum', () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock);
    failTimes(throttle, LOGIN_FAILURES_MAX, 'ann');
    const cooldowns: number[] = [];
    for (let round = 0; round < 9; round++) {
      let waited = 0;
      while (throttle.isRefused('ann')) {
        clock.advance(100);
        waited += 100;
      }
      cooldowns.push(waited);
      throttle.recordFailure('ann');
    }
    expect(cooldowns).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(cooldowns.every((ms) => ms <= LOGIN_COOLDOWN_MS_MAX)).toBe(true);
  });

  test('login throttle - failures older than the window are forgotten; a refusing key is forgiven a window after its refusal', () => {
    const clock = new ManualClock();
    const throttle = new LoginThrottle(clock);
    failTimes(throttle, 1, 'bob');
    failTimes(throttle, 4, 'ann');
    clock.advance(LOGIN_FAILURE_WINDOW_MS);
    failTimes(throttle, 4, 'ann'); // the first four are a window old now
    expect(throttle.isRefused('ann')).toBe(false);
    failTimes(throttle, 1, 'ann');
    expect(throttle.isRefused('ann')).toBe(true);
    // Forgotten entries are dropped when next looked at (eviction bounds the rest).
    expect(throttle.trackedKeyCount).toBe(2);
    expect(throttle.isRefused('bob')).toBe(false);
    expect(throttle.trackedKeyCount).toBe(1);

    clock.advance(LOGIN_COOLDOWN_MS_MIN + LOGIN_FAILURE_WINDOW_MS);
    expect(throttle.isRefused('ann')).toBe(false);
    expect(throttle.trackedKeyCount).toBe(0);
    failTimes(throttle, LOGIN_FAILURES_MAX - 1, 'ann');
    expect(throttle.isRefused('ann')).toBe(false);
  });

  test('login throttle - sources are throttled independently of each other; a login across all sources', async () => {
    const { store, users } = await openRig();
    await users.createUser('carol', 'pw-carol');
    // Source A guesses at five different logins: A is refused, for carol too; B is not.
    for (let i = 0; i < LOGIN_FAILURES_MAX; i++) expect(await users.authenticate(`user-${i}`, 'guess', '10.0.0.1')).toBeNull();
    expect(await users.authenticate('carol', 'pw-carol', '10.0.0.1')).toBeNull();
    expect(await users.authenticate('carol', 'pw-carol', '10.0.0.2')).toEqual({ name: 'carol', groups: [] });
    // Guesses at admin from five sources: admin is refused from a sixth; the sixth source is not.
    for (let i = 0; i < LOGIN_FAILURES_MAX; i++) expect(await users.authenticate('admin', 'guess', `10.0.1.${i}`)).toBeNull();
    expect(await users.authenticate('admin', 'changeit', '10.0.2.1')).toBeNull();
    expect(await users.authenticate('carol', 'pw-carol', '10.0.2.1')).not.toBeNull();
    await store.close();
  });

  test('login throttle - a success clears the login, not the source', () => {
    const throttle = new LoginThrottle(new ManualClock());
    failTimes(throttle, LOGIN_FAILURES_MAX - 1, 'ann', 'src');
    throttle.recordSuccess('ann');
    throttle.recordFailure('bob', 'src');
    expect(throttle.isRefused('bob')).toBe(false);
    expect(throttle.isRefused(null, 'src')).toBe(true);
  });

  test('login throttle - credentials no user can have count as failures', async () => {
    const { store, users } = await openRig();
    for (let i = 0; i < LOGIN_FAILURES_MAX; i++) expect(await users.authenticate('x'.repeat(200), 'pw', '10.0.0.9')).toBeNull();
    expect(await users.authenticate('admin', 'changeit', '10.0.0.9')).toBeNull();
    expect(await users.authenticate('admin', 'changeit', '10.0.0.8')).not.toBeNull();
    await store.close();
  });

  test('login throttle - memory is bounded: past the maximum the least recently failed key is forgotten', () => {
    const throttle = new LoginThrottle(new ManualClock());
    failTimes(throttle, LOGIN_FAILURES_MAX, null, 'first');
    expect(throttle.isRefused(null, 'first')).toBe(true);
    for (let i = 0; i < THROTTLE_ENTRIES_MAX; i++) throttle.recordFailure(`login-${i}`, `source-${i}`);
    expect(throttle.trackedKeyCount).toBe(THROTTLE_ENTRIES_MAX);
    expect(throttle.isRefused(null, 'first')).toBe(false);
    expect(throttle.isRefused(`login-${THROTTLE_ENTRIES_MAX - 1}`)).toBe(false);
    failTimes(throttle, LOGIN_FAILURES_MAX - 1, 'login-9999');
    expect(throttle.isRefused('login-9999')).toBe(true);
    expect(throttle.trackedKeyCount).toBe(THROTTLE_ENTRIES_MAX);

    const small = new LoginThrottle(new ManualClock(), { ...THROTTLE_LIMITS_DEFAULT, entriesMax: 3 });
    failTimes(small, LOGIN_FAILURES_MAX, 'a');
    failTimes(small, 1, 'b');
    failTimes(small, 1, 'a'); // a is now the most recently failed
    failTimes(small, 1, 'c');
    failTimes(small, 1, 'd'); // evicts b
    expect(small.trackedKeyCount).toBe(3);
    expect(small.isRefused('a')).toBe(true);
  });

  test('login throttle - concurrent guesses cannot outrun it: at most 5 password checks, the rest refused', async () => {
    const { store, users, hasher } = await openRig();
    const held = gate();
    hasher.hold = held.promise;
    const verifies = hasher.verifyCalls;
    const attempts = Array.from({ length: 20 }, (_, i) => users.authenticate('admin', `guess-${i}`, '10.0.0.1'));
    for (let i = 0; i < 20; i++) await settle();
    expect(hasher.verifyCalls - verifies).toBe(LOGIN_FAILURES_MAX);
    held.open();
    expect(await Promise.all(attempts)).toEqual(Array(20).fill(null));
    expect(hasher.verifyCalls - verifies).toBe(LOGIN_FAILURES_MAX);
    hasher.hold = null;
    await store.close();
  });

  test('login throttle - a burst of different good logins from one source waits rather than fails', async () => {
    const { store, users, hasher } = await openRig();
    const logins = Array.from({ length: 12 }, (_, i) => `user-${i}`);
    for (const login of logins) await users.createUser(login, `pw-${login}`);
    const held = gate();
    hasher.hold = held.promise;
    const attempts = logins.map((login) => users.authenticate(login, `pw-${login}`, '127.0.0.1'));
    for (let i = 0; i < 20; i++) await settle();
    held.open();
    hasher.hold = null;
    const principals = await Promise.all(attempts);
    expect(principals.map((p) => p?.name)).toEqual(logins);
    await store.close();
  });
});
