/** Messages between the worker's main thread and a solve thread. */
import type { SolveOptions } from '../solver/index.js';
import type { JobProgress, JobResult } from './types.js';

/** main -> thread (the blob is transferred, not copied) */
export interface ThreadTask {
  blob: ArrayBuffer;
  options: Partial<SolveOptions>;
  /** at most one iterates message per this many ms (plus the last) */
  flushMs: number;
}

export interface ThreadError {
  /** true for a SolverError (code is then a SolverErrorCode) */
  solver: boolean;
  code: string;
  message: string;
  field?: string;
}

/** thread -> main */
export type ThreadMessage =
  | { type: 'iterates'; records: string[]; progress: JobProgress }
  | { type: 'done'; result: JobResult; progress: JobProgress | null; seconds: number }
  | { type: 'error'; error: ThreadError; progress: JobProgress | null; seconds: number };

export type ThreadOutcome = Exclude<ThreadMessage, { type: 'iterates' }>;
