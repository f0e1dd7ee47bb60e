// The wall clock, behind an interface so tests and simulations can inject their own time.
// Wall time only stamps events (`created`); ordering and durability never depend on it.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
