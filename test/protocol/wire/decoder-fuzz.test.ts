// Decoder fuzz: ≥ 100,000 framed mutations (bit flips, truncations, extensions, random lengths, random
// bytes, spliced frames, swapped commands) go through framer → package decode → payload decode.
// Nothing may throw but WireError, the heap stays bounded, and it is seeded (ANNAL_SEED replays).

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { LengthPrefixFramer, prefixFrame } from '../../../src/protocol/wire/framer.js';
import { COMMAND_PAYLOADS, decodePayload, messages, type MessageCodec } from '../../../src/protocol/wire/messages.js';
import { decodePackage, encodePackage, makePackage } from '../../../src/protocol/wire/package.js';
import { WireError } from '../../../src/protocol/wire/wire-error.js';
import { FRAME_ASSEMBLY_INITIAL_BYTES, FRAME_BYTES_MAX, FRAME_PREFIX_BYTES, PROTOBUF_ELEMENTS_MAX } from '../../../src/protocol/wire/wire-limits.js';
import { seededRandom, withSeed } from '../../support/random.js';
import { messageArbitrary, protoTypeOf } from './wire-arbitraries.js';

const FRAMES_MIN = 100_000;
const HEAP_GROWTH_BYTES_MAX = 100 * 1024 * 1024;
const RUN_MS_MAX = 20_000;

interface Seed {
  readonly frame: Uint8Array; // prefix + package
  readonly headerBytes: number; // prefix + package header + credentials: where the payload starts
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  guid(): string {
    return Buffer.from(this.bytes(16)).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function setLength(frame: Uint8Array, length: number): Uint8Array {
  new DataView(frame.buffer, frame.byteOffset, 4).setInt32(0, length, true);
  return frame;
}

/** Valid frames for every command of the protocol (and a few codes it does not know). */
function buildCorpus(rng: Rng, seed: number): Seed[] {
  const corpus: Seed[] = [];
  const commands = [...COMMAND_PAYLOADS.keys(), 0x10, 0x05, 0x99, 0xbd];
  for (const command of commands) {
    const kind = COMMAND_PAYLOADS.get(command);
    const payloads: Uint8Array[] = [];
    if (kind?.kind === 'message') {
      const codec = messages[kind.name] as MessageCodec<unknown>;
      for (const value of fc.sample(messageArbitrary(protoTypeOf(kind.name)), { seed: seed + command, numRuns: 6 })) payloads.push(codec.encode(value));
    } else {
      for (let i = 0; i < 3; i++) payloads.push(rng.bytes(rng.int(40)));
    }
    for (const payload of payloads) {
      const credentials = rng.chance(0.3) ? { login: 'admin'.slice(0, rng.int(6)), password: 'changeit'.repeat(rng.int(3)) } : null;
      const pkg = encodePackage(makePackage(command, rng.guid(), payload, credentials));
      corpus.push({ frame: prefixFrame(pkg), headerBytes: FRAME_PREFIX_BYTES + pkg.length - payload.length });
    }
  }
  return corpus;
}

/** A many-element payload that must end in PROTOBUF_LIMIT (rarely used: it is large). */
function elementBomb(rng: Rng): Uint8Array {
  const count = PROTOBUF_ELEMENTS_MAX + 1 + rng.int(10);
  const payload = new Uint8Array(count * 2);
  for (let i = 0; i < count; i++) payload[2 * i] = 0x12; // PersistentSubscriptionAckEvents.processed_event_ids, empty
  return prefixFrame(encodePackage(makePackage(0xcc, rng.guid(), payload)));
}

function mutate(rng: Rng, corpus: readonly Seed[]): Uint8Array {
  const seed = rng.pick(corpus);
  const frame = seed.frame.slice();
  const payloadBytes = frame.length - seed.headerBytes;
  switch (rng.int(12)) {
    case 0: { // bit flips anywhere, prefix included
      const flips = 1 + rng.int(4);
      for (let i = 0; i < flips; i++) frame[rng.int(frame.length)] ^= 1 << rng.int(8);
      return frame;
    }
    case 1: // bit flips in the payload only: the header stays valid, the protobuf decoder is hit
    case 2: {
      if (payloadBytes === 0) return frame;
      const flips = 1 + rng.int(3);
      for (let i = 0; i < flips; i++) frame[seed.headerBytes + rng.int(payloadBytes)] ^= 1 << rng.int(8);
      return frame;
    }
    case 3: // truncation with the length fixed up
      return fixLength(frame.slice(0, Math.max(5, seed.headerBytes - 3 + rng.int(payloadBytes + 4))));
    case 4: // truncation without fixing the length: the framer waits and swallows the next frame
      return frame.slice(0, 1 + rng.int(frame.length));
    case 5: // extension with random bytes, length fixed (or not)
      return rng.chance(0.7) ? fixLength(concat([frame, rng.bytes(1 + rng.int(24))])) : concat([frame, rng.bytes(1 + rng.int(8))]);
    case 6: { // a random length prefix
      const lengths = [0, -1, -0x80000000, FRAME_BYTES_MAX, FRAME_BYTES_MAX + 1, 0x7fffffff, 1 + rng.int(frame.length + 8), rng.int(0x7fffffff) - 0x40000000];
      return setLength(frame, rng.pick(lengths));
    }
    case 7: // random bytes under a valid prefix
      return fixLength(concat([new Uint8Array(4), rng.bytes(1 + rng.int(120))]));
    case 8: { // splice: the header and first part of one frame, the tail of another's payload
      const other = rng.pick(corpus);
      const cut = seed.headerBytes + rng.int(payloadBytes + 1);
      const from = other.headerBytes + rng.int(other.frame.length - other.headerBytes + 1);
      return fixLength(concat([frame.subarray(0, cut), other.frame.subarray(from)]));
    }
    case 9: { // another command's payload under this header (wire-type mismatches, wrong shapes)
      const other = rng.pick(corpus);
      return fixLength(concat([frame.subarray(0, seed.headerBytes), other.frame.subarray(other.headerBytes)]));
    }
    case 10: { // protobuf-shaped junk: tags, long varints, huge lengths, groups inserted into the payload
      const junk = rng.pick([
        [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80], [0x0b], [0x0c], [0x00],
        [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], [0xfa, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00], [0x1a, 0x7f],
      ]);
      const at = seed.headerBytes + rng.int(payloadBytes + 1);
      return fixLength(concat([frame.subarray(0, at), new Uint8Array(junk), frame.subarray(at)]));
    }
    default: { // header damage: flags and credential lengths
      frame[FRAME_PREFIX_BYTES + 1] = rng.pick([0x00, 0x01, 0x02, 0x03, 0x04, rng.int(256)]);
      if (frame.length > FRAME_PREFIX_BYTES + 18) frame[FRAME_PREFIX_BYTES + 18] = rng.int(256);
      return frame;
    }
  }
}

function fixLength(frame: Uint8Array): Uint8Array {
  const out = frame.length < 5 ? concat([frame, new Uint8Array(5 - frame.length)]) : frame.slice();
  return setLength(out, out.length - FRAME_PREFIX_BYTES);
}

describe('decoder fuzz', () => {
  test('decoder fuzz - mutated frames end in a decoded message or a WireError, with bounded memory', async () => {
    await withSeed((seed) => {
      const rng = new Rng(seed);
      const corpus = buildCorpus(rng, seed);
      const outcomes = new Map<string, number>();
      const note = (what: string): void => {
        outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
      };
      const wireOnly = (error: unknown, where: string, frame: Uint8Array): string => {
        // A WireError with a cause came from the reader past the scan: the two disagree (counted, must be 0).
        if (error instanceof WireError) return error.cause === undefined ? error.code : `${error.code}(past the scan)`;
        const head = Buffer.from(frame.subarray(0, 64)).toString('hex');
        throw new Error(`${where} threw a non-WireError: ${String(error)}; frame head ${head}`, { cause: error });
      };

      const startMs = performance.now();
      const heapStart = process.memoryUsage().heapUsed;
      let heapGrowthMax = 0;
      let frames = 0;
      let streams = 0;
      // Loop until ≥ FRAMES_MIN frames came out of the framer (more were pushed into it: bad lengths
      // end a stream and swallow the frames after them).
      while ((outcomes.get('frame') ?? 0) < FRAMES_MIN) {
        streams++;
        const parts: Uint8Array[] = [];
        const count = 1 + rng.int(8);
        for (let i = 0; i < count; i++) parts.push(rng.chance(0.0005) ? elementBomb(rng) : mutate(rng, corpus));
        frames += count;
        const stream = concat(parts);
        const framer = new LengthPrefixFramer();
        const oneByte = stream.length < 4096 && rng.chance(0.02);
        let at = 0;
        try {
          while (at < stream.length) {
            const size = oneByte ? 1 : 1 + rng.int(Math.max(1, stream.length));
            for (const frame of framer.feed(stream.subarray(at, at + size))) {
              note('frame');
              let pkg;
              try {
                pkg = decodePackage(frame);
              } catch (error) {
                note(wireOnly(error, 'decodePackage', frame));
                continue;
              }
              try {
                const decoded = decodePayload(pkg.command, pkg.payload);
                note(`payload:${decoded.kind}`);
                if (decoded.kind === 'message') {
                  // Whatever decodes must encode again and decode to a value of the same shape.
                  const codec = messages[decoded.name] as MessageCodec<unknown>;
                  codec.decode(codec.encode(decoded.message));
                }
              } catch (error) {
                note(wireOnly(error, `decodePayload(0x${pkg.command.toString(16)})`, frame));
              }
            }
            at += size;
            if (framer.bufferedBytes > stream.length || framer.assemblyCapacityBytes > Math.max(FRAME_ASSEMBLY_INITIAL_BYTES, 2 * framer.bufferedBytes)) {
              throw new Error(`framer holds ${framer.bufferedBytes} bytes in ${framer.assemblyCapacityBytes} after ${at} of ${stream.length}`);
            }
          }
        } catch (error) {
          note(wireOnly(error, 'framer', stream));
        }
        if (streams % 2000 === 0) heapGrowthMax = Math.max(heapGrowthMax, process.memoryUsage().heapUsed - heapStart);
      }
      heapGrowthMax = Math.max(heapGrowthMax, process.memoryUsage().heapUsed - heapStart);
      const elapsedMs = Math.round(performance.now() - startMs);
      const summary = [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ');
      console.log(`decoder fuzz: seed ${seed}: ${frames} mutated frames pushed in ${streams} streams, ${elapsedMs} ms, ` +
        `heap growth max ${(heapGrowthMax / 1048576).toFixed(1)} MB; ${summary}`);
      expect(outcomes.get('frame')).toBeGreaterThanOrEqual(FRAMES_MIN);
      expect(heapGrowthMax).toBeLessThan(HEAP_GROWTH_BYTES_MAX);
      expect(elapsedMs).toBeLessThan(RUN_MS_MAX);
      expect(outcomes.get('BAD_PROTOBUF(past the scan)') ?? 0).toBe(0);
      // The mutations reach every stage.
      for (const stage of ['payload:message', 'BAD_PROTOBUF', 'BAD_FRAME_LENGTH', 'TRUNCATED', 'BAD_FLAGS', 'BAD_CREDENTIALS', 'UNKNOWN_COMMAND']) {
        expect(outcomes.get(stage) ?? 0, stage).toBeGreaterThan(0);
      }
    });
  });
});
