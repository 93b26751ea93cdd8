/**
 * The job store: the Redis records of a job (meta hash, problem blob, iterates, result, cancel flag, event
 * stream) and the cross-job index, with the state changes both sides share. The producer (job-service.ts)
 * and the consumer (processor.ts) each wrap one connection in a JobStore.
 */
import type { Checkpoint, Method, SolveOptions } from '../solver/index.js';
import { bucketField } from './histogram.js';
import { indexKeyList, type JobKeys, jobKeyList, type Keys } from './keys.js';
import { execAll, type RedisClient } from './redis.js';
import { runScript } from './scripts.js';
import {
  isFinished,
  JOB_STATES,
  type JobError,
  type JobProgress,
  type JobResult,
  type JobState,
  type JobView,
} from './types.js';

/** Events kept per job stream (approximately: Redis trims whole nodes). Progress is throttled to ~10/s. */
export const EVENTS_MAX_LEN = 1000;

/** The meta hash, parsed. */
export interface JobMeta {
  id: string;
  /** the API key's name that made it ('' when the service is open) */
  owner: string;
  state: JobState;
  method: Method;
  n: number;
  d: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  options: Partial<SolveOptions>;
  fingerprint: string;
  score: number;
  attempts: number;
  progress: JobProgress | null;
  /** how often a worker took it over from its checkpoint */
  resumes: number;
  /** iterates kept at most (set by the submitter, then by the worker that runs it) */
  recordLimit: number;
  /** some iterates were not kept (over recordLimit) */
  truncated: boolean;
  /** bumped by every state change: orders the index mirrors (scripts.ts) */
  version: number;
  /** written by a submission that has not completed yet: expires within minutes unless it does */
  provisional: boolean;
  error?: JobError;
}

export type MetaHash = Record<string, string>;

export function parseMeta(hash: MetaHash): JobMeta | null {
  if (!hash.state || !hash.id) return null;
  const meta: JobMeta = {
    id: hash.id,
    owner: hash.owner ?? '',
    state: hash.state as JobState,
    method: hash.method as Method,
    n: Number(hash.n),
    d: Number(hash.d),
    createdAt: Number(hash.createdAt),
    startedAt: hash.startedAt ? Number(hash.startedAt) : null,
    finishedAt: hash.finishedAt ? Number(hash.finishedAt) : null,
    options: hash.options ? (JSON.parse(hash.options) as Partial<SolveOptions>) : {},
    fingerprint: hash.fingerprint ?? '',
    score: Number(hash.score ?? 0),
    attempts: Number(hash.attempts ?? 0),
    progress: hash.progress ? (JSON.parse(hash.progress) as JobProgress) : null,
    resumes: Number(hash.resumes ?? 0),
    recordLimit: Number(hash.recordLimit ?? DEFAULT_RECORD_LIMIT),
    truncated: hash.truncated === '1',
    version: Number(hash.v ?? 1),
    provisional: hash.provisional === '1',
  };
  if (hash.error) meta.error = JSON.parse(hash.error) as JobError;
  return meta;
}

/** The default of MAX_RECORDED_ITERATES (config.ts), for a job stored without its own limit. */
export const DEFAULT_RECORD_LIMIT = 10_000;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** `recorded`: the length of the job's iterates list. */
export function toView(meta: JobMeta, recorded: number, result?: JobResult): JobView {
  const view: JobView = {
    id: meta.id,
    state: meta.state,
    done: isFinished(meta.state),
    method: meta.method,
    n: meta.n,
    d: meta.d,
    createdAt: new Date(meta.createdAt).toISOString(),
    startedAt: iso(meta.startedAt),
    finishedAt: iso(meta.finishedAt),
    progress: meta.progress,
    resumes: meta.resumes,
    iterates: { recorded, limit: meta.recordLimit, truncated: meta.truncated },
  };
  if (result) view.result = result;
  if (meta.error) view.error = meta.error;
  return view;
}

/** The error of a job cancelled before it ran (one cancelled while running keeps its partial result). */
export const CANCELLED_ERROR: JobError = { code: 'CANCELLED', message: 'cancelled before it started' };

export const stateEvent = (state: JobState, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ state, ...extra });

export type StartOutcome = 'missing' | 'finished' | 'cancelled' | 'started';
export type CancelOutcome = 'missing' | 'cancelled' | 'flagged' | 'finished';

/** What START found: where a resumed run continues from. */
export interface Started {
  outcome: StartOutcome;
  previous: string;
  /** the checkpoint to resume from (JSON), '' for a fresh start */
  checkpoint: string;
  /** the stored record of the checkpoint's iterate */
  checkpointRecord: string;
  /** iterates recorded (after trimming to the checkpoint) and the last one's iteration (-1: none) */
  recorded: number;
  lastRecorded: number;
  resumes: number;
}

/** What a job script that changes state returns: [ok or outcome, score, version, owner]. */
type Changed<T> = [T, number, number, string];

export class JobStore {
  constructor(
    readonly redis: RedisClient,
    readonly keys: Keys,
    readonly ttlSeconds: number,
  ) {}

  jobKeys(id: string): string[] {
    return jobKeyList(this.keys.job(id));
  }

  job(id: string): JobKeys {
    return this.keys.job(id);
  }

  indexKeys(owner: string, idempotencyKey?: string): string[] {
    return indexKeyList(this.keys.index, this.keys.owner(owner), idempotencyKey);
  }

  private expiresAt(now: number): number {
    return now + this.ttlSeconds * 1000;
  }

  async readMeta(id: string): Promise<JobMeta | null> {
    return parseMeta(await this.redis.hgetall(this.job(id).meta));
  }

  /** Mirrors version `version` of a job's state into the index (after the job's own keys changed). */
  async indexSet(
    id: string,
    owner: string,
    state: JobState,
    score: number,
    version: number,
    now = Date.now(),
  ): Promise<void> {
    if (!score) return;
    await runScript(this.redis, 'levinvIndexSet', this.indexKeys(owner), [
      id,
      JOB_STATES.indexOf(state) + 1,
      score,
      this.expiresAt(now),
      this.ttlSeconds,
      version,
      this.keys.owner(owner).base,
    ]);
  }

  async indexDel(owner: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await runScript(this.redis, 'levinvIndexDel', this.indexKeys(owner), ids);
  }

  /** Drops index entries of jobs whose keys have expired (bounded work per call). */
  async prune(now = Date.now()): Promise<number> {
    return runScript<number>(this.redis, 'levinvIndexPrune', this.indexKeys(''), [now, 500]);
  }

  async start(
    meta: JobMeta,
    token: string,
    attempt: number,
    now: number,
    run: { holder: string; every: number; recordLimit: number },
  ): Promise<Started> {
    const cancelledView = toView(
      { ...meta, state: 'cancelled', finishedAt: now, error: CANCELLED_ERROR },
      await this.redis.llen(this.job(meta.id).iterates),
    );
    const [outcome, previous, score, version, owner, checkpoint, checkpointRecord, recorded, last, resumes] =
      await runScript<[StartOutcome, string, number, number, string, string, string, number, number, number]>(
        this.redis,
        'levinvStart',
        this.jobKeys(meta.id),
        [
          now,
          token,
          attempt,
          this.ttlSeconds,
          EVENTS_MAX_LEN,
          stateEvent('running', { attempt }),
          JSON.stringify(CANCELLED_ERROR),
          stateEvent('cancelled'),
          JSON.stringify(cancelledView),
          run.holder,
          run.every,
          run.recordLimit,
        ],
      );
    if (outcome === 'started' || outcome === 'cancelled') {
      await this.indexSet(
        meta.id,
        owner,
        outcome === 'started' ? 'running' : 'cancelled',
        score,
        version,
        now,
      );
    }
    return { outcome, previous, checkpoint, checkpointRecord, recorded, lastRecorded: last, resumes };
  }

  /**
   * Stores a batch of records and the checkpoint they end at, in one script call. Returns the number of
   * recorded iterates (-1 when the job has another owner now: the caller should stop its solve) and
   * whether a cancel has been requested (the reply carries the flag, so a solve that writes progress learns
   * of a cancel without asking).
   */
  async progress(
    id: string,
    token: string,
    batch: {
      progress: JobProgress | null;
      checkpoint: Checkpoint | null;
      checkpointRecord: string;
      truncated: boolean;
      records: string[];
    },
  ): Promise<{ recorded: number; cancelRequested: boolean }> {
    const [recorded, cancel] = await runScript<[number, number]>(
      this.redis,
      'levinvProgress',
      this.jobKeys(id),
      [
        token,
        this.ttlSeconds,
        EVENTS_MAX_LEN,
        batch.progress ? JSON.stringify(batch.progress) : '',
        batch.checkpoint ? JSON.stringify(batch.checkpoint) : '',
        batch.checkpoint ? batch.checkpoint.iteration : -1,
        batch.checkpointRecord,
        batch.truncated ? '1' : '0',
        ...batch.records,
      ],
    );
    return { recorded, cancelRequested: cancel === 1 };
  }

  /**
   * Ends the job. `token` '' finishes it whoever holds it (used when BullMQ failed the job itself). False
   * when it was already finished or is owned by another attempt.
   */
  async finish(
    meta: JobMeta,
    token: string,
    end: {
      state: JobState;
      result?: JobResult;
      error?: JobError;
      progress?: JobProgress | null;
      /** the iterates recorded; read from Redis when not given */
      recorded?: number;
    },
    now: number,
  ): Promise<boolean> {
    const finished: JobMeta = {
      ...meta,
      state: end.state,
      finishedAt: now,
      progress: end.progress ?? meta.progress,
    };
    if (end.error) finished.error = end.error;
    const recorded = end.recorded ?? (await this.redis.llen(this.job(meta.id).iterates));
    const view = toView(finished, recorded, end.result);
    const [ok, score, version, owner] = await runScript<Changed<number>>(
      this.redis,
      'levinvFinish',
      this.jobKeys(meta.id),
      [
        token,
        end.state,
        now,
        this.ttlSeconds,
        EVENTS_MAX_LEN,
        stateEvent(end.state),
        // the done event carries the finished job; built here so the script needs no JSON
        JSON.stringify(view),
        end.result ? JSON.stringify(end.result) : '',
        end.error ? JSON.stringify(end.error) : '',
        end.progress ? JSON.stringify(end.progress) : '',
      ],
    );
    if (ok !== 1) return false;
    await this.indexSet(meta.id, owner, end.state, score, version, now);
    return true;
  }

  /** Gives the job back to the queue; `keep` its checkpoint (a hand-back) or start over (a retry). */
  async requeue(id: string, token: string, keep: boolean): Promise<boolean> {
    const [ok, score, version, owner] = await runScript<Changed<number>>(
      this.redis,
      'levinvRequeue',
      this.jobKeys(id),
      [token, this.ttlSeconds, EVENTS_MAX_LEN, stateEvent('queued'), keep ? '1' : '0'],
    );
    if (ok !== 1) return false;
    await this.indexSet(id, owner, 'queued', score, version);
    return true;
  }

  /** BullMQ moved the job back to wait after `attempt`'s worker died: queued until a worker takes it. */
  async stalled(id: string, attempt: number): Promise<boolean> {
    const [ok, score, version, owner] = await runScript<Changed<number>>(
      this.redis,
      'levinvStalled',
      this.jobKeys(id),
      [attempt, this.ttlSeconds, EVENTS_MAX_LEN, stateEvent('queued', { reason: 'worker-lost' })],
    );
    if (ok !== 1) return false;
    await this.indexSet(id, owner, 'queued', score, version);
    return true;
  }

  async cancel(meta: JobMeta, recorded: number, now: number): Promise<CancelOutcome> {
    const view = toView({ ...meta, state: 'cancelled', finishedAt: now, error: CANCELLED_ERROR }, recorded);
    const [outcome, score, version, owner] = await runScript<Changed<CancelOutcome>>(
      this.redis,
      'levinvCancel',
      this.jobKeys(meta.id),
      [
        now,
        this.ttlSeconds,
        EVENTS_MAX_LEN,
        JSON.stringify(CANCELLED_ERROR),
        stateEvent('cancelled'),
        JSON.stringify(view),
      ],
    );
    if (outcome === 'cancelled') await this.indexSet(meta.id, owner, 'cancelled', score, version, now);
    return outcome;
  }

  async isCancelRequested(id: string): Promise<boolean> {
    return (await this.redis.exists(this.job(id).cancel)) === 1;
  }

  /** Adds one solve to the duration histogram. */
  async recordSolveSeconds(seconds: number): Promise<void> {
    const key = this.keys.solveSeconds;
    await execAll(
      this.redis
        .multi()
        .hincrby(key, bucketField(seconds), 1)
        .hincrby(key, 'count', 1)
        .hincrbyfloat(key, 'sum', seconds)
        .expire(key, this.ttlSeconds),
    );
  }
}
