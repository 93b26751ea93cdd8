/**
 * The worker's own limits on a job's options (defence in depth: the API checks them too, but a job may
 * come from an older API or straight from Redis). The time budget, the iterations and the kept iterates are
 * capped; an invalid option is left for the solve thread to report as the job's INVALID_OPTION.
 */
import { resolveOptions, type SolveOptions } from '../solver/index.js';

export interface SolveCaps {
  /** caps options.maxSeconds, and is its value when absent */
  maxSolveSeconds: number;
  maxIterations: number;
  /** iterates stored per job; at least 2 (the first and the last) */
  maxRecordedIterates: number;
}

export function capOptions(options: Partial<SolveOptions>, caps: SolveCaps): Partial<SolveOptions> {
  let resolved: SolveOptions;
  try {
    resolved = resolveOptions(options);
  } catch {
    return options;
  }
  return {
    ...options,
    maxSeconds: Math.min(resolved.maxSeconds, caps.maxSolveSeconds),
    maxIterations: Math.min(resolved.maxIterations, caps.maxIterations),
    record: { ...resolved.record, limit: recordLimit(caps) },
  };
}

export const recordLimit = (caps: SolveCaps): number => Math.max(2, caps.maxRecordedIterates);
