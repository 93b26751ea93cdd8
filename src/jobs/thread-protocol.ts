/** Messages between the worker's main thread and a solve thread. */
import type { Checkpoint, SolveOptions } from '../solver/index.js';
import type { JobProgress, JobResult } from './types.js';

/** main -> thread (the blob is transferred, not copied) */
export interface ThreadTask {
  blob: ArrayBuffer;
  /** already capped by the worker (capOptions, src/limits/job-limits.ts) */
  options: Partial<SolveOptions>;
  /** at most one iterates message per this many ms (plus the last) */
  flushMs: number;
  /** iterates kept at most: the first limit - 1 of the every-th ones, then the last */
  recordLimit: number;
  /** continue an earlier run of the job from here */
  resume?: {
    checkpoint: Checkpoint;
    /** the stored record of the checkpoint's iterate (the last one, should nothing follow it) */
    record: string;
    /** iterates already recorded, and the last one's iteration (-1: none) */
    recorded: number;
    lastRecorded: number;
  };
}

export interface ThreadError {
  /** true for a SolverError (code is then a SolverErrorCode) */
  solver: boolean;
  code: string;
  message: string;
  field?: string;
}

/** A batch of records and the checkpoint of the last iterate the thread has seen (not only of kept ones). */
export interface IteratesMessage {
  type: 'iterates';
  records: string[];
  progress: JobProgress;
  checkpoint: Checkpoint;
  checkpointRecord: string;
  /** some iterates were dropped for the record limit */
  truncated: boolean;
}

/** thread -> main */
export type ThreadMessage =
  | IteratesMessage
  | { type: 'done'; result: JobResult; progress: JobProgress | null; seconds: number }
  | { type: 'error'; error: ThreadError; progress: JobProgress | null; seconds: number };

export type ThreadOutcome = Exclude<ThreadMessage, { type: 'iterates' }>;
