/**
 * `npm start`: the API and the workers in one process, for development and small deployments. With
 * REDIS_URL unset it uses the Redis on the default address if one answers, and otherwise runs a private
 * redis-server (no persistence) for as long as it runs.
 */
import { buildApp } from '../api/app.js';
import { ApiMetrics } from '../api/metrics.js';
import { createJobService, startWorkers } from '../jobs/index.js';
import { WorkerMetrics } from '../jobs/worker-metrics.js';
import { startTracing } from '../telemetry/tracing.js';
import { DEFAULT_REDIS_URL } from './config.js';
import { RedisServerMissingError } from './local-redis.js';
import { createRateLimitRedis } from './rate-limit-redis.js';
import { resolveRedis } from './redis-address.js';
import {
  boundAddress,
  createLogger,
  exitWithError,
  listenReach,
  listenUrl,
  loadAuthOrExit,
  loadConfigOrExit,
  onShutdown,
  redactUrl,
  useKernelsOrExit,
  warnIfOpen,
} from './runtime.js';
import {
  appOptionsFromConfig,
  jobServiceOptionsFromConfig,
  workerOptionsFromConfig,
} from './service-options.js';

const PROGRAM = 'levinv';
async function main(): Promise<void> {
  const config = loadConfigOrExit(PROGRAM);
  const auth = loadAuthOrExit(PROGRAM, config);
  const kernels = useKernelsOrExit(PROGRAM, config.LEVINV_KERNELS);
  const logger = createLogger(config, 'levinv');

  let resolved: Awaited<ReturnType<typeof resolveRedis>>;
  try {
    resolved = await resolveRedis(config.REDIS_URL, DEFAULT_REDIS_URL);
  } catch (error) {
    if (error instanceof RedisServerMissingError) exitWithError(PROGRAM, error);
    throw error;
  }
  const { url: redisUrl, local } = resolved;
  if (local)
    logger.info({ redis: local.url }, `no Redis at ${DEFAULT_REDIS_URL}: started a private redis-server`);

  const common = { redisUrl, keyPrefix: config.KEY_PREFIX, jobTtlSeconds: config.JOB_TTL_SECONDS, logger };
  // Built up in order, torn down in reverse: requests first, then workers, then the store, then Redis.
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  if (local) closers.push(local.stop);
  // before the app, the queue and the workers: they install their instrumentation only when tracing is on
  const tracing = startTracing(config, 'levinv');
  if (tracing) closers.push(() => tracing.shutdown());
  try {
    const jobs = await createJobService({ ...common, ...jobServiceOptionsFromConfig(config) });
    closers.push(() => jobs.close());
    // one process, one /metrics: the workers' solve counters go into the API's registry
    const metrics = new ApiMetrics();
    const workerMetrics = new WorkerMetrics(metrics.registry);
    const workers = await startWorkers({
      ...common,
      ...workerOptionsFromConfig(config),
      metrics: workerMetrics,
    });
    closers.push(() => workers.close());
    const rateLimit = createRateLimitRedis(redisUrl, logger);
    closers.push(() => rateLimit.close());
    const app = buildApp({
      jobs,
      logger,
      ...appOptionsFromConfig(config, auth),
      rateLimitRedis: rateLimit.redis,
      metrics,
    });
    closers.push(() => app.close());
    await app.listen({ host: config.HOST, port: config.PORT });
    warnIfOpen(logger, auth);
    logger.info(
      {
        url: listenUrl(app.server),
        redis: redactUrl(redisUrl),
        workers: config.WORKER_CONCURRENCY,
        keyPrefix: config.KEY_PREFIX,
        apiKeys: auth?.keys.size ?? 0,
        kernels,
        solverThreads: workerOptionsFromConfig(config).solverThreads,
        address: boundAddress(app.server),
      },
      `levinv listening on ${listenUrl(app.server)}, ${listenReach(app.server)} (API reference at /docs)`,
    );
  } catch (error) {
    // Never leave a private redis-server behind.
    await closeAll().catch(() => undefined);
    throw error;
  }
  onShutdown(logger, closeAll);
}

main().catch((error: unknown) => exitWithError(PROGRAM, error));
