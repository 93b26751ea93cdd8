/**
 * The job store: a job's state (its control-slot hash, with the indexes) and its data (problem blob,
 * iterates, result, events, the run hash; its own slot), and the changes that touch both, each as scripts
 * on one slot at a time in an order whose every prefix is safe:
 *
 * - start: START (control: running, this attempt's token) then DATA_START (the data's token, resume
 *   point). Dying in between leaves a running job BullMQ will find stalled.
 * - finish: SEAL (data: result and progress, if this attempt still holds the data), FINISH (control: the
 *   state, if it still holds the job), CLOSE (data: state and done events, once). Dying before FINISH:
 *   the job is taken over and DATA_START drops the orphan result; after FINISH but before CLOSE: BullMQ
 *   hands the job out again and the worker that finds it finished closes it.
 * - cancel of a queued job: CANCEL (control) then CLOSE; of a running one: FLAG (data), read by its worker.
 *
 * The producer (job-service.ts) and the consumer (processor.ts) each wrap one connection in a JobStore.
 */
import type { Checkpoint, Method, SolveOptions } from '../solver/index.js';
import { parseWebhookConfig, type WebhookConfig } from '../webhooks/schema.js';
import { bucketField } from './histogram.js';
import { controlKeyList, type DataKeys, dataKeyList, type Keys } from './keys.js';
import { execAll, type RedisClient } from './redis.js';
import { resultJson, shownResultJson } from './result-json.js';
import { runScript, runScriptBuffer } from './scripts.js';
import {
  isFinished,
  type JobError,
  type JobProgress,
  type JobResult,
  type JobState,
  type JobView,
} from './types.js';

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

export type MetaHash = Record<string, string>;

/** The run hash's fields a view needs, in HMGET order. */
export const RUN_FIELDS = ['progress', 'resumes', 'truncated'] as const;

export function parseMeta(state: MetaHash, run: (string | null)[] = []): JobMeta | null {
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
    recordLimit: Number(state.recordLimit ?? DEFAULT_RECORD_LIMIT),
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

/** PROGRESS's batch arguments (from its 4th on). */
const batchArgs = (batch: ProgressBatch): (string | number)[] => [
  batch.progress ? JSON.stringify(batch.progress) : '',
  batch.checkpoint ? JSON.stringify(batch.checkpoint) : '',
  batch.checkpoint ? batch.checkpoint.iteration : -1,
  batch.checkpointRecord,
  batch.truncated ? '1' : '0',
  ...batch.records,
];

/** A job's data read along with its state: what a view needs besides the state hash. */
export interface JobData {
  run: (string | null)[];
  recorded: number;
  result: string | null;
}

export class JobStore {
  readonly dataTtlSeconds: number;
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
  }

  data(id: string): DataKeys {
    return this.keys.data(id);
  }

  dataKeys(id: string): string[] {
    return dataKeyList(this.keys.data(id));
  }

  /** Every data key, the ones no script takes included: what deleting a job deletes. */
  allDataKeys(id: string): string[] {
    return [...this.dataKeys(id), this.keys.data(id).deliveries];
  }

  controlKeys(id: string, owner: string, idempotencyKey?: string): string[] {
    return controlKeyList(this.keys.controlOf(id, owner, idempotencyKey));
  }

  /** The state hash, null when absent or past its expiry. */
  async readState(id: string, now = Date.now()): Promise<MetaHash | null> {
    const hash = await this.redis.hgetall(this.keys.state(id));
    return live(hash, now) ? hash : null;
  }

  /** The run hash's view fields, the iterates count and (if asked) the result, in one script call. */
  async readData(id: string, withResult = false): Promise<JobData> {
    const [progress, resumes, truncated, recorded, result] = await runScript<
      [string, string, string, number, string]
    >(this.redis, 'levinvRead', this.dataKeys(id), [withResult ? 1 : 0]);
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

  /**
   * Deletes up to `limit` finished jobs whose time is up, state and data (bounded work per call); a queued
   * or running one gets another TTL. Runs in the API now and then and before a list; returns how many went.
   */
  async prune(now = Date.now(), limit = 500): Promise<number> {
    const ids = await this.redis.zrangebyscore(this.keys.expiry, '-inf', now, 'LIMIT', 0, limit);
    if (ids.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.keys.state(id), 'owner', 'idempotencyKey');
    const owners = await execAll<[string | null, string | null][]>(pipeline);
    const gone = await Promise.all(
      ids.map(async (id, i) => {
        const [owner, idempotencyKey] = owners[i];
        const keys = this.controlKeys(id, owner ?? '', idempotencyKey ?? undefined);
        const outcome = await runScript<number>(this.redis, 'levinvPrune', keys, [id, now, this.ttlSeconds]);
        if (outcome === 2) {
          // still queued or running: its data lives as long
          await runScript(this.redis, 'levinvConfirm', this.dataKeys(id), [this.dataTtlSeconds]);
        }
        if (outcome !== 1) return false;
        await this.redis.del(...this.allDataKeys(id));
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
    const [outcome, previous] = await runScript<['missing' | 'finished' | 'started', string]>(
      this.redis,
      'levinvStart',
      this.controlKeys(meta.id, meta.owner, meta.idempotencyKey),
      [meta.id, now, this.ttlSeconds, token, attempt, run.holder, run.recordLimit],
    );
    const none = { previous, checkpoint: '', checkpointRecord: '', recorded: 0, lastRecorded: -1 };
    if (outcome !== 'started') {
      if (outcome === 'finished') await this.closeFinished(meta.id);
      return { outcome: outcome === 'missing' ? 'gone' : outcome, ...none, resumes: meta.resumes };
    }
    const [dataOutcome, checkpoint, checkpointRecord, recorded, last, resumes, blob] = await runScriptBuffer<
      [Buffer, Buffer, Buffer, number, number, number, Buffer | undefined]
    >(this.redis, 'levinvDataStart', this.dataKeys(meta.id), [
      token,
      this.dataTtlSeconds,
      EVENTS_MAX_LEN,
      attempt,
      run.every,
      run.recordLimit,
      INLINE_BLOB_BYTES,
    ]);
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
    const [recorded, cancel] = await runScript<[number, number]>(
      this.redis,
      'levinvProgress',
      this.dataKeys(id),
      [token, this.dataTtlSeconds, EVENTS_MAX_LEN, ...batchArgs(batch)],
    );
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
    const seal = [
      token,
      this.dataTtlSeconds,
      result.stored,
      end.progress ? JSON.stringify(end.progress) : '',
    ];
    let recorded = end.recorded;
    if (end.batch) {
      const [sealed, length] = await runScript<[number, number]>(
        this.redis,
        'levinvSealBatch',
        this.dataKeys(meta.id),
        [...seal, EVENTS_MAX_LEN, ...batchArgs(end.batch)],
      );
      if (sealed !== 1) return false;
      recorded = length;
    } else if ((await runScript<number>(this.redis, 'levinvSeal', this.dataKeys(meta.id), seal)) !== 1) {
      return false;
    }
    const control = this.controlKeys(meta.id, meta.owner, meta.idempotencyKey);
    const args = [
      meta.id,
      now,
      this.ttlSeconds,
      token,
      end.state,
      end.error ? JSON.stringify(end.error) : '',
    ];
    const finished =
      end.seconds === undefined
        ? await runScript<number>(this.redis, 'levinvFinish', control, args)
        : await runScript<number>(
            this.redis,
            'levinvFinishTimed',
            [...control, this.keys.solveSeconds],
            [...args, bucketField(end.seconds), end.seconds],
          );
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
    const done = result === '' ? json : `${json.slice(0, -1)},"result":${result}}`;
    const closed = await runScript<number>(this.redis, 'levinvClose', this.dataKeys(view.id), [
      this.dataTtlSeconds,
      EVENTS_MAX_LEN,
      view.state,
      stateEvent(view.state),
      done,
    ]);
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
    if (
      !keep &&
      (await runScript<number>(this.redis, 'levinvReset', this.dataKeys(meta.id), [token])) !== 1
    ) {
      return false;
    }
    const ok = await runScript<number>(
      this.redis,
      'levinvRequeue',
      this.controlKeys(meta.id, meta.owner, meta.idempotencyKey),
      [meta.id, Date.now(), this.ttlSeconds, token],
    );
    if (ok === 1) await this.emit(meta.id, stateEvent('queued'));
    return ok === 1;
  }

  /** BullMQ moved the job back to wait after `attempt`'s worker died: queued until a worker takes it. */
  async stalled(id: string, attempt: number): Promise<boolean> {
    const state = await this.readState(id);
    if (!state) return false;
    const ok = await runScript<number>(
      this.redis,
      'levinvStalled',
      this.controlKeys(id, state.owner ?? '', state.idempotencyKey),
      [id, Date.now(), this.ttlSeconds, attempt],
    );
    if (ok === 1) await this.emit(id, stateEvent('queued', { reason: 'worker-lost' }));
    return ok === 1;
  }

  /** A state event for a change that wrote no data (best effort: the state hash is the truth). */
  private async emit(id: string, event: string): Promise<void> {
    await runScript(this.redis, 'levinvEmit', this.dataKeys(id), [EVENTS_MAX_LEN, event]).catch(
      () => undefined,
    );
  }

  async cancel(meta: JobMeta, recorded: number, now: number): Promise<CancelOutcome> {
    const outcome = await runScript<'missing' | 'finished' | 'running' | 'cancelled'>(
      this.redis,
      'levinvCancel',
      this.controlKeys(meta.id, meta.owner, meta.idempotencyKey),
      [meta.id, now, this.ttlSeconds, JSON.stringify(CANCELLED_ERROR)],
    );
    if (outcome === 'running') {
      await runScript(this.redis, 'levinvFlag', this.dataKeys(meta.id), [this.dataTtlSeconds]);
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
    const outcome = await runScript<'deleted' | 'not-found' | 'running'>(
      this.redis,
      'levinvRemove',
      this.controlKeys(id, owner, state.idempotencyKey),
      [id, owner],
    );
    if (outcome === 'deleted') await this.redis.del(...this.allDataKeys(id));
    return outcome;
  }

  async isCancelRequested(id: string): Promise<boolean> {
    return (await this.redis.exists(this.data(id).cancel)) === 1;
  }
}

/** A state hash that exists and whose expiry has not passed. */
const live = (hash: MetaHash, now: number): boolean =>
  Boolean(hash.state) && !(Number(hash.expiresAt) <= now);
