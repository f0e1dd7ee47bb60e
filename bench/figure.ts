// One measured figure of the benchmark run, its target, and the closed-loop timing helper the
// throughput cases share.

export type Target =
  | {
    /**
     * 'absolute': value >= min; 'baseline': value / baseline syncs/s >= min; 'compared': value /
     * the value of the figure named by `comparedTo` >= min.
     */
    readonly kind: 'absolute' | 'baseline' | 'compared';
    readonly min: number;
  }
  /** 'maximum': value <= max, for figures where lower is better (times, latencies, memory). */
  | { readonly kind: 'maximum'; readonly max: number };

export interface Figure {
  readonly id: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Whether value / (baseline syncs/s) is a meaningful comparison (durable writes only). */
  readonly comparesToBaseline: boolean;
  /** The id of a figure of the same run this one is set beside (its ratio to it is reported). */
  readonly comparedTo?: string;
  readonly target?: Target;
  /** Anything else worth keeping in the results (samples, latencies, sizes). */
  readonly details?: Record<string, unknown>;
}

export interface Timed {
  readonly events: number;
  readonly ops: number;
  readonly elapsedMs: number;
  readonly eventsPerSecond: number;
}

/** Rate of `count` things in `elapsedMs`. */
export function perSecond(count: number, elapsedMs: number): number {
  return count / (elapsedMs / 1000);
}

/**
 * Runs `body` with a deadline `durationMs` from now and times it until it returns (including the
 * drain after the deadline). `body` reports how many events and operations it completed.
 */
export async function timed(durationMs: number, body: (deadlineMs: number) => Promise<{ events: number; ops: number }>): Promise<Timed> {
  const started = performance.now();
  const { events, ops } = await body(started + durationMs);
  const elapsedMs = performance.now() - started;
  return { events, ops, elapsedMs, eventsPerSecond: perSecond(events, elapsedMs) };
}

/** The q-quantile (0..1) of `values` (sorted in place). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor(q * values.length))];
}

/** Case duration in ms: ANNAL_BENCH_CASE_MS caps every timed case, for a quick check of the suite. */
export function caseMs(defaultMs: number): number {
  const capMs = Number(process.env.ANNAL_BENCH_CASE_MS ?? '');
  return Number.isFinite(capMs) && capMs > 0 ? Math.min(capMs, defaultMs) : defaultMs;
}
