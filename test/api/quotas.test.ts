/**
 * Quotas and per-job limits: the per-key request rate (Redis store, 429 with Retry-After and RateLimit
 * headers, probes exempt, open when Redis is down), active jobs per key, and the problem size, memory,
 * time and iteration limits of POST /solve. Nothing refused is queued.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLimits, LIMIT_PROBLEM_TYPES, type Limits } from '../../src/api/limits.js';
import { RATE_LIMIT_NAMESPACE } from '../../src/api/rate-limit.js';
import type { JobView } from '../../src/jobs/types.js';
import { freePort } from '../../src/main/local-redis.js';
import { generateProblem } from '../../src/problem/generate.js';
import { parseProblem } from '../../src/problem/parse.js';
import { estimateSolveBytes } from '../../src/solver/index.js';
import {
  apiKeys,
  expectProblem,
  type Harness,
  startHarness,
  submit,
  TEST_LIMITS,
  vectorBody,
} from './harness.js';

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-abcdefghijklm';
const MIB = 1024 * 1024;

const statuses = (responses: request.Response[]): number[] => responses.map((r) => r.status).sort();

/** Sends `count` requests at once (the limiter's window opens with the first one and lasts 1 s). */
function burst(count: number, send: () => request.Test): Promise<request.Response[]> {
  return Promise.all(Array.from({ length: count }, () => send()));
}

describe('request rate per API key', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-rate', {
      workers: 0,
      auth: apiKeys({ alice: ALICE, bob: BOB }),
      limits: { ratePerSecond: 3, maxActiveJobsPerKey: 0 },
      rateLimitRedis: true,
    });
  });
  afterAll(() => h?.close());

  it('answers 429 problem+json with Retry-After and RateLimit headers past the limit, per key', async () => {
    const responses = await burst(6, () => h.http(ALICE).get('/jobs'));
    expect(statuses(responses)).toEqual([200, 200, 200, 429, 429, 429]);
    const ok = responses.filter((r) => r.status === 200);
    expect(ok.map((r) => r.headers['ratelimit-remaining']).sort()).toEqual(['0', '1', '2']);
    for (const r of ok) expect(r.headers['ratelimit-limit']).toBe('3');

    const refused = responses.find((r) => r.status === 429)!;
    const body = expectProblem(refused, 429);
    expect(body.type).toBe('urn:levinv:problem:rate-limited');
    expect(body.detail).toMatch(
      /^more than 3 requests per second from this API key \(RATE_LIMIT_PER_SECOND\)/,
    );
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['ratelimit-limit']).toBe('3');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);

    // Bob has his own count, and the probes and /metrics are not limited at all.
    expect((await h.http(BOB).get('/jobs')).status).toBe(200);
    const probes = await Promise.all([
      ...Array.from({ length: 5 }, () => h.http().get('/healthz')),
      ...Array.from({ length: 5 }, () => h.http().get('/readyz')),
      ...Array.from({ length: 5 }, () => h.http(ALICE).get('/metrics')),
    ]);
    expect(probes.map((r) => r.status)).toEqual(Array(15).fill(200));
    expect(probes[0].headers['ratelimit-limit']).toBeUndefined();

    // The count lives in Redis, shared by every API process: one counter per key name.
    const redis = new Redis(h.redis.url);
    try {
      expect(Number(await redis.get(`${RATE_LIMIT_NAMESPACE}key:alice`))).toBeGreaterThanOrEqual(6);
      expect(await redis.pttl(`${RATE_LIMIT_NAMESPACE}key:alice`)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('queues nothing for a POST /solve over the limit', async () => {
    await sleep(1100); // a fresh window for Bob
    const responses = await burst(5, () => h.http(BOB).post('/solve').send(vectorBody('tiny')));
    expect(statuses(responses)).toEqual([202, 202, 202, 429, 429]);
    await sleep(1100);
    const listed = await h.http(BOB).get('/jobs?limit=100');
    expect(listed.status).toBe(200);
    const accepted = responses.filter((r) => r.status === 202).map((r) => (r.body as JobView).id);
    expect((listed.body.items as JobView[]).map((j) => j.id).sort()).toEqual(accepted.sort());
  });
});

describe('request rate of an open service', () => {
  it('counts per client address (in process without Redis)', async () => {
    const h = await startHarness('api-rate-open', { workers: 0, limits: { ratePerSecond: 2 } });
    try {
      const responses = await burst(3, () => h.http().get('/jobs'));
      expect(statuses(responses)).toEqual([200, 200, 429]);
      const body = expectProblem(responses.find((r) => r.status === 429)!, 429);
      expect(body.detail).toMatch(/^more than 2 requests per second from this client address/);
    } finally {
      await h.close();
    }
  });

  it('lets requests through when its Redis does not answer (no 500)', async () => {
    const deadUrl = `redis://127.0.0.1:${await freePort()}`;
    const h = await startHarness('api-rate-down', {
      workers: 0,
      limits: { ratePerSecond: 2 },
      rateLimitRedis: deadUrl,
    });
    try {
      const responses = await burst(6, () => h.http().get('/jobs'));
      expect(statuses(responses)).toEqual(Array(6).fill(200));
    } finally {
      await h.close();
    }
  });
});

describe('active jobs per key and per-job limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-quotas', {
      workers: 0, // nothing runs: submitted jobs stay queued, so they stay active
      auth: apiKeys({ alice: ALICE, bob: BOB }),
      limits: { maxActiveJobsPerKey: 2, maxProblemCells: 1000, maxSolveSeconds: 30, maxIterations: 500 },
    });
  });
  afterAll(() => h?.close());

  const listIds = async (secret: string): Promise<string[]> => {
    const res = await h.http(secret).get('/jobs?limit=100');
    expect(res.status).toBe(200);
    return (res.body.items as JobView[]).map((j) => j.id);
  };

  it('refuses a job over MAX_ACTIVE_JOBS_PER_KEY with 429 and queues nothing; other keys are unaffected', async () => {
    const first = await submit(h, vectorBody('tiny'), ALICE);
    await submit(h, vectorBody('tiny'), ALICE);
    const over = await h.http(ALICE).post('/solve').send(vectorBody('tiny'));
    const body = expectProblem(over, 429);
    expect(body.detail).toContain('MAX_ACTIVE_JOBS_PER_KEY is 2');
    expect(await listIds(ALICE)).toHaveLength(2);

    expect((await h.http(BOB).post('/solve').send(vectorBody('tiny'))).status).toBe(202);

    // A cancelled job is no longer active: Alice may submit again.
    expect((await h.http(ALICE).post(`/jobs/${first.id}/cancel`)).status).toBe(200);
    expect((await h.http(ALICE).post('/solve').send(vectorBody('tiny'))).status).toBe(202);
  });

  it('refuses a problem over MAX_PROBLEM_CELLS with 413 naming the limit', async () => {
    const problem = generateProblem({ n: 251, d: 4, seed: 1 }); // 1004 cells
    const body = expectProblem(await h.http(BOB).post('/solve').send(problem), 413);
    expect(body.type).toBe(LIMIT_PROBLEM_TYPES.maxProblemCells);
    expect(body.detail).toBe(
      'the problem has n x d = 251 x 4 = 1004 cells; the limit is MAX_PROBLEM_CELLS = 1000',
    );
  });

  it('refuses options over MAX_SOLVE_SECONDS and MAX_ITERATIONS with 422 naming the limit', async () => {
    const before = await listIds(BOB);
    const tiny = vectorBody('tiny');
    const seconds = expectProblem(
      await h
        .http(BOB)
        .post('/solve')
        .send({ ...tiny, options: { maxSeconds: 30.5 } }),
      422,
    );
    expect(seconds.type).toBe(LIMIT_PROBLEM_TYPES.maxSolveSeconds);
    expect(seconds.detail).toBe('options.maxSeconds is 30.5; the limit is MAX_SOLVE_SECONDS = 30');

    // The unbounded job: gradient descent asked for 1e12 iterations.
    const attack = {
      ...tiny,
      method: 'gd',
      options: { maxIterations: 1e12, tolerance: 0, lineSearch: 'none', stepSize: 1e-12 },
    };
    const iterations = expectProblem(await h.http(BOB).post('/solve').send(attack), 422);
    expect(iterations.type).toBe(LIMIT_PROBLEM_TYPES.maxIterations);
    expect(iterations.detail).toBe(
      'options.maxIterations is 1000000000000; the limit is MAX_ITERATIONS = 500',
    );
    expect(await listIds(BOB)).toEqual(before);

    // At the limits exactly: accepted.
    const atLimits = { ...tiny, options: { maxSeconds: 30, maxIterations: 500 } };
    expect((await h.http(BOB).post('/solve').send(atLimits)).status).toBe(202);
  });
});

describe('working memory (MAX_SOLVE_MEMORY_MB)', () => {
  it("refuses the issue's memory bomb (n = 2001, d = 700, Newton) with 413 at the default limit", async () => {
    const h = await startHarness('api-memory', { workers: 0 });
    try {
      const n = 2001;
      const d = 700;
      const row = (i: number) => Array.from({ length: d }, (_, j) => ((i * 31 + j * 17) % 19) - 9);
      const body = {
        A: Array.from({ length: n }, (_, i) => row(i)),
        b: new Array(n).fill(0),
        sigma: new Array(n).fill(d / n),
        method: 'newton',
      };
      const text = JSON.stringify(body);
      expect(text.length).toBeGreaterThan(3_000_000);
      const res = await h.http().post('/solve').set('content-type', 'application/json').send(text);
      const problem = expectProblem(res, 413);
      expect(problem.type).toBe(LIMIT_PROBLEM_TYPES.maxSolveMemoryMb);
      const estimateMb = Math.ceil(estimateSolveBytes(n, d, 'newton') / MIB);
      expect(problem.detail).toBe(
        `solving this problem (n = 2001, d = 700, method newton) needs an estimated ${estimateMb} MB of ` +
          `working memory; the limit is MAX_SOLVE_MEMORY_MB = ${TEST_LIMITS.maxSolveMemoryMb}`,
      );
      expect((await h.http().get('/jobs')).body.items).toEqual([]);
    } finally {
      await h.close();
    }
  });
});

describe('applyLimits', () => {
  const limits: Limits = { ...TEST_LIMITS, maxSolveSeconds: 60, maxIterations: 1000 };
  const tiny = (options: Record<string, unknown> = {}, method?: string) =>
    parseProblem({ ...vectorBody('tiny'), ...(method ? { method } : {}), options });

  it('fills in maxSeconds, and lowers a method default above MAX_ITERATIONS to it', () => {
    expect(applyLimits(tiny(), limits).options).toMatchObject({ maxSeconds: 60 });
    // Newton's default (100) is under the cap: left to the solver.
    expect(applyLimits(tiny(), limits).options.maxIterations).toBeUndefined();
    // Gradient descent's default (20000) is over it.
    expect(applyLimits(tiny({}, 'gd'), limits).options).toMatchObject({ method: 'gd', maxIterations: 1000 });
    // Values within the limits are kept as given.
    expect(applyLimits(tiny({ maxSeconds: 5, maxIterations: 7 }), limits).options).toMatchObject({
      maxSeconds: 5,
      maxIterations: 7,
    });
  });

  it('refuses exactly what the memory estimate puts over the limit', () => {
    const parsed = tiny();
    const { n, d } = parsed.problem;
    const bytes = estimateSolveBytes(n, d, 'newton');
    expect(bytes).toBeGreaterThan(0);
    const under = { ...limits, maxSolveMemoryMb: Math.ceil(bytes / MIB) };
    expect(applyLimits(parsed, under).problem).toBe(parsed.problem);
    // A limit below the estimate (in bytes: the MB figure is only for people).
    const over = { ...limits, maxSolveMemoryMb: bytes / MIB / 2 };
    expect(() => applyLimits(parsed, over)).toThrow(/MAX_SOLVE_MEMORY_MB/);
  });
});
