/**
 * `npm run bench:faults`: the service under faults, with real processes (a private redis-server with
 * append-only persistence, the API entry and worker entries from dist/main), one JSON line per figure:
 *   {bench: 'sigkill', secondsToResume, killedAtIteration, resumedFromIteration, iterationsRedone, ...}
 *   {bench: 'redis-restart', jobs, succeeded, lost, doneEvents, non503During, outageSeconds}
 *   {bench: 'fuzz', sent, status5xx, notProblemJson, alive}
 *   {bench: 'event-loop', clients, n, d, healthzP99Ms, jobGetP99Ms, ...}
 *   {bench: 'npy-header', crafted, headerKB, statuses, healthzMaxMs, bigJsonMs, ...}
 *   {bench: 'upload-gate', slowClients, uploads, statuses, uploadP50Ms, slowAnswers, ...}
 *
 * Redis is test/helpers/private-redis.ts with append-only persistence. The API and workers run with the defaults a deployment gets (LOCK_DURATION_MS, STALLED_INTERVAL_MS
 * unset), except that the rate limit is off so that the probes themselves are not refused.
 *
 * Usage: node dist-bench/bench/fault-bench.js [sigkill|redis-restart|fuzz|event-loop|npy-header|upload-gate ...]   (default: all)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Keys } from '#levinv/jobs/keys.js';
import type { JobView } from '#levinv/jobs/types.js';
import { freePort } from '#levinv/main/local-redis.js';
import { generateProblem } from '#levinv/problem/generate.js';
import { encodeNpy } from '#levinv/problem/npy.js';
import { type PrivateRedis, privateRedis } from '../test/helpers/private-redis.js';
import { fuzzRequests } from './fuzz-bodies.js';
import { DIST_MAIN } from './repo-paths.js';

const line = (record: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(record)}\n`);
};

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Number(sorted[index].toFixed(1));
}

interface Proc {
  child: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function startNode(entry: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [join(DIST_MAIN, entry)], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  return {
    child,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Setup {
  base: string;
  redisUrl: string;
  prefix: string;
  procs: Proc[];
  /** append-only, so that a shutdown and start keeps every job */
  redis: PrivateRedis;
  env: Record<string, string>;
}

async function setUp(name: string, extraEnv: Record<string, string> = {}): Promise<Setup> {
  const redis = await privateRedis({ persistent: true });
  const redisUrl = redis.url;
  const prefix = `faults-${name}`;
  const port = await freePort();
  const env = { REDIS_URL: redisUrl, KEY_PREFIX: prefix, RATE_LIMIT_PER_SECOND: '0', ...extraEnv };
  const api = startNode('api.js', { ...env, PORT: String(port), HOST: '127.0.0.1' });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the API', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined), 20_000);
  return { base, redisUrl, prefix, procs: [api], redis, env };
}

async function tearDown(s: Setup): Promise<void> {
  for (const p of s.procs) await p.kill('SIGKILL');
  await s.redis.close();
}

async function submit(base: string, body: string): Promise<JobView> {
  const response = await fetch(`${base}/solve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  if (response.status !== 202) throw new Error(`POST /solve: ${response.status} ${await response.text()}`);
  return (await response.json()) as JobView;
}

async function getJob(base: string, id: string): Promise<JobView> {
  const response = await fetch(`${base}/jobs/${id}`);
  if (!response.ok) throw new Error(`GET /jobs/${id}: ${response.status}`);
  return (await response.json()) as JobView;
}

/** SIGKILL the worker of a long solve; a second worker takes it over from its checkpoint. */
async function sigkill(): Promise<void> {
  const s = await setUp('sigkill');
  try {
    // gd with a small fixed step: thousands of cheap iterations, a few ms each.
    const problem = generateProblem({ n: 400, d: 10, seed: 7 });
    const body = JSON.stringify({
      ...problem,
      method: 'gd',
      options: { maxIterations: 6000, tolerance: 0, lineSearch: 'none', stepSize: 1e-4 },
    });
    const first = startNode('worker.js', s.env);
    s.procs.push(first);
    const job = await submit(s.base, body);
    const running = await waitFor(
      'progress',
      async () => {
        const view = await getJob(s.base, job.id);
        return (view.progress?.iteration ?? 0) >= 500 ? view : undefined;
      },
      60_000,
    );
    void running;
    const second = startNode('worker.js', s.env);
    s.procs.push(second);
    await sleep(1000); // let the second worker connect
    const before = await getJob(s.base, job.id);
    await first.kill('SIGKILL');
    const killedAt = performance.now();
    const lastSeen = (await getJob(s.base, job.id)).progress?.iteration ?? 0;
    const resumed = await waitFor(
      'resumed progress',
      async () => {
        const view = await getJob(s.base, job.id);
        return view.resumes >= 1 && (view.progress?.iteration ?? 0) > lastSeen ? view : undefined;
      },
      90_000,
    );
    const secondsToResume = (performance.now() - killedAt) / 1000;
    const done = await waitFor(
      'the end',
      async () => {
        const view = await getJob(s.base, job.id);
        return view.done ? view : undefined;
      },
      120_000,
    );
    // The recorded iterates, every one: duplicates or gaps mean work redone or lost.
    const seen: number[] = [];
    for (let offset = 0; ; ) {
      const page = (await (
        await fetch(`${s.base}/jobs/${job.id}/iterates?offset=${offset}&limit=1000`)
      ).json()) as {
        items: { iteration: number }[];
        nextOffset: number;
      };
      if (page.items.length === 0) break;
      for (const it of page.items) seen.push(it.iteration);
      offset = page.nextOffset;
    }
    let duplicates = 0;
    let gaps = 0;
    for (let i = 1; i < seen.length; i++) {
      if (seen[i] <= seen[i - 1]) duplicates++;
      else if (seen[i] !== seen[i - 1] + 1) gaps++;
    }
    // The checkpoint is written with the progress, so the new worker starts right after the last progress
    // the API showed before the kill: anything above that was computed twice.
    const resumedFrom = await firstIterationAfterResume(s, job.id);
    line({
      bench: 'sigkill',
      lockDefaults: true,
      progressBeforeKill: before.progress?.iteration ?? null,
      lastProgressSeenAfterKill: lastSeen,
      resumedFromIteration: resumedFrom,
      iterationsRedone: resumedFrom === null ? null : Math.max(0, lastSeen - resumedFrom),
      secondsToResume: Number(secondsToResume.toFixed(2)),
      resumes: done.resumes,
      state: done.state,
      iterations: done.result?.iterations ?? null,
      recorded: seen.length,
      duplicates,
      gaps,
      firstResumedProgress: resumed.progress?.iteration ?? null,
    });
  } finally {
    await tearDown(s);
  }
}

/** The checkpoint iteration the resumed attempt started from, from the job's state events. */
async function firstIterationAfterResume(s: Setup, id: string): Promise<number | null> {
  const redis = new Redis(s.redisUrl);
  try {
    const entries = await redis.xrange(new Keys(s.prefix).data(id).events, '-', '+');
    for (const [, fields] of entries) {
      const record: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1];
      if (record.type !== 'state') continue;
      const data = JSON.parse(record.data) as { state?: string; resumedFrom?: number };
      if (data.state === 'running' && typeof data.resumedFrom === 'number') return data.resumedFrom;
    }
    return null;
  } finally {
    redis.disconnect();
  }
}

/** 50 jobs in flight, Redis shut down and started again on the same append-only file. */
async function redisRestart(): Promise<void> {
  const s = await setUp('restart');
  const JOBS = 50;
  try {
    const worker = startNode('worker.js', s.env);
    s.procs.push(worker);
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const problem = generateProblem({ n: 600, d: 12, seed: 100 + i });
      ids.push((await submit(s.base, JSON.stringify(problem))).id);
    }
    await sleep(500);
    const finishedBefore = (await Promise.all(ids.map((id) => getJob(s.base, id)))).filter(
      (v) => v.done,
    ).length;
    await s.redis.shutdown();
    const outageStart = performance.now();
    // During the outage: every answer is a 503 problem+json, never another 5xx.
    let probes = 0;
    let non503 = 0;
    let notProblem = 0;
    while (performance.now() - outageStart < 3000) {
      for (const url of [`/jobs/${ids[0]}`, '/jobs', '/readyz']) {
        const response = await fetch(`${s.base}${url}`);
        probes++;
        if (response.status !== 503) non503++;
        if (!(response.headers.get('content-type') ?? '').startsWith('application/problem+json'))
          notProblem++;
        await response.arrayBuffer();
      }
      const posted = await fetch(`${s.base}/solve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(generateProblem({ n: 50, d: 3, seed: 1 })),
      });
      probes++;
      if (posted.status !== 503) non503++;
      await posted.arrayBuffer();
      await sleep(100);
    }
    await s.redis.start();
    const outageSeconds = (performance.now() - outageStart) / 1000;
    const views = await waitFor(
      'all jobs done',
      async () => {
        const all = await Promise.all(ids.map((id) => getJob(s.base, id)));
        return all.every((v) => v.done) ? all : undefined;
      },
      180_000,
    );
    const redis = new Redis(s.redisUrl);
    let doneEvents = 0;
    const keys = new Keys(s.prefix);
    for (const id of ids) {
      const entries = await redis.xrange(keys.data(id).events, '-', '+');
      doneEvents += entries.filter(([, f]) => f[1] === 'done').length;
    }
    redis.disconnect();
    const succeeded = views.filter((v) => v.state === 'succeeded').length;
    line({
      bench: 'redis-restart',
      jobs: JOBS,
      finishedBeforeOutage: finishedBefore,
      outageSeconds: Number(outageSeconds.toFixed(1)),
      probesDuringOutage: probes,
      non503During: non503,
      notProblemJsonDuring: notProblem,
      succeeded,
      lost: JOBS - succeeded,
      doneEvents,
    });
  } finally {
    await tearDown(s);
  }
}

/** Generated hostile requests against the API process: no 5xx, every error problem+json, still alive. */
async function fuzz(): Promise<void> {
  const s = await setUp('fuzz');
  try {
    const COUNT = 2000;
    let sent = 0;
    let status5xx = 0;
    let notProblemJson = 0;
    for (const spec of fuzzRequests(COUNT, 42)) {
      const response = await fetch(`${s.base}${spec.url}`, {
        method: spec.method,
        headers: spec.headers,
        ...(spec.body === undefined ? {} : { body: spec.body }),
      }).catch(() => null);
      sent++;
      if (!response) continue;
      if (response.status >= 500) status5xx++;
      if (response.status >= 400) {
        if (!(response.headers.get('content-type') ?? '').startsWith('application/problem+json'))
          notProblemJson++;
      }
      await response.arrayBuffer().catch(() => undefined);
    }
    const alive = (await fetch(`${s.base}/healthz`)).ok;
    line({ bench: 'fuzz', sent, status5xx, notProblemJson, alive });
  } finally {
    await tearDown(s);
  }
}

/**
 * Latency probes in a process of their own: in this one, sending 20 x 44 MB would delay the probes
 * themselves. It samples /healthz and `jobPath` every 20 ms until a line arrives on its stdin, then prints
 * {healthz: [ms...], job: [ms...]}.
 */
const PROBE_SCRIPT = `
const [base, jobPath] = process.argv.slice(1);
const out = { healthz: [], job: [] };
let stop = false;
process.stdin.once('data', () => { stop = true; });
async function probe(path, into) {
  while (!stop) {
    const t0 = performance.now();
    const r = await fetch(base + path);
    await r.arrayBuffer();
    into.push(performance.now() - t0);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
await Promise.all([probe('/healthz', out.healthz), probe(jobPath, out.job)]);
process.stdout.write(JSON.stringify(out));
process.exit(0);
`;

async function probeWhile(base: string, jobPath: string, during: () => Promise<void>) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE_SCRIPT, base, jobPath], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await sleep(300);
  await during();
  child.stdin?.write('stop\n');
  await exited;
  return JSON.parse(text) as { healthz: number[]; job: number[] };
}

/**
 * While 20 clients post 100000 x 20 problems (each retrying after a 503 as its Retry-After says), p99 of
 * GET /healthz and of GET /jobs/{id} for a small finished job.
 */
async function eventLoop(): Promise<void> {
  const s = await setUp('loop');
  const CLIENTS = 20;
  const N = 100_000;
  const D = 20;
  try {
    const worker = startNode('worker.js', s.env);
    s.procs.push(worker);
    const small = await submit(s.base, JSON.stringify(generateProblem({ n: 200, d: 8, seed: 3 })));
    await waitFor(
      'the small job',
      async () => ((await getJob(s.base, small.id)).done ? true : undefined),
      30_000,
    );
    await worker.kill('SIGTERM'); // the big jobs only queue: this measures the API, not the solver
    const big = Buffer.from(JSON.stringify(generateProblem({ n: N, d: D, seed: 5 })));
    const jobPath = `/jobs/${small.id}`;

    const idle = await probeWhile(s.base, jobPath, () => sleep(2000));
    const statuses: number[] = [];
    let shed = 0;
    let seconds = 0;
    const load = await probeWhile(s.base, jobPath, async () => {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          for (;;) {
            const response = await fetch(`${s.base}/solve`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: big,
            });
            await response.arrayBuffer();
            if (response.status !== 503) {
              statuses.push(response.status);
              return;
            }
            shed++;
            await sleep(1000 * Number(response.headers.get('retry-after') ?? 1));
          }
        }),
      );
      seconds = (performance.now() - started) / 1000;
    });
    line({
      bench: 'event-loop',
      clients: CLIENTS,
      n: N,
      d: D,
      bodyMB: Number((big.length / 1e6).toFixed(1)),
      postsSeconds: Number(seconds.toFixed(1)),
      accepted: statuses.filter((x) => x === 202).length,
      retriedAfter503: shed,
      otherStatuses: statuses.filter((x) => x !== 202),
      healthzP50Ms: percentile(load.healthz, 50),
      healthzP99Ms: percentile(load.healthz, 99),
      healthzMaxMs: percentile(load.healthz, 100),
      jobGetP50Ms: percentile(load.job, 50),
      jobGetP99Ms: percentile(load.job, 99),
      jobGetMaxMs: percentile(load.job, 100),
      samples: load.healthz.length + load.job.length,
      idleHealthzP99Ms: percentile(idle.healthz, 99),
      idleJobGetP99Ms: percentile(idle.job, 99),
    });
  } finally {
    await tearDown(s);
  }
}

/** A multipart/form-data body of .npy parts (and an optional json part), as `levinv submit DIR` sends. */
function multipartBody(parts: Record<string, Buffer>, boundary: string): Buffer {
  const pieces: Buffer[] = [];
  for (const [name, bytes] of Object.entries(parts)) {
    const file = name === 'json' ? '' : `; filename="${name}.npy"`;
    const type = name === 'json' ? 'application/json' : 'application/octet-stream';
    pieces.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file}\r\nContent-Type: ${type}\r\n\r\n`,
      ),
      bytes,
      Buffer.from('\r\n'),
    );
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(pieces);
}

/**
 * An `A` part whose .npy header (version 2.0, so it may exceed 64 KB) is `'shape':(` repeated to `bytes`:
 * a pattern that backtracks over the whole header at every repeat took seconds of CPU on it.
 */
function craftedHeaderNpy(bytes: number): Buffer {
  const head = "{'descr': '<f8', 'fortran_order': False, ";
  const text = head + "'shape':(".repeat(Math.ceil((bytes - head.length) / 9));
  const out = Buffer.alloc(12 + text.length);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 2;
  out[7] = 0;
  out.writeUInt32LE(text.length, 8);
  out.write(text, 12, 'latin1');
  return out;
}

/**
 * Five crafted .npy headers of 250 KB at once, then one of 700 KB (the parse-thread path) beside an ordinary
 * 400 KB JSON problem: the crafted ones' answers, /healthz latency (the event loop's delay) meanwhile, and
 * how long the ordinary upload took.
 */
async function npyHeader(): Promise<void> {
  const s = await setUp('npy-header');
  try {
    const problem = generateProblem({ n: 20, d: 3, seed: 4 });
    const small = (v: number[]) => encodeNpy(Float64Array.from(v), [v.length]);
    const parts = (headerBytes: number) => ({
      A: craftedHeaderNpy(headerBytes),
      b: small(problem.b),
      sigma: small(problem.sigma),
    });
    const post = async (body: Buffer, contentType: string) => {
      const t0 = performance.now();
      const response = await fetch(`${s.base}/solve`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });
      const text = await response.text();
      return { status: response.status, ms: performance.now() - t0, text };
    };
    const boundary = 'levinvbench';
    const multipart = `multipart/form-data; boundary=${boundary}`;
    const five = multipartBody(parts(250_000), boundary);
    const crafted: { status: number; ms: number }[] = [];
    const during5 = await probeWhile(s.base, '/readyz', async () => {
      crafted.push(...(await Promise.all(Array.from({ length: 5 }, () => post(five, multipart)))));
    });
    await sleep(3000); // the load shedding the first part may have caused is over
    const big = multipartBody(parts(700_000), boundary);
    const json = Buffer.from(JSON.stringify(generateProblem({ n: 2500, d: 8, seed: 6 })));
    let bigAnswer = { status: 0, ms: 0 };
    let jsonAnswer = { status: 0, ms: 0 };
    await probeWhile(s.base, '/readyz', async () => {
      const first = post(big, multipart);
      await sleep(20);
      [bigAnswer, jsonAnswer] = await Promise.all([first, post(json, 'application/json')]);
    });
    line({
      bench: 'npy-header',
      crafted: crafted.length,
      headerKB: 250,
      statuses: [...new Set(crafted.map((c) => c.status))],
      craftedMaxMs: percentile(
        crafted.map((c) => c.ms),
        100,
      ),
      healthzP50Ms: percentile(during5.healthz, 50),
      healthzMaxMs: percentile(during5.healthz, 100),
      bigHeaderKB: 700,
      bigHeaderStatus: bigAnswer.status,
      bigHeaderMs: Number(bigAnswer.ms.toFixed(1)),
      jsonKB: Math.round(json.length / 1000),
      jsonStatus: jsonAnswer.status,
      jsonMs: Number(jsonAnswer.ms.toFixed(1)),
    });
  } finally {
    await tearDown(s);
  }
}

/**
 * Sends a chunked multipart POST /solve that dribbles one byte every `everyMs` and resolves with the status
 * of the answer (0: the connection closed without one) and when it came.
 */
function slowUpload(base: string, token: string, everyMs: number): Promise<{ status: number; ms: number }> {
  const { hostname, port } = new URL(base);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearInterval(timer);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      resolve({ status, ms: performance.now() - t0 });
      socket.destroy();
    };
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', () => {});
    socket.write(
      `POST /solve HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: multipart/form-data; boundary=slow\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    const prefix = '--slow\r\nContent-Disposition: form-data; name="A"; filename="A.npy"\r\n\r\n';
    socket.write(`${prefix.length.toString(16)}\r\n${prefix}\r\n`);
    timer = setInterval(() => {
      if (!socket.destroyed) socket.write(Buffer.from('1\r\n\x93\r\n', 'latin1'));
    }, everyMs);
  });
}

/**
 * Two slow clients of one key dribble a byte every 2 s into large uploads; meanwhile another key posts
 * ordinary large uploads (100000 x 20 as .npy parts, one after the other): their statuses and latency, and
 * what the slow ones were answered, and when.
 */
async function uploadGate(): Promise<void> {
  const alice = 'alice-secret-0123456789';
  const bob = 'bob-secret-0123456789ab';
  const s = await setUp('upload-gate', { API_KEYS: `alice:${alice},bob:${bob}` });
  try {
    const problem = generateProblem({ n: 100_000, d: 20, seed: 8 });
    const boundary = 'levinvbench';
    const body = multipartBody(
      {
        A: encodeNpy(Float64Array.from(problem.A.flat()), [100_000, 20]),
        b: encodeNpy(Float64Array.from(problem.b), [100_000]),
        sigma: encodeNpy(Float64Array.from(problem.sigma), [100_000]),
      },
      boundary,
    );
    const slow = [slowUpload(s.base, alice, 2000), slowUpload(s.base, alice, 2000)];
    await sleep(1000);
    const uploads: { status: number; ms: number }[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const response = await fetch(`${s.base}/solve`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${bob}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        body,
      });
      await response.arrayBuffer();
      uploads.push({ status: response.status, ms: performance.now() - t0 });
    }
    const slowAnswers = await Promise.race([
      Promise.all(slow),
      sleep(180_000).then(() => [] as { status: number; ms: number }[]),
    ]);
    line({
      bench: 'upload-gate',
      slowClients: slow.length,
      uploads: uploads.length,
      uploadMB: Number((body.length / 1e6).toFixed(1)),
      statuses: uploads.map((u) => u.status),
      uploadP50Ms: percentile(
        uploads.map((u) => u.ms),
        50,
      ),
      uploadMaxMs: percentile(
        uploads.map((u) => u.ms),
        100,
      ),
      slowAnswers: slowAnswers.map((a) => ({ status: a.status, seconds: Number((a.ms / 1000).toFixed(1)) })),
    });
  } finally {
    await tearDown(s);
  }
}

const BENCHES: Record<string, () => Promise<void>> = {
  sigkill,
  'redis-restart': redisRestart,
  fuzz,
  'event-loop': eventLoop,
  'npy-header': npyHeader,
  'upload-gate': uploadGate,
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
    const bench = BENCHES[name];
    if (!bench) throw new Error(`unknown bench '${name}' (one of ${Object.keys(BENCHES).join(', ')})`);
    await bench();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`fault-bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
