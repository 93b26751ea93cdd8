/**
 * The solve-time histogram: workers add each solve to a Redis hash (one field per bucket, non-cumulative, so
 * an add is two HINCRBY and one HINCRBYFLOAT); stats() turns it into Prometheus' cumulative form.
 */
import type { DurationHistogram } from './types.js';

/** Upper bounds in seconds; the last bucket (Infinity) is implied. */
export const SOLVE_SECONDS_BOUNDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** The hash field counting solves of `seconds`. */
export function bucketField(seconds: number): string {
  const bound = SOLVE_SECONDS_BOUNDS.find((b) => seconds <= b);
  return bound === undefined ? 'le:+Inf' : `le:${bound}`;
}

export function toHistogram(hash: Record<string, string>): DurationHistogram {
  const bounds = [...SOLVE_SECONDS_BOUNDS, Number.POSITIVE_INFINITY];
  const counts: number[] = [];
  let running = 0;
  for (const bound of bounds) {
    running += Number(hash[bound === Number.POSITIVE_INFINITY ? 'le:+Inf' : `le:${bound}`] ?? 0);
    counts.push(running);
  }
  return { bounds, counts, sum: Number(hash.sum ?? 0), count: Number(hash.count ?? 0) };
}
