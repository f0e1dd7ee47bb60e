// Recovery on real files: crash images are taken by copying a store's directory while it is open
// (everything acknowledged is in the files, the checkpoint lags), then damaged on purpose.

import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CorruptionError, EventStore, verifyStore, type EventStoreOptions, type Logger } from '../../src/annal.js';
import { CHUNK_HEADER_BYTES } from '../../src/format/chunk-layout.js';
import { CHECKPOINT_FILE } from '../../src/format/checkpoint.js';
import { Crc32c } from '../../src/wasm/crc32c.js';
import { Wasm } from '../../src/wasm/kernels.js';
import { tempDir } from '../support/temp-dir.js';

interface Warnings extends Logger {
  readonly messages: string[];
}

function capture(): Warnings {
  const messages: string[] = [];
  return { messages, info() {}, warn(message, fields) { messages.push(`${message} ${JSON.stringify(fields ?? {})}`); } };
}

// Checkpoints only at creation, rollover and clean close: a crash image's checkpoint lags.
const LAGGING: EventStoreOptions = { checkpointIntervalMs: 60_000, chunkSizeBytes: 1024 * 1024, logger: capture() };

/** Copies the store's files as they are now: what a crash would leave (page cache included). */
function crashImage(dir: string): string {
  const image = tempDir('annal-crash-');
  for (const name of readdirSync(dir)) if (name !== 'LOCK') cpSync(join(dir, name), join(image, name), { recursive: true });
  return image;
}

/** File offsets of the records in a chunk file, found by walking the length fields. */
function recordOffsets(path: string): number[] {
  const bytes = readFileSync(path);
  const offsets: number[] = [];
  let at = CHUNK_HEADER_BYTES;
  while (at + 4 <= bytes.length) {
    const length = bytes.readUInt32LE(at);
    if (length === 0 || at + length > bytes.length || bytes.readUInt32LE(at + length - 4) !== length) break;
    offsets.push(at);
    at += length;
  }
  return offsets;
}

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] ^= 0x40;
  writeFileSync(path, bytes);
}

const chunk = (dir: string, n: number): string => join(dir, `chunk-${String(n).padStart(6, '0')}.annal`);
const event = (i: number) => ({ type: 'Happened', data: { i, text: 'x'.repeat(40) } });

describe('recovery', () => {
  test('recovery - a crash image holds every acknowledged event', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, LAGGING);
    for (let i = 0; i < 50; i++) await store.appendToStream(`s-${i % 3}`, [event(i)]);
    const image = crashImage(dir);
    await store.close();
    const reopened = await EventStore.open(image, LAGGING);
    const all = await reopened.readAll();
    expect(all.map((e) => (e.data as { i: number }).i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await reopened.close();
  });

  test('recovery - a torn final record is the end of the log, and the log accepts appends after it', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, LAGGING);
    for (let i = 0; i < 10; i++) await store.appendToStream('s', [event(i)]);
    const image = crashImage(dir);
    await store.close();
    const offsets = recordOffsets(chunk(image, 0));
    const last = offsets[offsets.length - 1];
    // Tear the last record in its middle: its bytes after that point were never written.
    const bytes = readFileSync(chunk(image, 0));
    bytes.fill(0, last + 30, last + 200);
    writeFileSync(chunk(image, 0), bytes);
    const logger = capture();
    const reopened = await EventStore.open(image, { ...LAGGING, logger });
    expect(await reopened.headPosition()).toBe(8n);
    expect(logger.messages.join('\n')).toMatch(/torn tail/);
    await reopened.appendToStream('s', [event(100)], { expectedRevision: 8n });
    expect((await reopened.readStream('s')).map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 100]);
    await reopened.close();
  });

  test('recovery - an incomplete multi-stream transaction at the tail is dropped whole', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, LAGGING);
    await store.appendToStream('a', [event(0)]);
    await store.appendMulti([
      { streamId: 'a', events: [event(1), event(2)] },
      { streamId: 'b', events: [event(3)] },
    ]);
    const image = crashImage(dir);
    await store.close();
    const offsets = recordOffsets(chunk(image, 0));
    expect(offsets).toHaveLength(4);
    // The transaction's last record (the commit) did not reach the disk.
    const bytes = readFileSync(chunk(image, 0));
    bytes.fill(0, offsets[3]);
    writeFileSync(chunk(image, 0), bytes);
    const reopened = await EventStore.open(image, LAGGING);
    expect(await reopened.headPosition()).toBe(0n);
    expect(await reopened.readStream('a')).toHaveLength(1);
    expect((await reopened.streamInfo('b')).exists).toBe(false);
    await reopened.close();
  });

  test('recovery - bytes a torn batch left after the end never come back as events', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, LAGGING);
    await store.appendToStream('s', [event(0)]);
    await store.appendToStream('s', [event(1), event(2), event(3)]);
    const image = crashImage(dir);
    await store.close();
    const offsets = recordOffsets(chunk(image, 0));
    // The second batch's first record is damaged, its later records intact: a torn write.
    flipByte(chunk(image, 0), offsets[1] + 20);
    const reopened = await EventStore.open(image, LAGGING);
    expect(await reopened.headPosition()).toBe(0n);
    // The same sizes land on the same offsets: stale records would line up if they survived.
    await reopened.appendToStream('s', [event(7)]);
    await reopened.close();
    const again = await EventStore.open(image, LAGGING);
    expect((await again.readAll()).map((e) => (e.data as { i: number }).i)).toEqual([0, 7]);
    await again.close();
    const after = readFileSync(chunk(image, 0));
    expect(after.subarray(offsets[2], offsets[2] + 64).every((b) => b === 0)).toBe(true);
  });

  test('recovery - damage before the durable checkpoint is a CorruptionError naming file and offset', async () => {
    const dir = tempDir();
    const options = { chunkSizeBytes: 1024 * 1024 };
    const store = await EventStore.open(dir, options);
    for (let i = 0; i < 10; i++) await store.appendToStream('s', [event(i)]);
    await store.close();
    const offsets = recordOffsets(chunk(dir, 0));
    flipByte(chunk(dir, 0), offsets[4] + 70);
    const error = await EventStore.open(dir, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptionError);
    expect((error as CorruptionError).file).toBe('chunk-000000.annal');
    expect((error as CorruptionError).offset).toBe(offsets[4]);
    expect((error as CorruptionError).reason).toMatch(/before the durable checkpoint.*CRC mismatch/);
  });

  test('recovery - damage in a sealed chunk is a CorruptionError, never truncated', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    for (let i = 0; i < 200; i++) await store.appendToStream(`s-${i % 5}`, [event(i)]);
    await store.close();
    const chunks = readdirSync(dir).filter((n) => n.startsWith('chunk-'));
    expect(chunks.length).toBeGreaterThan(3);
    const second = chunk(dir, 1);
    const sizeBefore = statSync(second).size;
    flipByte(second, recordOffsets(second)[2] + 66);
    // Index files cover the chunk, so open does not read its records: the read of the damaged one
    // is the CorruptionError, and nothing is cut.
    const reopened = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    await expect(reopened.readAll()).rejects.toBeInstanceOf(CorruptionError);
    await reopened.close();
    expect(statSync(second).size).toBe(sizeBefore);
    // Without them, open scans the chunk and refuses.
    rmSync(join(dir, 'index'), { recursive: true });
    await expect(EventStore.open(dir, { chunkSizeBytes: 8192 })).rejects.toBeInstanceOf(CorruptionError);
    expect(statSync(second).size).toBe(sizeBefore);
  });

  test('recovery - a rebuild skips the record CRCs of footer-checked sealed chunks: a damaged payload fails its read and verify, not open', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    for (let i = 0; i < 200; i++) await store.appendToStream(`s-${i % 5}`, [event(i)]);
    await store.close();
    const second = chunk(dir, 1);
    const at = recordOffsets(second)[2];
    // The last byte before the trailer: the event's data, covered by nothing but the record CRC.
    flipByte(second, at + readFileSync(second).readUInt32LE(at) - 5);
    rmSync(join(dir, 'index'), { recursive: true });
    const reopened = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    await expect(reopened.readAll()).rejects.toBeInstanceOf(CorruptionError);
    expect((await reopened.readAll({ maxCount: 10 })).length).toBe(10);
    await reopened.close();
    const report = await verifyStore(dir);
    expect(report.errors).toEqual([expect.objectContaining({ file: 'chunk-000001.annal', offset: at })]);
  });

  test('recovery - a damaged footer of a sealed chunk is a CorruptionError', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    for (let i = 0; i < 200; i++) await store.appendToStream('s', [event(i)]);
    await store.close();
    const first = chunk(dir, 0);
    flipByte(first, statSync(first).size - 30);
    await expect(EventStore.open(dir, { chunkSizeBytes: 8192 })).rejects.toBeInstanceOf(CorruptionError);
  });

  test('recovery - a footer whose body checksum disagrees with the records is a CorruptionError', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    for (let i = 0; i < 200; i++) await store.appendToStream('s', [event(i)]);
    await store.close();
    const first = chunk(dir, 0);
    const bytes = readFileSync(first);
    const footerBytes = bytes.readUInt32LE(bytes.length - 16);
    const footer = bytes.subarray(bytes.length - footerBytes);
    footer.writeUInt32LE((footer.readUInt32LE(32) ^ 1) >>> 0, 32);
    // Re-seal the footer's own CRC so that only the body checksum is wrong.
    footer.writeUInt32LE(new Crc32c(new Wasm()).of(footer.subarray(0, footerBytes - 12)), footerBytes - 12);
    writeFileSync(first, bytes);
    // With index files covering the chunk, open does not read its body (each record's CRC is
    // still checked when read, and `annal verify` reads everything); without them it is scanned.
    rmSync(join(dir, 'index'), { recursive: true });
    const error = await EventStore.open(dir, { chunkSizeBytes: 8192 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptionError);
    expect((error as CorruptionError).reason).toMatch(/body checksum mismatch/);
  });

  test('recovery - events spread over many chunks read back after reopen', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) pending.push(store.appendToStream(`s-${i % 7}`, [event(i)]));
    await Promise.all(pending);
    await store.close();
    const reopened = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    const all = await reopened.readAll();
    expect(all).toHaveLength(500);
    expect(all.map((e) => e.position)).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i)));
    const backwards = await reopened.readStream('s-3', { direction: 'backwards' });
    expect(backwards.map((e) => e.revision)).toEqual(Array.from({ length: backwards.length }, (_, i) => BigInt(backwards.length - 1 - i)));
    await reopened.close();
  });

  test('recovery - an unreadable checkpoint is rebuilt from the log with a warning', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir);
    for (let i = 0; i < 5; i++) await store.appendToStream('s', [event(i)]);
    await store.close();
    writeFileSync(join(dir, CHECKPOINT_FILE), Buffer.alloc(8192, 0xee));
    const logger = capture();
    const reopened = await EventStore.open(dir, { logger });
    expect(await reopened.headPosition()).toBe(4n);
    expect(logger.messages.join('\n')).toMatch(/checkpoint missing or unreadable/);
    await reopened.close();
  });

  test('recovery - a missing chunk in the middle is a CorruptionError', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    for (let i = 0; i < 200; i++) await store.appendToStream('s', [event(i)]);
    await store.close();
    const { rmSync } = await import('node:fs');
    rmSync(chunk(dir, 1));
    const error = await EventStore.open(dir, { chunkSizeBytes: 8192 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptionError);
    expect((error as CorruptionError).file).toBe('chunk-000001.annal');
  });

  test('recovery - a chunk left half-created (.tmp) is removed', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir);
    await store.appendToStream('s', [event(0)]);
    await store.close();
    writeFileSync(join(dir, 'chunk-000001.annal.tmp'), Buffer.alloc(100, 1));
    const reopened = await EventStore.open(dir);
    expect(existsSync(join(dir, 'chunk-000001.annal.tmp'))).toBe(false);
    expect(await reopened.headPosition()).toBe(0n);
    await reopened.close();
  });

  test('recovery - a seal whose footer did not reach the disk leaves an active chunk that keeps working', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    for (let i = 0; i < 60; i++) await store.appendToStream('s', [event(i)]);
    await store.close();
    // Make the image of a crash during the seal of chunk 0: footer gone, later chunks never made.
    const names = readdirSync(dir).filter((n) => n.startsWith('chunk-') && n !== 'chunk-000000.annal');
    expect(names.length).toBeGreaterThan(0);
    const { rmSync } = await import('node:fs');
    for (const name of names) rmSync(join(dir, name));
    const offsets = recordOffsets(chunk(dir, 0));
    const end = statSync(chunk(dir, 0)).size;
    const lastEnd = offsets[offsets.length - 1] + readFileSync(chunk(dir, 0)).readUInt32LE(offsets[offsets.length - 1]);
    expect(end).toBeGreaterThan(lastEnd);
    const bytes = readFileSync(chunk(dir, 0));
    bytes.fill(0xab, lastEnd, end);
    writeFileSync(chunk(dir, 0), bytes);
    writeFileSync(join(dir, CHECKPOINT_FILE), Buffer.alloc(8192, 0));
    const logger = capture();
    const reopened = await EventStore.open(dir, { chunkSizeBytes: 8192, logger });
    const count = Number(await reopened.headPosition()) + 1;
    expect(count).toBe(offsets.length);
    for (let i = 0; i < 60; i++) await reopened.appendToStream('s', [event(1000 + i)]);
    await reopened.close();
    const again = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    expect(await again.readStream('s')).toHaveLength(count + 60);
    await again.close();
  });

  test('recovery - a sealed last chunk without a successor gets a new active chunk', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    for (let i = 0; i < 60; i++) await store.appendToStream('s', [event(i)]);
    await store.close();
    const names = readdirSync(dir).filter((n) => n.startsWith('chunk-')).sort();
    const { rmSync } = await import('node:fs');
    // Keep chunk 0 (sealed) only; point the checkpoint at it.
    for (const name of names.slice(1)) rmSync(join(dir, name));
    writeFileSync(join(dir, CHECKPOINT_FILE), Buffer.alloc(8192, 0));
    const reopened = await EventStore.open(dir, { chunkSizeBytes: 8192 });
    const count = Number(await reopened.headPosition()) + 1;
    expect(existsSync(chunk(dir, 1))).toBe(true);
    await reopened.appendToStream('s', [event(999)], { expectedRevision: BigInt(count - 1) });
    await reopened.close();
  });

  test('recovery - a shorter file than the chunk capacity (size metadata) is not trusted', async () => {
    const dir = tempDir();
    const store = await EventStore.open(dir, LAGGING);
    for (let i = 0; i < 5; i++) await store.appendToStream('s', [event(i)]);
    const image = crashImage(dir);
    await store.close();
    const offsets = recordOffsets(chunk(image, 0));
    truncateSync(chunk(image, 0), offsets[4] + 10);
    const reopened = await EventStore.open(image, LAGGING);
    expect(await reopened.headPosition()).toBe(3n);
    expect(statSync(chunk(image, 0)).size).toBe(1024 * 1024);
    await reopened.close();
  });
});
