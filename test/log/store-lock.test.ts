import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EventStore, StoreLockedError } from '../../src/annal.js';
import { bootId, processStartTime } from '../../src/util/process-identity.js';
import { tempDir } from '../support/temp-dir.js';

async function opensOver(lockContent: string): Promise<boolean> {
  const dir = tempDir();
  writeFileSync(join(dir, 'LOCK'), lockContent);
  try {
    const store = await EventStore.open(dir, { chunkSizeBytes: 65536 });
    await store.close();
    return true;
  } catch (error) {
    if (error instanceof StoreLockedError) return false;
    throw error;
  }
}

describe('store lock', () => {
  test('store lock - a lock left by a dead process, another boot or a torn write is taken over', async () => {
    expect(await opensOver('')).toBe(true);
    expect(await opensOver('2')).toBe(true); // torn: a power loss kept a prefix of the line
    expect(await opensOver(`1 not-this-boot 1\n`)).toBe(true);
    expect(await opensOver(`999999999 ${bootId()} 1\n`)).toBe(true);
  });

  test('store lock - a live process of this boot holds the directory; a reused pid does not', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = child.pid!;
      const started = processStartTime(pid)!;
      expect(await opensOver(`${pid} ${bootId()} ${started}\n`)).toBe(false);
      expect(await opensOver(`${pid} ${bootId()} ${started}0\n`)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
