// Seeds for every random test. fast-check prints the seed and path of a failing run; set
// ANNAL_SEED (and ANNAL_PATH) to replay it. Plain random workloads use seededRandom(seed) and
// print their seed on failure through withSeed().

import fc from 'fast-check';

/** The seed of this run: ANNAL_SEED when replaying, otherwise fresh. */
export function runSeed(): number {
  const fromEnv = process.env.ANNAL_SEED;
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv) | 0;
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
}

/** fast-check parameters with a replayable seed; `numRuns` is this test's default. */
export function propertyParams<T = unknown>(numRuns: number, extra: Partial<fc.Parameters<T>> = {}): fc.Parameters<T> {
  const path = process.env.ANNAL_PATH;
  return { seed: runSeed(), numRuns, ...(path ? { path } : {}), ...extra };
}

/** A deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `body` with a seed; on failure the error message names the seed and how to replay it. */
export async function withSeed<T>(body: (seed: number) => Promise<T> | T): Promise<T> {
  const seed = runSeed();
  try {
    return await body(seed);
  } catch (error) {
    if (error instanceof Error) error.message = `${error.message}\n(seed ${seed}; replay with ANNAL_SEED=${seed})`;
    throw error;
  }
}
