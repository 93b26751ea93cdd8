/**
 * The service on five hosts, each a network namespace on one bridge (test/helpers/netns.ts): Redis on one,
 * the API (dist/main/api.js) on another, two workers (dist/main/worker.js) on two more, and a client on the
 * fifth that makes every HTTP request and Redis read of this file. Jobs posted to the API cross that
 * network and are solved by both workers; then one worker host's link goes down mid-solve, the other
 * worker resumes its job from the checkpoint, and when the link comes back the cut-off worker's late writes
 * are refused.
 *
 * Which worker solved a job: each worker logs `solve ended` with the job id, and the job's meta keeps
 * `holder` (host:pid of the worker that last started it). Every host has the same hostname here (network
 * namespaces share it), so the pid tells them apart.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Keys } from '../../src/jobs/keys.js';
import type { JobView } from '../../src/jobs/types.js';
import { generateProblem } from '../../src/problem/generate.js';
import { createNetwork, type Network } from '../helpers/netns.js';
import { type NsClient, nsClient } from '../helpers/ns-client.js';
import {
  killAll,
  logLines,
  type Spawned,
  spawnCommand,
  spawnNodeIn,
  WORKER_ENTRY,
  workersStarted,
} from '../helpers/processes.js';
import { waitFor } from '../jobs/harness.js';

const API_ENTRY = fileURLToPath(new URL('../../dist/main/api.js', import.meta.url));
const PREFIX = 'hosts';
const keys = new Keys(PREFIX);

let net: Network | undefined;
let client: NsClient;
let redisUrl: string;
let base: string;
let api: Spawned;
const workers: Spawned[] = [];

function startRedis(ns: string, address: string): Spawned {
  return spawnCommand(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'redis-server',
      '--bind',
      address,
      '--port',
      '6379',
      '--protected-mode',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    {},
  );
}

beforeAll(async () => {
  net = createNetwork(['redis', 'api', 'w1', 'w2', 'cli']);
  const { hosts } = net;
  redisUrl = `redis://${hosts.redis.address}:6379`;
  base = `http://${hosts.api.address}:3000`;
  const redis = startRedis(hosts.redis.ns, hosts.redis.address);
  await waitFor(
    () => /Ready to accept connections/.test(redis.out()),
    10_000,
    () => `redis-server did not start: ${redis.out()} ${redis.err()}`,
  );
  const env = { REDIS_URL: redisUrl, KEY_PREFIX: PREFIX };
  api = spawnNodeIn(hosts.api.ns, API_ENTRY, {
    ...env,
    HOST: hosts.api.address,
    PORT: '3000',
    RATE_LIMIT_PER_SECOND: '0',
    LOG_LEVEL: 'warn',
  });
  for (const host of [hosts.w1, hosts.w2]) {
    workers.push(
      spawnNodeIn(host.ns, WORKER_ENTRY, {
        ...env,
        LOG_LEVEL: 'info',
        LOCK_DURATION_MS: '1000',
        STALLED_INTERVAL_MS: '500',
      }),
    );
  }
  client = nsClient(hosts.cli.ns);
  await waitFor(
    async () => (await client.fetch(`${base}/readyz`).catch(() => ({ status: 0 }))).status === 200,
    20_000,
    () => `the API did not answer: ${api.err()}`,
  );
  await workersStarted(workers, 20_000);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await killAll();
  net?.destroy();
});

async function submit(body: unknown): Promise<JobView> {
  const answer = await client.fetch<JobView>(`${base}/solve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(answer.status).toBe(202);
  return answer.json;
}

async function getJob(id: string): Promise<JobView> {
  const answer = await client.fetch<JobView>(`${base}/jobs/${id}`);
  expect(answer.status).toBe(200);
  return answer.json;
}

const waitDone = async (id: string, timeoutMs: number): Promise<JobView> => {
  let last: JobView | undefined;
  await waitFor(
    async () => {
      last = await getJob(id);
      if (!last.done) await new Promise((r) => setTimeout(r, 150)); // poll gently: the CPU is shared
      return last.done;
    },
    timeoutMs,
    () => `job ${id} not done: ${JSON.stringify(last)}`,
  );
  return last!;
};

/** The job's state hash (state, holder) with its run hash (checkpoint, progress). */
const meta = async (id: string) => ({
  ...pairs(await client.redis<string[]>(redisUrl, 'HGETALL', keys.data(id).run)),
  ...pairs(await client.redis<string[]>(redisUrl, 'HGETALL', keys.state(id))),
});

function pairs(flat: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i]] = flat[i + 1];
  return record;
}

/** The job ids each worker logged `solve ended` (succeeded) for. */
const solvedBy = (w: Spawned): string[] =>
  logLines(w.out())
    .filter((l) => l.msg === 'solve ended' && l.state === 'succeeded' && l.recorded === true)
    .map((l) => l.jobId as string);

const workerOf = (holder: string): Spawned | undefined => workers.find((w) => holder.endsWith(`:${w.pid}`));

it('runs jobs posted to the API on one host on the workers of two others', async () => {
  const { hosts } = net!;
  // Redis sees the API and both workers from their own hosts' addresses
  const clients = await client.redis<string>(redisUrl, 'CLIENT', 'LIST');
  const from = (name: string) =>
    new Set(
      clients
        .split('\n')
        .filter((l) => l.includes(` name=${name} `))
        .map((l) => /addr=([\d.]+):/.exec(l)![1]),
    );
  expect(from('levinv-worker')).toEqual(new Set([hosts.w1.address, hosts.w2.address]));
  expect([...from('levinv-api')].every((a) => a === hosts.api.address)).toBe(true);

  // gd jobs of a few hundred ms each: while one worker is busy the other takes the next
  const JOBS = 6;
  const ITERATIONS = 150;
  const jobs = await Promise.all(
    Array.from({ length: JOBS }, (_, i) =>
      submit({
        ...generateProblem({ n: 400, d: 10, seed: 20 + i }),
        method: 'gd',
        options: { maxIterations: ITERATIONS, tolerance: 0, lineSearch: 'none', stepSize: 1e-4 },
      }),
    ),
  );
  const ids = jobs.map((j) => j.id);
  const done = await Promise.all(ids.map((id) => waitDone(id, 40_000)));
  for (const view of done) {
    expect(view.state).toBe('succeeded');
    expect(view.result!.iterations).toBe(ITERATIONS);
    expect(view.resumes).toBe(0);
  }
  const [one, two] = workers.map((w) => solvedBy(w).filter((id) => ids.includes(id)));
  expect(one.length).toBeGreaterThanOrEqual(1);
  expect(two.length).toBeGreaterThanOrEqual(1);
  // each job solved exactly once, by one of the two
  expect([...one, ...two].sort()).toEqual([...ids].sort());
  // and the job's holder names the same worker as its log
  for (const id of ids) {
    expect(workerOf((await meta(id)).holder ?? '')).toBe(one.includes(id) ? workers[0] : workers[1]);
  }
  console.info(JSON.stringify({ figure: 'hosts-jobs-per-worker', w1: one.length, w2: two.length }));
}, 60_000);

it('resumes the job of a worker host whose link went down on the other worker, from its checkpoint', async () => {
  const ITERATIONS = 1800;
  const { id } = await submit({
    ...generateProblem({ n: 2000, d: 10, seed: 3 }),
    method: 'gd',
    options: {
      maxIterations: ITERATIONS,
      tolerance: 0,
      lineSearch: 'none',
      stepSize: 1e-3,
      record: { every: 1, includeX: false },
    },
  });
  await waitFor(
    async () => Number((await meta(id)).checkpointIteration ?? -1) >= 300,
    30_000,
    () => 'the job never reached iteration 300',
  );
  const victim = workerOf((await meta(id)).holder ?? '')!;
  expect(victim).toBeDefined();
  const survivor = workers.find((w) => w !== victim)!;
  const victimHost = victim === workers[0] ? 'w1' : 'w2';
  net!.cut(victimHost);
  const cutAt = Date.now();
  // nothing more arrives from the cut-off host: this is the checkpoint the other worker must resume from
  const checkpoint = Number((await meta(id)).checkpointIteration);
  expect(checkpoint).toBeGreaterThanOrEqual(300);
  expect(checkpoint).toBeLessThan(ITERATIONS);

  // the other worker takes it over once the lock (1 s) has lapsed and its stalled check (0.5 s) ran
  await waitFor(
    async () => {
      const m = await meta(id);
      return m.state === 'succeeded' || (m.state === 'running' && workerOf(m.holder ?? '') === survivor);
    },
    30_000,
    () => 'the other worker never took the job over',
  );
  const secondsToResume = (Date.now() - cutAt) / 1000;
  // The cut-off host comes back while (or after) the other worker runs its job: its late writes, held up
  // in its TCP connections, must be refused and change nothing.
  net!.restore(victimHost);

  const done = await waitDone(id, 45_000);
  expect(done.state).toBe('succeeded');
  expect(done.resumes).toBe(1);
  expect(done.result!.iterations).toBe(ITERATIONS);
  expect(done.result!.reason).toBe('max-iterations');
  expect(workerOf((await meta(id)).holder ?? '')).toBe(survivor);
  expect(solvedBy(survivor)).toContain(id);

  // the returning worker learns it lost the job: a refused progress write stops its solve, or, when its
  // solve had already ended, the refused finish is logged as not recorded
  await waitFor(
    () =>
      logLines(victim.out()).some(
        (l) =>
          l.jobId === id &&
          ((l.msg === 'stopping the solve' && l.why === 'lost') ||
            (l.msg === 'solve ended' && l.recorded === false)),
      ),
    40_000,
    () => `the cut-off worker never reported the job lost: ${victim.out().slice(-2000)}`,
  );
  expect(solvedBy(victim)).not.toContain(id);
  expect(await getJob(id)).toEqual(done);

  // every iteration recorded exactly once: no duplicate, no gap
  const seen: number[] = [];
  for (let offset = 0; ; ) {
    const page = await client.fetch<{ items: { iteration: number }[]; nextOffset: number }>(
      `${base}/jobs/${id}/iterates?offset=${offset}&limit=1000`,
    );
    expect(page.status).toBe(200);
    if (page.json.items.length === 0) break;
    for (const it of page.json.items) seen.push(it.iteration);
    offset = page.json.nextOffset;
  }
  expect(seen).toEqual(Array.from({ length: ITERATIONS + 1 }, (_, i) => i));

  // the second attempt started from the checkpoint the cut-off worker left; one done event
  const events = (
    await client.redis<[string, string[]][]>(redisUrl, 'XRANGE', keys.data(id).events, '-', '+')
  ).map(([, fields]) => pairs(fields));
  const runs = events
    .filter((e) => e.type === 'state')
    .map((e) => JSON.parse(e.data) as Record<string, unknown>)
    .filter((s) => s.state === 'running');
  expect(runs).toEqual([
    { state: 'running', attempt: 1 },
    { state: 'running', attempt: 2, resumedFrom: checkpoint },
  ]);
  expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
  const secondsToRefused = (Date.now() - cutAt) / 1000;
  const victimSaw = logLines(victim.out())
    .filter((l) => l.jobId === id)
    .map((l) => l.msg);
  console.info(
    JSON.stringify({ figure: 'hosts-link-down', checkpoint, secondsToResume, secondsToRefused, victimSaw }),
  );
}, 90_000);
