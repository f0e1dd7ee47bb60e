// I/O errors (RELIABILITY.md F6, F17): EIO and ENOSPC injected at every call of a reference
// workload, transient and persistent. The store must fail writes honestly (no retry that pretends
// durability), keep serving durable data, and lose nothing acknowledged once the disk is healthy.

import { describe, expect, test } from 'vitest';
import { EventStore, StoreFailedError } from '../../src/annal.js';
import { SimDisk, type Fault } from '../harness/sim-disk.js';
import { checkRecovered } from '../harness/checks.js';
import { DATA_DIR, runWorkload, storeOptions, type HistoryEntry, type PlannedAppend, type WorkStep } from '../harness/workload.js';

let idCounter = 0;
const id = (): string => `00000000-0000-4000-b000-${(++idCounter).toString(16).padStart(12, '0')}`;
const append = (streamId: string, count: number, bytes = 40, expected: PlannedAppend['parts'][number]['expected'] = 'any'): PlannedAppend => ({
  multi: false,
  parts: [{ streamId, expected, events: Array.from({ length: count }, () => ({ id: id(), type: 'T', data: { pad: 'p'.repeat(bytes) } })) }],
});

/** Appends of every shape, a chunk rollover (8 KiB chunks), reads and a reopen. */
function referenceWorkload(): WorkStep[] {
  return [
    { kind: 'append', appends: [append('a', 1, 40, 'no_stream')] },
    { kind: 'append', appends: [append('a', 2, 40, 'current'), append('b', 1), append('c', 3)] },
    { kind: 'append', appends: [{ multi: true, parts: [{ streamId: 'a', expected: 'current', events: [{ id: id(), type: 'T', data: 1 }] }, { streamId: 'm', expected: 'no_stream', events: [{ id: id(), type: 'T', data: 2 }] }] }] },
    { kind: 'read' },
    { kind: 'append', appends: [append('big', 1, 3000), append('big', 1, 3000)] },
    { kind: 'append', appends: [append('big', 1, 3000)] },
    { kind: 'reopen' },
    { kind: 'append', appends: [append('a', 1, 40, 'current'), append('d', 2)] },
    { kind: 'read' },
  ];
}

/** No retry-and-pretend: within one open of the store, nothing succeeds after a StoreFailedError. */
function checkRefusesAfterFailure(history: readonly HistoryEntry[]): string[] {
  const problems: string[] = [];
  const failedSessions = new Set<number>();
  for (const entry of history) {
    if (failedSessions.has(entry.session) && entry.status === 'ok') problems.push(`an append succeeded after the store failed in session ${entry.session}`);
    if (entry.error instanceof StoreFailedError) failedSessions.add(entry.session);
  }
  return problems;
}

describe('io errors', () => {
  test('io errors - EIO and ENOSPC at every call: writes fail honestly, durable data stays readable, nothing acknowledged is lost', async () => {
    const workload = referenceWorkload();
    const dry = new SimDisk();
    await runWorkload(dry, workload, storeOptions(dry));
    const calls = dry.callCount;
    const swept = new Set<number>();
    let runs = 0;
    let storeFailures = 0;
    for (let nth = 1; nth <= calls; nth++) {
      for (const code of ['EIO', 'ENOSPC'] as const) {
        for (const persistent of [false, true]) {
          const fault: Fault = { kind: 'any', nth, persistent, code };
          const where = `${code} ${persistent ? 'from' : 'at'} call ${nth} (${dry.trace[nth - 1].kind} ${dry.trace[nth - 1].name})`;
          const disk = new SimDisk();
          disk.faults = [fault];
          const { history, store, session } = await runWorkload(disk, workload, storeOptions(disk));
          expect(checkRefusesAfterFailure(history), where).toEqual([]);
          if (history.some((h) => h.error instanceof StoreFailedError)) storeFailures++;
          const failedNow = history.some((h) => h.session === session && h.error instanceof StoreFailedError);
          if (store !== null) {
            if (failedNow && !persistent) {
              // The disk works again, but the store stays failed until reopened…
              await expect(store.appendToStream('late', [{ type: 'T', data: 0 }]), where).rejects.toBeInstanceOf(StoreFailedError);
              // …while what is durable stays readable.
              const acknowledged = history.filter((h) => h.status === 'ok' && h.session === session);
              const all = await store.readAll();
              for (const h of acknowledged) for (const p of h.append.parts) for (const e of p.events) expect(all.some((r) => r.id === e.id), where).toBe(true);
            }
            await store.close().catch(() => undefined);
          }
          // Power loss now (unsynced writes dropped), a healthy disk, and recovery: P1, P2, atomicity.
          disk.faults = [];
          disk.crashed = true;
          const image = disk.image([], 0, (n) => new Uint8Array(n));
          const recovered = await EventStore.open(DATA_DIR, storeOptions(image)).catch((error: unknown) => {
            throw new Error(`recovery after ${where} failed: ${String(error)}`);
          });
          expect(await checkRecovered(recovered, history), where).toEqual([]);
          await recovered.appendToStream('after', [{ type: 'T', data: 0 }]);
          await recovered.close();
          swept.add(nth);
          runs++;
        }
      }
    }
    const share = (100 * swept.size) / calls;
    console.log(`io errors: ${runs} runs, EIO and ENOSPC (transient and persistent) at ${swept.size} of ${calls} calls (${share.toFixed(0)} %), ${storeFailures} runs failed the store`);
    expect(share).toBe(100);
  }, 300_000);

  test('io errors - after a disk-full error, freeing space and reopening works with nothing acknowledged lost', async () => {
    const disk = new SimDisk();
    const store = await EventStore.open(DATA_DIR, storeOptions(disk));
    disk.quotaBytes = 40_000; // a few 8 KiB chunks
    const acknowledged: string[] = [];
    let failure: unknown = null;
    for (let i = 0; i < 200 && failure === null; i++) {
      const eventId = id();
      await store.appendToStream(`s-${i % 3}`, [{ id: eventId, type: 'T', data: { pad: 'p'.repeat(500) } }]).then(
        () => void acknowledged.push(eventId),
        (error: unknown) => void (failure = error),
      );
    }
    expect(failure).toBeInstanceOf(StoreFailedError);
    expect(((failure as StoreFailedError).cause as { code?: string }).code).toBe('ENOSPC');
    await expect(store.appendToStream('s-0', [{ type: 'T', data: 0 }])).rejects.toBeInstanceOf(StoreFailedError);
    await store.close().catch(() => undefined);
    disk.quotaBytes = Number.POSITIVE_INFINITY;
    const reopened = await EventStore.open(DATA_DIR, storeOptions(disk));
    const ids = new Set((await reopened.readAll()).map((e) => e.id));
    expect(acknowledged.filter((a) => !ids.has(a))).toEqual([]);
    await reopened.appendToStream('s-0', [{ type: 'T', data: 'after' }]);
    await reopened.close();
  });
});
