// `npm run crash -- --cycles 1000 [--seed N] [--dir D] [--full-check-every N]`: the kill harness of
// kill-loop.ts run standalone (RELIABILITY.md F12), printing each cycle and the totals.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSeed } from '../support/random.js';
import { runKillCycles } from './kill-loop.js';

const USAGE = 'usage: npm run crash -- [--cycles N] [--seed N] [--dir D] [--full-check-every N]';

function parseArgs(argv: string[]): { cycles: number; seed: number; dir: string | null; fullCheckEvery: number } {
  const args = { cycles: 100, seed: runSeed(), dir: null as string | null, fullCheckEvery: 10 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    const integer = (min: number): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got ${value}\n${USAGE}`);
      return n;
    };
    if (flag === '--cycles') args.cycles = integer(1);
    else if (flag === '--seed') args.seed = integer(-(2 ** 31)) | 0;
    else if (flag === '--dir') args.dir = value;
    else if (flag === '--full-check-every') args.fullCheckEvery = integer(1);
    else throw new Error(`unknown argument ${flag}\n${USAGE}`);
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const dir = args.dir ?? mkdtempSync(join(tmpdir(), 'annal-kill-'));
  console.log(`kill: ${args.cycles} cycles on ${dir}, seed ${args.seed}`);
  const startedMs = performance.now();
  try {
    const result = await runKillCycles({ dir, cycles: args.cycles, seed: args.seed, fullCheckEvery: args.fullCheckEvery, log: (line) => console.log(line) });
    const seconds = (performance.now() - startedMs) / 1000;
    console.log(`kill: ${result.cycles} cycles, ${result.acknowledgedEventsVerified} acknowledged events verified, ${result.eventsInStore} events in store`);
    console.log(`kill: ${result.verifications} verifications; kills in startup ${result.kills.startup}, recovery ${result.kills.recovery}, appending ${result.kills.appending} (${result.killsWithAppendsInFlight} with appends in flight, ${result.killsMidRollover} mid-rollover); ${result.rejectedRequests} requests rejected; in flight at a kill: ${result.inFlightKept} kept, ${result.inFlightLost} lost; ${result.tailsCut} torn tails cut; ${seconds.toFixed(1)} s`);
    if (args.dir === null) rmSync(dir, { recursive: true, force: true });
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.stack ?? error.message : error);
    console.error(`kill: FAILED with seed ${args.seed}; the store is kept in ${dir}; replay with npm run crash -- --seed ${args.seed} --cycles ${args.cycles}`);
    return 1;
  }
}

process.exitCode = await main();
