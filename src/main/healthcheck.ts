/**
 * A container healthcheck: `node dist/main/healthcheck.js api` (the API answers /readyz, so it reaches
 * Redis) or `node dist/main/healthcheck.js worker` (the worker's WORKER_HEALTH_FILE is fresh: its queue
 * runs and its Redis connection answered a PING lately). Exit 0 healthy, 1 unhealthy (with one line on
 * stderr), 2 on a wrong argument or configuration.
 * An entry point of its own, and no shell needed, so that compose files can run it as
 * `["CMD", "node", "dist/main/healthcheck.js", "api"]` (some compose implementations mangle quoting).
 */
import { loadConfig } from './config.js';
import { notReady, readyUrl, staleHeartbeat } from './health.js';

const PROGRAM = 'levinv healthcheck';

async function main(): Promise<number> {
  const role = process.argv[2];
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${PROGRAM}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  let problem: string | undefined;
  if (role === 'api') {
    problem = await notReady(readyUrl(config.HOST, config.PORT));
  } else if (role === 'worker') {
    if (!config.WORKER_HEALTH_FILE) {
      process.stderr.write(`${PROGRAM}: WORKER_HEALTH_FILE is not set (the worker writes no heartbeat)\n`);
      return 2;
    }
    problem = await staleHeartbeat(config.WORKER_HEALTH_FILE);
  } else {
    process.stderr.write(`usage: ${PROGRAM} api|worker\n`);
    return 2;
  }
  if (problem) process.stderr.write(`${PROGRAM}: unhealthy: ${problem}\n`);
  return problem ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${PROGRAM}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
