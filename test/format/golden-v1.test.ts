// Format version 1 golden files: every later version must still open and read them unchanged.

import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EventStore } from '../../src/annal.js';
import { tempDir } from '../support/temp-dir.js';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'format-v1');

describe('format v1 golden files', () => {
  test('golden v1 - a stored v1 directory opens and reads back every event exactly', async () => {
    const dir = tempDir();
    cpSync(join(FIXTURE, 'store'), dir, { recursive: true });
    const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as Record<string, unknown>[];
    const store = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    const all = await store.readAll();
    const actual = all.map((e) => ({
      ...e.toJSON(),
      data: e.data instanceof Uint8Array ? { base64: Buffer.from(e.data).toString('base64') } : e.data,
      metadata: e.metadata instanceof Uint8Array ? { base64: Buffer.from(e.metadata).toString('base64') } : e.metadata ?? null,
    }));
    expect(actual).toEqual(expected);
    expect(all.length).toBe(64);
    const backwards = await store.readStream('order-2', { direction: 'backwards', maxCount: 3 });
    expect(backwards.map((e) => e.revision)).toEqual([14n, 13n, 12n]);
    await store.close();
  });

  test('golden v1 - the first chunk is sealed and its first record is position-bound and committed', () => {
    const bytes = readFileSync(join(FIXTURE, 'store', 'chunk-000000.annal'));
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('ANNALCHK');
    expect(bytes.subarray(bytes.length - 8).toString('latin1')).toBe('ANNALEND');
    // Record 0 starts right after the 128-byte header; its own position is 0 and it commits.
    expect(bytes.readBigUInt64LE(128 + 8)).toBe(0n);
    expect(bytes.readUInt16LE(128 + 48) & 0x01).toBe(1);
  });
});
