/**
 * Nearest-rank percentiles: what `atlas top`, the status API and the benchmark report, so
 * a p99 means the same everywhere.
 *
 * @module
 */

/** p50 / p95 / p99 / max of a sample, in the sample's unit. */
export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * Nearest-rank percentiles of `values` (the smallest value with at least p % of the
 * sample at or below it). Throws a `RangeError` for an empty sample.
 *
 * @example
 * ```ts
 * summarize([5, 1, 3]).p50; // 3
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError("Cannot summarize an empty sample");
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  return { n: s.length, p50: at(50), p95: at(95), p99: at(99), max: s[s.length - 1]! };
}
