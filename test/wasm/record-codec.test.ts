// The record kernels (assembly/record.ts through RecordBatchEncoder and RecordDecoder) equal the
// plain reference codec in test/reference/record-codec.ts: same bytes out of the encoder, same
// fields out of scan and validateAt, and the same verdict, reason and offset on damaged records.

import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Wasm } from '../../src/wasm/kernels.js';
import { WasmRegion } from '../../src/wasm/region.js';
import { RecordBatchEncoder, type EncodePart, type PreparedEvent } from '../../src/format/record-batch-encoder.js';
import { RecordDecoder, emptyDecodedRecord, type DecodedRecord } from '../../src/format/record-decoder.js';
import {
  FLAG_COMMIT, FLAG_DATA_JSON, FLAGS_KNOWN, RECORD_HEADER_BYTES, StopReason, recordBytes, stopReasonName,
} from '../../src/format/record-layout.js';
import { RECORD_BYTES_MAX } from '../../src/util/limits.js';
import { crc32c } from '../reference/crc32c.js';
import {
  decodeRecord, encodeRecord, scanRecords, sealRecord, type DecodedFields, type RecordFields, type RejectReason, type ScanResult,
} from '../reference/record-codec.js';
import { propertyParams } from '../support/random.js';

const POSITION_MAX = Number.MAX_SAFE_INTEGER;
const PART_EVENTS_MAX = 5;
const BATCH_PARTS_MAX = 6;
const BATCH_RECORDS_MAX = PART_EVENTS_MAX * BATCH_PARTS_MAX;
const DATA_BYTES_MAX = 2000;
const U64_MAX = (1n << 64n) - 1n;

const wasm = new Wasm();
const encoder = new RecordBatchEncoder(wasm, RECORD_BYTES_MAX);
const decoder = new RecordDecoder(wasm, BATCH_RECORDS_MAX + 1, RECORD_BYTES_MAX);
const region = new WasmRegion(wasm, 64 * 1024);
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The status code of the WASM decoder for each reference verdict. */
const STOP_OF: Record<RejectReason | 'end', StopReason> = {
  'end': StopReason.End,
  'incomplete': StopReason.Incomplete,
  'zero length': StopReason.Zero,
  'bad length': StopReason.BadLength,
  'trailer mismatch': StopReason.BadTrailer,
  'crc mismatch': StopReason.BadCrc,
  'wrong position': StopReason.BadPosition,
  'inconsistent fields': StopReason.BadFields,
  'unknown flags': StopReason.BadFields,
  'nonzero reserved': StopReason.BadFields,
};

// ---- generators -------------------------------------------------------------------------------

interface GenEvent {
  id: Uint8Array;
  type: string;
  data: Uint8Array | string;
  metadata: Uint8Array | string | null;
  flags: number;
}

interface GenPart {
  streamId: string;
  firstRevision: number;
  endsTransaction: boolean;
  events: GenEvent[];
}

interface GenBatch {
  firstPosition: number;
  createdMs: number;
  parts: GenPart[];
}

// UTF-8 text of one to four bytes per code point; never empty.
const text = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }),
  fc.constantFrom('a', 'order-1', 'ü', 'Ωμέγα-42', '日本語のストリーム', '🎉🚀', 'e\u0301'),
);
const payload = fc.oneof(
  fc.uint8Array({ maxLength: DATA_BYTES_MAX }),
  fc.uint8Array({ maxLength: 16 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }).map((s) => JSON.stringify({ s })),
  fc.constant(new Uint8Array(0)),
);
const genEvent: fc.Arbitrary<GenEvent> = fc.record({
  id: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  type: text,
  data: payload,
  metadata: fc.oneof(fc.constant(null), fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 200 }), text.map((s) => JSON.stringify({ s }))),
  flags: fc.integer({ min: 0, max: FLAGS_KNOWN }),
});
const genPart: fc.Arbitrary<GenPart> = fc.record({
  streamId: text,
  firstRevision: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: POSITION_MAX - PART_EVENTS_MAX })),
  endsTransaction: fc.boolean(),
  events: fc.array(genEvent, { minLength: 1, maxLength: PART_EVENTS_MAX }),
});
const genBatch: fc.Arbitrary<GenBatch> = fc.record({
  firstPosition: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: POSITION_MAX - BATCH_RECORDS_MAX })),
  createdMs: fc.oneof(fc.constantFrom(0, -1, 1_764_000_000_000), fc.integer({ min: -POSITION_MAX, max: POSITION_MAX })),
  parts: fc.array(genPart, { minLength: 1, maxLength: BATCH_PARTS_MAX }),
});

// ---- building the encoder's input and the reference's ------------------------------------------

const byteLength = (value: Uint8Array | string): number => (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length);
const toBytes = (value: Uint8Array | string | null): Uint8Array => (value === null ? new Uint8Array(0) : typeof value === 'string' ? utf8(value) : value);

interface Built {
  parts: EncodePart[];
  fields: RecordFields[];
  bytes: Uint8Array; // the reference encoding of the whole batch
  offsets: number[]; // record offsets in `bytes`, plus its length
}

/** The encoder's parts (sizes measured as the store measures them) and the reference records. */
function build(batch: GenBatch): Built {
  const parts: EncodePart[] = [];
  const fields: RecordFields[] = [];
  let position = batch.firstPosition;
  for (const part of batch.parts) {
    const streamIdBytes = byteLength(part.streamId);
    const events: PreparedEvent[] = part.events.map((e) => {
      const typeBytes = byteLength(e.type);
      const dataBytes = byteLength(e.data);
      const metadataBytes = e.metadata === null ? 0 : byteLength(e.metadata);
      return { id: e.id, type: e.type, typeBytes, data: e.data, dataBytes, metadata: e.metadata, metadataBytes, flags: e.flags, recordBytes: recordBytes(streamIdBytes, typeBytes, metadataBytes, dataBytes) };
    });
    parts.push({ streamId: part.streamId, streamIdBytes, events, firstPosition: position, firstRevision: part.firstRevision, endsTransaction: part.endsTransaction });
    part.events.forEach((e, i) => {
      const commit = part.endsTransaction && i === part.events.length - 1 ? FLAG_COMMIT : 0;
      fields.push({
        position: BigInt(position + i), revision: BigInt(part.firstRevision + i), createdMs: BigInt(batch.createdMs), id: e.id,
        flags: e.flags | commit, streamId: utf8(part.streamId), eventType: utf8(e.type), metadata: toBytes(e.metadata), data: toBytes(e.data),
      });
    });
    position += part.events.length;
  }
  const records = fields.map(encodeRecord);
  const offsets = [0];
  for (const r of records) offsets.push(offsets[offsets.length - 1] + r.length);
  return { parts, fields, bytes: Uint8Array.from(Buffer.concat(records)), offsets };
}

/** Copies `bytes` into WASM memory at an unaligned address; returns it. */
function stage(bytes: Uint8Array, shift: number): number {
  region.ensure(bytes.length + shift);
  wasm.u8.set(bytes, region.ptr + shift);
  return region.ptr + shift;
}

// ---- comparisons ----------------------------------------------------------------------------

function expectBytes(actual: Uint8Array, expected: Uint8Array, label: string): void {
  if (Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected)) return;
  let at = 0;
  while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
  expect.fail(`${label}: ${actual.length} bytes vs ${expected.length} expected, first difference at byte ${at}`);
}

/** A WASM descriptor (over bytes at `base`) describes the same record as the reference decode. */
function expectSameRecord(d: DecodedRecord, r: DecodedFields, base: number, label: string): void {
  expect(
    { offset: d.offset, recordBytes: d.recordBytes, position: d.position, revision: d.revision, createdMs: d.createdMs, flags: d.flags, streamIdBytes: d.streamIdBytes, eventTypeBytes: d.eventTypeBytes, metadataBytes: d.metadataBytes, dataBytes: d.dataBytes },
    label,
  ).toEqual({
    offset: r.offset, recordBytes: r.recordBytes, position: Number(r.position), revision: Number(r.revision), createdMs: Number(r.createdMs), flags: r.flags,
    streamIdBytes: r.streamId.length, eventTypeBytes: r.eventType.length, metadataBytes: r.metadata.length, dataBytes: r.data.length,
  });
  // The payload the descriptor points at is the payload the reference decoded.
  const u8 = wasm.u8;
  let at = base + d.offset + RECORD_HEADER_BYTES;
  for (const [name, expected] of [['stream id', r.streamId], ['event type', r.eventType], ['metadata', r.metadata], ['data', r.data]] as const) {
    expectBytes(u8.subarray(at, at + expected.length), expected, `${label} ${name}`);
    at += expected.length;
  }
  expectBytes(u8.subarray(base + d.offset + 32, base + d.offset + 48), r.id, `${label} id`);
}

/** The WASM decoder stopped where, and why, the reference scan stopped. */
function expectSameStop(decoderUsed: RecordDecoder, ref: ScanResult, label: string): void {
  const stop = decoderUsed.lastStop();
  expect(
    { reason: stopReasonName(stop.reason), offset: stop.offset },
    `${label} (reference: ${ref.stop})`,
  ).toEqual({ reason: stopReasonName(STOP_OF[ref.stop]), offset: ref.stopOffset });
  if (ref.stop === 'crc mismatch') expect({ expected: stop.expectedCrc, actual: stop.actualCrc }, label).toEqual({ expected: ref.expectedCrc, actual: ref.actualCrc });
}

/** Scans `bytes` with the WASM decoder and the reference: same count, records and stop. */
function expectScansAgree(bytes: Uint8Array, firstPosition: number, shift: number, label: string, decoderUsed = decoder, maxRecordBytes = RECORD_BYTES_MAX): ScanResult {
  const ref = scanRecords(bytes, BigInt(firstPosition), maxRecordBytes);
  decoderUsed.reserve(ref.records.length + 1);
  const base = stage(bytes, shift);
  const count = decoderUsed.scan(base, bytes.length, firstPosition);
  expect(count, `${label}: records accepted (reference stop: ${ref.stop} at ${ref.stopOffset})`).toBe(ref.records.length);
  const d = emptyDecodedRecord();
  for (let i = 0; i < count; i++) expectSameRecord(decoderUsed.read(i, d), ref.records[i], base, `${label} record ${i}`);
  expectSameStop(decoderUsed, ref, label);
  return ref;
}

/** validateAt over records `indexes` (offsets and positions from the intact batch) equals the reference verdicts. */
function expectValidateAgrees(bytes: Uint8Array, built: Built, firstPosition: number, indexes: number[], shift: number, label: string): void {
  decoder.reserve(indexes.length);
  const base = stage(bytes, shift);
  indexes.forEach((r, i) => decoder.expect(i, built.offsets[r], firstPosition + r));
  const valid = decoder.validateAt(base, bytes.length, indexes.length);
  let expectedValid = 0;
  let firstReject: { reason: RejectReason; offset: number; expectedCrc: number; actualCrc: number } | null = null;
  const d = emptyDecodedRecord();
  for (const r of indexes) {
    const result = decodeRecord(bytes, built.offsets[r], BigInt(firstPosition + r));
    if (!result.ok) {
      firstReject = { reason: result.reason, offset: built.offsets[r], expectedCrc: result.expectedCrc, actualCrc: result.actualCrc };
      break;
    }
    expectedValid++;
  }
  expect(valid, `${label}: leading records validateAt accepts`).toBe(expectedValid);
  for (let i = 0; i < valid; i++) {
    const result = decodeRecord(bytes, built.offsets[indexes[i]], BigInt(firstPosition + indexes[i]));
    if (result.ok) expectSameRecord(decoder.read(i, d), result.record, base, `${label} validated ${i}`);
  }
  const stop = decoder.lastStop();
  if (firstReject === null) {
    expect({ reason: stopReasonName(stop.reason), offset: stop.offset }, label).toEqual({ reason: 'end', offset: bytes.length });
  } else {
    expect({ reason: stopReasonName(stop.reason), offset: stop.offset }, label).toEqual({ reason: stopReasonName(STOP_OF[firstReject.reason]), offset: firstReject.offset });
    if (firstReject.reason === 'crc mismatch') expect([stop.expectedCrc, stop.actualCrc], label).toEqual([firstReject.expectedCrc, firstReject.actualCrc]);
  }
}

const withRecordIndex = (count: number, pick: number): number => pick % count;

/** One header field of a record set to `value` (at -1: size moved between payload fields). */
interface Tamper {
  name: string;
  at: number;
  width: 2 | 4 | 8;
  value: bigint;
}

describe('record codec', () => {
  test('record codec - a worked example: every header byte, the CRC, and wasm encodes the same bytes', () => {
    const fields: RecordFields = {
      position: 5n, revision: 2n, createdMs: 1_700_000_000_000n, id: Uint8Array.from({ length: 16 }, (_, i) => i),
      flags: FLAG_COMMIT | FLAG_DATA_JSON, streamId: utf8('s-1'), eventType: utf8('T'), metadata: new Uint8Array(0), data: utf8('{}'),
    };
    const bytes = encodeRecord(fields);
    expect(bytes.length).toBe(74);
    const hex = Buffer.from(bytes).toString('hex');
    expect(hex.slice(0, 8)).toBe('4a000000'); // recordBytes 74
    expect(hex.slice(16, 128)).toBe(
      '0500000000000000' + // position
      '0200000000000000' + // revision
      '0068e5cf8b010000' + // createdMs 1_700_000_000_000 = 0x018BCFE56800
      '000102030405060708090a0b0c0d0e0f' + // id
      '0300' + '0300' + '0100' + '0000' + // flags, stream id bytes, event type bytes, reserved
      '00000000' + '02000000', // metadata bytes, data bytes
    );
    expect(Buffer.from(bytes.subarray(64)).toString('latin1')).toBe('s-1T{}J\0\0\0');
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(crc32c(bytes.subarray(8)));

    const event: PreparedEvent = { id: fields.id, type: 'T', typeBytes: 1, data: '{}', dataBytes: 2, metadata: null, metadataBytes: 0, flags: FLAG_DATA_JSON, recordBytes: 74 };
    const batch = encoder.encode([{ streamId: 's-1', streamIdBytes: 3, events: [event], firstPosition: 5, firstRevision: 2, endsTransaction: true }], 1_700_000_000_000);
    expectBytes(batch.bytes, bytes, 'wasm encoding');
    const decoded = decodeRecord(bytes, 0, 5n);
    expect(decoded.ok && decoded.record).toEqual({ ...fields, offset: 0, recordBytes: 74, crc: crc32c(bytes.subarray(8)) });
  });

  test('record codec - RecordBatchEncoder bytes equal the reference; scan and validateAt decode the same fields', () => {
    fc.assert(
      fc.property(genBatch, fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 12 }), (batch, shift, zeroPadding) => {
        const built = build(batch);
        const count = built.fields.length;
        const encoded = encoder.encode(built.parts, batch.createdMs);

        expectBytes(encoded.bytes, built.bytes, 'RecordBatchEncoder output vs reference records');
        expect(Array.from(encoded.recordOffsets), 'record offsets').toEqual(built.offsets);
        expect(encoded.recordCount).toBe(count);
        // The descriptors the encode kernel emits for indexing are what a scan would produce.
        const ref = scanRecords(built.bytes, BigInt(batch.firstPosition));
        expect(ref.stop).toBe('end');
        const d = emptyDecodedRecord();
        for (let i = 0; i < count; i++) expectSameRecord(encoder.decoder.read(i, d), ref.records[i], encoded.wasmBase, `encoder descriptor ${i}`);
        ref.records.forEach((r, i) => expect(r, `reference round trip ${i}`).toMatchObject(built.fields[i]));

        // Scanning the reference's bytes: every record, then the end (or the zero padding after it).
        expectScansAgree(built.bytes, batch.firstPosition, shift, 'scan');
        const padded = new Uint8Array(built.bytes.length + zeroPadding);
        padded.set(built.bytes);
        const paddedRef = expectScansAgree(padded, batch.firstPosition, shift, 'scan with zero padding');
        expect(paddedRef.stop).toBe(zeroPadding === 0 ? 'end' : zeroPadding < 4 ? 'incomplete' : 'zero length');
        // The same bytes expected one position later: the first record is at the wrong position.
        expect(expectScansAgree(built.bytes, batch.firstPosition + 1, shift, 'scan one position off').stop).toBe('wrong position');

        // validateAt with the right offsets and positions, in order and reversed, accepts every record.
        const all = built.fields.map((_, i) => i);
        expectValidateAgrees(built.bytes, built, batch.firstPosition, all, shift, 'validateAt');
        expectValidateAgrees(built.bytes, built, batch.firstPosition, all.slice().reverse(), shift, 'validateAt reversed');
      }),
      propertyParams(200),
    );
  });

  test('record codec - a single-byte mutation anywhere in a record is rejected by both, for the same reason', () => {
    const area = fc.constantFrom('length', 'crc', 'header', 'payload', 'trailer', 'anywhere');
    fc.assert(
      fc.property(genBatch, fc.nat(), area, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: 7 }), (batch, pickRecord, where, pickByte, xor, shift) => {
        const built = build(batch);
        const count = built.fields.length;
        const j = withRecordIndex(count, pickRecord);
        const from = built.offsets[j];
        const size = built.offsets[j + 1] - from;
        const [lo, span] = { length: [0, 4], crc: [4, 4], header: [8, 56], payload: [64, size - 68], trailer: [size - 4, 4], anywhere: [0, size] }[where];
        const at = from + lo + (pickByte % span);
        const bytes = built.bytes.slice();
        bytes[at] ^= xor;
        const label = `record ${j} of ${count}, byte ${at - from} of ${size} ^= 0x${xor.toString(16)}`;

        const single = decodeRecord(bytes, from, BigInt(batch.firstPosition + j));
        expect(single.ok, `${label}: the reference rejects it`).toBe(false);
        const ref = expectScansAgree(bytes, batch.firstPosition, shift, label);
        expect(ref.records.length, `${label}: records before it are still valid`).toBe(j);
        if (at - from >= 4 && at - from < size - 4) expect(ref.stop, `${label}: the CRC catches it`).toBe('crc mismatch');

        // validateAt: the damaged record stops the run; every other record is still accepted.
        const all = built.fields.map((_, i) => i);
        expectValidateAgrees(bytes, built, batch.firstPosition, all, shift, `validateAt ${label}`);
        expectValidateAgrees(bytes, built, batch.firstPosition, all.filter((i) => i !== j), shift, `validateAt without it, ${label}`);
        expectValidateAgrees(bytes, built, batch.firstPosition, [j], shift, `validateAt only it, ${label}`);
      }),
      propertyParams(800),
    );
  });

  test('record codec - truncated records are rejected by both, for the same reason', () => {
    fc.assert(
      fc.property(genBatch, fc.nat(), fc.nat(), fc.nat(), fc.boolean(), fc.integer({ min: 0, max: 7 }), (batch, pickRecord, pickCut, pickLength, tornTail, shift) => {
        const built = build(batch);
        const count = built.fields.length;
        const j = withRecordIndex(count, pickRecord);
        const from = built.offsets[j];
        const size = built.offsets[j + 1] - from;
        // Cut inside record j (at least one byte kept, at least one lost).
        const cut = from + 1 + (pickCut % (size - 1));
        let bytes: Uint8Array;
        let label: string;
        if (tornTail) {
          bytes = built.bytes.subarray(0, cut);
          label = `torn tail inside record ${j} of ${count} at byte ${cut - from} of ${size}`;
        } else {
          // A shortened record: bytes [cut, cut + removed) are gone and the records after it follow.
          const removed = 1 + (pickLength % (from + size - cut));
          bytes = Uint8Array.from(Buffer.concat([built.bytes.subarray(0, cut), built.bytes.subarray(cut + removed)]));
          label = `record ${j} of ${count} lost ${removed} bytes at byte ${cut - from} of ${size}`;
        }
        expect(decodeRecord(bytes, from, BigInt(batch.firstPosition + j)).ok, `${label}: the reference rejects it`).toBe(false);
        const ref = expectScansAgree(bytes, batch.firstPosition, shift, label);
        expect(ref.records.length, label).toBe(j);
        if (tornTail) expect(ref.stop, label).toBe('incomplete');
      }),
      propertyParams(300),
    );
  });

  test('record codec - re-sealed header changes (valid CRC) get the same verdict from both', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff }).map(BigInt);
    const u32 = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 0xffffffff })).map(BigInt);
    const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
    const set = (name: string, at: number, width: 2 | 4 | 8) => (value: bigint): Tamper => ({ name, at, width, value });
    const tamper: fc.Arbitrary<Tamper> = fc.oneof(
      u16.map(set('flags', 48, 2)),
      fc.integer({ min: 6, max: 15 }).map((bit) => set('one unknown flag', 48, 2)(1n << BigInt(bit))),
      u16.map(set('reserved', 54, 2)),
      u16.map(set('stream id bytes', 50, 2)),
      u16.map(set('event type bytes', 52, 2)),
      u32.map(set('metadata bytes', 56, 4)),
      u32.map(set('data bytes', 60, 4)),
      u64.map(set('position', 8, 8)),
      u64.map(set('revision', 16, 8)),
      u64.map(set('createdMs', 24, 8)), // any i64, as its two's-complement bits
      fc.constant<Tamper>({ name: 'size moved between fields', at: -1, width: 2, value: 0n }),
    );
    fc.assert(
      fc.property(genBatch, fc.nat(), tamper, fc.nat(), fc.integer({ min: 0, max: 7 }), (batch, pickRecord, change, pickMove, shift) => {
        const built = build(batch);
        const count = built.fields.length;
        const j = withRecordIndex(count, pickRecord);
        const from = built.offsets[j];
        const bytes = built.bytes.slice();
        const view = new DataView(bytes.buffer, bytes.byteOffset + from);
        const get = (at: number, width: number): number => (width === 2 ? view.getUint16(at, true) : view.getUint32(at, true));
        const put = (at: number, width: number, value: number): void => (width === 2 ? view.setUint16(at, value, true) : view.setUint32(at, value, true));
        if (change.at === -1) {
          // Move some size from one payload field to another: the sum still matches, so the record
          // stays valid unless the stream id becomes empty.
          const sizes: [number, number][] = [[50, 2], [52, 2], [56, 4], [60, 4]];
          const [fromAt, fromWidth] = sizes[pickMove % 4];
          const [toAt, toWidth] = sizes[Math.floor(pickMove / 4) % 4];
          const room = toWidth === 2 ? 0xffff - get(toAt, toWidth) : Number.MAX_SAFE_INTEGER;
          const moved = Math.min(get(fromAt, fromWidth), room, Math.floor(pickMove / 16) % 300);
          if (fromAt !== toAt) {
            put(fromAt, fromWidth, get(fromAt, fromWidth) - moved);
            put(toAt, toWidth, get(toAt, toWidth) + moved);
          }
        } else if (change.width === 8) {
          view.setBigUint64(change.at, change.value, true);
        } else {
          put(change.at, change.width, Number(change.value));
        }
        sealRecord(bytes, from);
        const label = `record ${j} of ${count}: ${change.name}`;
        const ref = expectScansAgree(bytes, batch.firstPosition, shift, label);
        const all = built.fields.map((_, i) => i);
        expectValidateAgrees(bytes, built, batch.firstPosition, all, shift, `validateAt ${label}`);
        if (change.name === 'one unknown flag') expect(ref.stop, label).toBe('unknown flags');
      }),
      propertyParams(600),
    );
  });

  test('record codec - records longer than maxRecordBytes are rejected by both', () => {
    fc.assert(
      fc.property(genBatch, fc.integer({ min: 0, max: 3000 }), (batch, maxRecordBytes) => {
        const built = build(batch);
        const small = new RecordDecoder(wasm, BATCH_RECORDS_MAX + 1, maxRecordBytes);
        try {
          const ref = expectScansAgree(built.bytes, batch.firstPosition, 0, `maxRecordBytes ${maxRecordBytes}`, small, maxRecordBytes);
          const firstTooLong = built.offsets.findIndex((at, i) => i < built.fields.length && built.offsets[i + 1] - at > maxRecordBytes);
          expect(ref.records.length).toBe(firstTooLong === -1 ? built.fields.length : firstTooLong);
        } finally {
          small.free();
        }
      }),
      propertyParams(100),
    );
  });
});
