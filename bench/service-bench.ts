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
 * With --breakdown, each throughput line is followed by where its time went, per job, from the first
 * submit to the last job finished (the read-back excluded):
 *   {bench: 'breakdown', workers, jobs, redisCalls, redisCpuMs, mainThreadCpuMs, otherThreadsCpuMs,
 *    threads: {name: ms}, commands: {command: {calls, usec}}}
 * redisCalls counts every command Redis ran (a script's own calls included, as INFO commandstats does) and
 * redisCpuMs is the server's CPU; mainThreadCpuMs is this process's main thread: the API, the workers'
 * main side and the bench's own HTTP clients all run there; the other threads are the solve threads and
 * V8's and libuv's helpers (Linux only: /proc/self/task).
 *
 * Everything is torn down at the end; a run that exceeds DEADLINE_MS stops with exit code 2.
 *
 * Usage: node dist-bench/bench/service-bench.js [--quick] [--breakdown] [--throughput-only] [--workers 1,2,4]
 *   (--quick: 50 latency jobs, 200 throughput jobs; --throughput-only: no latency or cancel figures)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { buildApp } from '#levinv/api/app.js';
import { createJobService, type JobView, startWorkers } from '#levinv/jobs/index.js';
import { parseEventStream } from '#levinv/main/cli-submit.js';
import { loadConfig } from '#levinv/main/config.js';
import { startLocalRedis } from '#levinv/main/local-redis.js';
import { listenUrl } from '#levinv/main/runtime.js';
import { limitsFromConfig } from '#levinv/main/service-options.js';
import { generateProblem } from '#levinv/problem/generate.js';

const N = 200;
const D = 8;
/** worker concurrencies (solve threads) to measure: `--workers 1,2,4`; default 1 and 2 */
const workersArg = process.argv.indexOf('--workers');
const WORKER_COUNTS =
  workersArg > 0
    ? process.argv[workersArg + 1]
        .split(',')
        .map(Number)
        .filter((w) => w > 0)
    : [1, 2];
const DEADLINE_MS = 20 * 60_000;
const THROUGHPUT_CLIENTS = 16;

const quick = process.argv.includes('--quick');
const breakdown = process.argv.includes('--breakdown');
/** skips the latency and cancel figures (for profiling the throughput run alone) */
const throughputOnly = process.argv.includes('--throughput-only');
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

/** CPU seconds of each thread of this process, by thread id (Linux; empty elsewhere). */
function threadTimes(): Map<string, { name: string; seconds: number }> {
  const times = new Map<string, { name: string; seconds: number }>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name
      times.set(tid, { name, seconds: (Number(fields[11]) + Number(fields[12])) / 100 });
    }
  } catch {
    // not Linux
  }
  return times;
}

interface Sample {
  threads: Map<string, { name: string; seconds: number }>;
  redisCpu: number;
  commands: Map<string, { calls: number; usec: number }>;
}

async function sample(redis: Redis): Promise<Sample> {
  const [cpu, stats] = await Promise.all([redis.info('cpu'), redis.info('commandstats')]);
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(cpu)?.[1] ?? 0);
  const commands = new Map<string, { calls: number; usec: number }>();
  for (const match of stats.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) {
    commands.set(match[1], { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return {
    threads: threadTimes(),
    redisCpu: field('used_cpu_user') + field('used_cpu_sys'),
    commands,
  };
}

function perJob(before: Sample, after: Sample, jobs: number, workers: number): Record<string, unknown> {
  const ms = (seconds: number): number => Number(((seconds * 1000) / jobs).toFixed(2));
  const pid = String(process.pid);
  let main = 0;
  let other = 0;
  const threads: Record<string, number> = {};
  for (const [tid, { name, seconds }] of after.threads) {
    const spent = seconds - (before.threads.get(tid)?.seconds ?? 0);
    if (tid === pid) main += spent;
    else {
      other += spent;
      threads[name] = (threads[name] ?? 0) + spent;
    }
  }
  const commands: Record<string, { calls: number; usec: number }> = {};
  let calls = 0;
  for (const [name, now] of after.commands) {
    if (name === 'info') continue;
    const was = before.commands.get(name) ?? { calls: 0, usec: 0 };
    const c = (now.calls - was.calls) / jobs;
    if (c <= 0) continue;
    calls += c;
    commands[name] = { calls: Number(c.toFixed(2)), usec: Number(((now.usec - was.usec) / jobs).toFixed(1)) };
  }
  return {
    bench: 'breakdown',
    workers,
    jobs,
    redisCalls: Number(calls.toFixed(1)),
    redisCpuMs: ms(after.redisCpu - before.redisCpu),
    mainThreadCpuMs: ms(main),
    otherThreadsCpuMs: ms(other),
    threads: Object.fromEntries(Object.entries(threads).map(([k, v]) => [k, ms(v)])),
    commands,
  };
}

async function throughput(
  base: string,
  workers: number,
  finishedCount: () => Promise<number>,
  probe: Redis | null,
): Promise<Record<string, unknown>> {
  const ids: string[] = [];
  const before = probe ? await sample(probe) : null;
  const firstSubmit = Date.now();
  await pool(THROUGHPUT_JOBS, THROUGHPUT_CLIENTS, async (i) => {
    ids.push((await submit(base, i)).id);
  });
  // The store's counts say when to look; each job is then read back over HTTP.
  while ((await finishedCount()) < ids.length) await sleep(250);
  const spent = probe && before ? perJob(before, await sample(probe), ids.length, workers) : null;
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
    ...(spent ? { breakdown: spent } : {}),
  };
}

async function main(): Promise<void> {
  const redis = await startLocalRedis();
  const cleanups: (() => Promise<void>)[] = [() => redis.stop()];
  const probe = breakdown ? new Redis(redis.url, { connectionName: 'levinv-bench-probe' }) : null;
  if (probe) cleanups.push(async () => void probe.disconnect());
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
      if (!throughputOnly) {
        process.stdout.write(`${JSON.stringify(await latency(base, workers))}\n`);
        process.stdout.write(`${JSON.stringify(await cancelLatency(base, workers))}\n`);
      }
      const finished = async (): Promise<number> => {
        const { byState } = await jobs.stats();
        return byState.succeeded + byState.failed + byState.cancelled;
      };
      const before = await finished();
      const { breakdown: spent, ...figures } = await throughput(
        base,
        workers,
        async () => (await finished()) - before,
        probe,
      );
      process.stdout.write(`${JSON.stringify(figures)}\n`);
      if (spent) process.stdout.write(`${JSON.stringify(spent)}\n`);
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
