import { describe, expect, test } from 'vitest';
import { Users } from '../../src/auth/users.js';
import { QUIET } from '../harness/workload.js';
import { gate, openRig, settle } from './auth-fixtures.js';

describe('authenticate', () => {
  test('authenticate - returns the principal with its groups; wrong, unknown, disabled and deleted fail alike', async () => {
    const { store, users } = await openRig();
    await users.createUser('ann', 'pw-ann', { groups: ['ops', '$ops'] });
    await users.createUser('bob', 'pw-bob');
    expect(await users.authenticate('ann', 'pw-ann', '10.0.0.1')).toEqual({ name: 'ann', groups: ['ops', '$ops'] });
    expect(await users.authenticate('ann', 'pw-bob')).toBeNull();
    expect(await users.authenticate('nobody', 'pw-ann')).toBeNull();
    await users.disableUser('bob');
    expect(await users.authenticate('bob', 'pw-bob')).toBeNull();
    await users.enableUser('bob');
    expect(await users.authenticate('bob', 'pw-bob')).toEqual({ name: 'bob', groups: [] });
    await users.deleteUser('bob');
    expect(await users.authenticate('bob', 'pw-bob')).toBeNull();
    // Credentials no user can have: null, not an error (the wire can carry them).
    expect(await users.authenticate('', 'x')).toBeNull();
    expect(await users.authenticate('ann', 'p'.repeat(200))).toBeNull();
    await expect(users.authenticate(42 as unknown as string, 'x')).rejects.toThrow(/strings/);
    await store.close();
  });

  test('authenticate - an unknown login costs a password check too (against a dummy hash)', async () => {
    const { store, users, hasher } = await openRig();
    const before = { hash: hasher.hashCalls, verify: hasher.verifyCalls };
    expect(await users.authenticate('nobody', 'guess')).toBeNull();
    expect(await users.authenticate('nobody-else', 'guess')).toBeNull();
    expect(hasher.verifyCalls - before.verify).toBe(2);
    expect(hasher.hashCalls - before.hash).toBe(1); // the dummy hash is made once
    await store.close();
  });

  test('authenticate - a cached success does not run scrypt again; another password still does', async () => {
    const { store, users, hasher } = await openRig();
    expect(await users.authenticate('admin', 'changeit')).not.toBeNull();
    const verifies = hasher.verifyCalls;
    for (let i = 0; i < 20; i++) expect(await users.authenticate('admin', 'changeit', `10.0.0.${i}`)).toEqual({ name: 'admin', groups: ['$admins'] });
    expect(hasher.verifyCalls).toBe(verifies);
    expect(await users.authenticate('admin', 'changeiT')).toBeNull();
    expect(hasher.verifyCalls).toBe(verifies + 1);
    // The wrong password did not evict the right one.
    expect(await users.authenticate('admin', 'changeit')).not.toBeNull();
    expect(hasher.verifyCalls).toBe(verifies + 1);
    await store.close();
  });

  test('authenticate - a password change ends the cached verification at once', async () => {
    const { store, users, hasher } = await openRig();
    expect(await users.authenticate('admin', 'changeit')).not.toBeNull();
    expect(await users.authenticate('admin', 'changeit')).not.toBeNull();
    await users.changePassword('admin', 'fresh');
    expect(await users.authenticate('admin', 'changeit')).toBeNull();
    expect(await users.authenticate('admin', 'fresh')).not.toBeNull();
    const verifies = hasher.verifyCalls;
    expect(await users.authenticate('admin', 'fresh')).not.toBeNull();
    expect(hasher.verifyCalls).toBe(verifies);
    await store.close();
  });

  test('authenticate - group changes, disable and delete end the cached verification', async () => {
    const { store, users, hasher } = await openRig();
    await users.createUser('ann', 'pw', { groups: ['a'] });
    expect(await users.authenticate('ann', 'pw')).toEqual({ name: 'ann', groups: ['a'] });
    await users.setGroups('ann', ['b']);
    let verifies = hasher.verifyCalls;
    expect(await users.authenticate('ann', 'pw')).toEqual({ name: 'ann', groups: ['b'] });
    expect(hasher.verifyCalls).toBe(verifies + 1);
    await users.disableUser('ann');
    expect(await users.authenticate('ann', 'pw')).toBeNull();
    await users.enableUser('ann');
    verifies = hasher.verifyCalls;
    expect(await users.authenticate('ann', 'pw')).not.toBeNull();
    expect(hasher.verifyCalls).toBe(verifies + 1);
    await users.deleteUser('ann');
    expect(await users.authenticate('ann', 'pw')).toBeNull();
    await store.close();
  });

  test('authenticate - a password changed while scrypt runs wins: the old password neither succeeds nor gets cached', async () => {
    const { store, users, hasher } = await openRig();
    const held = gate();
    hasher.hold = held.promise;
    const pending = users.authenticate('admin', 'changeit');
    while (hasher.verifyCalls === 0) await settle();
    hasher.hold = null;
    await users.changePassword('admin', 'fresh');
    held.open();
    expect(await pending).toBeNull();
    expect(await users.authenticate('admin', 'changeit')).toBeNull();
    expect(await users.authenticate('admin', 'fresh')).not.toBeNull();
    await store.close();
  });

  test('authenticate - identical concurrent attempts share one scrypt', async () => {
    const { store, users, hasher } = await openRig();
    const verifies = hasher.verifyCalls;
    const results = await Promise.all(Array.from({ length: 12 }, () => users.authenticate('admin', 'changeit', '10.0.0.1')));
    expect(results.every((p) => p?.name === 'admin')).toBe(true);
    expect(hasher.verifyCalls - verifies).toBe(1);
    await store.close();
  });

  test('authenticate - the default hasher is scrypt with the default parameters', async () => {
    const { store } = await openRig();
    const users = await Users.open(store, { logger: QUIET });
    expect(await users.authenticate('admin', 'changeit')).not.toBeNull();
    await users.createUser('ann', 'pw');
    expect(await users.authenticate('ann', 'pw')).not.toBeNull();
    const ann = (await store.readStream('$users')).at(-1)!.data as { hash: { N: number } };
    expect(ann.hash.N).toBe(2 ** 15);
    await store.close();
  });
});
