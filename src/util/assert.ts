// Invariant checks: a failed assertion is a bug in Annal, never an operating error, and is never
// caught. STYLE.md "Errors".

export class AssertionError extends Error {
  override name = 'AssertionError';
}

/** Throws AssertionError when `condition` is false. */
export function assert(condition: unknown, message: string | (() => string) = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(typeof message === 'function' ? message() : message);
}
