/**
 * `npm run api`: the HTTP API alone (workers run elsewhere: `npm run worker`). On SIGTERM/SIGINT it stops
 * taking requests, ends open event streams, finishes in-flight requests, then closes the job store.
 */
import { buildApp } from '../api/app.js';
import { createJobService } from '../jobs/index.js';
import { DEFAULT_REDIS_URL } from './config.js';
import {
  createLogger,
  exitWithError,
  listenUrl,
  loadConfigOrExit,
  onShutdown,
  redactUrl,
} from './runtime.js';

const PROGRAM = 'levinv api';

async function main(): Promise<void> {
  const config = loadConfigOrExit(PROGRAM);
  const logger = createLogger(config, 'levinv-api');
  const redisUrl = config.REDIS_URL ?? DEFAULT_REDIS_URL;
  const jobs = await createJobService({
    redisUrl,
    keyPrefix: config.KEY_PREFIX,
    jobTtlSeconds: config.JOB_TTL_SECONDS,
    logger,
  });
  const app = buildApp({ jobs, logger, maxBodyBytes: config.MAX_BODY_BYTES });
  try {
    await app.listen({ host: config.HOST, port: config.PORT });
  } catch (error) {
    await jobs.close();
    throw error;
  }
  logger.info(
    { url: listenUrl(app.server), redis: redactUrl(redisUrl), keyPrefix: config.KEY_PREFIX },
    'API listening (API reference at /docs)',
  );
  onShutdown(logger, async () => {
    await app.close();
    await jobs.close();
  });
}

main().catch((error: unknown) => exitWithError(PROGRAM, error));
