/**
 * `npm run bench:service`: the whole service on loopback, one JSON line per figure:
 *   {bench: 'latency', workers, n, d, jobs, p50Ms, p95Ms, sseP50Ms, sseP95Ms, sseLagP50Ms, sseLagP95Ms,
 *    sseLagMaxMs}
 *   {bench: 'cancel', workers, jobs, p50Ms, p95Ms, maxMs}
 *   {bench: 'throughput', workers, n, d, jobs, seconds, jobsPerSecond, succeeded, failed, lost}
 *
 * It starts a private redis-server, and per worker count the job service, the workers (solve threads in
 * this process) and the API listening on 127.0.0.1, then drives the API with Node's fetch:
 * - latency: one client per worker submits n = 200, d = 8 problems one after another and follows each to
 *   its end. p50Ms/p95Ms run from the start of the POST to the job's finishedAt (the service's own clock,
 *   which is this machine's); sseP50Ms/sseP95Ms to the `done` event arriving on the event stream, which
 *   adds the stream's delivery delay; sseLag*Ms is that delay alone, from finishedAt to the `done` event
 *   arriving (both on this machine's clock).
 * - cancel: a running gd job (progress writes every 100 ms) is cancelled over HTTP; from the start of
 *   `POST /jobs/{id}/cancel` to the job's finishedAt.
 * - throughput: 2000 jobs submitted as fast as 16 clients can, then waited for; jobs/s over first submit
 *   to last finish, and every job is read back: `lost` counts the submitted jobs that did not succeed.
 *
 * Everything is torn down at the end; a run that exceeds DEADLINE_MS stops with exit code 2.
 *
 * Usage: node dist/bench/service-bench.js [--quick]    (--quick: 50 latency jobs, 200 throughput jobs)
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { buildApp } from '../api/app.js';
import { createJobService, type JobView, startWorkers } from '../jobs/index.js';
import { parseEventStream } from '../main/cli-submit.js';
import { loadConfig } from '../main/config.js';
import { startLocalRedis } from '../main/local-redis.js';
import { listenUrl } from '../main/runtime.js';
import { limitsFromConfig } from '../main/service-options.js';
import { generateProblem } from '../problem/generate.js';

const N = 200;
const D = 8;
const WORKER_COUNTS = [1, 2];
const DEADLINE_MS = 20 * 60_000;
const THROUGHPUT_CLIENTS = 16;

const quick = process.argv.includes('--quick');
const LATENCY_JOBS = quick ? 50 : 200;
const THROUGHPUT_JOBS = quick ? 200 : 2000;
const CANCEL_JOBS = quick ? 10 : 30;

/** A pool of distinct problems, cycled through (generating 2000 would only time the generator). */
const bodies = Array.from({ length: 50 }, (_, i) =>
  JSON.stringify(generateProblem({ n: N, d: D, seed: i + 1 })),
);
const body = (i: number): string => bodies[i % bodies.length];

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Number(sorted[index].toFixed(1));
}

async function submit(base: string, i: number): Promise<JobView> {
  const response = await fetch(`${base}/solve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(i),
  });
  if (response.status !== 202)
    throw new Error(`POST /solve: HTTP ${response.status}: ${await response.text()}`);
  return (await response.json()) as JobView;
}

async function getJob(base: string, id: string): Promise<JobView> {
  const response = await fetch(`${base}/jobs/${id}`);
  if (!response.ok) throw new Error(`GET /jobs/${id}: HTTP ${response.status}`);
  return (await response.json()) as JobView;
}

/** Follows the job's event stream to its `done` event. */
async function awaitDone(base: string, id: string): Promise<void> {
  const response = await fetch(`${base}/jobs/${id}/events`);
  if (!response.ok || !response.body) throw new Error(`GET /jobs/${id}/events: HTTP ${response.status}`);
  for await (const event of parseEventStream(response.body)) if (event.event === 'done') return;
  throw new Error(`the event stream of job ${id} ended without done`);
}

/** Runs `task(i)` for i < count on `clients` concurrent loops. */
async function pool(count: number, clients: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function latency(base: string, workers: number): Promise<Record<string, unknown>> {
  const toFinished: number[] = [];
  const toEvent: number[] = [];
  const lag: number[] = [];
  await pool(LATENCY_JOBS, workers, async (i) => {
    const startedWall = Date.now();
    const started = performance.now();
    const job = await submit(base, i);
    await awaitDone(base, job.id);
    const arrived = Date.now();
    toEvent.push(performance.now() - started);
    const done = await getJob(base, job.id);
    if (done.state !== 'succeeded') throw new Error(`job ${job.id} ended ${done.state}`);
    toFinished.push(Date.parse(done.finishedAt!) - startedWall);
    lag.push(arrived - Date.parse(done.finishedAt!));
  });
  for (const list of [toFinished, toEvent, lag]) list.sort((a, b) => a - b);
  return {
    bench: 'latency',
    workers,
    n: N,
    d: D,
    jobs: LATENCY_JOBS,
    p50Ms: percentile(toFinished, 50),
    p95Ms: percentile(toFinished, 95),
    sseP50Ms: percentile(toEvent, 50),
    sseP95Ms: percentile(toEvent, 95),
    sseLagP50Ms: percentile(lag, 50),
    sseLagP95Ms: percentile(lag, 95),
    sseLagMaxMs: lag[lag.length - 1],
  };
}

/** A gd job that would run for a minute: cancelled once it runs. */
const LONG_BODY = JSON.stringify({
  ...generateProblem({ n: N, d: D, seed: 99 }),
  method: 'gd',
  options: { tolerance: 0, maxIterations: 100_000, maxSeconds: 60, record: { every: 50, includeX: false } },
});

async function cancelLatency(base: string, workers: number): Promise<Record<string, unknown>> {
  const took: number[] = [];
  for (let i = 0; i < CANCEL_JOBS; i++) {
    const response = await fetch(`${base}/solve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: LONG_BODY,
    });
    if (response.status !== 202)
      throw new Error(`POST /solve: HTTP ${response.status}: ${await response.text()}`);
    const { id } = (await response.json()) as JobView;
    while ((await getJob(base, id)).state !== 'running') await sleep(20);
    // let it run a little, between progress writes
    await sleep(150 + 10 * i);
    const asked = Date.now();
    const cancel = await fetch(`${base}/jobs/${id}/cancel`, { method: 'POST' });
    if (!cancel.ok) throw new Error(`POST /jobs/${id}/cancel: HTTP ${cancel.status}`);
    await awaitDone(base, id);
    const done = await getJob(base, id);
    if (done.state !== 'cancelled') throw new Error(`job ${id} ended ${done.state}`);
    took.push(Date.parse(done.finishedAt!) - asked);
  }
  took.sort((a, b) => a - b);
  return {
    bench: 'cancel',
    workers,
    jobs: CANCEL_JOBS,
    p50Ms: percentile(took, 50),
    p95Ms: percentile(took, 95),
    maxMs: took[took.length - 1],
  };
}

async function throughput(
  base: string,
  workers: number,
  finishedCount: () => Promise<number>,
): Promise<Record<string, unknown>> {
  const ids: string[] = [];
  const firstSubmit = Date.now();
  await pool(THROUGHPUT_JOBS, THROUGHPUT_CLIENTS, async (i) => {
    ids.push((await submit(base, i)).id);
  });
  // The store's counts say when to look; each job is then read back over HTTP.
  while ((await finishedCount()) < ids.length) await sleep(250);
  const views: JobView[] = [];
  await pool(ids.length, THROUGHPUT_CLIENTS, async (i) => {
    views.push(await getJob(base, ids[i]));
  });
  const succeeded = views.filter((v) => v.state === 'succeeded').length;
  const failed = views.filter((v) => v.state === 'failed').length;
  const lastFinish = Math.max(...views.map((v) => (v.finishedAt ? Date.parse(v.finishedAt) : 0)));
  const seconds = (lastFinish - firstSubmit) / 1000;
  return {
    bench: 'throughput',
    workers,
    n: N,
    d: D,
    jobs: THROUGHPUT_JOBS,
    seconds: Number(seconds.toFixed(2)),
    jobsPerSecond: Number((ids.length / seconds).toFixed(1)),
    succeeded,
    failed,
    lost: THROUGHPUT_JOBS - succeeded,
  };
}

async function main(): Promise<void> {
  const redis = await startLocalRedis();
  const cleanups: (() => Promise<void>)[] = [() => redis.stop()];
  const cleanup = async (): Promise<void> => {
    for (const close of cleanups.splice(0).reverse()) await close().catch(() => undefined);
  };
  const deadline = setTimeout(() => {
    process.stderr.write(`service-bench: no result after ${DEADLINE_MS / 1000} s; stopping\n`);
    void cleanup().finally(() => process.exit(2));
  }, DEADLINE_MS);
  deadline.unref();

  try {
    const logger = pino({ level: 'warn' });
    const config = loadConfig({});
    const { MAX_BODY_BYTES } = config;
    // The default per-job limits; no rate limit or active-job quota: the bench is one client posting fast.
    const limits = { ...limitsFromConfig(config), ratePerSecond: 0, maxActiveJobsPerKey: 0 };
    for (const workers of WORKER_COUNTS) {
      const common = {
        redisUrl: redis.url,
        keyPrefix: `bench-${workers}-${Date.now()}`,
        jobTtlSeconds: 3600,
      };
      const jobs = await createJobService({ ...common, logger });
      const workerPool = await startWorkers({ ...common, concurrency: workers, logger });
      const app = buildApp({ jobs, maxBodyBytes: MAX_BODY_BYTES, limits });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const stop = async (): Promise<void> => {
        await app.close();
        await workerPool.close();
        await jobs.close();
      };
      cleanups.push(stop);
      const base = listenUrl(app.server);

      // Warm-up: JIT, connections, solve threads.
      await pool(10, workers, async (i) => {
        await awaitDone(base, (await submit(base, i)).id);
      });
      process.stdout.write(`${JSON.stringify(await latency(base, workers))}\n`);
      process.stdout.write(`${JSON.stringify(await cancelLatency(base, workers))}\n`);
      const finished = async (): Promise<number> => {
        const { byState } = await jobs.stats();
        return byState.succeeded + byState.failed + byState.cancelled;
      };
      const before = await finished();
      process.stdout.write(
        `${JSON.stringify(await throughput(base, workers, async () => (await finished()) - before))}\n`,
      );
      cleanups.pop();
      await stop();
    }
  } finally {
    clearTimeout(deadline);
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`service-bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
