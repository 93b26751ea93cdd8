/**
 * The job store: reads a job (its state hash, its data) and makes the changes of the state machine
 * (transitions.ts: its phases, what moves a job between them, and the order of the scripts each change
 * runs; every script runs through the job writer, job-writer.ts). A change that touches both slots runs
 * single-slot scripts in an order whose every prefix is safe:
 *
 * - start: dying between START and DATA_START leaves a running job BullMQ will find stalled.
 * - finish: dying before FINISH, the job is taken over and DATA_START drops the orphan result; after
 *   FINISH but before CLOSE, BullMQ hands the job out again and the worker that finds it finished closes
 *   it (closeFinished).
 * - cancel: a queued job is cancelled (CANCEL) then closed; a running one is flagged for its worker (FLAG).
 *
 * The producer (job-service.ts) and the consumer (worker/start-workers.ts) each wrap one connection in a JobStore.
 */
import { DEFAULT_JOB_LIMITS } from '../limits/job-limits.js';
import type { Checkpoint, Method, SolveOptions } from '../solver/index.js';
import { bucketField } from './histogram.js';
import {
  type DeliveryRecord,
  isFinished,
  type JobState,
  type StateField,
  type StateHash,
} from './job-record.js';
import { JobWriter } from './job-writer.js';
import type { JobDataKeys, Keys } from './keys.js';
import { execAll, type RedisClient } from './redis.js';
import { resultJson, shownResultJson } from './result-json.js';
import type { JobError, JobProgress, JobResult, JobView } from './types.js';
import { parseWebhookConfig, type WebhookConfig } from './webhook-config.js';

/** Events kept per job stream (approximately: Redis trims whole nodes). Progress is throttled to ~10/s. */
export const EVENTS_MAX_LEN = 1000;

/** A job's data outlives its state by this much (prune deletes both), so no reader finds one without the
 * other. */
export const DATA_GRACE_SECONDS = 600;

/** A job: its state hash and its run hash, parsed. */
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
  /** iterates kept at most (set by the submitter, then by the worker that runs it) */
  recordLimit: number;
  /** written by a submission that has not completed yet: expires within minutes unless it does */
  provisional: boolean;
  /** when prune deletes it (ms); a job past it is gone to every reader */
  expiresAt: number;
  /** the client's Idempotency-Key's Redis key, '' for none */
  idempotencyKey: string;
  error?: JobError;
  // from the run hash (data slot)
  progress: JobProgress | null;
  /** how often a worker took it over from its checkpoint */
  resumes: number;
  /** some iterates were not kept (over recordLimit) */
  truncated: boolean;
  /** where and when to POST the job (src/webhooks); never shown in the job's JSON */
  webhook?: WebhookConfig;
}

/** A job from its state hash and `run`, the run hash's VIEW_RUN_FIELDS in order; null for no job. */
export function parseMeta(state: StateHash, run: (string | null)[] = []): JobMeta | null {
  if (!state.state || !state.id) return null;
  const [progress, resumes, truncated] = run;
  const meta: JobMeta = {
    id: state.id,
    owner: state.owner ?? '',
    state: state.state as JobState,
    method: state.method as Method,
    n: Number(state.n),
    d: Number(state.d),
    createdAt: Number(state.createdAt),
    startedAt: state.startedAt ? Number(state.startedAt) : null,
    finishedAt: state.finishedAt ? Number(state.finishedAt) : null,
    options: state.options ? (JSON.parse(state.options) as Partial<SolveOptions>) : {},
    fingerprint: state.fingerprint ?? '',
    score: Number(state.score ?? 0),
    attempts: Number(state.attempts ?? 0),
    recordLimit: Number(state.recordLimit ?? DEFAULT_JOB_LIMITS.maxRecordedIterates),
    provisional: state.provisional === '1',
    expiresAt: Number(state.expiresAt ?? 0),
    idempotencyKey: state.idempotencyKey ?? '',
    progress: progress ? (JSON.parse(progress) as JobProgress) : null,
    resumes: Number(resumes ?? 0),
    truncated: truncated === '1',
  };
  if (state.error) meta.error = JSON.parse(state.error) as JobError;
  const webhook = parseWebhookConfig(state.webhook);
  if (webhook) meta.webhook = webhook;
  return meta;
}

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

export type StartOutcome = 'gone' | 'finished' | 'cancel' | 'no-problem' | 'started';
export type CancelOutcome = 'missing' | 'cancelled' | 'flagged' | 'finished';

/** What a start found: where a resumed run continues from. */
export interface Started {
  /**
   * gone: the job is (expired or deleted); finished; the attempt holds the job but should end it at once:
   * cancel (cancelled) or no-problem (failed: its problem blob is gone); started
   */
  outcome: StartOutcome;
  /** the state it had */
  previous: string;
  /** the checkpoint to resume from (JSON), '' for a fresh start */
  checkpoint: string;
  /** the stored record of the checkpoint's iterate */
  checkpointRecord: string;
  /** iterates recorded (after trimming to the checkpoint) and the last one's iteration (-1: none) */
  recorded: number;
  lastRecorded: number;
  resumes: number;
  /** the problem blob, when DATA_START returned it (small problems: no GET needed) */
  blob?: Buffer;
}

/** Problem blobs up to this size come back in DATA_START's reply; larger ones are read by a GET of their
 * own (a script's reply is built in one piece, which holds Redis for a big blob). */
export const INLINE_BLOB_BYTES = 1 << 20;

/** A batch of iterate records and the checkpoint they end at, as PROGRESS (and SEAL_BATCH) store it. */
export interface ProgressBatch {
  progress: JobProgress | null;
  checkpoint: Checkpoint | null;
  checkpointRecord: string;
  truncated: boolean;
  records: string[];
}

/** A batch's arguments of PROGRESS and SEAL_BATCH. */
const batchArgs = (batch: ProgressBatch) => ({
  batchProgress: batch.progress ? JSON.stringify(batch.progress) : '',
  checkpoint: batch.checkpoint ? JSON.stringify(batch.checkpoint) : '',
  checkpointIteration: batch.checkpoint ? batch.checkpoint.iteration : -1,
  checkpointRecord: batch.checkpointRecord,
  truncated: batch.truncated ? '1' : '0',
  records: batch.records,
});

/** A job's data read along with its state: what a view needs besides the state hash. */
export interface JobData {
  run: (string | null)[];
  recorded: number;
  result: string | null;
}

export class JobStore {
  readonly dataTtlSeconds: number;
  /** every change to the job's keys goes through it */
  readonly writer: JobWriter;
  /**
   * Called when a change of this store finished a job (FINISH, or CANCEL of a queued job), and awaited before
   * the job's CLOSE (webhooks: the `completed` message); must not reject.
   */
  onFinished: ((meta: JobMeta) => Promise<void>) | undefined;

  constructor(
    readonly redis: RedisClient,
    readonly keys: Keys,
    readonly ttlSeconds: number,
  ) {
    this.dataTtlSeconds = ttlSeconds + DATA_GRACE_SECONDS;
    this.writer = new JobWriter(redis, keys);
  }

  data(id: string): JobDataKeys {
    return this.keys.data(id);
  }

  /** The state hash, null when absent or past its expiry. */
  async readState(id: string, now = Date.now()): Promise<StateHash | null> {
    const hash: StateHash = await this.redis.hgetall(this.keys.state(id));
    return live(hash, now) ? hash : null;
  }

  /** The run hash's view fields, the iterates count and (if asked) the result, in one script call. */
  async readData(id: string, withResult = false): Promise<JobData> {
    const [progress, resumes, truncated, recorded, result] = await this.writer.read(id, withResult);
    const run = [progress, resumes, truncated].map((v) => (v === '' ? null : v));
    return { run, recorded, result: result === '' ? null : result };
  }

  /** State and data together (two slots, read in parallel). */
  async readJob(id: string, withResult = false): Promise<{ meta: JobMeta; data: JobData } | null> {
    const [state, data] = await Promise.all([this.readState(id), this.readData(id, withResult)]);
    const meta = state ? parseMeta(state, data.run) : null;
    return meta ? { meta, data } : null;
  }

  async readMeta(id: string): Promise<JobMeta | null> {
    return (await this.readJob(id))?.meta ?? null;
  }

  /** A page of the job's event stream after `start`, whether it is closed, whether it exists (one step). */
  readEvents(id: string, start: string, count: number): Promise<[[string, string[]][], string, number]> {
    return this.writer.events(id, start, count);
  }

  /**
   * Deletes up to `limit` finished jobs whose time is up, state and data (bounded work per call); a queued
   * or running one gets another TTL. Runs in the API now and then and before a list; returns how many went.
   */
  async prune(now = Date.now(), limit = 500): Promise<number> {
    const ids = await this.redis.zrangebyscore(this.keys.expiry, '-inf', now, 'LIMIT', 0, limit);
    if (ids.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    const fields = ['owner', 'idempotencyKey'] as const satisfies readonly StateField[];
    for (const id of ids) pipeline.hmget(this.keys.state(id), ...fields);
    const owners = await execAll<[string | null, string | null][]>(pipeline);
    const gone = await Promise.all(
      ids.map(async (id, i) => {
        const [owner, idempotencyKey] = owners[i];
        const job = { id, owner: owner ?? '', idempotencyKey: idempotencyKey ?? undefined };
        const outcome = await this.writer.prune(job, { now, ttl: this.ttlSeconds });
        // still queued or running: its data lives as long
        if (outcome === 2) await this.writer.confirm(id, { ttl: this.dataTtlSeconds });
        if (outcome !== 1) return false;
        await this.writer.deleteData(id);
        return true;
      }),
    );
    return gone.filter(Boolean).length;
  }

  /**
   * START then DATA_START. `finished` (BullMQ handed out a job that is already over) closes it again, in
   * case whoever finished it died before its events were written.
   */
  async start(
    meta: JobMeta,
    token: string,
    attempt: number,
    now: number,
    run: { holder: string; every: number; recordLimit: number },
  ): Promise<Started> {
    const [outcome, previous] = await this.writer.start(meta, {
      now,
      ttl: this.ttlSeconds,
      token,
      attempt,
      holder: run.holder,
      recordLimit: run.recordLimit,
    });
    const none = { previous, checkpoint: '', checkpointRecord: '', recorded: 0, lastRecorded: -1 };
    if (outcome !== 'started') {
      if (outcome === 'finished') await this.closeFinished(meta.id);
      return { outcome: outcome === 'missing' ? 'gone' : outcome, ...none, resumes: meta.resumes };
    }
    const [dataOutcome, checkpoint, checkpointRecord, recorded, last, resumes, blob] =
      await this.writer.dataStart(meta.id, {
        token,
        ttl: this.dataTtlSeconds,
        maxlen: EVENTS_MAX_LEN,
        attempt,
        every: run.every,
        recordLimit: run.recordLimit,
        inlineBytes: INLINE_BLOB_BYTES,
      });
    const started: Started = {
      outcome: dataOutcome.toString() as StartOutcome,
      previous,
      checkpoint: checkpoint.toString(),
      checkpointRecord: checkpointRecord.toString(),
      recorded,
      lastRecorded: last,
      resumes,
    };
    if (blob && blob.length > 0) started.blob = blob;
    return started;
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
    batch: ProgressBatch,
  ): Promise<{ recorded: number; cancelRequested: boolean }> {
    const [recorded, cancel] = await this.writer.progress(id, {
      token,
      ttl: this.dataTtlSeconds,
      maxlen: EVENTS_MAX_LEN,
      ...batchArgs(batch),
    });
    return { recorded, cancelRequested: cancel === 1 };
  }

  /**
   * Ends the job: SEAL, FINISH, CLOSE. `token` '' finishes it whoever holds it (BullMQ failed the job
   * itself). False when it was already finished or is held by another attempt. `end.seconds`, the solve's
   * time, goes into the histogram by FINISH itself (so it counts exactly the solves that finished a job).
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
      /** how long the solve took, for the histogram */
      seconds?: number;
      /** the solve's last iterates, not written yet: they go with SEAL (one call instead of two) */
      batch?: ProgressBatch;
    },
    now: number,
  ): Promise<boolean> {
    // serialized once: stored by SEAL and (without `signs`) spliced into the done event by CLOSE
    const result = end.result ? resultJson(end.result) : { stored: '', shown: '' };
    const seal = {
      token,
      ttl: this.dataTtlSeconds,
      result: result.stored,
      progress: end.progress ? JSON.stringify(end.progress) : '',
    };
    let recorded = end.recorded;
    if (end.batch) {
      const [sealed, length] = await this.writer.sealBatch(meta.id, {
        ...seal,
        maxlen: EVENTS_MAX_LEN,
        ...batchArgs(end.batch),
      });
      if (sealed !== 1) return false;
      recorded = length;
    } else if ((await this.writer.seal(meta.id, seal)) !== 1) {
      return false;
    }
    const finished = await this.writer.finish(meta, {
      now,
      ttl: this.ttlSeconds,
      token,
      endState: end.state,
      errorJson: end.error ? JSON.stringify(end.error) : '',
      bucket: end.seconds === undefined ? '' : bucketField(end.seconds),
      seconds: end.seconds ?? '',
    });
    if (finished !== 1) return false;
    const view: JobMeta = {
      ...meta,
      state: end.state,
      finishedAt: now,
      progress: end.progress ?? meta.progress,
    };
    if (end.error) view.error = end.error;
    recorded ??= await this.redis.llen(this.data(meta.id).iterates);
    // Before CLOSE: a finisher that dies in between leaves the BullMQ job to be handed out again, and the
    // worker that gets it runs closeFinished, which queues the message again (the same id: delivered once).
    await this.onFinished?.(view);
    await this.close(toView(view, recorded), result.shown);
    return true;
  }

  /**
   * CLOSE: the done event carries the finished job (built here, so the script needs no JSON), with
   * `result`, the result's JSON as shown ('' for none; result-json.ts), spliced in rather than serialized again.
   */
  private async close(view: JobView, result = ''): Promise<boolean> {
    const json = JSON.stringify(view);
    const closed = await this.writer.close(view.id, {
      ttl: this.dataTtlSeconds,
      maxlen: EVENTS_MAX_LEN,
      endState: view.state,
      stateEvent: stateEvent(view.state),
      doneEvent: result === '' ? json : `${json.slice(0, -1)},"result":${result}}`,
    });
    return closed === 1;
  }

  /** Closes a finished job whose CLOSE may not have run (its finisher died in between). Idempotent. */
  async closeFinished(id: string): Promise<boolean> {
    const job = await this.readJob(id, true);
    if (!job || !isFinished(job.meta.state)) return false;
    const { meta, data } = job;
    // its finisher may have died before queueing the webhook too (queued again: its id is fixed, so BullMQ
    // keeps one message)
    await this.onFinished?.(meta);
    return await this.close(toView(meta, data.recorded), shownResultJson(data.result ?? ''));
  }

  /**
   * Gives the job back to the queue; `keep` its checkpoint (a hand-back) or start over (a retry: the data
   * is reset first, while this attempt still holds it).
   */
  async requeue(meta: JobMeta, token: string, keep: boolean): Promise<boolean> {
    if (!keep && (await this.writer.reset(meta.id, { token })) !== 1) return false;
    const ok = await this.writer.requeue(meta, { now: Date.now(), ttl: this.ttlSeconds, token });
    if (ok === 1) await this.emit(meta.id, stateEvent('queued'));
    return ok === 1;
  }

  /** BullMQ moved the job back to wait after `attempt`'s worker died: queued until a worker takes it. */
  async stalled(id: string, attempt: number): Promise<boolean> {
    const state = await this.readState(id);
    if (!state) return false;
    const job = { id, owner: state.owner ?? '', idempotencyKey: state.idempotencyKey };
    const ok = await this.writer.stalled(job, { now: Date.now(), ttl: this.ttlSeconds, attempt });
    if (ok === 1) await this.emit(id, stateEvent('queued', { reason: 'worker-lost' }));
    return ok === 1;
  }

  /** A state event for a change that wrote no data (best effort: the state hash is the truth). */
  private async emit(id: string, event: string): Promise<void> {
    await this.writer.emit(id, { maxlen: EVENTS_MAX_LEN, event }).catch(() => undefined);
  }

  async cancel(meta: JobMeta, recorded: number, now: number): Promise<CancelOutcome> {
    const outcome = await this.writer.cancel(meta, {
      now,
      ttl: this.ttlSeconds,
      errorJson: JSON.stringify(CANCELLED_ERROR),
    });
    if (outcome === 'running') {
      await this.writer.flag(meta.id, { ttl: this.dataTtlSeconds });
      return 'flagged';
    }
    if (outcome === 'cancelled') {
      const view: JobMeta = { ...meta, state: 'cancelled', finishedAt: now, error: CANCELLED_ERROR };
      await this.onFinished?.(view);
      await this.close(toView(view, recorded));
    }
    return outcome;
  }

  /** Deletes a finished job of `owner`: its state (with its index entries and Idempotency-Key), then its data. */
  async remove(id: string, owner: string): Promise<'deleted' | 'not-found' | 'running'> {
    const state = await this.readState(id);
    if (!state) return 'not-found';
    const outcome = await this.writer.remove({ id, owner, idempotencyKey: state.idempotencyKey }, { owner });
    if (outcome === 'deleted') await this.writer.deleteData(id);
    return outcome;
  }

  /** Drops `ids` from the owner's index (list() found their jobs gone). */
  /** What GET /jobs/{id}/deliveries shows: one record per webhook delivery attempt, oldest first. */
  async readDeliveries(id: string): Promise<DeliveryRecord[]> {
    const items = await this.redis.lrange(this.keys.data(id).deliveries, 0, -1);
    return items.map((item) => JSON.parse(item) as DeliveryRecord);
  }

  forgetListed(owner: string, ids: string[]): Promise<void> {
    return this.writer.forgetListed(owner, ids);
  }

  async isCancelRequested(id: string): Promise<boolean> {
    return (await this.redis.exists(this.data(id).cancel)) === 1;
  }
}

/** A state hash that exists and whose expiry has not passed. */
const live = (hash: StateHash, now: number): boolean =>
  Boolean(hash.state) && !(Number(hash.expiresAt) <= now);
