// Power loss at a random call of a random workload, with random fates for every unsynced write,
// then recovery and the RELIABILITY.md checks. Seeded; replay with ANNAL_SEED / ANNAL_PATH.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CorruptionError, EventStore } from '../../src/annal.js';
import { SimDisk } from '../harness/sim-disk.js';
import { checkRecovered, checkStillWorks } from '../harness/checks.js';
import { DATA_DIR, buildWorkload, runWorkload, storeOptions, workloadArb } from '../harness/workload.js';
import { propertyParams, seededRandom } from '../support/random.js';

// ANNAL_CRASH_RUNS raises the run count for a longer hunt.
const RUNS = Number(process.env.ANNAL_CRASH_RUNS ?? 400);

describe('crash property', () => {
  test('crash property - after a power loss at any call, recovery keeps every acknowledged event and invents none', async () => {
    let crashPoints = 0;
    let midWorkload = 0;
    let acknowledged = 0;
    let unknown = 0;
    await fc.assert(
      fc.asyncProperty(
        workloadArb(14),
        fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000),
        fc.integer(),
        fc.constantFrom(0, 200),
        async (raw, crashFraction, outcomeSeed, checkpointIntervalMs) => {
          const steps = buildWorkload(raw);
          const options = { checkpointIntervalMs };
          // A dry run counts the workload's calls, so the crash lands anywhere in it (or after it).
          const dry = new SimDisk();
          await runWorkload(dry, steps, storeOptions(dry, options));
          const disk = new SimDisk();
          disk.crashAtCall = 1 + Math.floor(crashFraction * (dry.callCount + 1));
          const { history, notDurableAtAck } = await runWorkload(disk, steps, storeOptions(disk, options));
          expect(notDurableAtAck, 'P13: acknowledged only when durable').toEqual([]);
          if (disk.crashed) midWorkload++;
          disk.crashed = true; // if the workload ended first, the power goes now
          for (const h of history) {
            if (h.status === 'ok') acknowledged += h.append.parts.reduce((n, p) => n + p.events.length, 0);
            if (h.status === 'unknown') unknown++;
          }
          const image = disk.crashImage(seededRandom(outcomeSeed));
          crashPoints++;
          let store: EventStore;
          try {
            store = await EventStore.open(DATA_DIR, storeOptions(image, options));
          } catch (error) {
            // P8: a power loss alone damages nothing that was committed, so refusing is a bug too.
            throw new Error(`P8: recovery refused a crash image: ${error instanceof CorruptionError ? error.message : String(error)}`);
          }
          const problems = await checkRecovered(store, history);
          problems.push(...await checkStillWorks(() => EventStore.open(DATA_DIR, storeOptions(image, options)), store));
          expect(problems).toEqual([]);
        },
      ),
      propertyParams(RUNS),
    );
    console.log(`crash property: ${crashPoints} random crash points explored (${midWorkload} during the workload), ${acknowledged} acknowledged events checked, ${unknown} appends cut off by the crash`);
  }, 60_000 + RUNS * 100);
});
