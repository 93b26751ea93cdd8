/**
 * The consumer side of the job layer: a BullMQ Worker whose processor (process-job.ts) hands each solve to
 * a thread of a SolveThreadPool, follows cancels (cancel-watch.ts), records what BullMQ decides on its own
 * (queue-failures.ts), answers the healthcheck (liveness.ts) and closes in order (shutdown.ts). What a job
 * goes through, state by state, is the transition table (../transitions.ts). Who ends a job how:
 * - succeeded / cancelled (while running): the attempt that ran it, by SEAL, FINISH and CLOSE with its
 *   attempt token; cancelled also when the next attempt finds the cancel flag at its start.
 * - cancelled (queued): the API's cancel; a worker that then takes the BullMQ job finds it finished.
 * - failed: the attempt, for a problem the solver rejects, a time limit hit before the first iterate or a
 *   thread out of memory (no retry), and for the last failed attempt; BullMQ itself for a job that stalled
 *   more than maxResumes times.
 * - a worker that dies mid-solve: its lock expires, BullMQ's stalled check (in any other worker) moves the
 *   job back to wait and it is marked queued; the next start takes it over with a new token (the old one is
 *   then refused) and resumes from the last checkpoint. So does a worker that shuts down (hand-back).
 * - a worker that dies after FINISH but before CLOSE: BullMQ hands the job out again, and the worker that
 *   finds it finished closes it.
 */
import { Worker } from 'bullmq';
import { type Logger, pino } from 'pino';
import { DEFAULT_JOB_LIMITS, type JobLimits } from '../../limits/job-limits.js';
import { queueTelemetry } from '../../telemetry/instrumentation.js';
import { JobEvents, type JobListenerFactory } from '../job-events.js';
import { Keys } from '../keys.js';
import { safeLogger } from '../log-safety.js';
import { DEFAULT_QUEUE_NAME, type SolveJobData } from '../queue.js';
import { connect, createClient, isClusterUrl, reconnect, WORKER_OPTIONS } from '../redis.js';
import { JobStore } from '../store.js';
import { SolveThreadPool, solveThreadHeapMb } from '../thread-pool.js';
import { Wakeups } from '../wakeups.js';
import type { WorkerMetrics } from '../worker-metrics.js';
import { isAlive } from './liveness.js';
import { jobProcessor, type StopReason } from './process-job.js';
import { recordQueueFailures } from './queue-failures.js';
import { shutDown } from './shutdown.js';

export interface StartWorkersOptions extends Partial<Pick<JobLimits, 'maxSolveSeconds' | 'maxIterations'>> {
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
  /** iterates stored per job (the first limit - 1, then the last); default DEFAULT_JOB_LIMITS */
  maxRecordedIterates?: number;
  /** a solve thread's heap limit is this plus headroom (thread-pool.ts); default DEFAULT_JOB_LIMITS */
  maxSolveMemoryMb?: number;
  /**
   * how often a running job's cancel flag is read unwoken; default 15 s with push, 2 s without. Cancels are
   * pushed and progress writes return the flag: this safety read only catches a publish missed while the
   * subscriber reconnected
   */
  cancelPollMs?: number;
  /** follow cancels by push (needs Redis 7); default true. False leaves the progress replies and the poll. */
  cancelPush?: boolean;
  /**
   * a solve is followed by push once it has run this long (then its flag is read once, as after any
   * subscription): most small jobs are over by then. A cancel raised before DATA_START is found there;
   * default 25 ms
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
  /** told when a job starts, progresses and finishes: e.g. the webhooks (src/main wires them) */
  listeners?: readonly JobListenerFactory[];
  /** this process's solve counters (worker-metrics.ts); absent: none kept */
  metrics?: WorkerMetrics;
}

export interface WorkerHandle {
  /** Idempotent: stop taking jobs, let running solves finish (or hand them back), close everything. */
  close(): Promise<void>;
  /** True while this worker can take jobs (liveness.ts); `timeoutMs` (default 2 s) bounds the Redis probe. */
  alive(timeoutMs?: number): Promise<boolean>;
}

export async function startWorkers(opts: StartWorkersOptions): Promise<WorkerHandle> {
  const logger = safeLogger(opts.logger ?? pino({ level: 'silent' }), opts.redisUrl);
  const keys = new Keys(opts.keyPrefix);
  const maxResumes = opts.maxResumes ?? 5;
  const caps = {
    maxSolveSeconds: opts.maxSolveSeconds ?? DEFAULT_JOB_LIMITS.maxSolveSeconds,
    maxIterations: opts.maxIterations ?? DEFAULT_JOB_LIMITS.maxIterations,
    maxRecordedIterates: opts.maxRecordedIterates ?? DEFAULT_JOB_LIMITS.maxRecordedIterates,
  };
  const heapMb = solveThreadHeapMb(opts.maxSolveMemoryMb ?? DEFAULT_JOB_LIMITS.maxSolveMemoryMb);
  const pool = new SolveThreadPool(opts.concurrency, heapMb, opts.threadFile, opts.solverThreads);
  const redis = connect(
    opts.redisUrl,
    WORKER_OPTIONS,
    (error) => logger.warn({ err: error }, 'worker store connection error'),
    'levinv-worker',
  );
  const store = new JobStore(redis, keys, opts.jobTtlSeconds);
  const events = new JobEvents(opts.listeners ?? [], { redisUrl: opts.redisUrl, redis, keys, store, logger });
  /** one subscriber for the whole process: the cancel channels of the jobs running here */
  const wakeups =
    opts.cancelPush === false ? null : new Wakeups(opts.redisUrl, 'levinv-worker-wakeups', logger);
  const running = new Map<string, (why: StopReason) => void>();
  let handingBack = false;
  const processor = jobProcessor({
    store,
    redis,
    keys,
    pool,
    caps,
    heapMb,
    events,
    wakeups,
    flushMs: opts.flushMs ?? 100,
    cancelFollowAfterMs: opts.cancelFollowAfterMs ?? 25,
    cancelPollMs: opts.cancelPollMs ?? (wakeups ? 15_000 : 2000),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    logger,
    running,
    handingBack: () => handingBack,
  });

  // A standalone Redis: BullMQ makes (and closes) its connections from these options. A Redis Cluster:
  // BullMQ takes a Cluster instance (its keys share the `{bullmq}` tag, one slot), duplicates it for its
  // blocking connection, and leaves closing it to us.
  const bullCluster = isClusterUrl(opts.redisUrl)
    ? createClient(opts.redisUrl, WORKER_OPTIONS, 'levinv-worker-bullmq')
    : null;
  bullCluster?.on('error', (error) => logger.warn({ err: error }, 'worker queue connection error'));
  const worker = new Worker<SolveJobData>(opts.queueName ?? DEFAULT_QUEUE_NAME, processor, {
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
  recordQueueFailures(worker, store, maxResumes, logger);

  let closing: Promise<void> | undefined;
  return {
    alive: (timeoutMs = 2000) => isAlive(worker, redis, keys, closing !== undefined, timeoutMs),
    close() {
      closing ??= shutDown({
        worker,
        pool,
        events,
        wakeups,
        bullCluster,
        redis,
        running,
        handBackAfterMs: opts.handBackAfterMs ?? 5000,
        startHandingBack: () => {
          handingBack = true;
        },
        logger,
      });
      return closing;
    },
  };
}
