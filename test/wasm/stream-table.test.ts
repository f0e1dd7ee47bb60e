// The stream-table kernel (assembly/stream-table.ts, src/wasm/stream-table.ts) against a JS Map:
// random command sequences with the hash cut to 1, 2, 4 or 64 bits so that collisions are
// constant, indexing of encoded batches (including a revision that is not the stream's next), and
// growth far past the initial slot capacity.

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { Wasm } from '../../src/wasm/kernels.js';
import { WasmRegion } from '../../src/wasm/region.js';
import { StreamTable } from '../../src/wasm/stream-table.js';
import { RecordBatchEncoder, type EncodePart, type PreparedEvent } from '../../src/format/record-batch-encoder.js';
import { RecordDecoder, emptyDecodedRecord } from '../../src/format/record-decoder.js';
import { DEC_DESC_BYTES, recordBytes } from '../../src/format/record-layout.js';
import { RECORD_BYTES_MAX, STREAM_ID_BYTES_MAX } from '../../src/util/limits.js';
import { propertyParams } from '../support/random.js';

const HASH_BITS = [1, 2, 4, 64];
const POSITION_MAX = Number.MAX_SAFE_INTEGER;
const RAW_POSITIONS_MAX = 64;
const ALIGNMENT_SHIFT_MAX = 7;
const GROWTH_STREAMS = 3000;

const wasm = new Wasm();
const encoder = new RecordBatchEncoder(wasm, RECORD_BYTES_MAX);
const scanDecoder = new RecordDecoder(wasm, 256, RECORD_BYTES_MAX);
const staged = new WasmRegion(wasm, 64 * 1024);
const { h64Raw } = await xxhash();
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The raw kernel exports over one table, with keys staged as UTF-8 at a chosen misalignment. */
class RawTable {
  readonly t: number;
  private readonly key = new WasmRegion(wasm, STREAM_ID_BYTES_MAX * 3 + ALIGNMENT_SHIFT_MAX + 1);
  private readonly out = new WasmRegion(wasm, RAW_POSITIONS_MAX * 8);
  shift = 0;

  constructor(hashBits: number, initialSlots: number) {
    this.t = wasm.k.tableCreate(hashBits, initialSlots);
  }

  private stage(id: string): [number, number] {
    const bytes = utf8(id);
    const ptr = this.key.ptr + this.shift;
    wasm.u8.set(bytes, ptr);
    this.shift = (this.shift + 3) % (ALIGNMENT_SHIFT_MAX + 1);
    return [ptr, bytes.length];
  }

  findOrInsert(id: string): number {
    return wasm.k.tableFindOrInsert(this.t, ...this.stage(id));
  }

  find(id: string): number {
    return wasm.k.tableFind(this.t, ...this.stage(id));
  }

  hash(id: string): bigint {
    return BigInt.asUintN(64, wasm.k.hashStreamId(this.t, ...this.stage(id)));
  }

  push(streamNo: number, position: number): void {
    wasm.k.streamPush(this.t, streamNo, position);
  }

  /** streamPositions, and exactly the positions it copied. */
  positions(streamNo: number, fromRevision: number, count: number): number[] {
    const copied = wasm.k.streamPositions(this.t, streamNo, fromRevision, count, this.out.ptr);
    return Array.from(wasm.f64.subarray(this.out.ptr / 8, this.out.ptr / 8 + copied));
  }

  revisionCount(streamNo: number): number {
    return wasm.k.streamRevisionCount(this.t, streamNo);
  }

  streamId(streamNo: number): string {
    const ptr = wasm.k.streamIdPtr(this.t, streamNo);
    return Buffer.from(wasm.u8.subarray(ptr, ptr + wasm.k.streamIdLen(this.t, streamNo))).toString('utf8');
  }

  get streamCount(): number {
    return wasm.k.tableStreamCount(this.t);
  }

  get slotCapacity(): number {
    return wasm.k.tableSlotCapacity(this.t);
  }

  destroy(): void {
    wasm.k.tableDestroy(this.t);
    this.key.free();
    this.out.free();
  }
}

// Stream ids: a pool of near-misses (prefixes, same length, multi-byte) so that lookups hit and
// miss among colliding keys, plus fresh random UTF-8.
const ID_POOL = ['a', 'ab', 'abc', 'b', 'ba', 'order-1', 'order-10', 'order-2', 'ü', 'u', 'ū', '日本', '日本語', '🎉', '🎊', 'x'.repeat(300), 'x'.repeat(299) + 'y'];
const streamIds = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ID_POOL) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }) },
);
const positions = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: POSITION_MAX }));

// ---- model-based: raw kernel commands against a Map ---------------------------------------------

interface TableModel {
  ids: string[]; // by stream number
  numbers: Map<string, number>;
  positions: number[][]; // by stream number, index = revision
}

type TableCommand = fc.Command<TableModel, RawTable>;

const streamOf = (m: TableModel, pick: number): number => pick % m.ids.length;

class FindOrInsert implements TableCommand {
  constructor(private readonly id: string) {}
  check(): boolean {
    return true;
  }
  run(m: TableModel, r: RawTable): void {
    const expected = m.numbers.get(this.id) ?? m.ids.length;
    expect(r.findOrInsert(this.id), this.toString()).toBe(expected);
    if (expected === m.ids.length) {
      m.ids.push(this.id);
      m.numbers.set(this.id, expected);
      m.positions.push([]);
    }
    expect(r.streamCount, 'stream count').toBe(m.ids.length);
  }
  toString(): string {
    return `findOrInsert(${JSON.stringify(this.id)})`;
  }
}

class Find implements TableCommand {
  constructor(private readonly id: string) {}
  check(): boolean {
    return true;
  }
  run(m: TableModel, r: RawTable): void {
    expect(r.find(this.id), this.toString()).toBe(m.numbers.get(this.id) ?? -1);
  }
  toString(): string {
    return `find(${JSON.stringify(this.id)})`;
  }
}

class Push implements TableCommand {
  constructor(private readonly pick: number, private readonly count: number, private readonly position: number) {}
  check(m: Readonly<TableModel>): boolean {
    return m.ids.length > 0;
  }
  run(m: TableModel, r: RawTable): void {
    const no = streamOf(m, this.pick);
    for (let i = 0; i < this.count; i++) {
      const position = Math.min(POSITION_MAX, this.position + i);
      r.push(no, position);
      m.positions[no].push(position);
    }
    expect(r.revisionCount(no), `${this.toString()} on stream ${no}`).toBe(m.positions[no].length);
  }
  toString(): string {
    return `push(stream #${this.pick}, ${this.count} from ${this.position})`;
  }
}

class Positions implements TableCommand {
  constructor(private readonly pick: number, private readonly from: number, private readonly count: number) {}
  check(m: Readonly<TableModel>): boolean {
    return m.ids.length > 0;
  }
  run(m: TableModel, r: RawTable): void {
    const no = streamOf(m, this.pick);
    const list = m.positions[no];
    const from = this.from % (list.length + 2);
    expect(r.positions(no, from, this.count), `positions(stream ${no}, ${from}, ${this.count}) of ${list.length}`).toEqual(list.slice(from, from + this.count));
  }
  toString(): string {
    return `positions(stream #${this.pick}, from #${this.from}, ${this.count})`;
  }
}

class StreamId implements TableCommand {
  constructor(private readonly pick: number) {}
  check(m: Readonly<TableModel>): boolean {
    return m.ids.length > 0;
  }
  run(m: TableModel, r: RawTable): void {
    const no = streamOf(m, this.pick);
    expect(r.streamId(no), `streamId(${no})`).toBe(m.ids[no]);
    expect(r.revisionCount(no), `revisionCount(${no})`).toBe(m.positions[no].length);
  }
  toString(): string {
    return `streamId(stream #${this.pick})`;
  }
}

const tableCommands = fc.commands<TableModel, RawTable>(
  [
    streamIds.map((id) => new FindOrInsert(id)),
    streamIds.map((id) => new Find(id)),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 9 }), positions).map(([pick, count, position]) => new Push(pick, count, position)),
    fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: RAW_POSITIONS_MAX })).map(([pick, from, count]) => new Positions(pick, from, count)),
    fc.nat().map((pick) => new StreamId(pick)),
  ],
  { maxCommands: 200, size: 'max' },
);

// ---- indexing encoded batches ----------------------------------------------------------------

/** A prepared event of type 'E' with a few bytes of data, sizes measured as the store measures them. */
function preparedEvent(streamIdBytes: number, dataByte: number): PreparedEvent {
  const data = Uint8Array.of(dataByte, dataByte ^ 0xff);
  return { id: new Uint8Array(16).fill(dataByte), type: 'E', typeBytes: 1, data, dataBytes: data.length, metadata: null, metadataBytes: 0, flags: 0, recordBytes: recordBytes(streamIdBytes, 1, 0, data.length) };
}

function encodePart(streamId: string, firstPosition: number, firstRevision: number, events: number): EncodePart {
  const streamIdBytes = Buffer.byteLength(streamId, 'utf8');
  return {
    streamId, streamIdBytes, firstPosition, firstRevision, endsTransaction: true,
    events: Array.from({ length: events }, (_, i) => preparedEvent(streamIdBytes, (firstPosition + i) & 0xff)),
  };
}

/** A model of the indexed streams: id → number and the positions of its revisions. */
interface IndexModel {
  numbers: Map<string, number>;
  positions: number[][];
  nextPosition: number;
}

/**
 * Encodes `parts` and indexes them, through the encoder's descriptors or a fresh scan of the bytes.
 * Returns how many records were indexed and the stream number each indexed descriptor got.
 */
function encodeAndIndex(table: StreamTable, parts: EncodePart[], viaScan: boolean): { indexed: number; streamNos: number[]; count: number } {
  const batch = encoder.encode(parts, 1_764_000_000_000);
  const count = batch.recordCount;
  let decoder = encoder.decoder;
  let base = batch.wasmBase;
  if (viaScan) {
    scanDecoder.reserve(count);
    staged.ensure(batch.bytes.length + 5);
    base = staged.ptr + 5;
    wasm.u8.set(batch.bytes, base);
    expect(scanDecoder.scan(base, batch.bytes.length, parts[0].firstPosition), 'the batch scans back').toBe(count);
    decoder = scanDecoder;
  }
  const indexed = table.indexRecords(base, batch.bytes.length, decoder.descPtr, count * DEC_DESC_BYTES, count);
  const d = emptyDecodedRecord();
  const streamNos = Array.from({ length: indexed }, (_, i) => decoder.read(i, d).streamNo);
  return { indexed, streamNos, count };
}

/** Every stream of the model is findable through the wrapper with its number, id, and positions. */
function expectTableEqualsModel(table: StreamTable, m: IndexModel, label: string): void {
  expect(table.streamCount, `${label}: stream count`).toBe(m.numbers.size);
  for (const [id, no] of m.numbers) {
    expect(table.find(id), `${label}: find(${JSON.stringify(id)})`).toBe(no);
    expect(table.streamId(no), `${label}: streamId(${no})`).toBe(id);
    expect(table.revisionCount(no), `${label}: revisionCount(${no})`).toBe(m.positions[no].length);
    const list = m.positions[no];
    expect(Array.from(table.positions(no, 0, list.length + 3)), `${label}: positions of ${JSON.stringify(id)}`).toEqual(list);
    const middle = list.length >> 1;
    expect(Array.from(table.positions(no, middle, 2)), `${label}: positions(${no}, ${middle}, 2)`).toEqual(list.slice(middle, middle + 2));
    expect(table.positions(no, list.length + 1, 4).length, `${label}: positions past the end`).toBe(0);
  }
  for (const id of ID_POOL) if (!m.numbers.has(id)) expect(table.find(id), `${label}: find(${JSON.stringify(id)}) of an unindexed stream`).toBe(-1);
}

interface GenIndexPart {
  streamId: string;
  events: number;
  /** Non-null: this part's first revision is off from the stream's next by this much. */
  revisionError: number | null;
}

const genIndexBatch: fc.Arbitrary<{ viaScan: boolean; parts: GenIndexPart[] }> = fc.record({
  viaScan: fc.boolean(),
  parts: fc.array(
    fc.record({
      streamId: streamIds,
      events: fc.integer({ min: 1, max: 4 }),
      revisionError: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(1, 2, 7, -1, -2) }),
    }),
    { minLength: 1, maxLength: 6 },
  ),
});

describe('stream table', () => {
  test.each(HASH_BITS)('stream table - random commands equal a Map model (%i-bit hashes)', (hashBits) => {
    fc.assert(
      fc.property(tableCommands, (commands) => {
        const real = new RawTable(hashBits, 16);
        const model: TableModel = { ids: [], numbers: new Map(), positions: [] };
        try {
          fc.modelRun(() => ({ model, real }), commands);
          // Whatever the sequence, every stream the model knows is still findable by its id.
          for (const [id, no] of model.numbers) expect(real.find(id), `find(${JSON.stringify(id)}) after the run`).toBe(no);
        } finally {
          real.destroy();
        }
      }),
      propertyParams(100),
    );
  });

  test.each(HASH_BITS)('stream table - hashStreamId is xxhash64 with seed 0 masked to %i bits', (hashBits) => {
    const table = new RawTable(hashBits, 16);
    try {
      fc.assert(
        fc.property(streamIds, (id) => {
          expect(table.hash(id)).toBe(BigInt.asUintN(hashBits, h64Raw(utf8(id), 0n)));
        }),
        propertyParams(200),
      );
    } finally {
      table.destroy();
    }
  });

  test.each([4, 64])('stream table - thousands of streams stay findable as the slots grow (raw kernel, %i-bit hashes)', (hashBits) => {
    const table = new RawTable(hashBits, 16);
    try {
      const ids = Array.from({ length: GROWTH_STREAMS }, (_, i) => `stream-${i}-${'é'.repeat(i % 5)}`);
      ids.forEach((id, i) => {
        expect(table.findOrInsert(id)).toBe(i);
        table.push(i, i * 3);
      });
      expect(table.streamCount).toBe(GROWTH_STREAMS);
      expect(table.slotCapacity * 0.7, 'load factor at most 0.7').toBeGreaterThanOrEqual(GROWTH_STREAMS);
      ids.forEach((id, i) => {
        expect(table.find(id), id).toBe(i);
        expect(table.streamId(i)).toBe(id);
        expect(table.positions(i, 0, 2)).toEqual([i * 3]);
      });
      expect(table.find('stream-absent')).toBe(-1);
    } finally {
      table.destroy();
    }
  });

  test.each(HASH_BITS)('stream table - growth past the initial slot capacity through indexRecords (%i-bit hashes)', (hashBits) => {
    const table = new StreamTable(wasm, hashBits);
    try {
      const initialSlots = table.slotCapacity;
      const ids = Array.from({ length: GROWTH_STREAMS }, (_, i) => `order-${i}`);
      const parts = ids.map((id, i) => encodePart(id, i, 0, 1));
      const { indexed, streamNos } = encodeAndIndex(table, parts, false);
      expect(indexed).toBe(GROWTH_STREAMS);
      expect(streamNos).toEqual(ids.map((_, i) => i));
      expect(table.slotCapacity, 'the slots grew').toBeGreaterThan(initialSlots);
      expect(table.streamCount).toBe(GROWTH_STREAMS);
      ids.forEach((id, i) => {
        expect(table.find(id), id).toBe(i);
        expect(table.streamId(i)).toBe(id);
        expect(table.revisionCount(i)).toBe(1);
        expect(table.positionOf(i, 0)).toBe(i);
      });
      // A second event for every stream lands after the growth.
      const again = encodeAndIndex(table, ids.map((id, i) => encodePart(id, GROWTH_STREAMS + i, 1, 1)), true);
      expect(again.indexed).toBe(GROWTH_STREAMS);
      ids.forEach((id, i) => expect(Array.from(table.positions(table.find(id), 0, 5))).toEqual([i, GROWTH_STREAMS + i]));
    } finally {
      table.destroy();
    }
  });

  test('stream table - a stream with thousands of revisions returns any range of its positions', () => {
    const table = new StreamTable(wasm, 64);
    try {
      const revisions = 9000;
      const { indexed } = encodeAndIndex(table, [encodePart('long', 0, 0, 1), encodePart('long-stream', 1, 0, revisions), encodePart('long', revisions + 1, 1, 1)], false);
      expect(indexed).toBe(revisions + 2);
      const no = table.find('long-stream');
      expect(table.revisionCount(no)).toBe(revisions);
      const all = Array.from(table.positions(no, 0, revisions + 10));
      expect(all).toEqual(Array.from({ length: revisions }, (_, i) => i + 1));
      fc.assert(
        fc.property(fc.integer({ min: 0, max: revisions + 2 }), fc.integer({ min: 0, max: revisions + 2 }), (from, count) => {
          expect(Array.from(table.positions(no, from, count))).toEqual(all.slice(from, from + count));
          if (from < revisions) expect(table.positionOf(no, from)).toBe(from + 1);
        }),
        propertyParams(50),
      );
      expect(Array.from(table.positions(table.find('long'), 0, 5))).toEqual([0, revisions + 1]);
    } finally {
      table.destroy();
    }
  });

  test.each(HASH_BITS)('stream table - indexRecords of random batches equals a Map model, stopping at a revision out of order (%i-bit hashes)', (hashBits) => {
    fc.assert(
      fc.property(fc.array(genIndexBatch, { minLength: 1, maxLength: 12 }), (batches) => {
        const table = new StreamTable(wasm, hashBits);
        const m: IndexModel = { numbers: new Map(), positions: [], nextPosition: 0 };
        try {
          batches.forEach((batch, b) => {
            // Build the parts against the table as it will be when each record is reached.
            const counts = new Map<string, number>();
            const countOf = (id: string): number | undefined => counts.get(id) ?? (m.numbers.has(id) ? m.positions[m.numbers.get(id)!].length : undefined);
            const parts: EncodePart[] = [];
            let expectedIndexed: number | null = null;
            let records = 0;
            for (const part of batch.parts) {
              const next = countOf(part.streamId);
              let firstRevision = next ?? 0;
              // Only streams already indexed get a wrong revision here: a new stream's wrong
              // revision is the separate test below.
              if (part.revisionError !== null && next !== undefined && next + part.revisionError >= 0 && expectedIndexed === null) {
                firstRevision = next + part.revisionError;
                expectedIndexed = records;
              }
              parts.push(encodePart(part.streamId, m.nextPosition + records, firstRevision, part.events));
              counts.set(part.streamId, firstRevision + part.events);
              records += part.events;
            }
            const { indexed, streamNos, count } = encodeAndIndex(table, parts, batch.viaScan);
            expect(count).toBe(records);
            expect(indexed, `batch ${b}: records indexed`).toBe(expectedIndexed ?? records);
            // Apply the indexed records to the model; each descriptor carries its stream number.
            let i = 0;
            for (const part of parts) {
              for (let e = 0; e < part.events.length && i < indexed; e++, i++) {
                let no = m.numbers.get(part.streamId);
                if (no === undefined) {
                  no = m.positions.length;
                  m.numbers.set(part.streamId, no);
                  m.positions.push([]);
                }
                expect(m.positions[no].length, 'the model agrees the revision is next').toBe(part.firstRevision + e);
                m.positions[no].push(part.firstPosition + e);
                expect(streamNos[i], `batch ${b} record ${i}: stream number`).toBe(no);
              }
            }
            m.nextPosition += records;
            expectTableEqualsModel(table, m, `after batch ${b}`);
          });
        } finally {
          table.destroy();
        }
      }),
      propertyParams(60),
    );
  });

  test('stream table - indexRecords stops at a repeated or skipped revision and returns the count before it', () => {
    const table = new StreamTable(wasm, 2);
    try {
      expect(encodeAndIndex(table, [encodePart('a', 0, 0, 2), encodePart('b', 2, 0, 1)], false).indexed).toBe(3);
      // 'a' holds revisions 0..1: revision 1 again is a repeat, revision 3 skips one.
      expect(encodeAndIndex(table, [encodePart('b', 3, 1, 1), encodePart('a', 4, 1, 1), encodePart('a', 5, 2, 1)], false).indexed).toBe(1);
      expect(encodeAndIndex(table, [encodePart('a', 6, 3, 1)], true).indexed).toBe(0);
      expect(table.revisionCount(table.find('a'))).toBe(2);
      expect(Array.from(table.positions(table.find('b'), 0, 9))).toEqual([2, 3]);
      expect(table.streamCount).toBe(2);
    } finally {
      table.destroy();
    }
  });

  test('stream table - indexRecords that stops at a new stream leaves no trace of that stream', () => {
    // The wrapper's contract: find() is -1 for a stream that never had an event indexed. A record
    // of a new stream whose revision is not 0 must stop indexRecords before the stream exists.
    const table = new StreamTable(wasm, 64);
    try {
      const { indexed } = encodeAndIndex(table, [encodePart('a', 0, 0, 1), encodePart('b', 1, 3, 1)], false);
      expect(indexed, 'stops at the record of b').toBe(1);
      expect(table.find('b'), 'b had no event indexed').toBe(-1);
      expect(table.streamCount, 'only a exists').toBe(1);
      // The next new stream takes the next stream number (StoreIndexes keys categories by it).
      const next = encodeAndIndex(table, [encodePart('c', 2, 0, 1)], false);
      expect(next.streamNos, 'c is stream number 1').toEqual([1]);
    } finally {
      table.destroy();
    }
  });

  test.each(HASH_BITS)('stream table - compaction keeps the chosen streams under new numbers, ids come out sorted bytewise, an incomplete table stops at an id it lacks, and nothing leaks (%i-bit hashes)', (hashBits) => {
    const ids = Array.from({ length: GROWTH_STREAMS }, (_, i) => `keep-${i}-${'é'.repeat(i % 3)}${i % 5 === 0 ? '\u{1F600}' : '\uFF21'}`);
    const revisions = (i: number): number => 1 + (i % 3);
    // Rounds enough that leaking what a round allocates would grow the memory.
    let memoryAfterFirst = 0;
    for (let round = 0; round < 20; round++) {
      if (round === 1) memoryAfterFirst = wasm.memoryBytes;
      const table = new StreamTable(wasm, hashBits);
      try {
        let position = 0;
        const parts = ids.map((id, i) => {
          const part = encodePart(id, position, 0, revisions(i));
          position += revisions(i);
          return part;
        });
        expect(encodeAndIndex(table, parts, false).indexed).toBe(position);
        table.drainTails();
        const select = Uint8Array.from(ids, (_, i) => (i % 3 === 0 ? 1 : 0));
        const { entries, offsets } = table.sortedIds(select);
        const sorted = Array.from(offsets, (at) => Buffer.from(entries.subarray(at + 6, at + 6 + (entries[at + 4] | (entries[at + 5] << 8)))));
        const expected = ids.filter((_, i) => i % 3 === 0).map((id) => Buffer.from(id)).sort(Buffer.compare);
        expect(sorted.map(String)).toEqual(expected.map(String));
        expect(Array.from(offsets, (at) => ids[new DataView(entries.buffer).getUint32(at, true)])).toEqual(expected.map(String));
        const keep = Uint8Array.from(ids, (_, i) => (i % 2 === 0 ? 1 : 0));
        const kept = Math.ceil(ids.length / 2);
        expect(table.compact(keep)).toBe(kept);
        expect(table.streamCount).toBe(kept);
        ids.forEach((id, i) => {
          const n = table.find(id);
          if (i % 2 === 1) return expect(n, id).toBe(-1);
          expect(n, id).toBe(i / 2);
          expect(table.streamId(n)).toBe(id);
          expect(table.revisionCount(n)).toBe(revisions(i));
        });
        // Incomplete: an id the table lacks stops indexRecords, even at revision 0; inserted at
        // the count held elsewhere, its next revision is indexed.
        table.setComplete(false);
        expect(encodeAndIndex(table, [encodePart(ids[1], position, revisions(1), 1)], true).indexed).toBe(0);
        expect(encodeAndIndex(table, [encodePart('brand-new', position, 0, 1)], true).indexed).toBe(0);
        expect(table.insert(ids[1], revisions(1))).toBe(kept);
        expect(encodeAndIndex(table, [encodePart(ids[1], position, revisions(1), 1)], true).streamNos).toEqual([kept]);
        expect(table.revisionCount(kept)).toBe(revisions(1) + 1);
        expect(table.baseRevision(kept)).toBe(revisions(1));
        table.setComplete(true);
        expect(encodeAndIndex(table, [encodePart('brand-new', position + 1, 0, 1)], true).streamNos).toEqual([kept + 1]);
      } finally {
        table.destroy();
      }
    }
    expect(wasm.memoryBytes).toBe(memoryAfterFirst);
  });

  test('stream table - the stream filter never misses an id the table took in and rules out most others; an incomplete table takes ids it rules out as new streams in WASM', () => {
    const table = new StreamTable(wasm);
    try {
      const inserted = 20_000;
      // 2^19 bits for 20,000 ids: 26 bits each; then 16 and 8 bits each by counting in a smaller one.
      table.newFilter(19).install();
      const ids = Array.from({ length: inserted }, (_, i) => `filter-${i}-${'é'.repeat(i % 4)}`);
      // A complete table's inserts skip the filter (its owner builds one from the table when it
      // stops being complete); an incomplete table's go into it.
      table.insert('complete-table-stream', 0);
      expect(table.mayHold('complete-table-stream')).toBe(false);
      table.setComplete(false);
      for (const id of ids) table.insert(id, 3);
      for (const id of ids) expect(table.mayHold(id), id).toBe(true);
      const others = Array.from({ length: 50_000 }, (_, i) => `other-${i}`);
      const falsePositives = others.filter((id) => table.mayHold(id)).length;
      expect(falsePositives / others.length).toBeLessThan(0.002);
      // The same ids at 16 and 8 bits each (one filter rebuilt from the table's streams).
      const rates: string[] = [];
      for (const log2Bits of [18, 17]) {
        const smaller = table.newFilter(log2Bits);
        smaller.addTableStreams();
        smaller.install();
        for (const id of ids) expect(table.mayHold(id), id).toBe(true);
        rates.push(`${(2 ** log2Bits / inserted).toFixed(0)} bits/id: ${((100 * others.filter((id) => table.mayHold(id)).length) / others.length).toFixed(2)} %`);
      }
      console.log(`stream filter false positives: ${(100 * falsePositives / others.length).toFixed(3)} % at 26 bits/id; ${rates.join('; ')}`);
      // Every stream dropped from the table stays in the filter.
      expect(table.compact(new Uint8Array(inserted + 1))).toBe(0);
      table.setComplete(false);
      expect(table.mayHold(ids[7])).toBe(true);
      expect(encodeAndIndex(table, [encodePart(ids[7], 0, 0, 1)], true).indexed).toBe(0);
      const fresh = others.find((id) => !table.mayHold(id))!;
      expect(encodeAndIndex(table, [encodePart(fresh, 0, 0, 1)], true).streamNos).toEqual([0]);
      expect(table.mayHold(fresh)).toBe(true);
      const filterBits = table.filterBytes();
      expect(filterBits.length).toBe(2 ** 17 / 8);
      const copy = new StreamTable(wasm);
      try {
        copy.installFilter(filterBits);
        expect(copy.mayHold(fresh) && copy.mayHold(ids[0])).toBe(true);
      } finally {
        copy.destroy();
      }
    } finally {
      table.destroy();
    }
  });
});
