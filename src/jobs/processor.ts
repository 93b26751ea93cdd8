/**
 * The consumer side: a BullMQ Worker whose processor hands each solve to a thread of a SolveThreadPool and,
 * on the main thread, keeps BullMQ's lock renewed, writes the iterates and checkpoints the thread reports,
 * and watches the job's cancel flag. A cancel reaches a running solve three ways: pushed (the FLAG script
 * publishes on the job's cancel channel, which this process's one subscriber follows while the job runs
 * here, from cancelFollowAfterMs into the run on, reading the flag once then), in the reply of the next
 * progress write (PROGRESS returns the flag), and by a slow fallback read of the flag (cancelPollMs) for a
 * publish missed while the subscriber was away. A flag raised before the run starts is found by DATA_START.
 *
 * Round trips of a small job (issue #8): START, DATA_START (which returns the problem blob), the solve's
 * last iterates stored with its result (SEAL_BATCH), FINISH (which also counts the solve in the
 * histogram), CLOSE; a job that ends within cancelFollowAfterMs is never subscribed to.
 *
 * Who ends a job how:
 * - succeeded / cancelled (while running): the attempt that ran it, by SEAL, FINISH and CLOSE with its
 *   attempt token (store.ts); cancelled also when the next attempt finds the cancel flag at its start.
 * - cancelled (queued): the API's cancel; a worker that then takes the BullMQ job finds it finished.
 * - failed: the attempt, for a problem the solver rejects, a time limit hit before the first iterate or a
 *   thread out of memory (no retry: UnrecoverableError), and for the last failed attempt; BullMQ itself for
 *   a job that stalled more than maxResumes times (our 'failed' listener records that).
 * - a worker that dies mid-solve: its lock expires, BullMQ's stalled check (in any other worker) moves the
 *   job back to wait and we mark it queued; the next start takes it over with a new token (the old one is
 *   then refused) and resumes from the last checkpoint. So does a worker that shuts down (hand-back).
 * - a worker that dies after FINISH but before CLOSE: BullMQ hands the job out again, and the worker that
 *   finds it finished closes it (its done event).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { type Logger, pino } from 'pino';
import type { Checkpoint } from '../solver/index.js';
import { queueTelemetry } from '../telemetry/instrumentation.js';
import { notifyWebhooks } from '../webhooks/delivery-queue.js';
import { startWebhookDelivery, type WebhookDeliveryOptions } from '../webhooks/delivery-worker.js';
import { Keys } from './keys.js';
import { safeLogger } from './log-safety.js';
import { toAlignedArrayBuffer } from './problem-blob.js';
import { ProgressWriter } from './progress-writer.js';
import { DEFAULT_QUEUE_NAME, type SolveJobData } from './queue.js';
import { closeConnection, connect, createClient, isClusterUrl, reconnect, WORKER_OPTIONS } from './redis.js';
import { capOptions, recordLimit, type SolveCaps } from './solve-caps.js';
import { observeSolve } from './solve-observer.js';
import { CANCELLED_ERROR, type JobMeta, JobStore, toView } from './store.js';
import { SolveThreadPool, solveThreadHeapMb, ThreadCrashError } from './thread-pool.js';
import type { ThreadOutcome, ThreadTask } from './thread-protocol.js';
import { isFinished, type JobError, type JobProgress, type JobState } from './types.js';
import { type Follow, Wakeups } from './wakeups.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface StartWorkersOptions {
  redisUrl: string;
  keyPrefix: string;
  jobTtlSeconds: number;
  /** jobs solved at once (one thread each) */
  concurrency: number;
  queueName?: string;
  logger?: Logger;
  /**
   * BullMQ lock duration; default 15 s (renewed every half of it). A dead worker's job is taken over after
   * at most lockDurationMs + stalledIntervalMs, plus the time a free worker needs to pick it up.
   */
  lockDurationMs?: number;
  /** BullMQ stalled-job check interval; default 10 s */
  stalledIntervalMs?: number;
  /** how many worker deaths one job survives, resuming from its checkpoint each time; default 5 */
  maxResumes?: number;
  /** caps options.maxSeconds (and is its value when absent); default 3600 */
  maxSolveSeconds?: number;
  /** caps options.maxIterations; default 100000 */
  maxIterations?: number;
  /** iterates stored per job (the first limit - 1, then the last); default 10000 */
  maxRecordedIterates?: number;
  /** a solve thread's heap limit is this plus headroom (thread-pool.ts); default 2048 */
  maxSolveMemoryMb?: number;
  /**
   * how often a running job's cancel flag is read anyway (a fallback: cancels are pushed, and progress
   * writes return the flag); default 2000 ms
   */
  cancelPollMs?: number;
  /** follow cancels by push (needs Redis 7); default true. False leaves the progress replies and the poll. */
  cancelPush?: boolean;
  /**
   * a solve is followed by push once it has run this long (then its flag is read once, as after any
   * subscription): most small jobs are over by then, and a job that ends sooner is spared a subscribe, an
   * unsubscribe and a read. A cancel raised before DATA_START is found there; default 25 ms
   */
  cancelFollowAfterMs?: number;
  /** at most one iterates/progress write per job per this many ms (plus the last); default 100 ms */
  flushMs?: number;
  /** on close(), how long running solves may go on before they are handed back to the queue; default 5 s */
  handBackAfterMs?: number;
  /** the solve thread's script (tests); default the compiled solve-thread.js */
  threadFile?: URL;
  /** threads each solve splits its row loops over (SOLVER_THREADS); default 1 */
  solverThreads?: number;
  /** deliver webhooks from this process (WEBHOOK_SECRET set); jobs' messages are queued either way */
  webhooks?: WebhookDeliveryOptions;
  /** this process's solve counters (worker-metrics.ts); absent: none kept */
  metrics?: WorkerMetrics;
}

export interface WorkerHandle {
  /** Idempotent: stop taking jobs, let running solves finish (or hand them back), close everything. */
  close(): Promise<void>;
  /**
   * True while the BullMQ worker runs, is not closing, and this process's Redis connection answers PING
   * within `timeoutMs` (default 2 s): what a container healthcheck wants to know (worker-health.ts).
   */
  alive(timeoutMs?: number): Promise<boolean>;
}

/** Why a running solve was asked to stop. */
type StopReason = 'cancel' | 'shutdown' | 'lost';

/** Which process holds a job (the state hash's `holder`): for operators, and for tests that kill it. */
const HOLDER = `${hostname()}:${process.pid}`;

export async function startWorkers(opts: StartWorkersOptions): Promise<WorkerHandle> {
  const logger = safeLogger(opts.logger ?? pino({ level: 'silent' }), opts.redisUrl);
  const keys = new Keys(opts.keyPrefix);
  const queueName = opts.queueName ?? DEFAULT_QUEUE_NAME;
  const maxResumes = opts.maxResumes ?? 5;
  const caps: SolveCaps = {
    maxSolveSeconds: opts.maxSolveSeconds ?? 3600,
    maxIterations: opts.maxIterations ?? 100_000,
    maxRecordedIterates: opts.maxRecordedIterates ?? 10_000,
  };
  const heapMb = solveThreadHeapMb(opts.maxSolveMemoryMb ?? 2048);
  const pool = new SolveThreadPool(opts.concurrency, heapMb, opts.threadFile, opts.solverThreads);
  const redis = connect(
    opts.redisUrl,
    WORKER_OPTIONS,
    (error) => logger.warn({ err: error }, 'worker store connection error'),
    'levinv-worker',
  );
  const store = new JobStore(redis, keys, opts.jobTtlSeconds);
  // Webhooks: messages are queued here (never awaited by a solve) and delivered by their own worker.
  const { queue: webhookQueue, notifier } = notifyWebhooks(store, redis, keys, logger);
  const webhooks = opts.webhooks
    ? startWebhookDelivery(opts.webhooks, { redisUrl: opts.redisUrl, keys, store, logger })
    : undefined;
  const cancelPollMs = opts.cancelPollMs ?? 2000;
  /** one subscriber for the whole process: the cancel channels of the jobs running here */
  const wakeups =
    opts.cancelPush === false ? null : new Wakeups(opts.redisUrl, 'levinv-worker-wakeups', logger);
  const flushMs = opts.flushMs ?? 100;
  const cancelFollowAfterMs = opts.cancelFollowAfterMs ?? 25;
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
        : (started.blob ?? (await redis.getBuffer(keys.data(id).problem)));
    if (!blob) {
      await store.finish(
        current,
        token,
        { state: 'failed', error: internal('the problem data is missing') },
        Date.now(),
      );
      throw new UnrecoverableError('the problem data is missing');
    }
    const task: ThreadTask = { blob: toAlignedArrayBuffer(blob), options, flushMs, recordLimit: limit };
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

    let stopReason: StopReason | null = null;
    const writer = new ProgressWriter(
      store,
      id,
      token,
      started.recorded,
      () => stop('lost'),
      log,
      () => stop('cancel'),
    );
    if (meta.startedAt === null) notifier.started(current, toView(current, started.recorded));
    const solve = pool.run(task, (batch) => {
      if (batch.truncated) current.truncated = true;
      writer.push(batch);
      const { progress } = batch;
      if (progress) {
        notifier.progressed(current, progress, () =>
          toView(
            { ...current, progress },
            Math.min(writer.recorded + batch.records.length, current.recordLimit),
          ),
        );
      }
    });
    // a span and this process's counters (after run, which throws when the pool is closed)
    const observer = observeSolve(id, meta, task.resume?.checkpoint.iteration, opts.metrics);
    const stop = (why: StopReason): void => {
      if (stopReason) return;
      stopReason = why;
      log.info({ why }, 'stopping the solve');
      solve.abort();
    };
    running.set(id, stop);
    // a solve that got going after the shutdown grace ran out goes straight back
    if (handingBack) stop('shutdown');

    // Reads the flag: on a push (the flag is the truth, a message only says "look"), once the subscription
    // is in place (a cancel made between START and then was announced to nobody), and on the slow timer.
    let checking = false;
    let checkAgain = false;
    const checkCancel = (): void => {
      if (stopReason) return;
      if (checking) {
        checkAgain = true;
        return;
      }
      checking = true;
      store
        .isCancelRequested(id)
        .then((requested) => requested && stop('cancel'))
        .catch((error) => log.debug({ err: error }, 'cancel check failed'))
        .finally(() => {
          checking = false;
          if (checkAgain) {
            checkAgain = false;
            checkCancel();
          }
        });
    };
    let follow: Follow | undefined;
    const following = setTimeout(() => {
      if (stopReason) return;
      follow = wakeups?.follow(keys.data(id).cancel, checkCancel);
      void follow?.ready.then(checkCancel);
    }, cancelFollowAfterMs);
    const poll = setInterval(checkCancel, cancelPollMs);

    let ended: ThreadOutcome | Error;
    try {
      ended = await solve.done;
    } catch (error) {
      ended = error as Error;
    } finally {
      clearInterval(poll);
      clearTimeout(following);
      follow?.stop();
      running.delete(id);
    }
    observer.end(ended);
    // A solve that ends with its result (and is not being handed back) stores its last iterates along with
    // the result (SEAL_BATCH); any other end has them written first, as they came.
    const sealing =
      !(ended instanceof Error) &&
      ended.type === 'done' &&
      !(ended.result.reason === 'aborted' && (stopReason === 'shutdown' || stopReason === 'lost'));
    const tail = sealing ? writer.takePending() : null;
    await writer.drain();

    if (ended instanceof Error) {
      if (ended instanceof ThreadCrashError && ended.outOfMemory) {
        const message = `the solve ran out of memory (the solve thread's heap limit is ${heapMb} MB)`;
        return await failAttempt({ code: 'OUT_OF_MEMORY', message }, true);
      }
      // the thread died otherwise (a crash): worth another attempt
      return await failAttempt(internal(ended.message), false);
    }
    const { progress: last } = ended;

    if (ended.type === 'error') {
      const { code, message, field } = ended.error;
      // stopped before the first iterate existed: what stopped it decides
      if (code === 'ABORTED' && stopReason === 'shutdown') return await handBack();
      if (code === 'ABORTED' && stopReason === 'lost') throw lostError();
      if (code === 'ABORTED' && stopReason === 'cancel') {
        const error: JobError = { code: 'CANCELLED', message: 'cancelled before its first iterate' };
        await end('cancelled', { error, progress: last }, ended.seconds);
        return;
      }
      const error: JobError = field === undefined ? { code, message } : { code, message, field };
      // Every SolverError, TIME_LIMIT and a numerical breakdown included, is deterministic (the solver is):
      // a retry would fail the same way. Only a crashed thread or an internal error gets another attempt.
      return await failAttempt(error, ended.error.solver, last, ended.seconds);
    }

    const { result } = ended;
    if (result.reason === 'aborted' && stopReason === 'shutdown') return await handBack();
    if (result.reason === 'aborted' && stopReason === 'lost') throw lostError();
    const state = result.reason === 'aborted' ? 'cancelled' : 'succeeded';
    const done = await end(state, { result, progress: last }, ended.seconds);
    log.info({ state, reason: result.reason, iterations: result.iterations, recorded: done }, 'solve ended');

    /** FINISH, with the solve's time for the histogram (counted if this attempt finishes the job). */
    async function end(
      state: JobState,
      how: { result?: typeof result; error?: JobError; progress: JobProgress | null },
      seconds?: number,
    ): Promise<boolean> {
      return store.finish(
        current,
        token,
        {
          state,
          ...how,
          recorded: writer.recorded,
          ...(seconds === undefined ? {} : { seconds }),
          ...(tail && how.result ? { batch: tail } : {}),
        },
        Date.now(),
      );
    }

    /** Back to the queue with its checkpoint, for the next worker to resume (worker shutdown). */
    async function handBack(): Promise<never> {
      log.info('handing the job back to the queue');
      await store.requeue(current, token, true);
      await job.moveToWait(bullToken);
      throw new WaitingError();
    }

    async function failAttempt(
      error: JobError,
      unrecoverable: boolean,
      lastProgress?: JobProgress | null,
      seconds?: number,
    ): Promise<never> {
      const final = unrecoverable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) {
        await end('failed', { error, progress: lastProgress ?? null }, seconds);
        log.warn({ code: error.code, message: error.message }, 'job failed');
      } else {
        // a retry after an internal error starts over rather than trust the checkpoint
        await store.requeue(current, token, false);
        log.warn({ code: error.code, message: error.message }, 'attempt failed; the job will be retried');
      }
      const text = `${error.code}: ${error.message}`;
      throw unrecoverable ? new UnrecoverableError(text) : new Error(text);
    }
  }

  /**
   * BullMQ moved a job whose worker died back to wait: it is queued until a worker takes it, unless one
   * already has (then it is in the active list again, and its attempt number has moved on).
   */
  async function markStalled(jobId: string): Promise<void> {
    // Its attempt number first, its state second: an attempt that starts in between shows as active; one
    // that starts later either STARTs after STALLED or makes STALLED refuse (its attempt number is higher).
    const job = await Job.fromId<SolveJobData>(worker, jobId);
    if (!job || (await job.getState()) === 'active') return;
    if (await store.stalled(jobId, job.attemptsStarted)) {
      logger.info({ jobId }, 'stalled job marked queued until a worker takes it over');
    }
  }

  // A standalone Redis: BullMQ makes (and closes) its connections from these options. A Redis Cluster:
  // BullMQ takes a Cluster instance (its keys share the `{bullmq}` tag, one slot), duplicates it for its
  // blocking connection, and leaves closing it to us.
  const bullCluster = isClusterUrl(opts.redisUrl)
    ? createClient(opts.redisUrl, WORKER_OPTIONS, 'levinv-worker-bullmq')
    : null;
  bullCluster?.on('error', (error) => logger.warn({ err: error }, 'worker queue connection error'));
  const worker = new Worker<SolveJobData>(queueName, processJob, {
    connection: bullCluster ?? {
      url: opts.redisUrl,
      maxRetriesPerRequest: null,
      retryStrategy: reconnect,
      connectionName: 'levinv-worker-bullmq',
    },
    prefix: keys.bullPrefix,
    concurrency: opts.concurrency,
    lockDuration: opts.lockDurationMs ?? 15_000,
    stalledInterval: opts.stalledIntervalMs ?? 10_000,
    // each stall is a worker death survived (resumed from the checkpoint); one more fails the job
    maxStalledCount: maxResumes,
    ...queueTelemetry(),
  });
  // Without a listener, an 'error' (e.g. Redis going away) would crash the process.
  worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
  worker.on('stalled', (jobId) => {
    logger.warn({ jobId }, 'job stalled (its worker died?); another worker will resume it');
    markStalled(jobId).catch((err) => logger.warn({ err, jobId }, 'could not mark a stalled job queued'));
  });
  worker.on('failed', (job, error) => {
    // Only BullMQ's own final failures need recording here (a job that stalled too often never reaches the
    // processor); the processor has already finished the others, and FINISH then changes nothing.
    if (!job?.finishedOn) return;
    const id = job.data.jobId ?? job.id;
    const jobError = /stalled more than allowable limit/.test(error.message)
      ? {
          code: 'WORKER_LOST',
          message: `its worker stopped responding ${maxResumes + 1} times (at most ${maxResumes} are resumed)`,
        }
      : internal(error.message);
    void (async () => {
      const meta = await store.readMeta(id);
      if (!meta) return;
      if (isFinished(meta.state)) {
        await store.closeFinished(id);
        return;
      }
      await store.finish(meta, '', { state: 'failed', error: jobError }, Date.now());
      logger.warn({ jobId: id, err: error }, 'job failed in the queue');
    })().catch((err) => logger.error({ err, jobId: id }, 'could not record a failure'));
  });

  let closing: Promise<void> | undefined;
  return {
    async alive(timeoutMs = 2000) {
      if (closing || !worker.isRunning()) return false;
      // WORKER_OPTIONS retry a command forever while Redis is away: the race turns that into false. On a
      // Cluster any one node answers a PING, even while the cluster refuses keys (CLUSTERDOWN) or the
      // master of {bullmq} (the queue and the jobs' states) is away: a keyed read there instead.
      const probe = redis instanceof Cluster ? redis.exists(keys.all).then(() => 'PONG') : redis.ping();
      const pong = probe.then(
        (reply) => reply === 'PONG',
        () => false,
      );
      return Promise.race([pong, delay(timeoutMs).then(() => false)]);
    },
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
        await webhooks?.close();
        await webhookQueue.close().catch((error) => logger.warn({ err: error }, 'closing the webhook queue'));
        await wakeups?.close();
        if (bullCluster) await closeConnection(bullCluster);
        await closeConnection(redis);
      })();
      return closing;
    },
  };
}

const internal = (message: string): JobError => ({ code: 'INTERNAL', message });
const lostError = (): Error => new Error('another worker has taken this job over');

/** How long past the hand-back period a close may wait for Redis before it is forced. */
const FORCE_CLOSE_MARGIN_MS = 3000;
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
