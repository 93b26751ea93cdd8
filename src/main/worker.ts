/**
 * `npm run worker`: a worker process. Takes solve jobs from the queue until SIGTERM/SIGINT, then stops
 * taking jobs, lets running solves finish (or hands them back after a grace period) and exits.
 */
import { pino } from 'pino';
import { startWorkers } from '../jobs/index.js';
import { ConfigError, DEFAULT_REDIS_URL, loadConfig } from './config.js';

/** EX_CONFIG from sysexits: the environment is wrong, restarting will not help. */
const EXIT_CONFIG = 78;
/** A shutdown that takes longer than this (Redis gone, a stuck close) exits anyway. */
const SHUTDOWN_LIMIT_MS = 30_000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`levinv worker: ${error.message.replace(/\s*\n\s*/g, ' ')}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }

  const logger = pino({ level: config.LOG_LEVEL, name: 'levinv-worker' });
  const redisUrl = config.REDIS_URL ?? DEFAULT_REDIS_URL;
  const workers = await startWorkers({
    redisUrl,
    keyPrefix: config.KEY_PREFIX,
    jobTtlSeconds: config.JOB_TTL_SECONDS,
    concurrency: config.WORKER_CONCURRENCY,
    logger,
  });
  logger.info(
    { redis: redactUrl(redisUrl), concurrency: config.WORKER_CONCURRENCY, keyPrefix: config.KEY_PREFIX },
    'worker started',
  );

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
    workers.close().then(
      () => {
        logger.info('worker stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`levinv worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
