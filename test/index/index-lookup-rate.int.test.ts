// A micro-measure, printed and not asserted: random get() lookups per second on a 1,000,000-entry
// index file with a warm block cache, measured in a plain Node child (see lookup-rate-child.ts).

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { withSeed } from '../support/random.js';
import { tempDir } from '../support/temp-dir.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

function runChild(dir: string, seed: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'lookup-rate-child.ts'), dir, String(seed)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`lookup-rate child exited with ${code}: ${err}`))));
  });
}

describe('index lookup rate', () => {
  test('index lookup rate - random get() on a 1M-entry file with a warm cache (printed, not asserted)', async () => {
    await withSeed(async (seed) => {
      const result = JSON.parse(await runChild(tempDir('annal-index-rate-'), seed)) as {
        entryCount: number; blockCount: number; fileBytes: number; writeMs: number; lookups: number; found: number; rates: number[];
      };
      expect(result.found).toBe(result.lookups);
      const best = Math.max(...result.rates);
      console.log(
        `index lookup rate: ${best.toLocaleString('en')} get()/s (rounds: ${result.rates.map((r) => r.toLocaleString('en')).join(', ')}) over ` +
        `${result.entryCount.toLocaleString('en')} entries, ${result.blockCount} blocks of 4 KiB (${(result.fileBytes / 2 ** 20).toFixed(1)} MiB), warm cache; file written in ${result.writeMs} ms`,
      );
    });
  });
});
