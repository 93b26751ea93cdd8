/**
 * How long one large request can stall the API's event loop. Prints JSON lines:
 *   - `single-post`: the longest event-loop stall (monitorEventLoopDelay max) while one 100000 x 20 problem
 *     (~44 MB of JSON) is posted, and that post's latency;
 *   - `concurrent-posts`: p50/p99/max of GET /healthz (probed every 10 ms) while 20 clients post such bodies;
 *   - `get-large-job`: GET /jobs/{id} of a finished job with 100000 leverage scores (the store stubbed, so
 *     only the API's own work is timed), median of 20.
 *
 * Usage: node dist-bench/bench/api-loop-bench.js [DIST_DIR]. DIST_DIR (default: dist/, the current build) is
 * the compiled tree whose app and job service are measured, so that an older build (e.g. from `git archive`)
 * can be compared.
 * The app runs in a child process (so that the clients' own work does not count) on a private redis-server
 * with no workers (submits just queue); the child measures its own event loop.
 */
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { generateProblem } from '#levinv/problem/generate.js';
import { PRODUCT_DIST } from './repo-paths.js';

const N = 100_000;
const D = 20;
const CLIENTS = Number(process.env.CLIENTS ?? 20);

const serving = process.argv[2] === '--serve';
const distArg = serving ? process.argv[3] : process.argv[2];
const root = distArg ? pathToFileURL(`${distArg.replace(/\/$/, '')}/`) : PRODUCT_DIST;
const load = async <T>(path: string): Promise<T> => (await import(new URL(path, root).href)) as T;

const line = (record: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(record)}\n`);
};
const ms = (value: number): number => Number(value.toFixed(1));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return ms(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]);
}

interface AppLike {
  listen(options: { host: string; port: number }): Promise<string>;
  inject(options: { method: string; url: string }): Promise<{ statusCode: number; body: string }>;
  ready(): Promise<unknown>;
  close(): Promise<void>;
}
type BuildApp = (deps: Record<string, unknown>) => AppLike;

const LIMITS = {
  ratePerSecond: 0,
  maxActiveJobsPerKey: 0,
  maxProblemCells: 10_000_000,
  maxSolveSeconds: 3600,
  maxIterations: 100_000,
  maxSolveMemoryMb: 1_000_000,
};

/** The child: the app on a private Redis; measures its event loop between 'start' and 'stop' messages. */
async function serve(): Promise<void> {
  const { buildApp } = await load<{ buildApp: BuildApp }>('api/app.js');
  const { createJobService } = await load<{
    createJobService(o: Record<string, unknown>): Promise<{ close(): Promise<void> }>;
  }>('jobs/index.js');
  const { startLocalRedis } = await load<{
    startLocalRedis(): Promise<{ url: string; stop(): Promise<void> }>;
  }>('main/local-redis.js');
  const redis = await startLocalRedis();
  const jobs = await createJobService({ redisUrl: redis.url, keyPrefix: 'loop-bench', jobTtlSeconds: 300 });
  const app = buildApp({ jobs, maxBodyBytes: 256 * 1024 * 1024, limits: LIMITS });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  process.on('message', async (message: string) => {
    if (message === 'start') {
      histogram.reset();
      histogram.enable();
    } else if (message === 'stop') {
      histogram.disable();
      process.send?.({
        maxLoopStallMs: ms(histogram.max / 1e6),
        p99LoopDelayMs: ms(histogram.percentile(99) / 1e6),
      });
    } else if (message === 'exit') {
      await app.close();
      await jobs.close();
      await redis.stop();
      process.exit(0);
    }
  });
  process.send?.({ address });
}

async function main(): Promise<void> {
  const { buildApp } = await load<{ buildApp: BuildApp }>('api/app.js');
  const body = JSON.stringify(generateProblem({ n: N, d: D, seed: 1 }));
  const child = fork(new URL(import.meta.url).pathname, ['--serve', ...(distArg ? [distArg] : [])]);
  const next = (): Promise<Record<string, unknown>> =>
    new Promise((resolve) => child.once('message', (m) => resolve(m as Record<string, unknown>)));
  const { address } = (await next()) as { address: string };
  const loop = async <T>(run: () => Promise<T>): Promise<[T, Record<string, unknown>]> => {
    child.send('start');
    const result = await run();
    const stats = next();
    child.send('stop');
    return [result, await stats];
  };
  const post = async (): Promise<number> => {
    const res = await fetch(`${address}/solve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await res.arrayBuffer();
    return res.status;
  };

  try {
    await post(); // warm-up (JIT, the parse threads)
    const started = performance.now();
    const [status, single] = await loop(post);
    const latency = performance.now() - started;
    line({
      bench: 'single-post',
      n: N,
      d: D,
      bodyMB: ms(body.length / 1e6),
      status,
      ...single,
      postMs: ms(latency),
    });

    const waits: number[] = [];
    let running = true;
    const probe = (async () => {
      while (running) {
        const t = performance.now();
        const res = await fetch(`${address}/healthz`);
        await res.arrayBuffer();
        waits.push(performance.now() - t);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const t0 = performance.now();
    const [statuses, concurrent] = await loop(() => Promise.all(Array.from({ length: CLIENTS }, post)));
    const wall = performance.now() - t0;
    running = false;
    await probe;
    line({
      bench: 'concurrent-posts',
      clients: CLIENTS,
      accepted: statuses.filter((s) => s === 202).length,
      statuses: [...new Set(statuses)],
      wallS: ms(wall / 1000),
      ...concurrent,
      healthzProbes: waits.length,
      healthzP50Ms: percentile(waits, 50),
      healthzP99Ms: percentile(waits, 99),
      healthzMaxMs: percentile(waits, 100),
    });
  } finally {
    child.send('exit');
  }
  const limits = LIMITS;

  // GET /jobs/{id} of a finished 100000-row job, the store stubbed so that only the API's work is timed.
  const rand = (k: number): number[] => Array.from({ length: k }, (_, i) => ((i * 7919) % 1000) / 1000);
  const job = {
    id: 'bench',
    state: 'succeeded',
    done: true,
    method: 'newton',
    n: N,
    d: D,
    createdAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    progress: { iteration: 9, loss: 1e-20, gradNorm: 1e-12 },
    resumes: 0,
    iterates: { recorded: 10, limit: 1000, truncated: false },
    result: {
      method: 'newton',
      x: rand(D),
      loss: 1e-20,
      gradNorm: 1e-12,
      iterations: 9,
      converged: true,
      reason: 'gradient-tolerance',
      leverage: rand(N).map((v) => v / 5000 + 1e-9),
      maxAbsResidual: 1e-12,
      start: rand(D),
      timings: { startMs: 1, solveMs: 2, totalMs: 3 },
      warnings: [],
    },
  };
  const stub = buildApp({ jobs: { get: async () => job }, maxBodyBytes: 1 << 20, limits });
  await stub.ready();
  const times: number[] = [];
  let size = 0;
  for (let i = 0; i < 25; i++) {
    const t = performance.now();
    const res = await stub.inject({ method: 'GET', url: '/jobs/bench' });
    if (i >= 5) times.push(performance.now() - t);
    size = res.body.length;
    if (res.statusCode !== 200) throw new Error(`GET /jobs/bench answered ${res.statusCode}`);
  }
  await stub.close();
  line({
    bench: 'get-large-job',
    rows: N,
    bytes: size,
    medianMs: percentile(times, 50),
    maxMs: percentile(times, 100),
  });
}

if (serving) await serve();
else await main();
