/**
 * The fixed lists of names the API carries: job states, solver methods, line searches, start choices, how a
 * start was found and why a run stopped. Plain arrays, no zod, so that the job layer can share them without
 * loading a schema library. The solver keeps its own lists (it imports nothing of the API);
 * test/contract/enums.test.ts holds them equal.
 */

/** queued -> running -> succeeded | failed | cancelled (a queued job may be cancelled directly). */
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const METHODS = ['newton', 'gauss-newton', 'gd'] as const;
export type Method = (typeof METHODS)[number];

export const LINE_SEARCHES = ['armijo', 'none'] as const;

/** `options.start`: where a run without x0 starts. */
export const START_CHOICES = ['global', 'centre'] as const;

/** `result.startMethod`: how the start was found. */
export const START_METHODS = ['x0', 'global', 'global-signs', 'centre'] as const;

/** `result.reason`: why a run stopped. */
export const STOP_REASONS = [
  'gradient-tolerance',
  'loss-change',
  'step-rounding',
  'max-iterations',
  'max-seconds',
  'aborted',
  'line-search-failed',
] as const;
