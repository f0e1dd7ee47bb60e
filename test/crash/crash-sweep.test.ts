// Exhaustive crash sweep for short workloads (CrashMonkey style): power loss before every call that
// can make something durable, with every combination of fates for the writes still pending and
// every prefix of the pending directory operations. Prints how many crash points it explored.

import { describe, expect, test } from 'vitest';
import { EventStore } from '../../src/annal.js';
import { PERSISTENCE_CALLS, SimDisk, sweepOutcomes, type WriteOutcome } from '../harness/sim-disk.js';
import { checkRecovered, checkStillWorks } from '../harness/checks.js';
import { DATA_DIR, runWorkload, storeOptions, type PlannedAppend, type WorkStep } from '../harness/workload.js';
import { seededRandom, withSeed } from '../support/random.js';

/** Outcome combinations tried per crash point at most (sampled, seeded, beyond that). */
const COMBINATIONS_MAX = 64;

let idCounter = 0;
const id = (): string => `00000000-0000-4000-9000-${(++idCounter).toString(16).padStart(12, '0')}`;
const event = (bytes = 20) => ({ id: id(), type: 'Happened', data: { pad: 'p'.repeat(bytes) } });
const append = (streamId: string, expected: PlannedAppend['parts'][number]['expected'], count = 1, bytes = 20): PlannedAppend => ({
  multi: false,
  parts: [{ streamId, expected, events: Array.from({ length: count }, () => event(bytes)) }],
});

/** Short workloads that between them reach every persistence step of the engine. */
function workloads(): { name: string; steps: WorkStep[] }[] {
  const retried = append('r', 'no_stream', 2);
  return [
    { name: 'one event', steps: [{ kind: 'append', appends: [append('a', 'any')] }] },
    { name: 'two appends to one stream', steps: [{ kind: 'append', appends: [append('a', 'no_stream', 2)] }, { kind: 'append', appends: [append('a', 1n)] }] },
    {
      name: 'appendMulti then a conflict',
      steps: [
        { kind: 'append', appends: [{ multi: true, parts: [{ streamId: 'm-1', expected: 'no_stream', events: [event(), event()] }, { streamId: 'm-2', expected: 'any', events: [event()] }] }] },
        { kind: 'append', appends: [append('m-1', 'no_stream')] },
      ],
    },
    { name: 'concurrent appends', steps: [{ kind: 'append', appends: [append('c-1', 'any'), append('c-2', 'any', 2), append('c-1', 'any'), append('c-3', 'no_stream')] }] },
    { name: 'chunk rollover', steps: [0, 1, 2].map(() => ({ kind: 'append' as const, appends: [append('big', 'any', 1, 3000)] })) },
    { name: 'append, reopen, append', steps: [{ kind: 'append', appends: [append('o', 'any')] }, { kind: 'reopen' }, { kind: 'append', appends: [append('o', 'current')] }] },
    { name: 'idempotent retry', steps: [{ kind: 'append', appends: [retried] }, { kind: 'append', appends: [retried] }] },
    { name: 'concurrent rollover', steps: [{ kind: 'append', appends: [append('x-1', 'any', 2, 1500), append('x-2', 'any', 2, 1500), append('x-3', 'any', 1, 2500)] }] },
    { name: 'multi-event appends over a rollover, reopen', steps: [{ kind: 'append', appends: [append('t', 'no_stream', 3, 1200)] }, { kind: 'append', appends: [append('t', 'current', 3, 1200)] }, { kind: 'reopen' }] },
  ];
}

/** Every combination of fates for the pending writes, or a seeded sample when there are too many. */
function combinations(choices: WriteOutcome[][], random: () => number): WriteOutcome[][] {
  const total = choices.reduce((n, c) => n * c.length, 1);
  if (total <= COMBINATIONS_MAX) {
    let all: WriteOutcome[][] = [[]];
    for (const options of choices) all = all.flatMap((prefix) => options.map((o) => [...prefix, o]));
    return all;
  }
  return Array.from({ length: COMBINATIONS_MAX }, () => choices.map((options) => options[Math.floor(random() * options.length)]));
}

describe('crash sweep', () => {
  test('crash sweep - every persistence point of short workloads, every fate of the pending writes', async () => {
    await withSeed(async (seed) => {
      const random = seededRandom(seed);
      let crashPoints = 0;
      let persistencePoints = 0;
      for (const checkpointIntervalMs of [0, 200]) {
        for (const { name, steps } of workloads()) {
          const options = { checkpointIntervalMs };
          const dry = new SimDisk();
          await runWorkload(dry, steps, storeOptions(dry, options));
          const points = dry.trace.filter((t) => PERSISTENCE_CALLS.has(t.kind)).map((t) => t.index);
          points.push(dry.callCount + 1);
          for (const crashAtCall of points) {
            persistencePoints++;
            const disk = new SimDisk();
            disk.crashAtCall = crashAtCall;
            const { history, notDurableAtAck } = await runWorkload(disk, steps, storeOptions(disk, options));
            expect(notDurableAtAck, `P13 in '${name}'`).toEqual([]);
            disk.crashed = true;
            const pending = disk.pending();
            let first = true;
            for (const outcomes of combinations(pending.ops.map(({ op }) => sweepOutcomes(op)), random)) {
              for (let dirOpsKept = 0; dirOpsKept <= pending.dirOps; dirOpsKept++) {
                const image = disk.image(outcomes, dirOpsKept, (n) => new Uint8Array(n).fill(0x5a));
                const where = `'${name}' (checkpoint every ${checkpointIntervalMs} ms), crash before call ${crashAtCall}, outcomes ${outcomes.map((o) => o.kind).join('/')}, ${dirOpsKept} dir ops kept`;
                const store = await EventStore.open(DATA_DIR, storeOptions(image, options)).catch((error: unknown) => {
                  throw new Error(`P8: recovery refused ${where}: ${String(error)}`);
                });
                const problems = await checkRecovered(store, history);
                // That the store accepts appends afterwards is checked once per persistence point.
                if (first) problems.push(...await checkStillWorks(() => EventStore.open(DATA_DIR, storeOptions(image, options)), store));
                else await store.close();
                first = false;
                expect(problems, where).toEqual([]);
                crashPoints++;
              }
            }
          }
        }
      }
      console.log(`crash sweep: ${crashPoints} distinct crash points (workload, persistence point, outcome) over ${persistencePoints} persistence points`);
      expect(crashPoints).toBeGreaterThanOrEqual(10_000);
    });
  }, 300_000);
});
