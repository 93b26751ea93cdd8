/**
 * The solve-time histogram: workers add each solve to a Redis hash (one field per bucket, non-cumulative, so
 * an add is two HINCRBY and one HINCRBYFLOAT); stats() turns it into Prometheus' cumulative form.
 */
import { SOLVE_SECONDS_BUCKETS } from '../limits/job-limits.js';
import type { DurationHistogram } from './types.js';

/** The hash field counting solves of `seconds`. */
export function bucketField(seconds: number): string {
  const bound = SOLVE_SECONDS_BUCKETS.find((b) => seconds <= b);
  return bound === undefined ? 'le:+Inf' : `le:${bound}`;
}

export function toHistogram(hash: Record<string, string>): DurationHistogram {
  const bounds = [...SOLVE_SECONDS_BUCKETS, Number.POSITIVE_INFINITY];
  const counts: number[] = [];
  let running = 0;
  for (const bound of bounds) {
    running += Number(hash[bound === Number.POSITIVE_INFINITY ? 'le:+Inf' : `le:${bound}`] ?? 0);
    counts.push(running);
  }
  return { bounds, counts, sum: Number(hash.sum ?? 0), count: Number(hash.count ?? 0) };
}
