/**
 * What the configuration means for the app and for the workers: the per-key and per-job limits, and the
 * worker settings, under the names the app and startWorkers take.
 */
import type { AppDeps } from '../api/app.js';
import type { AuthOptions } from '../api/auth.js';
import type { Limits } from '../api/limits.js';
import type { JobServiceOptions, StartWorkersOptions } from '../jobs/index.js';
import { defaultSolverThreads } from '../solver/index.js';
import type { WebhookDeliveryOptions } from '../webhooks/delivery-worker.js';
import { webhookListener } from '../webhooks/job-listener.js';
import type { Config } from './config.js';

export function limitsFromConfig(config: Config): Limits {
  return {
    ratePerSecond: config.RATE_LIMIT_PER_SECOND,
    maxActiveJobsPerKey: config.MAX_ACTIVE_JOBS_PER_KEY,
    maxHeldRequestsPerKey: config.MAX_HELD_REQUESTS_PER_KEY,
    authFailures: { limit: config.AUTH_FAILURE_LIMIT, windowSeconds: config.AUTH_FAILURE_WINDOW_SECONDS },
    maxProblemCells: config.MAX_PROBLEM_CELLS,
    maxSolveSeconds: config.MAX_SOLVE_SECONDS,
    maxIterations: config.MAX_ITERATIONS,
    maxSolveMemoryMb: config.MAX_SOLVE_MEMORY_MB,
    ...(config.WEBHOOK_SECRET ? { webhooksEnabled: true } : {}),
  };
}

/** The webhook delivery settings of startWorkers; undefined without WEBHOOK_SECRET (none delivered here). */
export function webhookOptionsFromConfig(config: Config): WebhookDeliveryOptions | undefined {
  if (!config.WEBHOOK_SECRET) return undefined;
  return {
    secret: config.WEBHOOK_SECRET,
    allowHosts: (config.WEBHOOK_ALLOW_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
    ...(config.WEBHOOK_TIMEOUT_MS ? { timeoutMs: config.WEBHOOK_TIMEOUT_MS } : {}),
    ...(config.WEBHOOK_BACKOFF_MS ? { backoffMs: config.WEBHOOK_BACKOFF_MS } : {}),
    ...(config.WEBHOOK_CONCURRENCY ? { concurrency: config.WEBHOOK_CONCURRENCY } : {}),
    ...(config.WEBHOOK_CONCURRENCY_PER_KEY ? { perKeyConcurrency: config.WEBHOOK_CONCURRENCY_PER_KEY } : {}),
  };
}

/** The HTTP settings of buildApp besides the job service, logger, keys and limits. */
export function httpOptionsFromConfig(config: Config) {
  return {
    maxBodyBytes: config.MAX_BODY_BYTES,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    maxEventLoopDelayMs: config.MAX_EVENT_LOOP_DELAY_MS,
    parseDeadlineMs: config.PARSE_DEADLINE_MS,
    uploads: {
      max: config.MAX_LARGE_UPLOADS,
      maxPerKey: config.MAX_LARGE_UPLOADS_PER_KEY,
      minBytesPerSecond: config.MIN_UPLOAD_BYTES_PER_SECOND,
      graceMs: config.UPLOAD_GRACE_MS,
    },
  };
}

/** Everything buildApp takes from the configuration (the entry points add the job service, logger, Redis). */
export function appOptionsFromConfig(config: Config, auth: AuthOptions | undefined) {
  return {
    ...httpOptionsFromConfig(config),
    limits: limitsFromConfig(config),
    ...(auth ? { auth } : {}),
  } satisfies Partial<AppDeps>;
}

/** The settings of createJobService besides the connection and logger. */
export function jobServiceOptionsFromConfig(config: Config) {
  return {
    keyPrefix: config.KEY_PREFIX,
    jobTtlSeconds: config.JOB_TTL_SECONDS,
    maxRecordedIterates: config.MAX_RECORDED_ITERATES,
    // a queued job's cancel queues its `completed` webhook message here
    listeners: [webhookListener()],
  } satisfies Partial<JobServiceOptions>;
}

/** The settings of startWorkers besides the connection, key prefix and logger. */
export function workerOptionsFromConfig(config: Config) {
  return {
    jobTtlSeconds: config.JOB_TTL_SECONDS,
    concurrency: config.WORKER_CONCURRENCY,
    lockDurationMs: config.LOCK_DURATION_MS,
    stalledIntervalMs: config.STALLED_INTERVAL_MS,
    maxResumes: config.MAX_RESUMES,
    maxSolveSeconds: config.MAX_SOLVE_SECONDS,
    maxIterations: config.MAX_ITERATIONS,
    maxRecordedIterates: config.MAX_RECORDED_ITERATES,
    maxSolveMemoryMb: config.MAX_SOLVE_MEMORY_MB,
    solverThreads: config.SOLVER_THREADS ?? defaultSolverThreads(config.WORKER_CONCURRENCY),
    // every worker queues its jobs' webhook messages; with WEBHOOK_SECRET set it delivers them too
    listeners: [webhookListener(webhookOptionsFromConfig(config))],
  } satisfies Partial<StartWorkersOptions>;
}
