// Bugs the crash harness found, each replayed from the case that exposed it.

import { describe, expect, test } from 'vitest';
import { EventStore, StoreFailedError, WrongExpectedVersionError } from '../../src/annal.js';
import { SimDisk } from '../harness/sim-disk.js';
import { checkRecovered } from '../harness/checks.js';
import { DATA_DIR, runWorkload, storeOptions, type PlannedAppend, type WorkStep } from '../harness/workload.js';
import { seededRandom } from '../support/random.js';

let idCounter = 0;
const id = (): string => `00000000-0000-4000-a000-${(++idCounter).toString(16).padStart(12, '0')}`;
const append = (streamId: string, count: number, bytes: number): PlannedAppend => ({
  multi: false,
  parts: [{ streamId, expected: 'any', events: Array.from({ length: count }, () => ({ id: id(), type: 'T', data: { pad: 'p'.repeat(bytes) } })) }],
});

describe('crash harness regressions', () => {
  test('regression - a torn LOCK file naming some running pid does not block recovery (property seed 1616442144)', async () => {
    // The power went right after LOCK was written: a prefix of the owner line survived ("2" was
    // read as pid 2, a live kernel thread) and the store refused to open.
    const disk = new SimDisk();
    disk.crashAtCall = 4;
    const steps: WorkStep[] = [{ kind: 'append', appends: [append('order-1', 0, 0), append('order-1', 0, 0)] }];
    const { history } = await runWorkload(disk, steps, storeOptions(disk));
    disk.crashed = true;
    const image = disk.crashImage(seededRandom(296806172));
    const store = await EventStore.open(DATA_DIR, storeOptions(image));
    expect(await checkRecovered(store, history)).toEqual([]);
    await store.close();
  });

  test('regression - a power loss between two concurrent writes before a rollover leaves no unhandled rejection', async () => {
    // Sweep case 'concurrent rollover', crash before call 20: the first write failed while the
    // second batch waited to roll over; its durability promise was rejected with nobody waiting.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (const checkpointIntervalMs of [0, 200]) {
        for (const crashAtCall of [19, 20, 21, 22]) {
          const disk = new SimDisk();
          disk.crashAtCall = crashAtCall;
          await runWorkload(disk, [{ kind: 'append', appends: [append('x-1', 2, 1500), append('x-2', 2, 1500), append('x-3', 1, 2500)] }], storeOptions(disk, { checkpointIntervalMs }));
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  test('regression - a failed read while checking a retry fails that append only, not the commit loop', async () => {
    const disk = new SimDisk();
    const store = await EventStore.open(DATA_DIR, storeOptions(disk));
    const first = { id: id(), type: 'T', data: 1 };
    await store.appendToStream('s', [first], { expectedRevision: 'no_stream' });
    await store.appendToStream('s', [{ id: id(), type: 'T', data: 2 }]);
    // The retry compares ids stored at revision 0: that read fails once.
    disk.faults = [{ kind: 'read', nth: disk.callsOf('read') + 1, persistent: false, code: 'EIO' }];
    const failure = await store.appendToStream('s', [first], { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
    expect((failure as { code?: string }).code).toBe('EIO');
    expect(failure).not.toBeInstanceOf(StoreFailedError);
    disk.faults = [];
    expect(await store.appendToStream('s', [first], { expectedRevision: 'no_stream' })).toEqual({ nextExpectedRevision: 0n, position: 0n });
    expect((await store.appendToStream('s', [{ type: 'T', data: 3 }])).position).toBe(2n);
    await store.close();
  });

  test('regression - a chunk whose directory fsync failed is made durable by the next open before it is written to', async () => {
    // io-errors sweep, EIO at the directory fsync after a rollover's rename: the store failed; it
    // was reopened in the same boot, saw the renamed chunk in the page cache, appended to it, and
    // a power loss then took the chunk away with acknowledged events in it.
    const disk = new SimDisk();
    let store = await EventStore.open(DATA_DIR, storeOptions(disk));
    await store.appendToStream('big', [{ type: 'T', data: { pad: 'p'.repeat(3000) } }]);
    await store.appendToStream('big', [{ type: 'T', data: { pad: 'p'.repeat(3000) } }]);
    disk.faults = [{ kind: 'syncDir', nth: disk.callsOf('syncDir') + 1, persistent: false, code: 'EIO' }];
    await expect(store.appendToStream('big', [{ type: 'T', data: { pad: 'p'.repeat(3000) } }])).rejects.toBeInstanceOf(StoreFailedError);
    await store.close().catch(() => undefined);
    disk.faults = [];
    store = await EventStore.open(DATA_DIR, storeOptions(disk));
    const acknowledged = await store.appendToStream('after', [{ type: 'T', data: 'kept' }]);
    disk.crashed = true;
    const image = disk.image([], 0, (n) => new Uint8Array(n));
    const recovered = await EventStore.open(DATA_DIR, storeOptions(image));
    const [event] = await recovered.readAll({ fromPosition: acknowledged.position, maxCount: 1 });
    expect(event?.data).toBe('kept');
    await recovered.close();
  });

  test('regression - writers racing on expected revisions never make the store hand out a revision twice', async () => {
    // Found by the SIGKILL harness (seed 1361983634): a batch that only touched a stream with a
    // rejected request dropped the newer batch's view of that stream when it finished; the next
    // batch then reused revisions already in flight, wrote them, and the store could not reopen.
    // A checkpoint after every batch opens the window (the first batch finishes, then waits on it).
    const disk = new SimDisk();
    const store = await EventStore.open(DATA_DIR, storeOptions(disk, { checkpointIntervalMs: 0 }));
    const last = new Map<string, bigint>();
    const learn = (streamId: string, revision: bigint): void => {
      if (revision > (last.get(streamId) ?? -1n)) last.set(streamId, revision);
    };
    await Promise.all(Array.from({ length: 24 }, async (_, w) => {
      const streamId = `s-${w % 4}`;
      for (let i = 0; i < 150; i++) {
        const known = last.get(streamId) ?? -1n;
        try {
          const result = await store.appendToStream(streamId, [{ type: 'T', data: { w, i } }], { expectedRevision: known < 0n ? 'no_stream' : known });
          learn(streamId, result.nextExpectedRevision);
        } catch (error) {
          if (!(error instanceof WrongExpectedVersionError)) throw error;
          learn(streamId, error.actual);
        }
      }
    }));
    await store.close();
    const reopened = await EventStore.open(DATA_DIR, storeOptions(disk, { checkpointIntervalMs: 0 }));
    for (let s = 0; s < 4; s++) {
      const events = await reopened.readStream(`s-${s}`);
      expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => BigInt(i)));
    }
    await reopened.close();
  });
});
