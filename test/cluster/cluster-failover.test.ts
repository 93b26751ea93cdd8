/**
 * Failover: a three-master Redis Cluster with one replica per master (cluster-node-timeout 1 s), the API in
 * process and two worker processes. The master holding `{bullmq}` (the queue, the jobs' states and the
 * indexes) goes away twice while jobs are in flight:
 *
 * 1. a planned failover (CLUSTER FAILOVER on its replica, as for maintenance: the replica catches up with
 *    the master before they swap, so nothing is lost): every job ends `succeeded`, each exactly once;
 * 2. a crash (SIGKILL of the new master): the cluster promotes its replica (the old master) after the node
 *    timeout. The API answers 503 problem+json, never 500, until the clients have found the new master by
 *    themselves; no job is lost and jobs submitted afterwards succeed. Replication is asynchronous, so a
 *    write acknowledged in the last moment before the crash can be missing on the replica: this phase
 *    checks that every job is still there and ends finished, and reports how many succeeded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { createJobService } from '../../src/jobs/index.js';
import type { JobService, JobView } from '../../src/jobs/types.js';
import { generateProblem } from '../../src/problem/generate.js';
import { DEFAULT_MAX_BODY_BYTES, TEST_LIMITS } from '../api/harness.js';
import { killAll, type Spawned, spawnWorker, workersStarted } from '../helpers/processes.js';
import { uniquePrefix } from '../helpers/redis.js';
import { cli, countKeysOnNode, startTestCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { waitFor } from '../jobs/harness.js';

const ITERATIONS = 1600;
const JOBS = 10;

let cluster: TestCluster;
let jobs: JobService;
let app: FastifyInstance;
let prefix: string;
const http = () => request(app.server);
const statuses = new Map<string, Set<number>>();

beforeAll(async () => {
  cluster = await startTestCluster({ replicas: 1, nodeTimeoutMs: 1000 });
  prefix = uniquePrefix('cluster-failover');
  jobs = await createJobService({ redisUrl: cluster.url, keyPrefix: prefix, jobTtlSeconds: 3600 });
  app = buildApp({ jobs, maxBodyBytes: DEFAULT_MAX_BODY_BYTES, limits: TEST_LIMITS });
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
  await cluster?.close();
});

async function post(seed: number): Promise<string> {
  const res = await http()
    .post('/solve')
    .send({
      ...generateProblem({ n: 200, d: 8, seed }),
      method: 'gd',
      options: {
        lineSearch: 'none',
        stepSize: 1e-3,
        tolerance: 0,
        maxIterations: ITERATIONS,
        record: { every: 10, includeX: false },
      },
    });
  expect(res.status, res.text).toBe(202);
  return (res.body as JobView).id;
}

const role = async (port: number): Promise<string> => (await cli(port, 'role')).split('\n')[0].trim();

/** The index in cluster.ports of the master now holding BullMQ's keys (the `{bullmq}` slot). */
async function controlMaster(): Promise<number> {
  for (let i = 0; i < cluster.ports.length; i++) {
    const port = cluster.ports[i];
    if ((await role(port).catch(() => '')) !== 'master') continue;
    if ((await countKeysOnNode(port, `${prefix}:{bullmq}`)) > 0) return i;
  }
  return -1;
}

/** The index of the replica of the master at `ports[master]`. */
async function replicaOf(master: number): Promise<number> {
  for (let i = 0; i < cluster.ports.length; i++) {
    const info = await cli(cluster.ports[i], 'info', 'replication').catch(() => '');
    if (/role:slave/.test(info) && info.includes(`master_port:${cluster.ports[master]}`)) return i;
  }
  return -1;
}

async function allFinished(ids: string[], timeoutMs: number): Promise<JobView[]> {
  let views: JobView[] = [];
  await waitFor(
    async () => {
      views = await Promise.all(ids.map(async (id) => (await http().get(`/jobs/${id}`)).body as JobView));
      return views.every((v) => v.done === true);
    },
    timeoutMs,
    () => `not every job finished: ${views.map((v) => v.state).join(',')}`,
  );
  return views;
}

const doneEvents = async (id: string): Promise<number> => {
  const res = await http().get(`/jobs/${id}/events`).buffer(true);
  expect(res.status).toBe(200);
  return (res.text.match(/^event: done$/gm) ?? []).length;
};

it('fails over to a replica, planned and on a crash, and the service carries on by itself', async () => {
  const env = {
    REDIS_URL: cluster.url,
    KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    LOCK_DURATION_MS: '2000',
    STALLED_INTERVAL_MS: '1000',
  };
  const workers: Spawned[] = [spawnWorker(env), spawnWorker(env)];
  await workersStarted(workers);

  // 1. planned: CLUSTER FAILOVER on the replica of the {bullmq} master, jobs in flight
  const first: string[] = [];
  for (let i = 0; i < JOBS; i++) first.push(await post(100 + i));
  const master = await controlMaster();
  expect(master).toBeGreaterThanOrEqual(0);
  const replica = await replicaOf(master);
  expect(replica).toBeGreaterThanOrEqual(0);
  await waitFor(async () => (await jobs.stats()).byState.succeeded >= 2, 30_000);
  expect(await cli(cluster.ports[replica], 'cluster', 'failover')).toMatch(/OK/);
  await waitFor(
    async () => (await role(cluster.ports[replica])) === 'master',
    20_000,
    () => 'the replica was not promoted',
  );
  const planned = await allFinished(first, 60_000);
  expect(planned.map((v) => v.state)).toEqual(first.map(() => 'succeeded'));
  for (const v of planned) expect(v.result!.iterations).toBe(ITERATIONS);
  expect((await jobs.stats()).solveSeconds.count).toBe(JOBS);
  for (const id of first) expect(await doneEvents(id)).toBe(1);

  // 2. a crash: SIGKILL the new master; the old one, now its replica, is promoted
  const second: string[] = [];
  for (let i = 0; i < JOBS; i++) second.push(await post(200 + i));
  await waitFor(async () => (await jobs.stats()).byState.succeeded >= JOBS + 2, 30_000);
  const crashed = await controlMaster();
  expect(crashed).toBe(replica);
  const heir = await replicaOf(crashed);
  expect(heir).toBe(master);
  let polling = true;
  const pollers = (async () => {
    while (polling) {
      await Promise.all([...second.map((id) => http().get(`/jobs/${id}`)), http().get('/readyz')]);
      await sleep(50);
    }
  })();
  const crashAt = Date.now();
  await cluster.kill(crashed);
  await waitFor(
    async () => (await role(cluster.ports[heir])) === 'master',
    30_000,
    () => 'the replica of the crashed master was not promoted',
  );
  await waitFor(
    async () => (await http().get('/readyz')).status === 200,
    30_000,
    () => 'the API did not find the new master',
  );
  const recoveredMs = Date.now() - crashAt;
  polling = false;
  await pollers;
  const after = await post(300);
  const crash = await allFinished([...second, after], 90_000);
  expect(crash.at(-1)!.state).toBe('succeeded');
  for (const id of [...first, ...second]) expect((await http().get(`/jobs/${id}`)).status).toBe(200);
  // never a 500 on any route, before, during or after
  for (const [route, seen] of statuses) {
    expect(
      [...seen].filter((s) => ![200, 202, 204, 503].includes(s)),
      route,
    ).toEqual([]);
  }
  expect(workers.every((w) => w.child.exitCode === null)).toBe(true);
  const succeeded = crash.filter((v) => v.state === 'succeeded').length;
  console.info(
    JSON.stringify({
      figure: 'cluster-failover',
      planned: { jobs: JOBS, succeeded: JOBS, solves: JOBS },
      crash: { jobs: JOBS + 1, succeeded, secondsToRecover: recoveredMs / 1000 },
      statuses: Object.fromEntries([...statuses].map(([route, seen]) => [route, [...seen].sort()])),
    }),
  );
}, 240_000);
