/**
 * `npm run api`: the HTTP API alone (workers run elsewhere: `npm run worker`). On SIGTERM/SIGINT it stops
 * taking requests, ends open event streams, finishes in-flight requests, then closes the job store and the
 * rate limiter's connection.
 */
import { buildApp } from '../api/app.js';
import { createJobService } from '../jobs/index.js';
import { startTracing } from '../telemetry/tracing.js';
import { DEFAULT_REDIS_URL } from './config.js';
import { createRateLimitRedis } from './rate-limit-redis.js';
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
  warnIfOpen,
} from './runtime.js';
import { appOptionsFromConfig, jobServiceOptionsFromConfig } from './service-options.js';

const PROGRAM = 'levinv api';

async function main(): Promise<void> {
  const config = loadConfigOrExit(PROGRAM);
  const auth = loadAuthOrExit(PROGRAM, config);
  const logger = createLogger(config, 'levinv-api');
  // before the app and the queue exist: they install their instrumentation only when tracing is on
  const tracing = startTracing(config, 'levinv-api');
  const redisUrl = config.REDIS_URL ?? DEFAULT_REDIS_URL;
  const jobs = await createJobService({ redisUrl, logger, ...jobServiceOptionsFromConfig(config) });
  const rateLimit = createRateLimitRedis(redisUrl, logger);
  const app = buildApp({
    jobs,
    logger,
    ...appOptionsFromConfig(config, auth),
    rateLimitRedis: rateLimit.redis,
  });
  try {
    await app.listen({ host: config.HOST, port: config.PORT });
  } catch (error) {
    await rateLimit.close();
    await jobs.close();
    throw error;
  }
  warnIfOpen(logger, auth);
  logger.info(
    {
      url: listenUrl(app.server),
      redis: redactUrl(redisUrl),
      keyPrefix: config.KEY_PREFIX,
      apiKeys: auth?.keys.size ?? 0,
      address: boundAddress(app.server),
    },
    `API listening on ${listenUrl(app.server)}, ${listenReach(app.server)} (API reference at /docs)`,
  );
  onShutdown(logger, async () => {
    await app.close();
    await rateLimit.close();
    await jobs.close();
    await tracing?.shutdown();
  });
}

main().catch((error: unknown) => exitWithError(PROGRAM, error));
