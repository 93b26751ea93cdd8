/**
 * The contract between the HTTP layer (src/api) and the job layer (src/jobs). The API sees jobs only through
 * JobService; only src/jobs imports bullmq or talks to Redis about jobs.
 */
import type { Iterate, Method, Problem, SolveOptions, SolveResult } from '../solver/index.js';
import type { DeliveryRecord, JobState } from './job-record.js';
import type { WebhookConfig } from './webhook-config.js';

export { isFinished, JOB_STATES, type JobState } from './job-record.js';

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
  /** how often another worker took the job over from its checkpoint (a worker died or lost the job) */
  resumes: number;
  /** what was recorded of the iterates: at most `limit` are kept (the first limit - 1, then the last) */
  iterates: { recorded: number; limit: number; truncated: boolean };
  result?: JobResult;
  error?: JobError;
}

/** Who is asking: the API key's name ('' when the service runs without API keys). Jobs belong to one. */
export type Owner = string;

export interface SubmitInput {
  /** the job belongs to this key: another owner sees it nowhere (404), idempotency keys are per owner */
  owner: Owner;
  /** refuse (QuotaExceededError) when the owner already has this many jobs queued or running */
  maxActiveJobs?: number;
  problem: Problem;
  options: Partial<SolveOptions>;
  /** the generator's known answer; the result then carries relError */
  xStar?: Float64Array;
  /** encodeProblem(problem, xStar), when the caller already made it (off the event loop) */
  blob?: Uint8Array;
  /** from the Idempotency-Key header */
  idempotencyKey?: string;
  /** a digest of the request body: the same key with another body is a conflict */
  fingerprint?: string;
  /** POST the job there on these events (src/webhooks); stored with the job, not shown in its JSON */
  webhook?: WebhookConfig;
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
  /**
   * All or nothing: either the job is stored, indexed and queued, or nothing of it remains (a crash in
   * between leaves only keys that expire within minutes and are never listed). Throws
   * IdempotencyConflictError for a reused key with another body, QuotaExceededError over maxActiveJobs.
   */
  submit(input: SubmitInput): Promise<SubmitOutcome>;
  /** Every read and change takes the caller: a job of another owner is null / 'not-found', as if absent. */
  get(id: string, owner: Owner): Promise<JobView | null>;
  /** Whether `owner` may see the job (cheaper than get: reads no result). */
  exists(id: string, owner: Owner): Promise<boolean>;
  iterates(id: string, owner: Owner, offset: number, limit: number): Promise<IteratePage | null>;
  /** The job's webhook delivery attempts, oldest first (the last 100); null as for get. */
  deliveries(id: string, owner: Owner): Promise<DeliveryRecord[] | null>;
  /** Queued: never runs. Running: stops within one iteration and ends `cancelled`. Finished: unchanged. */
  cancel(id: string, owner: Owner): Promise<JobView | null>;
  /** Forgets a finished job and all its data. */
  remove(id: string, owner: Owner): Promise<'deleted' | 'not-found' | 'running'>;
  /** The owner's jobs only, newest first. */
  list(query: { owner: Owner; state?: JobState; limit: number; cursor?: string }): Promise<JobPage>;
  /**
   * Events after `lastEventId` (all when absent), then live ones until the job is done or `signal` aborts.
   * Nothing for another owner's job. A malformed lastEventId is the caller's to refuse (isEventId).
   */
  events(
    id: string,
    owner: Owner,
    lastEventId: string | undefined,
    signal: AbortSignal,
  ): AsyncIterable<JobEvent>;
  /**
   * Resolves once the job is done, `timeoutMs` have passed or `signal` aborts, with the job as it is then
   * (its result included once done); null for another owner's job or none.
   */
  waitUntilDone(id: string, owner: Owner, timeoutMs: number, signal: AbortSignal): Promise<JobView | null>;
  /** True when Redis answers. */
  ping(): Promise<boolean>;
  stats(): Promise<QueueStats>;
  /**
   * Deletes the jobs whose time is up, and the index entries list() found without their job: the round the
   * service runs in the background every minute (reads never write), run now.
   */
  prune(): Promise<void>;
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

/** The owner already has `limit` jobs queued or running: the API answers 429; nothing was stored. */
export class QuotaExceededError extends Error {
  readonly code = 'QUOTA_EXCEEDED';
  constructor(
    readonly limit: number,
    readonly active: number,
  ) {
    super(`this API key already has ${active} jobs queued or running (MAX_ACTIVE_JOBS_PER_KEY is ${limit})`);
    this.name = 'QuotaExceededError';
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
