// The flush changes of the stream directory: lookups in one list, and several lists merged (as a
// rebuild that held its changes back writes them) equal a model where newer lists win.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DirectoryChanges, mergeChanges } from '../../src/index/directory-changes.js';
import { propertyParams } from '../support/random.js';

interface ModelEntry {
  readonly id: string;
  readonly streamNo: number;
}

/** A DirectoryChanges of `entries` (unique ids), packed as the stream table exports them. */
function changesOf(entries: readonly ModelEntry[]): DirectoryChanges {
  const ids = entries.map((e) => Buffer.from(e.id, 'utf8'));
  const packed = new Uint8Array(ids.reduce((n, id) => n + 6 + id.length, 0));
  const starts: number[] = [];
  let at = 0;
  ids.forEach((id, i) => {
    new DataView(packed.buffer).setUint32(at, i, true);
    new DataView(packed.buffer).setUint16(at + 4, id.length, true);
    packed.set(id, at + 6);
    starts.push(at);
    at += 6 + id.length;
  });
  const order = ids.map((_, i) => i).sort((a, b) => Buffer.compare(ids[a], ids[b]));
  return new DirectoryChanges(
    packed,
    Uint32Array.from(order, (i) => starts[i]),
    Uint32Array.from(order, (i) => entries[i].streamNo),
    Uint32Array.from(order, (i) => entries[i].streamNo + 1),
    Uint32Array.from(order, () => 0),
    Float64Array.from(order, (i) => entries[i].streamNo * 10),
  );
}

const idArb = fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom('a', 'b', '-', 'é', '\u{1F600}', '\uFF21') });
const listArb = fc.uniqueArray(fc.record({ id: idArb, streamNo: fc.nat(1000) }), { selector: (e) => e.id, maxLength: 30 });

describe('directory changes', () => {
  test('directory changes - merged lists equal a model where the newest list wins, in bytewise id order', () => {
    fc.assert(
      fc.property(fc.array(listArb, { minLength: 1, maxLength: 6 }), fc.array(idArb, { maxLength: 10 }), (lists, probes) => {
        const model = new Map<string, number>();
        for (const list of lists) for (const e of list) model.set(e.id, e.streamNo);
        const expected = [...model.keys()].map((id) => Buffer.from(id)).sort(Buffer.compare).map((id) => [id.toString(), model.get(id.toString())]);
        const merged = mergeChanges(lists.map(changesOf));
        const got = Array.from({ length: merged.count }, (_, i) => merged.entry(i)).map((e) => [Buffer.from(e.id).toString(), e.streamNo]);
        expect(got).toEqual(expected);
        const last = changesOf(lists[lists.length - 1]);
        for (const probe of [...probes, ...lists[lists.length - 1].map((e) => e.id)]) {
          const at = last.indexOf(Buffer.from(probe));
          const entry = lists[lists.length - 1].find((e) => e.id === probe);
          expect(at < 0 ? null : last.entry(at).streamNo).toBe(entry?.streamNo ?? null);
        }
      }),
      propertyParams(300),
    );
  });
});
