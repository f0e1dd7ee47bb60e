// Access control (es-tcp.md §4): who may read, write, delete and read or write the metadata of a
// stream — the built-in defaults, anonymous access, `$admins`, a stream's `$acl` and the `$settings`
// defaults. A denied call is an AccessDeniedError and writes nothing.

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, type EventStore } from '../../src/annal.js';
import { AccessDeniedError } from '../../src/util/errors.js';
import type { Principal } from '../../src/store/access.js';
import { expectUnchanged, storeSnapshot } from '../support/store-snapshot.js';
import { ADMIN, ALICE, ANONYMOUS, BOB, SimStore, events, expectRejects } from './policy-fixture.js';

async function expectDenied(promise: Promise<unknown>, streamId: string, operation: string): Promise<void> {
  const error = await expectRejects(promise, AccessDeniedError, 'ACCESS_DENIED');
  expect(error).toMatchObject({ streamId, operation });
}

/** Every kind of call on stream `s` as `principal`, by the operation it needs. */
function callsOn(store: EventStore, s: string, principal: Principal): Record<'read' | 'write' | 'delete' | 'metaRead' | 'metaWrite', [string, () => Promise<unknown>][]> {
  return {
    read: [
      ['readStream', () => store.readStream(s, { principal })],
      ['readEvent', () => store.readEvent(s, 0n, { principal })],
      ['streamInfo', () => store.streamInfo(s, { principal })],
      ['iterateStream', () => store.iterateStream(s, { principal }).next()],
    ],
    write: [
      ['appendToStream', () => store.appendToStream(s, events(1), { principal })],
      ['appendMulti', () => store.appendMulti([{ streamId: s, events: events(1) }], { principal })],
    ],
    delete: [
      ['deleteStream hard', () => store.deleteStream(s, { hard: true, principal })],
      ['deleteStream', () => store.deleteStream(s, { principal })],
    ],
    metaRead: [
      ['getStreamMetadata', () => store.getStreamMetadata(s, { principal })],
      ['readStream $$S', () => store.readStream(`$$${s}`, { principal })],
      ['readEvent $$S', () => store.readEvent(`$$${s}`, 'end', { principal })],
    ],
    metaWrite: [
      ['setStreamMetadata', () => store.setStreamMetadata(s, { touched: true }, { principal })],
      ['appendToStream $$S', () => store.appendToStream(`$$${s}`, [{ type: '$metadata', data: { touched: true } }], { principal })],
    ],
  };
}

type Operation = keyof ReturnType<typeof callsOn>;
const OPERATIONS: Operation[] = ['read', 'write', 'delete', 'metaRead', 'metaWrite'];
const ERROR_OPERATION: Record<Operation, string> = { read: 'read', write: 'write', delete: 'delete', metaRead: 'read', metaWrite: 'write' };

/** Each denied call throws AccessDeniedError and the store is unchanged afterwards. */
async function expectAllDenied(store: EventStore, s: string, principal: Principal, operations: readonly Operation[]): Promise<void> {
  const before = await storeSnapshot(store);
  const calls = callsOn(store, s, principal);
  for (const op of operations) {
    for (const [name, call] of calls[op]) {
      const error = await call().then(() => null, (e: unknown) => e);
      expect(error, `${name} on '${s}' as ${principal.name ?? 'anonymous'}`).toBeInstanceOf(AccessDeniedError);
      // Metadata calls are reads and writes of `$$S`, and are reported as such.
      const streamId = op === 'metaRead' || op === 'metaWrite' ? `$$${s}` : s;
      expect(error, name).toMatchObject({ code: 'ACCESS_DENIED', streamId, operation: ERROR_OPERATION[op] });
    }
  }
  await expectUnchanged(store, before);
}

/** Each allowed call succeeds; a delete (soft) runs last. */
async function expectAllAllowed(store: EventStore, s: string, principal: Principal, operations: readonly Operation[]): Promise<void> {
  const calls = callsOn(store, s, principal);
  for (const op of operations) {
    if (op === 'delete') continue;
    for (const [name, call] of calls[op]) {
      const outcome = await call().then(() => 'allowed', (e: unknown) => e);
      expect(outcome, `${name} on '${s}' as ${principal.name ?? 'anonymous'}`).toBe('allowed');
    }
  }
  if (operations.includes('delete')) await expect(store.deleteStream(s, { principal })).resolves.toMatchObject({ position: expect.any(BigInt) });
}

describe('access', () => {
  it('access - without a principal the embedding process may do anything', async () => {
    const { store } = await SimStore.open({ allowAnonymousStreamAccess: false });
    await store.appendToStream('$settings', [{ type: '$settings', data: { $userStreamAcl: { $r: [], $w: [] }, $systemStreamAcl: { $r: [] } } }]);
    await store.appendToStream('s', events(1));
    await store.setStreamMetadata('s', { $acl: { $r: [], $w: [], $d: [], $mr: [], $mw: [] } });
    await store.appendToStream('$system', events(1));
    for (const s of ['s', '$system']) {
      await store.appendToStream(s, events(1));
      expect((await store.readStream(s)).length).toBe(2);
      await store.setStreamMetadata(s, { $acl: { $r: [] } });
      expect((await store.getStreamMetadata(s)).metadata).toEqual({ $acl: { $r: [] } });
      await store.readStream(`$$${s}`);
      await store.streamInfo(s);
      await store.deleteStream(s);
    }
    expect((await store.readAll()).length).toBeGreaterThan(0);
    expect((await store.readStream('$settings')).length).toBe(1);
    await store.close();
  });

  it('access - anonymous may use user streams by default, and not system streams, $all or $settings', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('order-1', events(1));
    await store.appendToStream('$system', events(1));
    await store.appendToStream('$settings', [{ type: '$settings', data: {} }]);
    await expectAllAllowed(store, 'order-1', ANONYMOUS, OPERATIONS);
    await expectAllAllowed(store, 'fresh', ANONYMOUS, ['write', 'read', 'metaWrite', 'metaRead']);
    await expectAllDenied(store, '$system', ANONYMOUS, OPERATIONS);
    await expectAllDenied(store, '$settings', ANONYMOUS, OPERATIONS);
    await expectDenied(store.readAll({ principal: ANONYMOUS }), '$all', 'read');
    await expectDenied(store.readAll({ principal: ANONYMOUS, filter: { streamPrefix: 'order' } }), '$all', 'read');
    await expectDenied(store.readCategory('order', { principal: ANONYMOUS }), '$all', 'read');
    await expectDenied(store.iterateAll({ principal: ANONYMOUS }).next(), '$all', 'read');
    // An authenticated user who is not an admin may not read $all either.
    await expectDenied(store.readAll({ principal: ALICE }), '$all', 'read');
    await expectAllDenied(store, '$system', ALICE, OPERATIONS);
    await store.close();
  });

  it('access - with allowAnonymousStreamAccess false, anonymous is denied user streams too', async () => {
    const { store } = await SimStore.open({ allowAnonymousStreamAccess: false });
    await store.appendToStream('order-1', events(1));
    await expectAllDenied(store, 'order-1', ANONYMOUS, OPERATIONS);
    await expectAllDenied(store, 'fresh', ANONYMOUS, ['write', 'metaWrite']);
    // Even an explicit `$all` role does not let anonymous in.
    await store.setStreamMetadata('order-1', { $acl: { $r: '$all' } });
    await expectDenied(store.readStream('order-1', { principal: ANONYMOUS }), 'order-1', 'read');
    // Authenticated users keep the default access.
    await expectAllAllowed(store, 'order-1', ALICE, OPERATIONS);
    await store.close();
  });

  it('access - a user in $admins may do everything', async () => {
    const { store } = await SimStore.open({ allowAnonymousStreamAccess: false });
    await store.appendToStream('$settings', [{ type: '$settings', data: { $userStreamAcl: { $r: 'nobody', $w: 'nobody' }, $systemStreamAcl: { $r: 'nobody' } } }]);
    await store.appendToStream('s', events(1));
    await store.setStreamMetadata('s', { $acl: { $r: 'nobody', $w: 'nobody', $d: 'nobody', $mr: 'nobody', $mw: 'nobody' } });
    await store.appendToStream('$system', events(1));
    await expectAllAllowed(store, 's', ADMIN, OPERATIONS);
    await expectAllAllowed(store, '$system', ADMIN, OPERATIONS);
    await expectAllAllowed(store, '$settings', ADMIN, ['read', 'metaRead']);
    expect((await store.readAll({ principal: ADMIN })).length).toBeGreaterThan(0);
    // Membership of the group is what counts, not the name.
    const other: Principal = { name: 'root', groups: ['ops', '$admins'] };
    expect((await store.readAll({ principal: other, maxCount: 1 })).length).toBe(1);
    await store.close();
  });

  for (const [key, op] of [['$r', 'read'], ['$w', 'write'], ['$d', 'delete'], ['$mr', 'metaRead'], ['$mw', 'metaWrite']] as const) {
    for (const role of ['alice', 'readers', ['nobody', 'readers']] as const) {
      it(`access - $acl ${key} = ${JSON.stringify(role)} restricts exactly ${op}`, async () => {
        const { store } = await SimStore.open();
        await store.appendToStream('s', events(2));
        await store.setStreamMetadata('s', { $acl: { [key]: role }, owner: 'x' });
        const others = OPERATIONS.filter((o) => o !== op && o !== 'delete' && o !== 'metaWrite');
        // Bob and anonymous lack the role: only that operation is denied.
        await expectAllDenied(store, 's', BOB, [op]);
        await expectAllDenied(store, 's', ANONYMOUS, [op]);
        await expectAllAllowed(store, 's', BOB, others);
        // Alice holds it (as the user, or through her group `readers`).
        await expectAllAllowed(store, 's', ALICE, [op]);
        await store.close();
      });
    }
  }

  it('access - reads of $$S use S\'s $mr, writes use $mw, not $r and $w', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(1));
    await store.setStreamMetadata('s', { $acl: { $r: 'alice', $w: 'alice' } });
    await expectAllDenied(store, 's', BOB, ['read', 'write']);
    expect((await store.readStream('$$s', { principal: BOB })).length).toBe(1);
    await store.appendToStream('$$s', [{ type: '$metadata', data: { $acl: { $r: 'alice', $w: 'alice' }, by: 'bob' } }], { principal: BOB });
    await store.setStreamMetadata('t', { $acl: { $mr: 'alice', $mw: 'alice' } });
    await store.appendToStream('t', events(1), { principal: BOB });
    expect((await store.readStream('t', { principal: BOB })).length).toBe(1);
    await expectAllDenied(store, 't', BOB, ['metaRead', 'metaWrite']);
    await expectDenied(store.streamInfo('$$t', { principal: BOB }), '$$t', 'read');
    // The metastream of a system stream follows the system defaults.
    await store.setStreamMetadata('$system', { k: 1 });
    await expectDenied(store.readStream('$$$system', { principal: ANONYMOUS }), '$$$system', 'read');
    await expectDenied(store.getStreamMetadata('$system', { principal: ALICE }), '$$$system', 'read');
    await store.close();
  });

  it('access - $acl can only be changed by who holds $mw, and an undelete needs only $w', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(1));
    await store.setStreamMetadata('s', { $acl: { $mw: 'alice' } });
    await expectDenied(store.setStreamMetadata('s', { $acl: {} }, { principal: BOB }), '$$s', 'write');
    // Bob may delete and write the stream; the undelete rewrites `$$S` on his behalf, keeping the $acl.
    await store.deleteStream('s', { principal: BOB });
    await store.appendToStream('s', events(1), { principal: BOB });
    expect((await store.getStreamMetadata('s')).metadata).toEqual({ $tb: 1, $acl: { $mw: 'alice' } });
    await expectDenied(store.setStreamMetadata('s', {}, { principal: BOB }), '$$s', 'write');
    await store.close();
  });

  it('access - $settings changes the defaults for user and system streams', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(1));
    await store.appendToStream('$system', events(1));
    await store.appendToStream('$settings', [{
      type: '$settings',
      data: { $userStreamAcl: { $r: 'readers', $w: ['writers', 'alice'] }, $systemStreamAcl: { $r: ['$all'], $w: 'writers' } },
    }]);
    // User streams: reading now needs `readers`, writing `writers` or alice; the rest keep the built-in defaults.
    await expectAllDenied(store, 's', ANONYMOUS, ['read', 'write']);
    await expectAllDenied(store, 's', BOB, ['read']);
    await expectAllAllowed(store, 's', ALICE, ['read', 'write', 'metaRead']);
    await expectAllAllowed(store, 's', BOB, ['write', 'metaRead', 'metaWrite']);
    await expectAllAllowed(store, 's', ANONYMOUS, ['metaRead', 'metaWrite']);
    // System streams: everyone may read (anonymous included, $all too), writers may write, the rest stays admin-only.
    expect((await store.readStream('$system', { principal: ANONYMOUS })).length).toBe(1);
    expect((await store.readAll({ principal: ANONYMOUS, maxCount: 1 })).length).toBe(1);
    await store.appendToStream('$system', events(1), { principal: BOB });
    await expectAllDenied(store, '$system', ALICE, ['write', 'delete', 'metaRead', 'metaWrite']);
    // A stream's own $acl beats $settings.
    await store.setStreamMetadata('open', { $acl: { $r: '$all' } });
    await store.appendToStream('open', events(1));
    expect((await store.readStream('open', { principal: ANONYMOUS })).length).toBe(1);
    // The latest `$settings` event counts.
    await store.appendToStream('$settings', [{ type: '$settings', data: {} }]);
    await expectAllAllowed(store, 's', ANONYMOUS, ['read', 'write']);
    await expectDenied(store.readAll({ principal: ANONYMOUS }), '$all', 'read');
    await store.close();
  });

  it('access - $settings and $acl survive a reopen', async () => {
    const sim = await SimStore.open();
    await sim.store.appendToStream('s', events(1));
    await sim.store.setStreamMetadata('s', { $acl: { $r: 'alice' } });
    await sim.store.appendToStream('$settings', [{ type: '$settings', data: { $userStreamAcl: { $w: 'bob' } } }]);
    const store = await sim.reopen();
    await expectDenied(store.readStream('s', { principal: BOB }), 's', 'read');
    await expectDenied(store.appendToStream('s', events(1), { principal: ALICE }), 's', 'write');
    expect((await store.readStream('s', { principal: ALICE })).length).toBe(1);
    await store.appendToStream('s', events(1), { principal: BOB });
    await store.close();
  });

  it('access - appendMulti with one denied part writes nothing', async () => {
    const { store } = await SimStore.open();
    await store.appendToStream('s', events(1));
    await store.setStreamMetadata('locked', { $acl: { $w: 'alice', $mw: 'alice' } });
    const before = await storeSnapshot(store);
    await expectDenied(store.appendMulti([
      { streamId: 's', events: events(1) },
      { streamId: 'new', events: events(2) },
      { streamId: 'locked', events: events(1) },
    ], { principal: BOB }), 'locked', 'write');
    await expectDenied(store.appendMulti([{ streamId: 's', events: events(1) }, { streamId: '$system', events: events(1) }], { principal: ANONYMOUS }), '$system', 'write');
    await expectDenied(store.appendMulti([{ streamId: 's', events: events(1) }, { streamId: '$$locked', events: [{ type: '$metadata', data: {} }] }], { principal: BOB }), '$$locked', 'write');
    await expectUnchanged(store, before);
    const results = await store.appendMulti([{ streamId: 's', events: events(1) }, { streamId: 'locked', events: events(1) }], { principal: ALICE });
    expect(results.map((r) => r.nextExpectedRevision)).toEqual([1n, 0n]);
    await store.close();
  });

  it('access - a malformed principal is an InvalidArgumentError', async () => {
    const { store } = await SimStore.open();
    const bad = [null, 'admin', { name: 'x' }, { name: 5, groups: [] }, { name: 'x', groups: [1] }, { name: undefined, groups: [] }] as unknown as Principal[];
    for (const principal of bad) {
      await expectRejects(store.appendToStream('s', events(1), { principal }), InvalidArgumentError, 'INVALID_ARGUMENT');
      await expectRejects(store.readStream('s', { principal }), InvalidArgumentError, 'INVALID_ARGUMENT');
      await expectRejects(store.readAll({ principal }), InvalidArgumentError, 'INVALID_ARGUMENT');
    }
    expect(await store.headPosition()).toBe(-1n);
    await store.close();
  });
});
