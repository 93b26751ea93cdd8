/**
 * The contract between the HTTP layer (src/api) and the job layer (src/jobs). The API sees jobs only through
 * JobService; only src/jobs imports bullmq or talks to Redis about jobs.
 */
import type { Iterate, Method, Problem, SolveOptions, SolveResult } from '../solver/index.js';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
export const isFinished = (state: JobState): boolean =>
  state === 'succeeded' || state === 'failed' || state === 'cancelled';

export interface JobProgress {
  iteration: number;
  loss: number;
  gradNorm: number;
}

export interface JobError {
  /** SolverError code (RANK_DEFICIENT, EMPTY_CELL, ...), or INTERNAL */
  code: string;
  message: string;
  field?: string;
}

/** The solver's result without the iterates (those are paged through JobService.iterates), plus relError. */
export type JobResult = Omit<SolveResult, 'iterates'> & { relError?: number };

/** A job as clients see it. `done` is true exactly when one of `result` or `error` is set. */
export interface JobView {
  id: string;
  state: JobState;
  done: boolean;
  method: Method;
  n: number;
  d: number;
  /** ISO 8601 */
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  progress: JobProgress | null;
  result?: JobResult;
  error?: JobError;
}

export interface SubmitInput {
  problem: Problem;
  options: Partial<SolveOptions>;
  /** the generator's known answer; the result then carries relError */
  xStar?: Float64Array;
  /** from the Idempotency-Key header */
  idempotencyKey?: string;
  /** a digest of the request body: the same key with another body is a conflict */
  fingerprint?: string;
}

export interface SubmitOutcome {
  job: JobView;
  /** false when an Idempotency-Key matched an earlier submission */
  created: boolean;
}

/** One Server-Sent Event of a job's stream. `id` orders events and is what Last-Event-ID resumes from. */
export interface JobEvent {
  id: string;
  type: 'state' | 'progress' | 'done';
  data: unknown;
}

export interface JobPage {
  items: JobView[];
  nextCursor: string | null;
}

export interface IteratePage {
  items: Iterate[];
  /** offset of the next unread iterate (items.length past offset) */
  nextOffset: number;
}

/** Cumulative histogram of solve wall times, Prometheus-style. */
export interface DurationHistogram {
  /** upper bounds in seconds, ascending; the last is Infinity */
  bounds: number[];
  /** cumulative counts, one per bound */
  counts: number[];
  sum: number;
  count: number;
}

export interface QueueStats {
  /** jobs by state as known to the store (retained jobs only) */
  byState: Record<JobState, number>;
  /** jobs waiting for a worker */
  queueDepth: number;
  /** solve durations of finished jobs, recorded by the workers */
  solveSeconds: DurationHistogram;
}

export interface JobService {
  /** Stores the problem, queues the job. Throws IdempotencyConflictError for a reused key with another body. */
  submit(input: SubmitInput): Promise<SubmitOutcome>;
  get(id: string): Promise<JobView | null>;
  iterates(id: string, offset: number, limit: number): Promise<IteratePage | null>;
  /** Queued: never runs. Running: stops within one iteration and ends `cancelled`. Finished: unchanged. */
  cancel(id: string): Promise<JobView | null>;
  /** Forgets a finished job and all its data. */
  remove(id: string): Promise<'deleted' | 'not-found' | 'running'>;
  /** Newest first. */
  list(query: { state?: JobState; limit: number; cursor?: string }): Promise<JobPage>;
  /** Events after `lastEventId` (all when absent), then live ones until the job is done or `signal` aborts. */
  events(id: string, lastEventId: string | undefined, signal: AbortSignal): AsyncIterable<JobEvent>;
  /** True when Redis answers. */
  ping(): Promise<boolean>;
  stats(): Promise<QueueStats>;
  /** Idempotent. */
  close(): Promise<void>;
}

export class IdempotencyConflictError extends Error {
  readonly code = 'IDEMPOTENCY_CONFLICT';
  constructor(key: string) {
    super(`Idempotency-Key '${key}' was already used with a different request body`);
    this.name = 'IdempotencyConflictError';
  }
}

/** Redis cannot be reached: the API answers 503. */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}
