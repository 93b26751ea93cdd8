/**
 * One BullMQ job, one attempt: START (take the job with a fresh attempt token), DATA_START (which returns
 * the problem blob), the solve on a thread of the pool with its iterates written as they come, then FINISH
 * and CLOSE; or a hand-back to the queue (shutdown), a retry (a crashed thread) or a final failure. Which
 * script each of these runs, from which state, is the transition table (../transitions.ts).
 *
 * Round trips of a small job: START, DATA_START, the solve's last iterates stored with its result
 * (SEAL_BATCH), FINISH (which also counts the solve in the histogram), CLOSE; a job that ends within the
 * cancel watch's follow delay is never subscribed to.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { Logger } from 'pino';
import { capOptions, type JobLimits, recordLimit } from '../../limits/job-limits.js';
import type { Checkpoint } from '../../solver/index.js';
import type { JobEvents } from '../job-events.js';
import type { Keys } from '../keys.js';
import { toAlignedArrayBuffer } from '../problem-blob.js';
import { ProgressWriter } from '../progress-writer.js';
import type { SolveJobData } from '../queue.js';
import type { RedisClient } from '../redis.js';
import { observeSolve } from '../solve-observer.js';
import { CANCELLED_ERROR, type JobMeta, type JobStore, toView } from '../store.js';
import { type SolveThreadPool, ThreadCrashError } from '../thread-pool.js';
import type { ThreadOutcome, ThreadTask } from '../thread-protocol.js';
import { isFinished, type JobError, type JobProgress, type JobResult, type JobState } from '../types.js';
import type { Wakeups } from '../wakeups.js';
import type { WorkerMetrics } from '../worker-metrics.js';
import { watchCancel } from './cancel-watch.js';

/** Why a running solve was asked to stop. */
export type StopReason = 'cancel' | 'shutdown' | 'lost';

/** Which process holds a job (the state hash's `holder`): for operators, and for tests that kill it. */
const HOLDER = `${hostname()}:${process.pid}`;

export interface ProcessContext {
  store: JobStore;
  redis: RedisClient;
  keys: Keys;
  pool: SolveThreadPool;
  caps: Pick<JobLimits, 'maxSolveSeconds' | 'maxIterations' | 'maxRecordedIterates'>;
  /** a solve thread's heap limit, named in an out-of-memory error */
  heapMb: number;
  events: JobEvents;
  wakeups: Wakeups | null;
  flushMs: number;
  cancelFollowAfterMs: number;
  cancelPollMs: number;
  metrics?: WorkerMetrics;
  logger: Logger;
  /** the stop functions of the solves running in this process (shutdown.ts stops them) */
  running: Map<string, (why: StopReason) => void>;
  /** true once the shutdown grace has run out: a solve that starts then goes straight back */
  handingBack: () => boolean;
}

/** The BullMQ processor: resolves when the attempt is settled, throws what BullMQ should record. */
export function jobProcessor(
  ctx: ProcessContext,
): (job: Job<SolveJobData>, bullToken?: string) => Promise<void> {
  return (job, bullToken) => processJob(ctx, job, bullToken);
}

async function processJob(ctx: ProcessContext, job: Job<SolveJobData>, bullToken?: string): Promise<void> {
  const { store, caps } = ctx;
  const id = job.data.jobId ?? job.id!;
  const attempt = job.attemptsStarted;
  const log = ctx.logger.child({ jobId: id, attempt });
  const meta = await store.readMeta(id);
  if (!meta || isFinished(meta.state)) {
    // a finished job handed out again: its finisher may have died before CLOSE (store.ts)
    if (meta && (await store.closeFinished(id))) log.info('closed a job whose finisher died');
    log.info({ state: meta?.state ?? 'gone' }, 'nothing to do');
    return;
  }
  const options = capOptions(meta.options, caps);
  const limit = recordLimit(caps);
  const every = options.record?.every;
  const token = randomUUID();
  const startedAt = Date.now();
  const started = await store.start(meta, token, attempt, startedAt, {
    holder: HOLDER,
    every: Number.isInteger(every) && every! >= 1 ? every! : 1,
    recordLimit: limit,
  });
  if (started.outcome === 'gone' || started.outcome === 'finished') {
    log.info({ outcome: started.outcome }, 'not started');
    return;
  }
  const current: JobMeta = {
    ...meta,
    state: 'running',
    startedAt: meta.startedAt ?? startedAt,
    attempts: attempt,
    resumes: started.resumes,
    recordLimit: limit,
    truncated: started.checkpoint !== '' && meta.truncated,
    provisional: false,
  };
  if (started.outcome === 'cancel') {
    await store.finish(current, token, { state: 'cancelled', error: CANCELLED_ERROR }, Date.now());
    log.info('cancelled before it started');
    return;
  }
  const blob =
    started.outcome === 'no-problem'
      ? null
      : (started.blob ?? (await ctx.redis.getBuffer(ctx.keys.data(id).problem)));
  if (!blob) {
    await store.finish(
      current,
      token,
      { state: 'failed', error: internal('the problem data is missing') },
      Date.now(),
    );
    throw new UnrecoverableError('the problem data is missing');
  }
  const task: ThreadTask = {
    blob: toAlignedArrayBuffer(blob),
    options,
    flushMs: ctx.flushMs,
    recordLimit: limit,
  };
  if (started.checkpoint) {
    task.resume = {
      checkpoint: JSON.parse(started.checkpoint) as Checkpoint,
      record: started.checkpointRecord,
      recorded: started.recorded,
      lastRecorded: started.lastRecorded,
    };
    log.info(
      { from: task.resume.checkpoint.iteration, resumes: started.resumes },
      'solve resumed from its checkpoint',
    );
  } else {
    log.info({ n: meta.n, d: meta.d, method: meta.method }, 'solve started');
  }
  if (meta.startedAt === null) ctx.events.started(current, toView(current, started.recorded));
  await new Attempt(ctx, job, bullToken, current, token, started.recorded, log).run(task);
}

/** One attempt's solve and how it ends. */
class Attempt {
  private stopReason: StopReason | null = null;
  private readonly writer: ProgressWriter;
  /** the solve's last iterates, stored with its result (SEAL_BATCH) */
  private tail: ReturnType<ProgressWriter['takePending']> | null = null;

  constructor(
    private readonly ctx: ProcessContext,
    private readonly job: Job<SolveJobData>,
    private readonly bullToken: string | undefined,
    private readonly current: JobMeta,
    private readonly token: string,
    recorded: number,
    private readonly log: Logger,
  ) {
    this.writer = new ProgressWriter(
      ctx.store,
      current.id,
      token,
      recorded,
      () => this.stop('lost'),
      log,
      () => this.stop('cancel'),
    );
  }

  private stop(why: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = why;
    this.log.info({ why }, 'stopping the solve');
    this.abort?.();
  }

  private abort: (() => void) | undefined;

  async run(task: ThreadTask): Promise<void> {
    const { ctx, current, writer } = this;
    const id = current.id;
    const solve = ctx.pool.run(task, (batch) => {
      if (batch.truncated) current.truncated = true;
      writer.push(batch);
      const { progress } = batch;
      if (progress) {
        ctx.events.progressed(current, progress, () =>
          toView(
            { ...current, progress },
            Math.min(writer.recorded + batch.records.length, current.recordLimit),
          ),
        );
      }
    });
    this.abort = () => solve.abort();
    // a span and this process's counters (after run, which throws when the pool is closed)
    const observer = observeSolve(id, current, task.resume?.checkpoint.iteration, ctx.metrics);
    ctx.running.set(id, (why) => this.stop(why));
    // a solve that got going after the shutdown grace ran out goes straight back
    if (ctx.handingBack()) this.stop('shutdown');
    const watch = watchCancel({
      store: ctx.store,
      jobId: id,
      channel: ctx.keys.data(id).cancel,
      wakeups: ctx.wakeups,
      followAfterMs: ctx.cancelFollowAfterMs,
      pollMs: ctx.cancelPollMs,
      stopped: () => this.stopReason !== null,
      onCancel: () => this.stop('cancel'),
      log: this.log,
    });

    let ended: ThreadOutcome | Error;
    try {
      ended = await solve.done;
    } catch (error) {
      ended = error as Error;
    } finally {
      watch.stop();
      ctx.running.delete(id);
    }
    observer.end(ended);
    await this.settle(ended);
  }

  /** Stores how the solve ended: its result, its error, a retry, or the job back in the queue. */
  private async settle(ended: ThreadOutcome | Error): Promise<void> {
    const { stopReason } = this;
    // A solve that ends with its result (and is not being handed back) stores its last iterates along with
    // the result (SEAL_BATCH); any other end has them written first, as they came.
    const sealing =
      !(ended instanceof Error) &&
      ended.type === 'done' &&
      !(ended.result.reason === 'aborted' && (stopReason === 'shutdown' || stopReason === 'lost'));
    this.tail = sealing ? this.writer.takePending() : null;
    await this.writer.drain();

    if (ended instanceof Error) {
      if (ended instanceof ThreadCrashError && ended.outOfMemory) {
        const message = `the solve ran out of memory (the solve thread's heap limit is ${this.ctx.heapMb} MB)`;
        return await this.failAttempt({ code: 'OUT_OF_MEMORY', message }, true);
      }
      // the thread died otherwise (a crash): worth another attempt
      return await this.failAttempt(internal(ended.message), false);
    }
    const { progress: last } = ended;

    if (ended.type === 'error') {
      const { code, message, field } = ended.error;
      // stopped before the first iterate existed: what stopped it decides
      if (code === 'ABORTED' && stopReason === 'shutdown') return await this.handBack();
      if (code === 'ABORTED' && stopReason === 'lost') throw lostError();
      if (code === 'ABORTED' && stopReason === 'cancel') {
        const error: JobError = { code: 'CANCELLED', message: 'cancelled before its first iterate' };
        await this.end('cancelled', { error, progress: last }, ended.seconds);
        return;
      }
      const error: JobError = field === undefined ? { code, message } : { code, message, field };
      // Every SolverError, TIME_LIMIT and a numerical breakdown included, is deterministic (the solver is):
      // a retry would fail the same way. Only a crashed thread or an internal error gets another attempt.
      return await this.failAttempt(error, ended.error.solver, last, ended.seconds);
    }

    const { result } = ended;
    if (result.reason === 'aborted' && stopReason === 'shutdown') return await this.handBack();
    if (result.reason === 'aborted' && stopReason === 'lost') throw lostError();
    const state = result.reason === 'aborted' ? 'cancelled' : 'succeeded';
    const done = await this.end(state, { result, progress: last }, ended.seconds);
    this.log.info(
      { state, reason: result.reason, iterations: result.iterations, recorded: done },
      'solve ended',
    );
  }

  /** FINISH, with the solve's time for the histogram (counted if this attempt finishes the job). */
  private end(
    state: JobState,
    how: { result?: JobResult; error?: JobError; progress: JobProgress | null },
    seconds?: number,
  ): Promise<boolean> {
    return this.ctx.store.finish(
      this.current,
      this.token,
      {
        state,
        ...how,
        recorded: this.writer.recorded,
        ...(seconds === undefined ? {} : { seconds }),
        ...(this.tail && how.result ? { batch: this.tail } : {}),
      },
      Date.now(),
    );
  }

  /** Back to the queue with its checkpoint, for the next worker to resume (worker shutdown). */
  private async handBack(): Promise<never> {
    this.log.info('handing the job back to the queue');
    await this.ctx.store.requeue(this.current, this.token, true);
    await this.job.moveToWait(this.bullToken);
    throw new WaitingError();
  }

  private async failAttempt(
    error: JobError,
    unrecoverable: boolean,
    lastProgress?: JobProgress | null,
    seconds?: number,
  ): Promise<never> {
    const final = unrecoverable || this.job.attemptsMade + 1 >= (this.job.opts.attempts ?? 1);
    if (final) {
      await this.end('failed', { error, progress: lastProgress ?? null }, seconds);
      this.log.warn({ code: error.code, message: error.message }, 'job failed');
    } else {
      // a retry after an internal error starts over rather than trust the checkpoint
      await this.ctx.store.requeue(this.current, this.token, false);
      this.log.warn({ code: error.code, message: error.message }, 'attempt failed; the job will be retried');
    }
    const text = `${error.code}: ${error.message}`;
    throw unrecoverable ? new UnrecoverableError(text) : new Error(text);
  }
}

export const internal = (message: string): JobError => ({ code: 'INTERNAL', message });
const lostError = (): Error => new Error('another worker has taken this job over');
