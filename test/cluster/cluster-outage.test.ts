/**
 * One master of a three-master Redis Cluster (append-only persistence) stopped and started again while jobs
 * are in flight in two worker processes. The stopped master is the one holding BullMQ's `{bullmq}` keys,
 * so no job can be added, fetched or finished while it is away.
 *
 * While it is away the API answers 503 problem+json, never 500. With the default
 * `cluster-require-full-coverage yes` the surviving masters refuse every command once they mark the master
 * failed (CLUSTERDOWN), so then even a job whose data lives elsewhere is 503. Once the survivors are told
 * `cluster-require-full-coverage no`, they serve their keys again, but every job's state lives in the
 * `{bullmq}` slot (keys.ts), so the job routes and POST /solve stay 503 until the master is back (or, in
 * production, a replica has taken over). After the master returns every job ends `succeeded`, each
 * exactly once (one `done` event, every recorded iterate once), and the API and the workers reconnected by
 * themselves.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { createJobService, startWorkers, type WorkerHandle } from '../../src/jobs/index.js';
import type { JobService, JobView } from '../../src/jobs/types.js';
import { parseEventStream, type SseEvent } from '../../src/main/cli-submit.js';
import { createRateLimitRedis, type RateLimitRedis } from '../../src/main/rate-limit-redis.js';
import { generateProblem } from '../../src/problem/generate.js';
import { DEFAULT_MAX_BODY_BYTES, expectProblem, TEST_LIMITS } from '../api/harness.js';
import { killAll, type Spawned, spawnWorker, workersStarted } from '../helpers/processes.js';
import { uniquePrefix } from '../helpers/redis.js';
import { cli, countKeysOnNode, startTestCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { waitFor } from '../jobs/harness.js';

const JOBS = 8;
// Each job runs for SECONDS of wall-clock time (gradient descent that never converges, stopped by
// maxSeconds), whatever the machine's speed: a fixed iteration count was over in an instant on a fast
// machine and left no job in flight. So with two workers, when the first two jobs are done the other six
// are still queued or running, and some of them still run when the master stops.
const SECONDS = 2;
const RECORD_EVERY = 100;

let cluster: TestCluster;
let jobs: JobService;
let app: FastifyInstance;
let prefix: string;
let limiter: RateLimitRedis;
const http = () => request(app.server);
/** every status the API answered, by route, for the whole test */
const statuses = new Map<string, Set<number>>();

beforeAll(async () => {
  // a short node timeout: the survivors mark the stopped master failed about a second later
  cluster = await startTestCluster({ persistent: true, nodeTimeoutMs: 1000 });
  prefix = uniquePrefix('cluster-outage');
  jobs = await createJobService({ redisUrl: cluster.url, keyPrefix: prefix, jobTtlSeconds: 3600 });
  // the rate limiter counts in the cluster too (its key on some master): while the cluster refuses keys
  // it lets requests through (skipOnError), so the answers stay the job store's 503s, never a 500
  limiter = createRateLimitRedis(cluster.url, pino({ level: 'silent' }));
  app = buildApp({
    jobs,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    limits: { ...TEST_LIMITS, ratePerSecond: 100_000 },
    rateLimitRedis: limiter.redis,
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = `${req.method} ${req.routeOptions.url}`;
    if (!statuses.has(route)) statuses.set(route, new Set());
    statuses.get(route)!.add(reply.statusCode);
  });
  await app.ready();
  await app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await killAll();
  await app?.close();
  await jobs?.close();
  await limiter?.close();
  await cluster?.close();
});

function body(seed: number): Record<string, unknown> {
  return {
    ...generateProblem({ n: 2000, d: 8, seed }),
    method: 'gd',
    options: {
      lineSearch: 'none',
      stepSize: 1e-6,
      tolerance: 0,
      // far more than SECONDS allow (about 4000 here): the time limit ends every run
      maxIterations: TEST_LIMITS.maxIterations,
      maxSeconds: SECONDS,
      record: { every: RECORD_EVERY, includeX: false },
    },
  };
}

async function post(seed: number): Promise<string> {
  const res = await http().post('/solve').send(body(seed));
  expect(res.status, res.text).toBe(202);
  return (res.body as JobView).id;
}

/** The index in cluster.ports of the master holding keys that start with `keyPrefix`, or -1. */
async function home(keyPrefix: string): Promise<number> {
  const counts = await Promise.all(cluster.ports.map((p) => countKeysOnNode(p, keyPrefix)));
  return counts.findIndex((c) => c > 0);
}

const clusterState = async (port: number): Promise<string> =>
  /cluster_state:(\w+)/.exec(await cli(port, 'cluster', 'info'))?.[1] ?? '?';

async function readEvents(id: string): Promise<SseEvent[]> {
  const res = await http().get(`/jobs/${id}/events`).buffer(true);
  expect(res.status).toBe(200);
  const events: SseEvent[] = [];
  async function* once() {
    yield new TextEncoder().encode(res.text);
  }
  for await (const event of parseEventStream(once())) events.push(event);
  return events;
}

it('answers 503 (never 500) while a master is down, and loses no job and runs none twice', async () => {
  const env = {
    REDIS_URL: cluster.url,
    KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    LOCK_DURATION_MS: '2000',
    STALLED_INTERVAL_MS: '1000',
  };
  const workers: Spawned[] = [spawnWorker(env), spawnWorker(env)];
  await workersStarted(workers);

  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++) ids.push(await post(100 + i));
  const victim = await home(`${prefix}:{bullmq}`);
  expect(victim).toBeGreaterThanOrEqual(0);
  const homes = new Map<string, number>();
  for (const id of ids) homes.set(id, await home(`${prefix}:job:{${id}}:`));
  // a job on the master to stop and one elsewhere (more jobs until there is one: 8 random ids miss a
  // given master with probability (2/3)^8)
  for (let seed = 200; ![...homes.values()].includes(victim) && seed < 260; seed++) {
    const id = await post(seed);
    ids.push(id);
    homes.set(id, await home(`${prefix}:job:{${id}}:`));
  }
  const onVictim = ids.find((id) => homes.get(id) === victim)!;
  const elsewhere = ids.find((id) => homes.get(id) !== victim)!;
  expect(onVictim).toBeDefined();
  expect(elsewhere).toBeDefined();
  expect(homes.get(elsewhere)).toBeGreaterThanOrEqual(0);

  // in flight: some done, some running, the rest queued
  await waitFor(async () => (await jobs.stats()).byState.succeeded >= 2, 30_000);
  const before = (await jobs.stats()).byState;
  expect(before.queued + before.running).toBeGreaterThan(4);

  // clients polling every job (and the list) all through the outage
  let polling = true;
  const pollers = (async () => {
    while (polling) {
      await Promise.all([...ids.map((id) => http().get(`/jobs/${id}`)), http().get('/jobs?limit=100')]);
      await sleep(50);
    }
  })();

  // a worker's liveness probe (the container healthcheck's): its own prefix and queue, so it takes no job
  const probe: WorkerHandle = await startWorkers({
    redisUrl: cluster.url,
    keyPrefix: `${prefix}-probe`,
    queueName: 'probe',
    jobTtlSeconds: 600,
    concurrency: 1,
  });
  expect(await probe.alive()).toBe(true);

  await cluster.stop(victim);
  const outageStart = Date.now();
  const survivors = cluster.ports.filter((_, i) => i !== victim);
  // at once, before the survivors notice: the stopped master's connection is refused
  expectProblem(await http().get(`/jobs/${onVictim}`), 503);

  // 1. The survivors mark the master failed; with full coverage required they refuse everything.
  await waitFor(
    async () => (await Promise.all(survivors.map(clusterState))).every((s) => s === 'fail'),
    20_000,
    () => 'the survivors did not mark the cluster failed',
  );
  expectProblem(await http().get(`/jobs/${onVictim}`), 503);
  expectProblem(await http().get(`/jobs/${elsewhere}`), 503);
  expectProblem(await http().get(`/jobs/${elsewhere}/iterates`), 503);
  expectProblem(await http().get('/jobs?limit=5'), 503);
  expectProblem(await http().post('/solve').send(body(1)), 503);
  expectProblem(await http().get('/readyz'), 503);
  expect(await probe.alive()).toBe(false);

  // 2. Partial coverage allowed: the survivors serve their keys again (a job's data, read directly), but
  // a job's state is in {bullmq}, on the stopped master: every job route stays 503, never 500.
  for (const port of survivors) await cli(port, 'config', 'set', 'cluster-require-full-coverage', 'no');
  await waitFor(
    async () => (await Promise.all(survivors.map(clusterState))).every((s) => s === 'ok'),
    20_000,
    () => 'the survivors did not serve again with partial coverage',
  );
  const dataPort = cluster.ports[homes.get(elsewhere)!];
  expect(Number(await cli(dataPort, 'exists', `${prefix}:job:{${elsewhere}}:events`))).toBe(1);
  expectProblem(await http().get(`/jobs/${elsewhere}`), 503);
  expectProblem(await http().get(`/jobs/${elsewhere}/iterates`), 503);
  expectProblem(await http().get('/jobs?limit=5'), 503);
  expectProblem(await http().get(`/jobs/${onVictim}`), 503);
  expectProblem(await http().get(`/jobs/${onVictim}/iterates`), 503);
  expectProblem(await http().get(`/jobs/${onVictim}/events`), 503);
  // a submission needs {bullmq}, on the stopped master; so does readiness
  expectProblem(await http().post('/solve').send(body(2)), 503);
  expectProblem(await http().get('/readyz'), 503);
  // any node answers a PING now, but the worker cannot reach its queue: not alive
  expect(await probe.alive()).toBe(false);

  // longer than the lock: the running jobs' locks expire while the master is away
  const away = Date.now() - outageStart;
  if (away < 3000) await sleep(3000 - away);
  await cluster.start(victim);
  await waitFor(
    async () => (await Promise.all(cluster.ports.map(clusterState))).every((s) => s === 'ok'),
    20_000,
    () => 'the cluster did not recover',
  );
  // the API reconnected by itself
  await waitFor(
    async () =>
      (await http().get('/readyz')).status === 200 && (await http().get(`/jobs/${onVictim}`)).status === 200,
    20_000,
    () => 'the API did not reconnect',
  );
  polling = false;
  await pollers;
  // the limiter counts in the cluster again (its own connection may reconnect a moment after the API's)
  const counted = await http().get('/jobs?limit=1');
  expect(counted.headers['ratelimit-limit']).toBe('100000');
  await waitFor(
    async () => {
      await http().get('/jobs?limit=1');
      const limiterKeys = await Promise.all(
        cluster.ports.map((p) => countKeysOnNode(p, 'levinv:rate-limit:')),
      );
      return limiterKeys.reduce((x, y) => x + y) > 0;
    },
    10_000,
    () => 'the rate limiter did not count in the cluster again',
  );
  await waitFor(
    () => probe.alive(),
    20_000,
    () => 'the worker probe did not come back',
  );
  await probe.close();
  let byState = {};
  await waitFor(
    async () => {
      const now = (await jobs.stats()).byState;
      byState = now;
      return now.succeeded === ids.length;
    },
    40_000,
    () => `not every job succeeded after the restart: ${JSON.stringify(byState)}`,
  );
  const stats = await jobs.stats();
  expect(stats.byState).toEqual({ queued: 0, running: 0, succeeded: ids.length, failed: 0, cancelled: 0 });
  // one solve recorded per job: no job ran to the end twice
  expect(stats.solveSeconds.count).toBe(ids.length);

  let finishedAfterOutage = 0;
  let resumed = 0;
  for (const id of ids) {
    const res = await http().get(`/jobs/${id}`);
    expect(res.status).toBe(200);
    const job = res.body as JobView;
    expect(job.state).toBe('succeeded');
    // stopped by the time limit, not by the iteration cap: the run lasted SECONDS, resumed or not
    expect(job.result!.reason).toBe('max-seconds');
    const { iterations } = job.result!;
    if (Date.parse(job.finishedAt!) > outageStart) finishedAfterOutage++;
    if (job.resumes > 0) resumed++;
    const events = await readEvents(id);
    expect(events.filter((e) => e.event === 'done')).toHaveLength(1);
    const page = await http().get(`/jobs/${id}/iterates?offset=0&limit=1000`);
    expect(page.status).toBe(200);
    // every RECORD_EVERY-th iterate and the last exactly once, whichever worker (or resumption) recorded it
    const expected = Array.from(
      { length: Math.floor(iterations / RECORD_EVERY) + 1 },
      (_, i) => RECORD_EVERY * i,
    );
    if (iterations % RECORD_EVERY !== 0) expected.push(iterations);
    expect((page.body.items as { iteration: number }[]).map((it) => it.iteration)).toEqual(expected);
  }
  // never a 500: 200, 202 or 503 whatever the route
  for (const [route, seen] of statuses) {
    expect(
      [...seen].filter((s) => ![200, 202, 503].includes(s)),
      route,
    ).toEqual([]);
  }
  expect(statuses.get('GET /jobs/:id')).toEqual(new Set([200, 503]));
  // the workers reconnected by themselves: both still run, and jobs finished after the restart
  expect(workers.every((w) => w.child.exitCode === null)).toBe(true);
  expect(finishedAfterOutage).toBeGreaterThan(0);
  console.info(
    JSON.stringify({
      figure: 'cluster-outage',
      jobs: ids.length,
      finishedAfterOutage,
      resumed,
      statuses: Object.fromEntries([...statuses].map(([route, seen]) => [route, [...seen].sort()])),
    }),
  );
}, 120_000);
