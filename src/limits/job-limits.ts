/**
 * The per-job limits and their defaults, in one place: the configuration (src/main/config.ts) takes its
 * defaults from here, the API checks a submission against them (src/api/limits.ts: 413/422 naming the
 * limit), and the workers cap each job's options by them (applied again in case a job came from an older
 * API or straight from Redis). Change a limit's default here.
 */
import { DEFAULT_RECORD_LIMIT, resolveOptions, type SolveOptions } from '../solver/index.js';

export interface JobLimits {
  /** n x d of one problem (MAX_PROBLEM_CELLS) */
  maxProblemCells: number;
  /** caps options.maxSeconds, and is its value when absent (MAX_SOLVE_SECONDS) */
  maxSolveSeconds: number;
  /** caps options.maxIterations (MAX_ITERATIONS) */
  maxIterations: number;
  /** the solver's estimated working memory of one problem; also a solve thread's heap (MAX_SOLVE_MEMORY_MB) */
  maxSolveMemoryMb: number;
  /** iterates kept per job, the first ones then the last (MAX_RECORDED_ITERATES) */
  maxRecordedIterates: number;
}

export const DEFAULT_JOB_LIMITS: Readonly<JobLimits> = {
  maxProblemCells: 4_000_000,
  maxSolveSeconds: 3600,
  maxIterations: 100_000,
  // 1 GiB: every problem shape up to 100000 x 40 fits by any method; a memory bomb (n = 2001, d = 700,
  // Newton: an estimated 1.8 GB from a 3.3 MB body) does not.
  maxSolveMemoryMb: 1024,
  maxRecordedIterates: DEFAULT_RECORD_LIMIT,
};

/** Iterates stored per job: at least 2 (the first and the last). */
export const recordLimit = (limits: Pick<JobLimits, 'maxRecordedIterates'>): number =>
  Math.max(2, limits.maxRecordedIterates);

/** options.maxSeconds as a job runs it: the limit when absent, never above it. */
export const solveSeconds = (
  requested: number | undefined,
  limits: Pick<JobLimits, 'maxSolveSeconds'>,
): number => Math.min(requested ?? limits.maxSolveSeconds, limits.maxSolveSeconds);

/**
 * A job's options as a worker runs them: time, iterations and kept iterates capped. An invalid option is
 * left as it is, for the solve thread to report as the job's INVALID_OPTION.
 */
export function capOptions(
  options: Partial<SolveOptions>,
  limits: Pick<JobLimits, 'maxSolveSeconds' | 'maxIterations' | 'maxRecordedIterates'>,
): Partial<SolveOptions> {
  let resolved: SolveOptions;
  try {
    resolved = resolveOptions({ ...options, maxSeconds: solveSeconds(options.maxSeconds, limits) });
  } catch {
    return options;
  }
  return {
    ...options,
    maxSeconds: resolved.maxSeconds,
    maxIterations: Math.min(resolved.maxIterations, limits.maxIterations),
    record: { ...resolved.record, limit: recordLimit(limits) },
  };
}

/** Upper bounds in seconds of the solve-time histograms (the last bucket, Infinity, is implied). */
export const SOLVE_SECONDS_BUCKETS: readonly number[] = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
];
