/**
 * `npm run bench:scale`: jobs per second as worker processes are added, every part in a process of its own
 * (the API is dist/main/api.js, each worker dist/main/worker.js with WORKER_CONCURRENCY=1), on loopback.
 * One JSON line per backend and worker count:
 *   {bench: 'scale', backend, workers, n, d, jobs, clients, seconds, jobsPerSecond, succeeded, lost,
 *    cpuPct: {api, redis, redisNodes: [...], workers: [...], workersTotal, workersMainThreads, clients},
 *    solveMsPerJob, cpuMsPerJob, machineBusyPct, otherPct}
 *
 * Per worker count: a fresh key prefix, the API and the workers started, 10 warm-up jobs per worker, then
 * JOBS (default 1000) n = 200, d = 8 problems posted by 16 concurrent clients (this process) as fast as
 * the API takes them; jobs/s runs from the first POST to the last job's finishedAt, and every job is read
 * back (`lost`: posted and not succeeded). The rate limit and the active-job quota are off.
 *
 * cpuPct: CPU time of each process during that phase (utime + stime from /proc/<pid>/stat, threads
 * included) as a percentage of one core over the phase's wall time; the machine has
 * os.availableParallelism() cores (machineBusyPct is of all of them, from /proc/stat, and otherPct is what
 * processes not of this bench used: the CPU may be shared). workersMainThreads is the workers' main
 * threads alone (queue, job store, Redis I/O; the rest of workersTotal is the solve threads and V8's
 * helpers); solveMsPerJob the mean solve wall time the workers recorded; cpuMsPerJob all of this bench's
 * processes' CPU time per job.
 *
 * Backends (BACKENDS; each starts its servers and gives a URL and the pids to account), each started afresh
 * per worker count: `standalone`, a private redis-server (test/helpers/private-redis.ts); `cluster`, a Redis
 * Cluster of three masters on loopback (test/helpers/private-redis-cluster.ts), REDIS_URL=redis+cluster://...
 * for the API and the workers. cpuPct.redis is the sum over the backend's servers (cpuPct.redisNodes each).
 *
 * Usage: node dist-bench/bench/scale-bench.js [--jobs N] [--workers 1,2,4] [--backend standalone|cluster]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Keys } from '#levinv/jobs/keys.js';
import { closeConnection, createClient, PRODUCER_OPTIONS } from '#levinv/jobs/redis.js';
import type { JobView } from '#levinv/jobs/types.js';
import { freePort } from '#levinv/main/local-redis.js';
import { generateProblem } from '#levinv/problem/generate.js';
import { privateRedis } from '../test/helpers/private-redis.js';
import { privateRedisCluster } from '../test/helpers/private-redis-cluster.js';
import { DIST_MAIN } from './repo-paths.js';

const N = 200;
const D = 8;
const CLIENTS = 16;
const WARM_UP_PER_WORKER = 10;
const DEADLINE_MS = 20 * 60_000;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const JOBS = Number(arg('jobs') ?? 1000);
const WORKER_COUNTS = (arg('workers') ?? '1,2,4').split(',').map(Number);

/** Where the jobs live: a URL for the API and the workers, and the server processes to account CPU to. */
interface RunningBackend {
  url: string;
  pids(): number[];
  close(): Promise<void>;
}

interface Backend {
  name: string;
  start(): Promise<RunningBackend>;
}

const BACKENDS: Backend[] = [
  {
    name: 'standalone',
    async start() {
      const redis = await privateRedis();
      return {
        url: redis.url,
        pids: () => (redis.pid() === undefined ? [] : [redis.pid()!]),
        close: () => redis.close(),
      };
    },
  },
  {
    name: 'cluster',
    async start() {
      const cluster = await privateRedisCluster();
      return { url: cluster.url, pids: () => cluster.pids(), close: () => cluster.close() };
    },
  },
];

/** A problem pool, cycled through (generating every one would time the generator). */
const bodies = Array.from({ length: 50 }, (_, i) =>
  JSON.stringify(generateProblem({ n: N, d: D, seed: i + 1 })),
);

interface Proc {
  child: ChildProcess;
  kill(): Promise<void>;
}

/** what runs now, for the deadline to stop */
const live = new Set<Proc>();
const servers = new Set<RunningBackend>();

function startNode(entry: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [join(DIST_MAIN, entry)], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const proc: Proc = {
    child,
    kill: () =>
      new Promise<void>((resolve) => {
        live.delete(proc);
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
  live.add(proc);
  return proc;
}

/** utime + stime of a process (all its threads), or of one of its threads, in seconds. */
function processCpuSeconds(pid: number, tid?: number): number {
  const stat = readFileSync(
    tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
    'utf8',
  );
  // fields after the command (which may hold spaces) in parentheses: utime and stime are the 12th and 13th
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** Busy and total jiffies of the whole machine. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = cpu[3] + cpu[4]; // idle + iowait
  return { busy: total - idle, total };
}

async function pool(count: number, clients: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function submit(base: string, i: number): Promise<string> {
  const response = await fetch(`${base}/solve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: bodies[i % bodies.length],
  });
  if (response.status !== 202) throw new Error(`POST /solve: ${response.status} ${await response.text()}`);
  return ((await response.json()) as JobView).id;
}

async function getJob(base: string, id: string): Promise<JobView> {
  const response = await fetch(`${base}/jobs/${id}`);
  if (!response.ok) throw new Error(`GET /jobs/${id}: ${response.status}`);
  return (await response.json()) as JobView;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function run(backend: Backend, workerCount: number): Promise<Record<string, unknown>> {
  const server = await backend.start();
  servers.add(server);
  const procs: Proc[] = [];
  // the bench's own reads (finished-job counts, solve times): a Cluster for a cluster URL
  const redis = createClient(server.url, PRODUCER_OPTIONS, 'scale-bench');
  try {
    const prefix = `scale-${workerCount}-${Date.now()}`;
    const keys = new Keys(prefix);
    const env = { REDIS_URL: server.url, KEY_PREFIX: prefix };
    const port = await freePort();
    const api = startNode('api.js', {
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
      RATE_LIMIT_PER_SECOND: '0',
      MAX_ACTIVE_JOBS_PER_KEY: '0',
    });
    procs.push(api);
    const workers = Array.from({ length: workerCount }, () =>
      startNode('worker.js', { ...env, WORKER_CONCURRENCY: '1' }),
    );
    procs.push(...workers);
    const base = `http://127.0.0.1:${port}`;
    await waitUntil('the API', async () => (await fetch(`${base}/readyz`)).ok, 30_000);
    const finished = async (): Promise<number> => {
      const [s, f, c] = await Promise.all(
        (['succeeded', 'failed', 'cancelled'] as const).map((state) => redis.zcard(keys.byState[state])),
      );
      return s + f + c;
    };

    // warm-up: JIT, connections, solve threads, every worker connected
    const warm = workerCount * WARM_UP_PER_WORKER;
    await pool(warm, workerCount, async (i) => {
      await submit(base, i);
    });
    await waitUntil('the warm-up jobs', async () => (await finished()) >= warm, 60_000);
    const before = await finished();
    /** the workers' own record of solve wall time (the solve-seconds histogram's sum and count) */
    const solveSeconds = async () => {
      const [sum, count] = await redis.hmget(keys.solveSeconds, 'sum', 'count');
      return { sum: Number(sum ?? 0), count: Number(count ?? 0) };
    };

    const pids = {
      api: api.child.pid!,
      redis: server.pids(),
      workers: workers.map((w) => w.child.pid!),
    };
    const cpu0 = {
      api: processCpuSeconds(pids.api),
      redis: pids.redis.map((pid) => processCpuSeconds(pid)),
      workers: pids.workers.map((pid) => processCpuSeconds(pid)),
      workerMain: pids.workers.map((pid) => processCpuSeconds(pid, pid)),
      solve: await solveSeconds(),
      clients: process.cpuUsage(),
      machine: machineJiffies(),
    };
    const t0 = Date.now();

    const ids: string[] = [];
    await pool(JOBS, CLIENTS, async (i) => {
      ids.push(await submit(base, i));
    });
    await waitUntil('every job', async () => (await finished()) - before >= JOBS, 10 * 60_000);
    const wall = (Date.now() - t0) / 1000;
    const cpu1 = {
      api: processCpuSeconds(pids.api),
      redis: pids.redis.map((pid) => processCpuSeconds(pid)),
      workers: pids.workers.map((pid) => processCpuSeconds(pid)),
      workerMain: pids.workers.map((pid) => processCpuSeconds(pid, pid)),
      solve: await solveSeconds(),
      clients: process.cpuUsage(cpu0.clients),
      machine: machineJiffies(),
    };

    const views: JobView[] = [];
    await pool(ids.length, CLIENTS, async (i) => {
      views.push(await getJob(base, ids[i]));
    });
    const succeeded = views.filter((v) => v.state === 'succeeded').length;
    const lastFinish = Math.max(...views.map((v) => (v.finishedAt ? Date.parse(v.finishedAt) : 0)));
    const seconds = (lastFinish - t0) / 1000;

    const pct = (cpuSeconds: number): number => Number(((100 * cpuSeconds) / wall).toFixed(1));
    const workerPct = pids.workers.map((_, i) => pct(cpu1.workers[i] - cpu0.workers[i]));
    const redisNodesPct = pids.redis.map((_, i) => pct(cpu1.redis[i] - cpu0.redis[i]));
    const redisPct = pct(cpu1.redis.reduce((a, b, i) => a + b - cpu0.redis[i], 0));
    const apiPct = pct(cpu1.api - cpu0.api);
    const clientsPct = pct((cpu1.clients.user + cpu1.clients.system) / 1e6);
    const cores = availableParallelism();
    const machineBusy =
      (100 * (cpu1.machine.busy - cpu0.machine.busy)) / (cpu1.machine.total - cpu0.machine.total);
    const ours = (apiPct + redisPct + clientsPct + workerPct.reduce((a, b) => a + b, 0)) / cores;
    return {
      bench: 'scale',
      backend: backend.name,
      workers: workerCount,
      n: N,
      d: D,
      jobs: JOBS,
      clients: CLIENTS,
      seconds: Number(seconds.toFixed(2)),
      jobsPerSecond: Number((JOBS / seconds).toFixed(1)),
      succeeded,
      lost: JOBS - succeeded,
      cores,
      cpuPct: {
        api: apiPct,
        redis: redisPct,
        redisNodes: redisNodesPct,
        workers: workerPct,
        workersTotal: Number(workerPct.reduce((a, b) => a + b, 0).toFixed(1)),
        // the workers' main threads (BullMQ, the job store, Redis I/O); the rest is the solve thread, GC
        workersMainThreads: pct(cpu1.workerMain.reduce((a, b, i) => a + b - cpu0.workerMain[i], 0)),
        clients: clientsPct,
      },
      solveMsPerJob: Number(
        (
          (1000 * (cpu1.solve.sum - cpu0.solve.sum)) /
          Math.max(1, cpu1.solve.count - cpu0.solve.count)
        ).toFixed(2),
      ),
      cpuMsPerJob: Number(((1000 * wall * (ours * cores)) / 100 / JOBS).toFixed(2)),
      machineBusyPct: Number(machineBusy.toFixed(1)),
      otherPct: Number(Math.max(0, machineBusy - ours).toFixed(1)),
    };
  } finally {
    await closeConnection(redis);
    for (const p of procs) await p.kill();
    servers.delete(server);
    await server.close();
  }
}

async function main(): Promise<void> {
  const wanted = arg('backend');
  const backends = wanted ? BACKENDS.filter((b) => b.name === wanted) : BACKENDS;
  if (backends.length === 0) throw new Error(`unknown backend '${wanted}'`);
  const deadline = setTimeout(() => {
    process.stderr.write(`scale-bench: no result after ${DEADLINE_MS / 1000} s; stopping\n`);
    void Promise.all([...[...live].map((p) => p.kill()), ...[...servers].map((s) => s.close())]).finally(() =>
      process.exit(2),
    );
  }, DEADLINE_MS);
  deadline.unref();
  for (const backend of backends) {
    for (const workers of WORKER_COUNTS) {
      process.stdout.write(`${JSON.stringify(await run(backend, workers))}\n`);
    }
  }
  clearTimeout(deadline);
}

main().catch((error: unknown) => {
  process.stderr.write(`scale-bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
