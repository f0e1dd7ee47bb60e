// `annal verify <dir>` as a user runs it: the built CLI in a child process on a real directory,
// with its exit codes (0 clean, 1 damage found, 2 could not run) and a report naming file and offset.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { EventStore } from '../../src/annal.js';
import { silentLogger } from '../../src/util/logger.js';
import { recordOffsets } from '../harness/store-layout.js';
import { seededRandom, withSeed } from '../support/random.js';
import { appendSample } from '../support/sample-store.js';
import { tempDir } from '../support/temp-dir.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUILT = join(ROOT, 'dist', 'src', 'cli', 'verify.js');
const SOURCES = ['src/cli/verify.ts', 'src/cli/main.ts', 'src/store/verify.ts', 'src/store/verify-chunk.ts', 'src/store/verify-context.ts'];

function annalVerify(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'annal.js'), 'verify', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

async function sampleStore(seed: number): Promise<string> {
  const dir = tempDir();
  const store = await EventStore.open(dir, { chunkSizeBytes: 8 * 1024, logger: silentLogger });
  await appendSample(store, seededRandom(seed), () => readdirSync(dir).filter((n) => n.startsWith('chunk-')).length >= 3);
  await store.close();
  return dir;
}

// The CLI runs from dist/: build it when it is missing or older than its sources.
beforeAll(() => {
  const builtMs = existsSync(BUILT) ? statSync(BUILT).mtimeMs : 0;
  if (SOURCES.some((s) => statSync(join(ROOT, s)).mtimeMs > builtMs)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}, 120_000);

describe('annal verify', () => {
  test('annal verify - a clean store exits 0 with a clean report', async () => {
    await withSeed(async (seed) => {
      const dir = await sampleStore(seed);
      const run = annalVerify(dir);
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/chunks\s+3 \(2 sealed\)/);
      expect(run.stdout).toMatch(/result: clean \(0 errors, 0 warnings\)/);
      expect(run.status).toBe(0);
    });
  });

  test('annal verify - a damaged record exits 1 and names the file and offset', async () => {
    await withSeed(async (seed) => {
      const dir = await sampleStore(seed);
      const path = join(dir, 'chunk-000001.annal');
      const bytes = readFileSync(path);
      const record = recordOffsets(bytes)[1];
      bytes[record + 66] ^= 0x10;
      writeFileSync(path, bytes);
      const run = annalVerify(dir);
      expect(run.stdout).toContain(`chunk-000001.annal at offset ${record}: `);
      expect(run.stdout).toMatch(/result: DAMAGED \(1 error/);
      expect(run.status).toBe(1);
      // Read only: the damage is still there for the operator to inspect.
      expect(readFileSync(path).equals(bytes)).toBe(true);
    });
  });

  test('annal verify - a missing directory or a missing argument exits 2', () => {
    const missing = annalVerify(join(tempDir(), 'nowhere'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot verify .*nowhere/);
    expect(annalVerify().status).toBe(2);
  });

  test('annal verify - the help documents the exit codes', () => {
    const help = annalVerify('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:\s+0 .*\n\s+1 .*\n\s+2 /);
  });
});
