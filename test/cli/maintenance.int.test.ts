// `annal reindex` and `annal scavenge` as a user runs them: the built CLI in a child process on a
// real directory; afterwards the store opens and reads as before (minus what scavenge removed).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { EventStore } from '../../src/annal.js';
import { silentLogger } from '../../src/util/logger.js';
import { tempDir } from '../support/temp-dir.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUILT = join(ROOT, 'dist', 'src', 'cli', 'maintenance.js');
const SOURCES = ['src/cli/maintenance.ts', 'src/cli/main.ts', 'src/store/event-store.ts', 'src/log/chunk-scavenge.ts', 'src/index/persisted-indexes.ts'];

function annal(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'annal.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

// The CLI runs from dist/: build it when it is missing or older than its sources.
beforeAll(() => {
  const builtMs = existsSync(BUILT) ? statSync(BUILT).mtimeMs : 0;
  if (SOURCES.some((s) => statSync(join(ROOT, s)).mtimeMs > builtMs)) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}, 120_000);

describe('annal reindex and scavenge', () => {
  test('annal reindex - rebuilds the index files from the log; annal scavenge - removes what reads no longer show', async () => {
    const dir = tempDir('annal-cli-');
    const options = { chunkSizeBytes: 16 * 1024, logger: silentLogger };
    let store = await EventStore.open(dir, options);
    for (let i = 0; i < 300; i++) await store.appendToStream(`s-${i % 3}`, [{ type: 'T', data: { i, pad: 'z'.repeat(100) } }]);
    await store.setStreamMetadata('s-0', { $maxCount: 2 });
    for (let i = 0; i < 100; i++) await store.appendToStream('s-1', [{ type: 'T', data: { late: i, pad: 'z'.repeat(100) } }]);
    const before = await store.readStream('s-0');
    await store.close();
    const filesBefore = readdirSync(join(dir, 'index')).sort();

    const reindex = annal('reindex', dir);
    expect(reindex.stderr).toBe('');
    expect(reindex.status).toBe(0);
    expect(reindex.stdout).toMatch(/indexes of 401 events rebuilt from the log in \d+ ms/);
    expect(readdirSync(join(dir, 'index')).some((n) => n.endsWith('.idx'))).toBe(true);
    expect(filesBefore.length).toBeGreaterThan(0);

    const scavenge = annal('scavenge', dir, '--max-bytes-per-second', '100000000');
    expect(scavenge.status).toBe(0);
    const removed = Number(/(\d+) events removed/.exec(scavenge.stdout)?.[1]);
    expect(removed).toBeGreaterThan(50);
    expect(annal('scavenge', dir, '--max-bytes-per-second', '0').status).not.toBe(0);

    store = await EventStore.open(dir, options);
    expect((await store.readStream('s-0')).map((e) => e.id)).toEqual(before.map((e) => e.id));
    expect((await store.readAll()).length).toBe(401 - removed);
    await store.close();
  });
});
