/**
 * `npm run worker`: a worker process. Takes solve jobs from the queue until SIGTERM/SIGINT, then stops
 * taking jobs, lets running solves finish (or hands them back after a grace period) and exits.
 */
import { startWorkers } from '../jobs/index.js';
import { startTracing } from '../telemetry/tracing.js';
import { DEFAULT_REDIS_URL } from './config.js';
import { startHeartbeat } from './health.js';
import {
  createLogger,
  exitWithError,
  listenUrl,
  loadAuthOrExit,
  loadConfigOrExit,
  onShutdown,
  redactUrl,
  useKernelsOrExit,
} from './runtime.js';
import { workerOptionsFromConfig } from './service-options.js';
import { startWorkerMetrics } from './worker-metrics-server.js';

const PROGRAM = 'levinv worker';

async function main(): Promise<void> {
  const config = loadConfigOrExit(PROGRAM);
  const kernels = useKernelsOrExit(PROGRAM, config.LEVINV_KERNELS);
  // the same rule for /metrics as the API's, when the worker serves one (WORKER_METRICS_PORT)
  const auth = config.WORKER_METRICS_PORT === undefined ? undefined : loadAuthOrExit(PROGRAM, config);
  const logger = createLogger(config, 'levinv-worker');
  // before the workers exist: they install their instrumentation only when tracing is on
  const tracing = startTracing(config, 'levinv-worker');
  const redisUrl = config.REDIS_URL ?? DEFAULT_REDIS_URL;
  const metrics =
    config.WORKER_METRICS_PORT === undefined
      ? undefined
      : await startWorkerMetrics({ host: config.HOST, port: config.WORKER_METRICS_PORT, auth });
  // the same settings as `npm start` (concurrency, TTL, lock/stalled timing, MAX_RESUMES and the caps)
  const workers = await startWorkers({
    redisUrl,
    keyPrefix: config.KEY_PREFIX,
    logger,
    ...workerOptionsFromConfig(config),
    ...(metrics ? { metrics: metrics.workerMetrics } : {}),
  });
  logger.info(
    {
      redis: redactUrl(redisUrl),
      concurrency: config.WORKER_CONCURRENCY,
      keyPrefix: config.KEY_PREFIX,
      lockDurationMs: config.LOCK_DURATION_MS,
      stalledIntervalMs: config.STALLED_INTERVAL_MS,
      maxResumes: config.MAX_RESUMES,
      kernels,
      solverThreads: workerOptionsFromConfig(config).solverThreads,
      ...(metrics ? { metrics: `${listenUrl(metrics.server)}/metrics` } : {}),
    },
    'worker started',
  );
  // for a container healthcheck (healthcheck.ts): a file rewritten while the worker is alive
  const heartbeat = config.WORKER_HEALTH_FILE
    ? startHeartbeat(config.WORKER_HEALTH_FILE, () => workers.alive())
    : undefined;
  onShutdown(logger, async () => {
    await heartbeat?.stop();
    await workers.close();
    await metrics?.close();
    await tracing?.shutdown();
  });
}

main().catch((error: unknown) => exitWithError(PROGRAM, error));
