/**
 * The job store: the Redis records of a job (meta hash, problem blob, iterates, result, cancel flag, event
 * stream) and the cross-job index, with the state changes both sides share. The producer (job-service.ts)
 * and the consumer (processor.ts) each wrap one connection in a JobStore.
 */
import type { Redis } from 'ioredis';
import type { Method, SolveOptions } from '../solver/index.js';
import { bucketField } from './histogram.js';
import { indexKeyList, type JobKeys, jobKeyList, type Keys } from './keys.js';
import { execAll } from './redis.js';
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
  error?: JobError;
}

export type MetaHash = Record<string, string>;

export function parseMeta(hash: MetaHash): JobMeta | null {
  if (!hash.state || !hash.id) return null;
  const meta: JobMeta = {
    id: hash.id,
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
  };
  if (hash.error) meta.error = JSON.parse(hash.error) as JobError;
  return meta;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toView(meta: JobMeta, result?: JobResult): JobView {
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
  };
  if (result) view.result = result;
  if (meta.error) view.error = meta.error;
  return view;
}

/** The error of a job cancelled before it ran (one cancelled while running keeps its partial result). */
export const CANCELLED_ERROR: JobError = { code: 'CANCELLED', message: 'cancelled before it started' };

export const stateEvent = (state: JobState, attempt?: number): string =>
  JSON.stringify(attempt === undefined ? { state } : { state, attempt });

export type StartOutcome = 'missing' | 'finished' | 'cancelled' | 'started';
export type CancelOutcome = 'missing' | 'cancelled' | 'flagged' | 'finished';

export class JobStore {
  constructor(
    readonly redis: Redis,
    readonly keys: Keys,
    readonly ttlSeconds: number,
  ) {}

  jobKeys(id: string): string[] {
    return jobKeyList(this.keys.job(id));
  }

  job(id: string): JobKeys {
    return this.keys.job(id);
  }

  get indexKeys(): string[] {
    return indexKeyList(this.keys.index);
  }

  private expiresAt(now: number): number {
    return now + this.ttlSeconds * 1000;
  }

  async readMeta(id: string): Promise<JobMeta | null> {
    return parseMeta(await this.redis.hgetall(this.job(id).meta));
  }

  /** Mirrors `state` into the index (after the job's own keys changed). */
  async indexSet(id: string, state: JobState, score: number, now = Date.now()): Promise<void> {
    if (!score) return;
    await runScript(this.redis, 'levinvIndexSet', this.indexKeys, [
      id,
      JOB_STATES.indexOf(state) + 1,
      score,
      this.expiresAt(now),
      this.ttlSeconds,
    ]);
  }

  async indexDel(ids: string[]): Promise<void> {
    if (ids.length > 0) await runScript(this.redis, 'levinvIndexDel', this.indexKeys, ids);
  }

  /** Drops index entries of jobs whose keys have expired (bounded work per call). */
  async prune(now = Date.now()): Promise<number> {
    return runScript<number>(this.redis, 'levinvIndexPrune', this.indexKeys, [now, 500]);
  }

  async start(
    meta: JobMeta,
    token: string,
    attempt: number,
    now: number,
  ): Promise<{ outcome: StartOutcome; previous: string; score: number }> {
    const cancelledView = toView({ ...meta, state: 'cancelled', finishedAt: now, error: CANCELLED_ERROR });
    const [outcome, previous, score] = await runScript<[StartOutcome, string, number]>(
      this.redis,
      'levinvStart',
      this.jobKeys(meta.id),
      [
        now,
        token,
        attempt,
        this.ttlSeconds,
        EVENTS_MAX_LEN,
        stateEvent('running', attempt),
        JSON.stringify(CANCELLED_ERROR),
        stateEvent('cancelled'),
        JSON.stringify(cancelledView),
      ],
    );
    if (outcome === 'started' || outcome === 'cancelled') {
      await this.indexSet(meta.id, outcome === 'started' ? 'running' : 'cancelled', score, now);
    }
    return { outcome, previous, score };
  }

  /** False when the job has another owner now: the caller should stop its solve. */
  async progress(
    id: string,
    token: string,
    progress: JobProgress | null,
    records: string[],
  ): Promise<boolean> {
    const owned = await runScript<number>(this.redis, 'levinvProgress', this.jobKeys(id), [
      token,
      this.ttlSeconds,
      EVENTS_MAX_LEN,
      progress ? JSON.stringify(progress) : '',
      ...records,
    ]);
    return owned === 1;
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
      resultJson?: string;
      error?: JobError;
      progress?: JobProgress | null;
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
    const view = toView(finished, end.result);
    const resultJson = end.resultJson ?? (end.result ? JSON.stringify(end.result) : '');
    const [ok, score] = await runScript<[number, number]>(this.redis, 'levinvFinish', this.jobKeys(meta.id), [
      token,
      end.state,
      now,
      this.ttlSeconds,
      EVENTS_MAX_LEN,
      stateEvent(end.state),
      // the done event carries the finished job; built here so the script needs no JSON
      JSON.stringify(view),
      resultJson,
      end.error ? JSON.stringify(end.error) : '',
      end.progress ? JSON.stringify(end.progress) : '',
    ]);
    if (ok !== 1) return false;
    await this.indexSet(meta.id, end.state, score, now);
    return true;
  }

  async requeue(id: string, token: string): Promise<boolean> {
    const [ok, score] = await runScript<[number, number]>(this.redis, 'levinvRequeue', this.jobKeys(id), [
      token,
      this.ttlSeconds,
      EVENTS_MAX_LEN,
      stateEvent('queued'),
    ]);
    if (ok !== 1) return false;
    await this.indexSet(id, 'queued', score);
    return true;
  }

  async cancel(meta: JobMeta, now: number): Promise<CancelOutcome> {
    const view = toView({ ...meta, state: 'cancelled', finishedAt: now, error: CANCELLED_ERROR });
    const [outcome, score] = await runScript<[CancelOutcome, number]>(
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
    if (outcome === 'cancelled') await this.indexSet(meta.id, 'cancelled', score, now);
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
