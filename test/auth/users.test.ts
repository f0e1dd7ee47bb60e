import { describe, expect, test } from 'vitest';
import { Users, DEFAULT_ADMIN_LOGIN } from '../../src/auth/users.js';
import { UserExistsError, UserNotFoundError, UsersStreamIncompleteError } from '../../src/auth/auth-errors.js';
import { USERS_STREAM } from '../../src/auth/user-events.js';
import type { EventStore } from '../../src/store/event-store.js';
import { InvalidArgumentError, WrongExpectedVersionError } from '../../src/util/errors.js';
import { SimDisk } from '../harness/sim-disk.js';
import { QUIET } from '../harness/workload.js';
import { countingHasher, openRig, openStore } from './auth-fixtures.js';

async function typesIn(store: EventStore): Promise<string[]> {
  return (await store.readStream(USERS_STREAM)).map((e) => e.type);
}

/**
 * A store whose appends to `$users` wait until `parties` of them have been made, so that
 * concurrent writers really do race with the same expected revision. Records the errors.
 */
function racingStore(store: EventStore, parties: number): { store: EventStore; errors: unknown[] } {
  const errors: unknown[] = [];
  let waiting: (() => void)[] = [];
  const racing = new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'appendToStream') {
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: Parameters<EventStore['appendToStream']>) => {
        if (parties > 1) {
          parties--;
          await new Promise<void>((resolve) => waiting.push(resolve));
        } else {
          parties = 0;
          for (const release of waiting.splice(0)) release();
          waiting = [];
        }
        try {
          return await target.appendToStream(...args);
        } catch (error) {
          errors.push(error);
          throw error;
        }
      };
    },
  });
  return { store: racing, errors };
}

describe('users', () => {
  test('users - first run creates admin in $admins with the default password, hashed', async () => {
    const { store, users } = await openRig();
    expect(await users.list()).toEqual([{ login: 'admin', fullName: 'Event Store Administrator', groups: ['$admins'], disabled: false }]);
    expect(await users.authenticate('admin', 'changeit')).toEqual({ name: 'admin', groups: ['$admins'] });
    expect(await users.authenticate('admin', 'changeit!')).toBeNull();
    const [created] = await store.readStream(USERS_STREAM);
    expect(created.type).toBe('$UserCreated');
    const data = created.data as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual(['fullName', 'groups', 'hash', 'login']);
    expect(Object.keys(data.hash as object).sort()).toEqual(['N', 'algorithm', 'key', 'p', 'r', 'salt']);
    expect(JSON.stringify(data)).not.toContain('changeit');
    await store.close();
  });

  test('users - a configured admin password replaces the default; a second open neither recreates nor overrides admin', async () => {
    const disk = new SimDisk();
    const first = await openRig({ adminPassword: 's3cret' }, disk);
    expect(await first.users.authenticate('admin', 'changeit')).toBeNull();
    expect(await first.users.authenticate('admin', 's3cret')).not.toBeNull();
    await first.store.close();

    const store = await openStore(disk);
    const again = await Users.open(store, { hasher: countingHasher(), logger: QUIET, adminPassword: 'other' });
    expect(await typesIn(store)).toEqual(['$UserCreated']);
    expect(await again.authenticate('admin', 's3cret')).not.toBeNull();
    expect(await again.authenticate('admin', 'other')).toBeNull();
    await store.close();
  });

  test('users - deleting every user does not bring admin back on the next open', async () => {
    const disk = new SimDisk();
    const { store, users } = await openRig({}, disk);
    await users.deleteUser('admin');
    await store.close();
    const reopened = await openStore(disk);
    const again = await Users.open(reopened, { hasher: countingHasher(), logger: QUIET });
    expect(await again.list()).toEqual([]);
    expect(await again.authenticate('admin', 'changeit')).toBeNull();
    await reopened.close();
  });

  test('users - every operation takes effect and survives a reopen of the store', async () => {
    const disk = new SimDisk();
    const { store, users } = await openRig({}, disk);
    expect(await users.createUser('ann', 'pw-ann', { fullName: 'Ann A.', groups: ['ops', 'ops', 'devs'] }))
      .toEqual({ login: 'ann', fullName: 'Ann A.', groups: ['ops', 'devs'], disabled: false });
    await users.createUser('bob', 'pw-bob');
    await users.createUser('cy', 'pw-cy', { groups: ['$ops'] });
    await users.createUser('dee', 'pw-dee');
    await users.changePassword('bob', 'pw-bob-2');
    await users.setGroups('ann', ['$admins']);
    await users.disableUser('cy');
    await users.disableUser('dee');
    await users.enableUser('dee');
    await users.deleteUser('admin');
    await users.disableUser('cy'); // already disabled: nothing written

    const expected = [
      { login: 'ann', fullName: 'Ann A.', groups: ['$admins'], disabled: false },
      { login: 'bob', fullName: 'bob', groups: [], disabled: false },
      { login: 'cy', fullName: 'cy', groups: ['$ops'], disabled: true },
      { login: 'dee', fullName: 'dee', groups: [], disabled: false },
    ];
    const check = async (u: Users): Promise<void> => {
      expect(await u.list()).toEqual(expected);
      expect(await u.get('bob')).toEqual(expected[1]);
      expect(await u.get('admin')).toBeNull();
      expect(await u.authenticate('ann', 'pw-ann')).toEqual({ name: 'ann', groups: ['$admins'] });
      expect(await u.authenticate('bob', 'pw-bob')).toBeNull();
      expect(await u.authenticate('bob', 'pw-bob-2')).toEqual({ name: 'bob', groups: [] });
      expect(await u.authenticate('cy', 'pw-cy')).toBeNull();
      expect(await u.authenticate('dee', 'pw-dee')).toEqual({ name: 'dee', groups: [] });
      expect(await u.authenticate('admin', 'changeit')).toBeNull();
    };
    await check(users);
    expect(await typesIn(store)).toEqual([
      '$UserCreated', '$UserCreated', '$UserCreated', '$UserCreated', '$UserCreated', '$PasswordChanged', '$UserUpdated',
      '$UserDisabled', '$UserDisabled', '$UserEnabled', '$UserDeleted',
    ]);
    await store.close();

    const reopened = await openStore(disk);
    await check(await Users.open(reopened, { hasher: countingHasher(), logger: QUIET }));
    await reopened.close();
  });

  test('users - a deleted login can be created again, with a new password', async () => {
    const { store, users } = await openRig();
    await users.createUser('eve', 'one');
    await users.deleteUser('eve');
    await users.createUser('eve', 'two', { groups: ['g'] });
    expect(await users.authenticate('eve', 'one')).toBeNull();
    expect(await users.authenticate('eve', 'two')).toEqual({ name: 'eve', groups: ['g'] });
    await store.close();
  });

  test('users - operations on missing users and duplicate creates throw typed errors', async () => {
    const { store, users } = await openRig();
    await expect(users.createUser('admin', 'x')).rejects.toThrow(UserExistsError);
    await expect(users.createUser('admin', 'x')).rejects.toMatchObject({ code: 'USER_EXISTS', login: 'admin' });
    for (const op of [
      () => users.changePassword('nobody', 'x'),
      () => users.setGroups('nobody', []),
      () => users.disableUser('nobody'),
      () => users.enableUser('nobody'),
      () => users.deleteUser('nobody'),
    ]) {
      await expect(op()).rejects.toMatchObject({ code: 'USER_NOT_FOUND', login: 'nobody' });
    }
    await expect(users.deleteUser('nobody')).rejects.toThrow(UserNotFoundError);
    expect(await typesIn(store)).toEqual(['$UserCreated']);
    await store.close();
  });

  test('users - logins, passwords, groups and names are validated', async () => {
    const { store, users } = await openRig();
    const max = 'é'.repeat(63) + 'a'; // 127 bytes of UTF-8
    expect(Buffer.byteLength(max)).toBe(127);
    await users.createUser(max, 'p'.repeat(127));
    expect(await users.authenticate(max, 'p'.repeat(127))).toEqual({ name: max, groups: [] });
    const badLogins: unknown[] = ['', max + 'a', 'a\u0000b', 'tab\there', 'del\u007f', 'c1\u0085', '$admins', '\ud800', 42, null];
    for (const login of badLogins) {
      await expect(users.createUser(login as string, 'pw'), JSON.stringify(login)).rejects.toThrow(InvalidArgumentError);
    }
    for (const password of ['', 'p'.repeat(128), 'ü'.repeat(64), '\udc00', undefined]) {
      await expect(users.createUser('fine', password as string)).rejects.toThrow(InvalidArgumentError);
      await expect(users.changePassword('admin', password as string)).rejects.toThrow(InvalidArgumentError);
    }
    await expect(users.createUser('fine', 'pw', { groups: 'ops' as unknown as string[] })).rejects.toThrow(InvalidArgumentError);
    await expect(users.createUser('fine', 'pw', { groups: [''] })).rejects.toThrow(InvalidArgumentError);
    await expect(users.createUser('fine', 'pw', { groups: Array.from({ length: 65 }, (_, i) => `g${i}`) })).rejects.toThrow(InvalidArgumentError);
    await expect(users.createUser('fine', 'pw', { fullName: 'line\nbreak' })).rejects.toThrow(InvalidArgumentError);
    await expect(users.createUser('fine', 'pw', { admin: true } as never)).rejects.toThrow(InvalidArgumentError);
    await expect(users.setGroups('admin', ['a\u0001'])).rejects.toThrow(InvalidArgumentError);
    await expect(users.get('')).rejects.toThrow(InvalidArgumentError);
    await expect(Users.open(store, { adminPassword: '' })).rejects.toThrow(InvalidArgumentError);
    await expect(Users.open(store, { adminPasword: 'x' } as never)).rejects.toThrow(InvalidArgumentError);
    expect(await users.get('fine')).toBeNull();
    await store.close();
  });

  test('users - list and get never show password hashes', async () => {
    const { store, users } = await openRig();
    await users.createUser('ann', 'pw');
    for (const info of [...(await users.list()), await users.get('ann')]) {
      expect(Object.keys(info!).sort()).toEqual(['disabled', 'fullName', 'groups', 'login']);
    }
    await store.close();
  });

  test('users - concurrent creates of one login in one instance: one wins, the other gets UserExistsError', async () => {
    const { store, users } = await openRig();
    const results = await Promise.allSettled([users.createUser('dup', 'one'), users.createUser('dup', 'two')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(UserExistsError);
    expect((await typesIn(store)).filter((t) => t === '$UserCreated')).toHaveLength(2);
    await store.close();
  });

  test('users - concurrent creates of one login from two instances race on the expected revision; the loser gets UserExistsError', async () => {
    const { store } = await openRig();
    const race = racingStore(store, 2);
    const a = await Users.open(race.store, { hasher: countingHasher(), logger: QUIET });
    const b = await Users.open(race.store, { hasher: countingHasher(), logger: QUIET });
    const results = await Promise.allSettled([a.createUser('dup', 'from-a'), b.createUser('dup', 'from-b')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(UserExistsError);
    // Both appends expected the same revision, so the store refused one of them.
    expect(race.errors).toHaveLength(1);
    expect(race.errors[0]).toBeInstanceOf(WrongExpectedVersionError);
    const created = (await store.readStream(USERS_STREAM)).filter((e) => e.type === '$UserCreated' && (e.data as { login: string }).login === 'dup');
    expect(created).toHaveLength(1);
    const winner = results[0].status === 'fulfilled' ? 'from-a' : 'from-b';
    expect(await a.authenticate('dup', winner)).not.toBeNull();
    expect(await b.authenticate('dup', winner)).not.toBeNull();
    await store.close();
  });

  test('users - concurrent changes to different users from two instances both land after a retry', async () => {
    const { store } = await openRig();
    const race = racingStore(store, 2);
    const a = await Users.open(race.store, { hasher: countingHasher(), logger: QUIET });
    const b = await Users.open(race.store, { hasher: countingHasher(), logger: QUIET });
    await Promise.all([a.createUser('from-a', 'pw'), b.createUser('from-b', 'pw')]);
    expect(race.errors).toHaveLength(1);
    expect((await a.list()).map((u) => u.login)).toEqual(['admin', 'from-a', 'from-b']);
    expect((await b.list()).map((u) => u.login)).toEqual(['admin', 'from-a', 'from-b']);
    await store.close();
  });

  test('users - two first opens racing on an empty store create admin once', async () => {
    const disk = new SimDisk();
    const store = await openStore(disk);
    const race = racingStore(store, 2);
    const [a, b] = await Promise.all([
      Users.open(race.store, { hasher: countingHasher(), logger: QUIET, adminPassword: 'pw-a' }),
      Users.open(race.store, { hasher: countingHasher(), logger: QUIET, adminPassword: 'pw-b' }),
    ]);
    expect(race.errors).toHaveLength(1);
    expect(await typesIn(store)).toEqual(['$UserCreated']);
    expect(await a.get(DEFAULT_ADMIN_LOGIN)).not.toBeNull();
    const okA = await a.authenticate('admin', 'pw-a');
    const okB = await a.authenticate('admin', 'pw-b');
    expect([okA, okB].filter((p) => p !== null)).toHaveLength(1);
    expect((await b.list()).map((u) => u.login)).toEqual(['admin']);
    await store.close();
  });

  test('users - a change made through another instance is seen at once', async () => {
    const { store, users } = await openRig();
    const other = await Users.open(store, { hasher: countingHasher(), logger: QUIET });
    expect(await users.authenticate('admin', 'changeit')).not.toBeNull();
    await other.changePassword('admin', 'new');
    expect(await users.authenticate('admin', 'changeit')).toBeNull();
    expect(await users.authenticate('admin', 'new')).not.toBeNull();
    await other.createUser('zed', 'pw');
    expect(await users.get('zed')).not.toBeNull();
    await store.close();
  });

  test('users - events in $users that are not valid user events are ignored and reported', async () => {
    const { store } = await openRig();
    await store.appendToStream(USERS_STREAM, [
      { type: '$UserCreated', data: { login: 'x' } }, // no hash
      { type: '$UserDeleted', data: { login: 'ghost' } }, // unknown user
      { type: 'Other', data: {} },
      { type: '$UserDisabled', data: { login: 'admin' } },
    ]);
    const warnings: string[] = [];
    const users = await Users.open(store, { hasher: countingHasher(), logger: { info() {}, warn: (m) => void warnings.push(m) } });
    expect(warnings).toHaveLength(3);
    expect(await users.list()).toEqual([{ login: 'admin', fullName: 'Event Store Administrator', groups: ['$admins'], disabled: true }]);
    await users.createUser('after', 'pw'); // the expected revision accounts for the ignored events
    expect(await users.get('after')).not.toBeNull();
    await store.close();
  });

  test('users - a $users stream truncated by its metadata is refused rather than folded from the middle', async () => {
    const { store, users } = await openRig();
    await users.createUser('ann', 'pw');
    await users.deleteUser('ann');
    await store.setStreamMetadata(USERS_STREAM, { $tb: 2 });
    await expect(Users.open(store, { hasher: countingHasher(), logger: QUIET })).rejects.toThrow(UsersStreamIncompleteError);
    await store.close();
  });

  test('users - a soft-deleted $users stream is refused; a hard-deleted one throws StreamDeletedError', async () => {
    const { store, users } = await openRig();
    await users.createUser('ann', 'pw');
    await store.deleteStream(USERS_STREAM);
    await expect(Users.open(store, { hasher: countingHasher(), logger: QUIET })).rejects.toThrow(UsersStreamIncompleteError);
    await store.deleteStream(USERS_STREAM, { hard: true });
    await expect(Users.open(store, { hasher: countingHasher(), logger: QUIET })).rejects.toMatchObject({ code: 'STREAM_DELETED' });
    await store.close();
  });
});
