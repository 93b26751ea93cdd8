/**
 * A Redis with append-only persistence shut down and started again (same port, same directory) while 50
 * jobs are in flight in two worker processes: during the outage the job service fails fast with
 * StoreUnavailableError (the API's 503); afterwards every job ends `succeeded`, each exactly once, and the
 * service and the workers reconnected by themselves.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { createJobService, type JobService, StoreUnavailableError } from '../../src/jobs/index.js';
import { killAll, spawnWorker, workersStarted } from '../helpers/processes.js';
import { type PrivateRedis, privateRedis, uniquePrefix } from '../helpers/redis.js';
import { generated, OWNER, waitFor } from './harness.js';

let server: PrivateRedis | undefined;
let service: JobService | undefined;
afterEach(async () => {
  await killAll();
  await service?.close();
  await server?.close();
});

const JOBS = 50;
const ITERATIONS = 600;

it('loses no job and runs none twice when Redis restarts mid-run', async () => {
  server = await privateRedis({ persistent: true });
  const prefix = uniquePrefix('restart');
  service = await createJobService({ redisUrl: server.url, keyPrefix: prefix, jobTtlSeconds: 3600 });
  const env = {
    REDIS_URL: server.url,
    KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    LOCK_DURATION_MS: '2000',
    STALLED_INTERVAL_MS: '1000',
  };
  const workers = [spawnWorker(env), spawnWorker(env)];
  await workersStarted(workers);

  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    const input = generated(200, 8, 100 + i, {
      method: 'gd',
      lineSearch: 'none',
      stepSize: 1e-3,
      tolerance: 0,
      maxIterations: ITERATIONS,
      record: { every: 10, includeX: false, limit: 10_000 },
    });
    ids.push((await service.submit(input)).job.id);
  }
  // in flight: some done, some running, the rest queued
  await waitFor(async () => (await service!.stats()).byState.succeeded >= 5, 30_000);
  const before = (await service.stats()).byState;
  expect(before.queued + before.running).toBeGreaterThan(10);

  await server.shutdown();
  const outageStart = Date.now();
  expect(await service.ping()).toBe(false);
  await expect(service.get(ids[0], OWNER)).rejects.toBeInstanceOf(StoreUnavailableError);
  await expect(service.submit(generated(20, 2))).rejects.toBeInstanceOf(StoreUnavailableError);
  await expect(service.list({ owner: OWNER, limit: 5 })).rejects.toBeInstanceOf(StoreUnavailableError);
  // each failed at once rather than waiting for Redis (generous bound)
  expect(Date.now() - outageStart).toBeLessThan(5000);
  // longer than the lock: the running jobs' locks expire, and the stalled check hands them over
  await sleep(3000);
  await server.start();

  await waitFor(
    () => service!.ping(),
    20_000,
    () => 'the service did not reconnect',
  );
  await waitFor(
    async () => (await service!.stats()).byState.succeeded === JOBS,
    90_000,
    () => 'not every job succeeded after the restart',
  );
  const stats = await service.stats();
  expect(stats.byState).toEqual({ queued: 0, running: 0, succeeded: JOBS, failed: 0, cancelled: 0 });
  // one solve recorded per job: no job ran to the end twice
  expect(stats.solveSeconds.count).toBe(JOBS);

  let finishedAfterOutage = 0;
  let resumed = 0;
  for (const id of ids) {
    const job = (await service.get(id, OWNER))!;
    expect(job.state).toBe('succeeded');
    expect(job.result!.iterations).toBe(ITERATIONS);
    if (Date.parse(job.finishedAt!) > outageStart) finishedAfterOutage++;
    if (job.resumes > 0) resumed++;
    const types: string[] = [];
    for await (const e of service.events(id, OWNER, undefined, new AbortController().signal))
      types.push(e.type);
    expect(types.filter((t) => t === 'done')).toHaveLength(1);
    // every 10th iterate exactly once, whichever worker (or resumption) recorded it
    const { items } = (await service.iterates(id, OWNER, 0, 1000))!;
    expect(items.map((it) => it.iteration)).toEqual(
      Array.from({ length: ITERATIONS / 10 + 1 }, (_, i) => 10 * i),
    );
  }
  // the workers reconnected by themselves: both still run, and they finished jobs after the restart
  expect(workers.every((w) => w.child.exitCode === null)).toBe(true);
  expect(finishedAfterOutage).toBeGreaterThan(0);
  console.info(
    JSON.stringify({ figure: 'redis-restart', jobs: JOBS, lost: JOBS - stats.byState.succeeded, resumed }),
  );
}, 120_000);
