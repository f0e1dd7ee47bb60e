// Real processes (RELIABILITY.md F12): a child appends with concurrent writers and is SIGKILLed at
// random moments, inside group commits too; after each kill the reopened store must hold every
// acknowledged event where the child was told it is, in a valid log (test/harness/kill-loop.ts).

import { describe, expect, it } from 'vitest';
import { runKillCycles } from '../harness/kill-loop.js';
import { withSeed } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';

const CYCLES = 24;

describe('kill', () => {
  it('kill - every acknowledged event survives SIGKILL of the writing process, and the log stays valid', async () => {
    await withSeed(async (seed) => {
      const result = await runKillCycles({ dir: tempDir('annal-kill-'), cycles: CYCLES, seed });
      console.log(`kill: ${result.cycles} cycles, ${result.acknowledgedEventsVerified} acknowledged events verified, ${result.eventsInStore} events in store`);
      expect(result.cycles).toBe(CYCLES);
      expect(result.kills.appending).toBeGreaterThan(0);
      expect(result.acknowledgedEventsVerified).toBeGreaterThan(0);
    });
  }, 120_000);
});
