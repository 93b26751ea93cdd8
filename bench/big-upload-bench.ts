/**
 * `npm run bench:big`: a large problem over HTTP the binary way. A private redis-server, the API
 * (`dist/main/api.js`) and one worker (`dist/main/worker.js`) as processes; a generated n x d problem
 * (default 1,000,000 x 20) POSTed as multipart/form-data with .npy parts; the job followed to its end.
 * Prints one JSON line: the upload and solve times, the relative error against the generator's xStar, and
 * the peak RSS (VmHWM) of the API and the worker process.
 *   node dist-bench/bench/big-upload-bench.js [--n 1000000] [--d 20] [--method newton]
 *        [--signs positive|mixed] [--give-signs] [--start global|centre]
 * `--signs mixed` draws 30% negative slacks; their signs are sent (a `signs` part) only with --give-signs,
 * so by default the worker finds the cell from A, b and sigma alone (the global start). Then the line
 * also counts the rows whose sign in the result's signs.npy differs from the generator's (wrongSigns).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePort } from '#levinv/main/local-redis.js';
import { generateProblem } from '#levinv/problem/generate.js';
import { encodeNpy, parseNpy } from '#levinv/problem/npy.js';
import { privateRedis } from '../test/helpers/private-redis.js';
import { DIST_MAIN } from './repo-paths.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    d: { type: 'string' },
    method: { type: 'string' },
    signs: { type: 'string' },
    'give-signs': { type: 'boolean' },
    start: { type: 'string' },
  },
});
const n = Number(values.n ?? 1_000_000);
const d = Number(values.d ?? 20);
const method = values.method ?? 'newton';
const pattern = values.signs === 'mixed' ? 'mixed' : 'positive';
const giveSigns = values['give-signs'] ?? false;

/** Peak resident set size of a process, MB (Linux). */
function peakMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

function start(entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [join(DIST_MAIN, entry)], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

const redis = await privateRedis();
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const limits = {
  REDIS_URL: redis.url,
  MAX_BODY_BYTES: String(n * d * 8 + 64 * 1024 * 1024),
  MAX_PROBLEM_CELLS: String(n * d),
  MAX_SOLVE_MEMORY_MB: '2048',
  MAX_SOLVE_SECONDS: '3600',
};
const api = start('api.js', { ...limits, PORT: String(port), HOST: '127.0.0.1' });
const worker = start('worker.js', { ...limits, WORKER_CONCURRENCY: '1' });
try {
  for (let i = 0; ; i++) {
    if ((await fetch(`${base}/readyz`).catch(() => null))?.ok) break;
    if (i > 300) throw new Error('the API did not start');
    await sleep(100);
  }
  const generatedAt = Date.now();
  const problem = generateProblem({ n, d, seed: 1, signs: pattern });
  const form = new FormData();
  const A = new Float64Array(n * d);
  for (let i = 0; i < n; i++) A.set(problem.A[i], i * d);
  form.append('A', new Blob([encodeNpy(A, [n, d])]), 'A.npy');
  for (const name of ['b', 'sigma', 'xStar'] as const) {
    form.append(
      name,
      new Blob([encodeNpy(Float64Array.from(problem[name]), [problem[name].length])]),
      `${name}.npy`,
    );
  }
  if (giveSigns && problem.signs) {
    form.append('signs', new Blob([encodeNpy(Float64Array.from(problem.signs), [n])]), 'signs.npy');
  }
  form.append('json', JSON.stringify({ method, ...(values.start ? { start: values.start } : {}) }));
  const generateSeconds = (Date.now() - generatedAt) / 1000;

  const postedAt = Date.now();
  const res = await fetch(`${base}/solve`, { method: 'POST', body: form });
  const uploadSeconds = (Date.now() - postedAt) / 1000;
  const queued = (await res.json()) as { id?: string; detail?: string };
  if (res.status !== 202 || !queued.id)
    throw new Error(`POST /solve: ${res.status} ${JSON.stringify(queued)}`);
  let job: {
    state: string;
    done: boolean;
    startedAt: string | null;
    finishedAt: string | null;
    result?: {
      relError?: number;
      iterations: number;
      converged: boolean;
      reason: string;
      startMethod?: string;
      negativeSlacks?: number;
      ambiguity?: string;
    };
    error?: unknown;
  };
  for (;;) {
    // the state only (a list item carries no result) until done
    const page = (await (await fetch(`${base}/jobs?limit=1`)).json()) as { items: (typeof job)[] };
    job = page.items[0];
    if (job.done) break;
    await sleep(500);
  }
  job = (await (await fetch(`${base}/jobs/${queued.id}`)).json()) as typeof job;
  const finished = Date.now();
  let wrongSigns: number | undefined;
  if (pattern === 'mixed' && job.result) {
    const res = await fetch(`${base}/jobs/${queued.id}/result/signs.npy`);
    const found = parseNpy(new Uint8Array(await res.arrayBuffer()), 'signs.npy').data;
    const truth = problem.signs ?? [];
    wrongSigns = 0;
    for (let i = 0; i < n; i++) if (found[i] !== truth[i]) wrongSigns++;
  }
  console.log(
    JSON.stringify({
      bench: 'big-upload',
      n,
      d,
      method,
      signs: pattern,
      signsGiven: giveSigns && pattern === 'mixed',
      uploadMB: Math.round((n * d * 8 + 3 * n * 8) / 2 ** 20),
      generateSeconds,
      uploadSeconds,
      queueToStartSeconds: (Date.parse(job.startedAt ?? '') - postedAt) / 1000,
      solveSeconds: (Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt ?? '')) / 1000,
      totalSeconds: (finished - postedAt) / 1000,
      state: job.state,
      iterations: job.result?.iterations,
      converged: job.result?.converged,
      reason: job.result?.reason,
      relError: job.result?.relError,
      startMethod: job.result?.startMethod,
      negativeSlacks: job.result?.negativeSlacks,
      wrongSigns,
      ambiguity: job.result?.ambiguity,
      error: job.error,
      apiPeakMB: Math.round(peakMb(api.pid!)),
      workerPeakMB: Math.round(peakMb(worker.pid!)),
    }),
  );
} finally {
  api.kill('SIGTERM');
  worker.kill('SIGTERM');
  await sleep(500);
  await redis.close();
}
