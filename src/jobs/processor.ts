/**
 * The consumer side: a BullMQ Worker whose processor hands each solve to a thread of a SolveThreadPool and,
 * on the main thread, keeps BullMQ's lock renewed, writes the iterates the thread reports, and watches the
 * job's cancel flag.
 *
 * Who ends a job how:
 * - succeeded / cancelled (while running): the attempt that ran it, by FINISH with its attempt token.
 * - cancelled (queued): the API's cancel; a worker that then takes the BullMQ job finds it finished.
 * - failed: the attempt, for a problem the solver rejects (no retry: UnrecoverableError) and for the last
 *   failed attempt; BullMQ itself for a job that stalled too often (our 'failed' listener records that).
 * - a worker that dies mid-solve: its lock expires, BullMQ's stalled check (in any other worker) moves the
 *   job back to wait, and the next START takes it over with a new token (the old one is then refused).
 */
import { randomUUID } from 'node:crypto';
import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { type Logger, pino } from 'pino';
import { Keys } from './keys.js';
import { toAlignedArrayBuffer } from './problem-blob.js';
import { DEFAULT_QUEUE_NAME, type SolveJobData } from './queue.js';
import { closeConnection, connect, reconnect, WORKER_OPTIONS } from './redis.js';
import { type JobMeta, JobStore } from './store.js';
import { SolveThreadPool } from './thread-pool.js';
import type { ThreadOutcome } from './thread-protocol.js';
import { isFinished, type JobError, type JobProgress } from './types.js';

export interface StartWorkersOptions {
  redisUrl: string;
  keyPrefix: string;
  jobTtlSeconds: number;
  /** jobs solved at once (one thread each) */
  concurrency: number;
  queueName?: string;
  logger?: Logger;
  /** BullMQ lock duration; default 30 s (renewed every half of it) */
  lockDurationMs?: number;
  /** BullMQ stalled-job check interval; default 30 s */
  stalledIntervalMs?: number;
  /** how often a running job's cancel flag is read; default 150 ms */
  cancelPollMs?: number;
  /** at most one iterates/progress write per job per this many ms (plus the last); default 100 ms */
  flushMs?: number;
  /** on close(), how long running solves may go on before they are handed back to the queue; default 5 s */
  handBackAfterMs?: number;
}

export interface WorkerHandle {
  /** Idempotent: stop taking jobs, let running solves finish (or hand them back), close everything. */
  close(): Promise<void>;
}

/** Why a running solve was asked to stop. */
type StopReason = 'cancel' | 'shutdown' | 'lost';

/** Records per PROGRESS call: keeps one script call's argument list (and its Redis time) bounded. */
const MAX_RECORDS_PER_WRITE = 5000;

export async function startWorkers(opts: StartWorkersOptions): Promise<WorkerHandle> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const keys = new Keys(opts.keyPrefix);
  const pool = new SolveThreadPool(opts.concurrency);
  const redis = connect(
    opts.redisUrl,
    WORKER_OPTIONS,
    (error) => logger.warn({ err: error }, 'worker store connection error'),
    'levinv-worker',
  );
  const store = new JobStore(redis, keys, opts.jobTtlSeconds);
  const cancelPollMs = opts.cancelPollMs ?? 150;
  const flushMs = opts.flushMs ?? 100;
  /** stop functions of the solves running in this process */
  const running = new Map<string, (why: StopReason) => void>();
  /** set once close() has waited long enough for running solves */
  let handingBack = false;

  async function processJob(job: Job<SolveJobData>, bullToken?: string): Promise<void> {
    const id = job.data.jobId ?? job.id;
    const attempt = job.attemptsStarted;
    const log = logger.child({ jobId: id, attempt });
    const meta = await store.readMeta(id);
    if (!meta || isFinished(meta.state)) {
      log.info({ state: meta?.state ?? 'gone' }, 'nothing to do');
      return;
    }
    const token = randomUUID();
    const startedAt = Date.now();
    const { outcome } = await store.start(meta, token, attempt, startedAt);
    if (outcome !== 'started') {
      log.info({ outcome }, 'not started');
      return;
    }
    const current: JobMeta = {
      ...meta,
      state: 'running',
      startedAt: meta.startedAt ?? startedAt,
      attempts: attempt,
    };
    const blob = await redis.getBuffer(keys.job(id).problem);
    if (!blob) {
      await store.finish(
        current,
        token,
        { state: 'failed', error: internal('the problem data is missing') },
        Date.now(),
      );
      throw new UnrecoverableError('the problem data is missing');
    }
    log.info({ n: meta.n, d: meta.d, method: meta.method }, 'solve started');

    // Progress: the thread batches, and here at most one write is in flight; batches that arrive meanwhile
    // are merged into the next write.
    const records: string[] = [];
    let progress: JobProgress | null = null;
    let writer: Promise<void> | null = null;
    let stopReason: StopReason | null = null;
    const writeProgress = async (): Promise<void> => {
      while (records.length > 0 || progress) {
        const batch = records.splice(0, MAX_RECORDS_PER_WRITE);
        const latest = progress;
        progress = null;
        try {
          if (!(await store.progress(id, token, latest, batch))) stop('lost');
        } catch (error) {
          log.warn({ err: error }, 'could not write progress');
        }
      }
      writer = null;
    };
    const solve = pool.run(
      { blob: toAlignedArrayBuffer(blob), options: meta.options, flushMs },
      (batch, p) => {
        for (const r of batch) records.push(r);
        progress = p;
        writer ??= writeProgress();
      },
    );
    const stop = (why: StopReason): void => {
      if (stopReason) return;
      stopReason = why;
      log.info({ why }, 'stopping the solve');
      solve.abort();
    };
    running.set(id, stop);
    // a solve that got going after the shutdown grace ran out goes straight back
    if (handingBack) stop('shutdown');

    let polling = false;
    const poll = setInterval(() => {
      if (polling) return;
      polling = true;
      store
        .isCancelRequested(id)
        .then((requested) => requested && stop('cancel'))
        .catch((error) => log.debug({ err: error }, 'cancel poll failed'))
        .finally(() => {
          polling = false;
        });
    }, cancelPollMs);

    let ended: ThreadOutcome | Error;
    try {
      ended = await solve.done;
    } catch (error) {
      ended = error as Error;
    } finally {
      clearInterval(poll);
      running.delete(id);
      while (writer) await writer;
    }
    // the thread died (out of memory, a crash): worth another attempt
    if (ended instanceof Error) return await failAttempt(internal(ended.message), false);
    const { progress: last } = ended;
    const finishedAt = Date.now();

    if (ended.type === 'error') {
      await recordSeconds(ended.seconds);
      const { code, message, field } = ended.error;
      const error: JobError = field === undefined ? { code, message } : { code, message, field };
      // Every SolverError, a numerical breakdown included, is deterministic (the solver is): a retry would
      // fail the same way. Only a crashed thread or an internal error gets another attempt.
      return await failAttempt(error, ended.error.solver, last);
    }

    const { result } = ended;
    if (result.reason === 'aborted' && stopReason === 'shutdown') {
      // Hand the job back: the next worker to take it starts the solve over (START clears the iterates).
      log.info('handing the job back to the queue');
      await store.requeue(id, token);
      await job.moveToWait(bullToken);
      throw new WaitingError();
    }
    if (result.reason === 'aborted' && stopReason === 'lost') {
      throw new Error('another worker has taken this job over');
    }
    await recordSeconds(ended.seconds);
    const state = result.reason === 'aborted' ? 'cancelled' : 'succeeded';
    const done = await store.finish(current, token, { state, result, progress: last }, finishedAt);
    log.info({ state, reason: result.reason, iterations: result.iterations, recorded: done }, 'solve ended');

    /** Best effort: a metric must never fail a solve. */
    async function recordSeconds(seconds: number): Promise<void> {
      await store
        .recordSolveSeconds(seconds)
        .catch((error) => log.warn({ err: error }, 'solve time not recorded'));
    }

    async function failAttempt(error: JobError, unrecoverable: boolean, lastProgress?: JobProgress | null) {
      const final = unrecoverable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) {
        await store.finish(
          current,
          token,
          { state: 'failed', error, progress: lastProgress ?? null },
          Date.now(),
        );
        log.warn({ code: error.code, message: error.message }, 'job failed');
      } else {
        await store.requeue(id, token);
        log.warn({ code: error.code, message: error.message }, 'attempt failed; the job will be retried');
      }
      const text = `${error.code}: ${error.message}`;
      throw unrecoverable ? new UnrecoverableError(text) : new Error(text);
    }
  }

  const worker = new Worker<SolveJobData>(opts.queueName ?? DEFAULT_QUEUE_NAME, processJob, {
    connection: {
      url: opts.redisUrl,
      maxRetriesPerRequest: null,
      retryStrategy: reconnect,
      connectionName: 'levinv-worker-bullmq',
    },
    prefix: keys.bullPrefix,
    concurrency: opts.concurrency,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    // one crash of a worker mid-solve is recovered; a job that kills workers twice is failed
    maxStalledCount: 1,
  });
  // Without a listener, an 'error' (e.g. Redis going away) would crash the process.
  worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
  worker.on('stalled', (jobId) =>
    logger.warn({ jobId }, 'job stalled (its worker died?); it will be retried'),
  );
  worker.on('failed', (job, error) => {
    // Only BullMQ's own final failures need recording here (a job that stalled too often never reaches the
    // processor); the processor has already finished the others, and FINISH then changes nothing.
    if (!job?.finishedOn) return;
    const id = job.data.jobId ?? job.id;
    void (async () => {
      const meta = await store.readMeta(id);
      if (!meta || isFinished(meta.state)) return;
      await store.finish(meta, '', { state: 'failed', error: internal(error.message) }, Date.now());
      logger.warn({ jobId: id, err: error }, 'job failed in the queue');
    })().catch((err) => logger.error({ err, jobId: id }, 'could not record a failure'));
  });

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        const handBack = setTimeout(() => {
          handingBack = true;
          for (const stop of running.values()) stop('shutdown');
        }, opts.handBackAfterMs ?? 5000);
        try {
          // With Redis gone, BullMQ's graceful close waits for its connections forever: after the
          // hand-back period plus a margin, force it and drop the connections.
          const graceful = worker.close();
          const forced = await Promise.race([
            graceful.then(() => false),
            delay((opts.handBackAfterMs ?? 5000) + FORCE_CLOSE_MARGIN_MS).then(() => true),
          ]);
          if (forced) {
            logger.warn('the worker did not close in time (is Redis down?): forcing it');
            graceful.catch(() => undefined);
            await Promise.race([
              worker.close(true).then(() => worker.disconnect()),
              delay(FORCE_CLOSE_MARGIN_MS),
            ]);
          }
        } catch (error) {
          logger.warn({ err: error }, 'closing the worker');
        } finally {
          clearTimeout(handBack);
        }
        await pool.close();
        await closeConnection(redis);
      })();
      return closing;
    },
  };
}

const internal = (message: string): JobError => ({ code: 'INTERNAL', message });

/** How long past the hand-back period a close may wait for Redis before it is forced. */
const FORCE_CLOSE_MARGIN_MS = 3000;
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
