// How the three indexes share one key space of (key, seq) → value entries (format-spec/index.md):
// the kind sits in the top byte of the key, the stream / category / event-type number in its low
// 32 bits. Streams sort first, then categories, then event types.

export const enum IndexKind {
  /** key = stream number, seq = revision, value = position */
  Stream = 0,
  /** key = category number, seq = value = position */
  Category = 1,
  /** key = event-type number, seq = value = position */
  EventType = 2,
}

/** The high word of a key of this kind (the low word is the number). */
export function keyHighWord(kind: IndexKind): number {
  return (kind << 24) >>> 0;
}

const TWO_32 = 2 ** 32;

/** Low and high u32 words of a safe integer ≥ 0 (a seq or a value). */
export function lowWord(value: number): number {
  return value % TWO_32;
}

export function highWord(value: number): number {
  return Math.floor(value / TWO_32);
}

/** The safe integer of a (low, high) word pair; positions and revisions stay below 2^53. */
export function joinWords(low: number, high: number): number {
  return high * TWO_32 + low;
}
