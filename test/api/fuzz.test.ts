/**
 * Property-based fuzzing (fast-check, bench/fuzz-bodies.ts): 2000+ hostile requests per run over real
 * HTTP to a real app (private Redis, real JobService, no workers: valid problems just queue). No request may
 * get a 5xx, every non-2xx answer is problem+json with type/title/status/detail, and the server lives on.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FuzzRequest, fuzzRequestArbitrary } from '../../bench/fuzz-bodies.js';
import { type App, buildApp } from '../../src/api/app.js';
import { createJobService } from '../../src/jobs/index.js';
import type { JobService } from '../../src/jobs/types.js';
import { type TestRedis, testRedis, uniquePrefix } from '../helpers/redis.js';
import { TEST_LIMITS } from './harness.js';

const LIMITS = { ...TEST_LIMITS, maxProblemCells: 64, maxIterations: 1000, maxSolveSeconds: 60 };
const MAX_BODY = 256 * 1024;
const RUNS = 2100;

let redis: TestRedis;
let jobs: JobService;
let app: App;
let base: string;

beforeAll(async () => {
  redis = await testRedis();
  jobs = await createJobService({ redisUrl: redis.url, keyPrefix: uniquePrefix('fuzz'), jobTtlSeconds: 120 });
  app = buildApp({ jobs, maxBodyBytes: MAX_BODY, limits: LIMITS, requestTimeoutMs: 5000 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await app?.close();
  await jobs?.close();
  await redis?.close();
});

async function exchange(spec: FuzzRequest): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${base}${spec.url}`, {
    method: spec.method,
    headers: spec.headers,
    ...(spec.body === undefined ? {} : { body: spec.body }),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

it(`answers ${RUNS} hostile requests with no 5xx and problem+json for every error`, async () => {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(fuzzRequestArbitrary({ ...LIMITS, maxBodyBytes: MAX_BODY }), async (spec) => {
      const { status, type, text } = await exchange(spec);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const what = `${spec.label}: ${spec.method} ${spec.url.slice(0, 120)} -> ${status} ${text.slice(0, 300)}`;
      expect(status, what).toBeLessThan(500);
      if (status >= 400) {
        expect(type, what).toMatch(/^application\/problem\+json/);
        const body = JSON.parse(text);
        expect(body, what).toMatchObject({
          type: expect.any(String),
          title: expect.any(String),
          status,
          detail: expect.any(String),
        });
      }
    }),
    { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20240607), endOnFailure: true },
  );
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  expect(total).toBe(RUNS);
  // The run reached both sides: accepted submits and refusals of several kinds.
  expect(statuses.get(202) ?? 0).toBeGreaterThan(0);
  for (const status of [400, 404, 413, 415])
    expect(statuses.get(status) ?? 0, `${status}`).toBeGreaterThan(0);
  console.log('fuzz statuses', Object.fromEntries([...statuses].sort(([a], [b]) => a - b)));
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
}, 120_000);
