// Kernel throughput with benny (K1, K2): the WASM CRC32C beside a TypeScript slicing-by-8 and
// zlib.crc32, and the WASM batch record encoder beside a TypeScript encoder of the same format.

import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { add, complete, configure, cycle, save, suite } from 'benny';
import { Wasm } from '../src/wasm/kernels.js';
import { Crc32c } from '../src/wasm/crc32c.js';
import { WasmRegion } from '../src/wasm/region.js';
import { RecordBatchEncoder, type EncodePart } from '../src/format/record-batch-encoder.js';
import { validateEvents } from '../src/store/event-input.js';
import { resolveOptions } from '../src/store/options.js';
import { RECORD_BYTES_MAX } from '../src/util/limits.js';
import { resultsDir, sampleEvents } from './fixture.js';
import type { Figure } from './figure.js';
import { crc32cSlicing8 } from './reference-crc32c.js';
import { encodeBatchReference } from './reference-encoder.js';

const MiB = 1024 * 1024;
const BIG_BYTES = 1 * MiB;
const RECORD_BYTES = 300;
/** Each 300-byte-record operation checksums this many distinct records, one call each. */
const RECORDS_PER_OP = 1000;
const K2_BATCH_EVENTS = 100;
// benchmark.js options, in seconds: each sample runs >= minTime, and a case stops once it has run
// maxTime with at least minSamples samples (a few seconds per case).
const CASE_OPTIONS = { minTime: 0.1, maxTime: 2, minSamples: 10 };

/** Results are folded in here so no checksum or batch is ever dead code. */
let sink = 0;

interface KernelCase {
  readonly name: string;
  readonly run: () => void;
}

/**
 * Runs `cases` as one benny suite, prints one line per case (ops/s and MB/s of `bytesPerOp`),
 * saves bench/results/<file>.json tagged `version`, and returns ops/s per case name.
 */
async function runSuite(title: string, file: string, version: string, bytesPerOp: number, cases: readonly KernelCase[]): Promise<Map<string, number>> {
  const summary = await suite(
    title,
    configure({ cases: CASE_OPTIONS }),
    ...cases.map((c) => add(c.name, c.run)),
    // One plain line per case instead of benny's redrawn progress block (unreadable in a log file).
    cycle((result) => {
      const mbPerSecond = (result.ops * bytesPerOp) / 1e6;
      console.log(`  ${result.name}: ${Math.round(result.ops).toLocaleString('en-US')} ops/s ±${result.margin.toFixed(2)} % = ${Math.round(mbPerSecond).toLocaleString('en-US')} MB/s`);
    }),
    complete((s) => console.log(`  fastest: ${s.fastest.name}`)),
    save({ file, folder: resultsDir(), format: 'json', version }),
  );
  return new Map(summary.results.map((r) => [r.name, r.ops]));
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`kernel benchmark self-check failed: ${what}`);
}

/** K1: CRC32C throughput in MB/s (10^6 bytes) on 1 MiB buffers and on 300-byte records. */
export async function k1Crc(version: string): Promise<Figure[]> {
  const wasm = new Wasm();
  const crc = new Crc32c(wasm);
  const known = Buffer.from('123456789');
  check(crc.of(known) === 0xe3069283 && crc32cSlicing8(known) === 0xe3069283, 'CRC32C of "123456789" is 0xE3069283');

  const big = randomBytes(BIG_BYTES);
  const bigRegion = new WasmRegion(wasm, BIG_BYTES);
  wasm.u8.set(big, bigRegion.ptr);
  const records = randomBytes(RECORD_BYTES * RECORDS_PER_OP);
  const recordRegion = new WasmRegion(wasm, records.length);
  wasm.u8.set(records, recordRegion.ptr);
  const views = Array.from({ length: RECORDS_PER_OP }, (_, i) => records.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES));
  check(crc.of(big) === crc32cSlicing8(big) && crc.ofMemory(bigRegion.ptr, BIG_BYTES) === crc32cSlicing8(big), 'WASM and TypeScript CRC32C agree');
  check(crc.of(views[7]) === crc32cSlicing8(views[7]), 'WASM and TypeScript CRC32C agree on a record');

  const bigCases: KernelCase[] = [
    { name: 'wasm Crc32c.ofMemory (kernel, bytes already in WASM memory)', run: () => { sink ^= crc.ofMemory(bigRegion.ptr, BIG_BYTES); } },
    { name: 'wasm Crc32c.of (copy into WASM memory + kernel)', run: () => { sink ^= crc.of(big); } },
    { name: 'typescript slicing-by-8 CRC32C', run: () => { sink ^= crc32cSlicing8(big); } },
    { name: 'node zlib.crc32 (CRC-32, not C; scale only)', run: () => { sink ^= crc32(big); } },
  ];
  const recordCases: KernelCase[] = [
    { name: 'wasm Crc32c.ofMemory (kernel, bytes already in WASM memory)', run: () => { for (let i = 0; i < RECORDS_PER_OP; i++) sink ^= crc.ofMemory(recordRegion.ptr + i * RECORD_BYTES, RECORD_BYTES); } },
    { name: 'wasm Crc32c.of (copy into WASM memory + kernel)', run: () => { for (let i = 0; i < RECORDS_PER_OP; i++) sink ^= crc.of(views[i]); } },
    { name: 'typescript slicing-by-8 CRC32C', run: () => { for (let i = 0; i < RECORDS_PER_OP; i++) sink ^= crc32cSlicing8(views[i]); } },
    { name: 'node zlib.crc32 (CRC-32, not C; scale only)', run: () => { for (let i = 0; i < RECORDS_PER_OP; i++) sink ^= crc32(views[i]); } },
  ];
  const bigHz = await runSuite('K1 CRC32C, 1 MiB buffers', 'k1-crc32c-1mib', version, BIG_BYTES, bigCases);
  const recordHz = await runSuite(`K1 CRC32C, ${RECORD_BYTES}-byte records (${RECORDS_PER_OP} calls per op)`, 'k1-crc32c-300b', version, RECORD_BYTES * RECORDS_PER_OP, recordCases);
  bigRegion.free();
  recordRegion.free();
  const figures = (id: string, what: string, hz: Map<string, number>, bytesPerOp: number, callsPerOp: number): Figure[] =>
    [...hz].map(([name, ops]) => ({
      id, name: `${what}: ${name}`, value: (ops * bytesPerOp) / 1e6, unit: 'MB/s', comparesToBaseline: false,
      details: { opsPerSecond: ops, bytesPerOp, callsPerSecond: ops * callsPerOp },
    }));
  return [
    ...figures('K1a', '1 MiB', bigHz, BIG_BYTES, 1),
    ...figures('K1b', `${RECORD_BYTES} B`, recordHz, RECORD_BYTES * RECORDS_PER_OP, RECORDS_PER_OP),
  ];
}

/** K2: encoding of one K2_BATCH_EVENTS-event batch of benchmark events, WASM against TypeScript. */
export async function k2Encode(version: string): Promise<Figure[]> {
  const wasm = new Wasm();
  const encoder = new RecordBatchEncoder(wasm, RECORD_BYTES_MAX);
  const streamId = 'k2-orders';
  const streamIdBytes = Buffer.byteLength(streamId);
  const events = validateEvents(sampleEvents(K2_BATCH_EVENTS), streamIdBytes, resolveOptions({}));
  const parts: EncodePart[] = [{ streamId, streamIdBytes, events, firstPosition: 1_000_000, firstRevision: 5000, endsTransaction: true }];
  const createdMs = Date.now();
  const wasmBatch = encoder.encode(parts, createdMs);
  const tsBatch = encodeBatchReference(parts, createdMs);
  check(wasmBatch.bytes.equals(tsBatch.bytes), 'the TypeScript encoder writes the same bytes as the WASM encoder');
  const batchBytes = wasmBatch.bytes.length;

  const hz = await runSuite(`K2 record batch encoding, ${K2_BATCH_EVENTS} events (${batchBytes} B) per op`, 'k2-encode', version, batchBytes, [
    { name: 'wasm RecordBatchEncoder.encode', run: () => { sink ^= encoder.encode(parts, createdMs).bytes.length; } },
    { name: 'typescript reference encoder', run: () => { sink ^= encodeBatchReference(parts, createdMs).bytes.length; } },
  ]);
  encoder.free();
  const figures: Figure[] = [];
  for (const [name, ops] of hz) {
    const details = { opsPerSecond: ops, batchEvents: K2_BATCH_EVENTS, batchBytes };
    figures.push({ id: 'K2', name: `${name} (events)`, value: ops * K2_BATCH_EVENTS, unit: 'events/s', comparesToBaseline: false, details });
    figures.push({ id: 'K2', name: `${name} (bytes)`, value: (ops * batchBytes) / 1e6, unit: 'MB/s', comparesToBaseline: false, details });
  }
  return figures;
}

/** The folded results; printing it keeps every benchmarked call observable. */
export function kernelSink(): number {
  return sink;
}
