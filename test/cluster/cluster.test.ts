/**
 * The service against a real three-master Redis Cluster (test/helpers/redis-cluster.ts): the job service,
 * the workers (BullMQ on a Cluster connection), the rate limiter and the push subscribers all connect with
 * a `redis+cluster://` URL. The main paths end as they do on one server, and jobs' keys spread over all
 * three masters while every command, pipeline and script stays in one slot (a cross-slot one would fail
 * with CROSSSLOT, or with ioredis's "same slots allocation group" error).
 */

import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { RATE_LIMIT_NAMESPACE } from '../../src/api/rate-limit.js';
import { createJobService, startWorkers, type WorkerHandle } from '../../src/jobs/index.js';
import { Keys } from '../../src/jobs/keys.js';
import { createClient, isClusterUrl } from '../../src/jobs/redis.js';
import type { JobService, JobView } from '../../src/jobs/types.js';
import { parseEventStream, type SseEvent } from '../../src/main/cli-submit.js';
import { createRateLimitRedis, type RateLimitRedis } from '../../src/main/rate-limit-redis.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  type Harness,
  slowBody,
  submit,
  TEST_LIMITS,
  vectorBody,
  waitForJob,
} from '../api/harness.js';
import { killAll, type Spawned, spawnWorker, workersStarted } from '../helpers/processes.js';
import { uniquePrefix } from '../helpers/redis.js';
import { countKeysOnNode, startTestCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { loadVector, relErr, testVectorNames } from '../helpers/testdata.js';
import { generated, OWNER, waitFor } from '../jobs/harness.js';

let cluster: TestCluster;
let h: Harness;
let jobs: JobService;
let workers: WorkerHandle;
let rateLimit: RateLimitRedis;
let keyPrefix: string;

beforeAll(async () => {
  cluster = await startTestCluster();
  keyPrefix = uniquePrefix('cluster');
  const common = { redisUrl: cluster.url, keyPrefix, jobTtlSeconds: 600 };
  jobs = await createJobService(common);
  workers = await startWorkers({ ...common, concurrency: 1 });
  rateLimit = createRateLimitRedis(cluster.url, pino({ level: 'silent' }));
  const app = buildApp({
    jobs,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    // counted in the cluster, high enough never to refuse these tests' polling
    limits: { ...TEST_LIMITS, ratePerSecond: 100_000 },
    rateLimitRedis: rateLimit.redis,
  });
  await app.ready();
  await app.listen({ host: '127.0.0.1', port: 0 });
  let closed: Promise<void> | undefined;
  h = {
    app,
    jobs,
    redis: { url: cluster.url, close: async () => {} },
    http: () => request(app.server),
    stopWorkers: () => workers.close(),
    close: () => {
      closed ??= (async () => {
        await app.close();
        await rateLimit.close();
        await workers.close();
        await jobs.close();
      })();
      return closed;
    },
  };
}, 120_000);

afterAll(async () => {
  await h?.close();
  await cluster?.close();
});

async function readEvents(id: string): Promise<SseEvent[]> {
  const res = await h.http().get(`/jobs/${id}/events`).buffer(true);
  expect(res.status).toBe(200);
  const events: SseEvent[] = [];
  async function* once() {
    yield new TextEncoder().encode(res.text);
  }
  for await (const event of parseEventStream(once())) events.push(event);
  return events;
}

describe('the service on a Redis Cluster', () => {
  it('runs on a cluster URL', () => {
    expect(isClusterUrl(cluster.url)).toBe(true);
    expect(cluster.url).toMatch(/^redis\+cluster:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
  });

  it.each(testVectorNames())('solves %s to the shared solution.x within 1e-8', async (name) => {
    const v = loadVector(name);
    const job = await submit(h, vectorBody(name));
    const done = await waitForJob(h, job.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(relErr(done.result!.x as number[], v.solution.x)).toBeLessThan(1e-8);
    const page = await h.http().get(`/jobs/${job.id}/iterates?offset=0&limit=1000`);
    expect(page.status).toBe(200);
    const items = page.body.items as { iteration: number }[];
    expect(items.length).toBe(done.iterates.recorded);
    expect(items.map((it) => it.iteration)).toEqual(items.map((_, i) => i));
    expect(items.length).toBe(done.result!.iterations + 1);
  });

  it('streams events to done (the API follows the job on a sharded subscriber)', async () => {
    const job = await submit(h, vectorBody('medium'));
    const events = await readEvents(job.id);
    const last = events.at(-1)!;
    expect(last.event).toBe('done');
    expect(events.filter((e) => e.event === 'done')).toHaveLength(1);
    const finished = JSON.parse(last.data) as JobView;
    expect(finished).toMatchObject({ id: job.id, state: 'succeeded', done: true });
    const states = events.filter((e) => e.event === 'state').map((e) => JSON.parse(e.data).state);
    expect(states).toEqual(['queued', 'running', 'succeeded']);
  });

  it('cancels a queued job and a running one', async () => {
    const running = await submit(h, slowBody(30));
    await waitForJob(h, running.id, (j) => j.state === 'running' && (j.progress?.iteration ?? 0) > 0);
    // one worker, busy: this one waits in the queue
    const queued = await submit(h, vectorBody('tiny'));
    const cancelQueued = await h.http().post(`/jobs/${queued.id}/cancel`);
    expect(cancelQueued.status).toBe(200);
    expect(cancelQueued.body).toMatchObject({ state: 'cancelled', done: true, error: { code: 'CANCELLED' } });

    const cancelRunning = await h.http().post(`/jobs/${running.id}/cancel`);
    expect(cancelRunning.status).toBe(202);
    const stopped = await waitForJob(h, running.id);
    expect(stopped.state).toBe('cancelled');
    expect(stopped.result!.reason).toBe('aborted');
    expect(stopped.iterates.recorded).toBeGreaterThan(0);
    // the queued one never ran
    const after = await h.http().get(`/jobs/${queued.id}`);
    expect(after.body).toMatchObject({ state: 'cancelled', startedAt: null });
  });

  it('deletes a finished job, and refuses a running one', async () => {
    const running = await submit(h, slowBody(30));
    await waitForJob(h, running.id, (j) => j.state === 'running');
    expect((await h.http().delete(`/jobs/${running.id}`)).status).toBe(409);
    await h.http().post(`/jobs/${running.id}/cancel`);
    await waitForJob(h, running.id);
    expect((await h.http().delete(`/jobs/${running.id}`)).status).toBe(204);
    expect((await h.http().get(`/jobs/${running.id}`)).status).toBe(404);
    const listed = await h.http().get('/jobs?limit=100');
    expect((listed.body.items as JobView[]).map((j) => j.id)).not.toContain(running.id);
  });

  it('an Idempotency-Key returns the same job; another body with it is 422', async () => {
    const key = `cluster-${Date.now()}`;
    const first = await h.http().post('/solve').set('Idempotency-Key', key).send(vectorBody('tiny'));
    expect(first.status).toBe(202);
    const again = await h.http().post('/solve').set('Idempotency-Key', key).send(vectorBody('tiny'));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const other = await h.http().post('/solve').set('Idempotency-Key', key).send(vectorBody('medium'));
    expect(other.status).toBe(422);
    await waitForJob(h, first.body.id);
    const later = await h.http().post('/solve').set('Idempotency-Key', key).send(vectorBody('tiny'));
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ id: first.body.id, state: 'succeeded' });
  });

  it('spreads 30 jobs over all three masters; list pages them newest first; metrics count them', async () => {
    const before = (await h.http().get('/jobs?limit=100')).body.items as JobView[];
    const made: string[] = [];
    for (let i = 0; i < 30; i++) made.push((await submit(h, vectorBody('tiny'))).id);
    for (const id of made) expect((await waitForJob(h, id)).state).toBe('succeeded');

    // A finished job keeps four keys (meta, iterates, result, events), all under its own hash tag: all
    // four on one master, and the 30 jobs on all three.
    const homes = new Set<number>();
    for (const id of made) {
      const counts = await Promise.all(
        cluster.ports.map((p) => countKeysOnNode(p, `${keyPrefix}:job:{${id}}:`)),
      );
      expect([...counts].sort()).toEqual([0, 0, 4]);
      homes.add(counts.indexOf(4));
    }
    expect(homes.size).toBe(3);
    // the jobs' states with the indexes, and BullMQ's keys, live on one node: the same one (one slot)
    const stateNodes = await Promise.all(
      cluster.ports.map((p) => countKeysOnNode(p, new Keys(keyPrefix).control)),
    );
    expect(stateNodes.filter((c) => c > 0)).toHaveLength(1);
    const bullNodes = await Promise.all(
      cluster.ports.map((p) => countKeysOnNode(p, `${keyPrefix}:{bullmq}`)),
    );
    expect(bullNodes.filter((c) => c > 0)).toHaveLength(1);
    expect(bullNodes.findIndex((c) => c > 0)).toBe(stateNodes.findIndex((c) => c > 0));
    expect(stateNodes.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(made.length);

    // pages of 7, newest first, each job once
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const res = await h.http().get(`/jobs?limit=7${query}`);
      expect(res.status).toBe(200);
      const items = res.body.items as JobView[];
      expect(items.length).toBeLessThanOrEqual(7);
      seen.push(...items.map((j) => j.id));
      cursor = res.body.nextCursor as string | null;
      pages++;
    } while (cursor && pages < 50);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(30 + before.length);
    expect(seen.slice(0, 30)).toEqual([...made].reverse());
    const succeeded = await h.http().get('/jobs?state=succeeded&limit=100');
    expect((succeeded.body.items as JobView[]).every((j) => j.state === 'succeeded')).toBe(true);
    expect((succeeded.body.items as JobView[]).map((j) => j.id)).toEqual(expect.arrayContaining(made));

    const metrics = await h.http().get('/metrics');
    expect(metrics.status).toBe(200);
    const line = metrics.text.split('\n').find((l) => l.startsWith('levinv_jobs{state="succeeded"}'));
    expect(Number(line?.split(' ')[1])).toBe((succeeded.body.items as JobView[]).length);
  });

  it('answers /readyz through the cluster, and counts the rate limit in it', async () => {
    expect((await h.http().get('/readyz')).status).toBe(200);
    expect((await h.http().get('/jobs?limit=1')).status).toBe(200);
    // the limiter's counter for this client (skipOnError would let requests through unseen otherwise)
    const counters = await Promise.all(cluster.ports.map((p) => countKeysOnNode(p, RATE_LIMIT_NAMESPACE)));
    expect(counters.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

describe('worker processes on the cluster', () => {
  afterAll(() => killAll());

  it('resumes a SIGKILLed worker process its job from the checkpoint, in another process', async () => {
    // its own key prefix: no in-process worker of this file takes these jobs
    const prefix = uniquePrefix('cluster-crash');
    const keys = new Keys(prefix);
    const service = await createJobService({ redisUrl: cluster.url, keyPrefix: prefix, jobTtlSeconds: 600 });
    const raw = createClient(cluster.url, { maxRetriesPerRequest: 1 }, 'test-raw');
    raw.on('error', () => undefined);
    try {
      // REDIS_CLUSTER_NODES, the other way to name a cluster, through the worker entry point
      const nodes = cluster.ports.map((p) => `127.0.0.1:${p}`).join(',');
      const env = {
        REDIS_CLUSTER_NODES: nodes,
        KEY_PREFIX: prefix,
        LOG_LEVEL: 'info',
        LOCK_DURATION_MS: '1000',
        STALLED_INTERVAL_MS: '500',
      };
      const workers: Spawned[] = [spawnWorker(env), spawnWorker(env)];
      await workersStarted(workers);
      const iterations = 1800;
      const { job } = await service.submit(
        generated(2000, 10, 3, {
          method: 'gd',
          lineSearch: 'none',
          stepSize: 1e-3,
          tolerance: 0,
          maxIterations: iterations,
          record: { every: 1, includeX: false, limit: 10_000 },
        }),
      );
      const meta = async () => ({
        ...(await raw.hgetall(keys.data(job.id).run)),
        ...(await raw.hgetall(keys.state(job.id))),
      });
      await waitFor(async () => Number((await meta()).checkpointIteration ?? -1) >= 300, 30_000);
      const holder = (await meta()).holder ?? '';
      const victim = workers.find((w) => holder.endsWith(`:${w.pid}`));
      expect(victim, `holder ${holder}`).toBeDefined();
      await victim!.kill('SIGKILL');
      const checkpoint = Number((await meta()).checkpointIteration);
      expect(checkpoint).toBeGreaterThanOrEqual(300);

      let done: JobView | null = null;
      await waitFor(
        async () => {
          done = await service.get(job.id, OWNER);
          return done?.done === true;
        },
        60_000,
        () => `the job did not finish: ${JSON.stringify(done)?.slice(0, 300)}`,
      );
      const finished = done as unknown as JobView;
      expect(finished.state).toBe('succeeded');
      expect(finished.resumes).toBe(1);
      expect(finished.result!.iterations).toBe(iterations);
      const { items } = (await service.iterates(job.id, OWNER, 0, 100_000))!;
      // every iteration exactly once: no duplicate, no gap
      expect(items.map((it) => it.iteration)).toEqual(Array.from({ length: iterations + 1 }, (_, i) => i));
      const states: Record<string, unknown>[] = [];
      for await (const e of service.events(job.id, OWNER, undefined, new AbortController().signal)) {
        if (e.type === 'state') states.push(e.data as Record<string, unknown>);
      }
      expect(states.filter((s) => s.state === 'running')).toEqual([
        { state: 'running', attempt: 1 },
        { state: 'running', attempt: 2, resumedFrom: checkpoint },
      ]);
    } finally {
      await killAll();
      await service.close();
      raw.disconnect();
    }
  }, 120_000);
});
