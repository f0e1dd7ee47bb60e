// A small seeded pseudo-random generator (mulberry32) for benchmarks that pick streams or keys at
// random: the same seed gives the same sequence in every run and in every child process.

/** Returns a function giving uniform integers in [0, bound) from a 32-bit seed. */
export function seededInts(seed: number): (bound: number) => number {
  let state = seed >>> 0;
  return (bound) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(unit * bound);
  };
}

/** 0..count-1 in a seeded random order (Fisher–Yates). */
export function seededPermutation(count: number, seed: number): Uint32Array {
  const next = seededInts(seed);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = next(i + 1);
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  return order;
}
