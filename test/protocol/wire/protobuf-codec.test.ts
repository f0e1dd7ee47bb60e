// The hand-written protobuf writer and reader against protobufjs (protobufjs-reference.ts): the same
// bytes for every message value, and the same decoded value for every payload the pre-decode scan
// accepts, including mutated ones.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { messages, type MessageCodec, type MessageName } from '../../../src/protocol/wire/messages.js';
import { planByName } from '../../../src/protocol/wire/message-plans.js';
import { scanMessage } from '../../../src/protocol/wire/protobuf-scan.js';
import { WireError } from '../../../src/protocol/wire/wire-error.js';
import { PROTOBUF_ELEMENTS_MAX } from '../../../src/protocol/wire/wire-limits.js';
import { propertyParams } from '../../support/random.js';
import { referenceDecode, referenceEncode } from './protobufjs-reference.js';
import { MESSAGE_NAMES, messageArbitrary, protoTypeOf } from './wire-arbitraries.js';

const codec = (name: MessageName): MessageCodec<unknown> => messages[name] as MessageCodec<unknown>;

/** A payload changed by one of: a flipped byte, a byte put in, a cut, a run of random bytes. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), run: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

interface Mutation {
  readonly kind: 'flip' | 'insert' | 'cut' | 'splice';
  readonly at: number;
  readonly value: number;
  readonly run?: Uint8Array;
}

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
  const copy = Array.from(bytes);
  if (m.kind === 'flip' && at < copy.length) copy[at] = m.value;
  if (m.kind === 'insert') copy.splice(at, 0, m.value);
  if (m.kind === 'cut') copy.length = at;
  if (m.kind === 'splice') copy.splice(at, m.run!.length, ...m.run!);
  return new Uint8Array(copy);
}

function scans(name: MessageName, payload: Uint8Array): boolean {
  try {
    scanMessage(planByName(name).shape, payload, PROTOBUF_ELEMENTS_MAX);
    return true;
  } catch (error) {
    if (error instanceof WireError) return false;
    throw error;
  }
}

describe('protobuf codec', () => {
  for (const name of MESSAGE_NAMES) {
    test(`protobuf codec - ${name}: encode writes exactly protobufjs's bytes, and decode reads them as protobufjs does`, () => {
      fc.assert(
        fc.property(messageArbitrary(protoTypeOf(name)), (value) => {
          const ours = codec(name).encode(value);
          const theirs = referenceEncode(name, value);
          expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
          expect(codec(name).decode(theirs)).toEqual(referenceDecode(name, theirs));
        }),
        propertyParams(100),
      );
    });
  }

  test('protobuf codec - a mutated payload the scan accepts decodes to what protobufjs decodes', () => {
    let compared = 0;
    fc.assert(
      fc.property(fc.constantFrom(...MESSAGE_NAMES), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.context(), (name, mutations, ctx) => {
        const sample = fc.sample(messageArbitrary(protoTypeOf(name)), { numRuns: 1, seed: mutations[0].at | 0 })[0];
        let payload = codec(name).encode(sample);
        for (const m of mutations) payload = mutate(payload, m);
        if (!scans(name, payload)) return;
        ctx.log(Buffer.from(payload).toString('hex'));
        compared++;
        expect(codec(name).decode(payload)).toEqual(referenceDecode(name, payload));
      }),
      propertyParams(3000),
    );
    // Most mutations keep the structure valid enough to be compared; guard against a test that checks nothing.
    expect(compared).toBeGreaterThan(300);
  });
});
