/**
 * The API under test as it runs in production: a real Redis (private unless REDIS_URL is set), the real job
 * service and workers under a fresh key prefix, and the app listening on a loopback port so that supertest
 * and several concurrent requests (an open event stream and a cancel) share one server.
 */
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import request from 'supertest';
import { expect } from 'vitest';
import { type App, buildApp } from '../../src/api/app.js';
import type { AuthOptions } from '../../src/api/auth.js';
import type { Limits } from '../../src/api/limits.js';
import { createJobService, startWorkers } from '../../src/jobs/index.js';
import type { JobService, JobView } from '../../src/jobs/types.js';
import { loadConfig } from '../../src/main/config.js';
import { limitsFromConfig } from '../../src/main/service-options.js';
import { type TestRedis, testRedis, uniquePrefix } from '../helpers/redis.js';
import { loadVector } from '../helpers/testdata.js';

export const DEFAULT_MAX_BODY_BYTES = loadConfig({}).MAX_BODY_BYTES;

/**
 * The default limits, except no request rate limit: tests poll fast from one address. Tests of the limits
 * pass their own.
 */
export const TEST_LIMITS: Limits = { ...limitsFromConfig(loadConfig({})), ratePerSecond: 0 };

export interface HarnessOptions {
  workers?: number;
  maxBodyBytes?: number;
  /** API keys (and the metrics token); absent: the service is open */
  auth?: AuthOptions;
  /** overrides of TEST_LIMITS */
  limits?: Partial<Limits>;
  /**
   * count the rate limit in Redis (as the entry points do) instead of in process: true for this test's
   * Redis, or another URL (e.g. one where nothing answers)
   */
  rateLimitRedis?: boolean | string;
  logger?: FastifyBaseLogger;
}

/** `{ keys }` for AuthOptions from name -> secret pairs. */
export function apiKeys(pairs: Record<string, string>, metricsToken?: string): AuthOptions {
  return { keys: new Map(Object.entries(pairs)), ...(metricsToken ? { metricsToken } : {}) };
}

export interface Harness {
  app: App;
  jobs: JobService;
  redis: TestRedis;
  /** supertest against the listening server; with a secret, every request carries it as a Bearer token */
  http: (secret?: string) => ReturnType<typeof request> | ReturnType<typeof request.agent>;
  /** Idempotent; before stopping Redis, since the workers' connections wait for Redis to come back. */
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(name: string, options: HarnessOptions = {}): Promise<Harness> {
  const redis = await testRedis();
  const keyPrefix = uniquePrefix(name);
  const common = { redisUrl: redis.url, keyPrefix, jobTtlSeconds: 600 };
  const jobs = await createJobService(common);
  const concurrency = options.workers ?? 1;
  const workers = concurrency > 0 ? await startWorkers({ ...common, concurrency }) : undefined;
  const rateLimitUrl = options.rateLimitRedis === true ? redis.url : options.rateLimitRedis || undefined;
  const rateLimitRedis = rateLimitUrl
    ? new Redis(rateLimitUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500 })
    : undefined;
  // The entry points log connection errors; here they are expected (tests stop Redis) and ignored.
  rateLimitRedis?.on('error', () => undefined);
  const app = buildApp({
    jobs,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    limits: { ...TEST_LIMITS, ...options.limits },
    ...(options.auth ? { auth: options.auth } : {}),
    ...(rateLimitRedis ? { rateLimitRedis } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await app.ready();
  await app.listen({ host: '127.0.0.1', port: 0 });
  if (rateLimitRedis && options.rateLimitRedis === true && rateLimitRedis.status !== 'ready') {
    await new Promise((resolve) => rateLimitRedis.once('ready', resolve));
  }
  let closed: Promise<void> | undefined;
  return {
    app,
    jobs,
    redis,
    http: (secret) =>
      secret === undefined
        ? request(app.server)
        : request.agent(app.server).set('authorization', `Bearer ${secret}`),
    stopWorkers: async () => {
      await workers?.close();
    },
    close: () => {
      closed ??= (async () => {
        await app.close();
        rateLimitRedis?.disconnect();
        await workers?.close();
        await jobs.close();
        await redis.close();
      })();
      return closed;
    },
  };
}

/** A shared test vector as a POST /solve body. */
export function vectorBody(name: string): Record<string, unknown> {
  const v = loadVector(name);
  const body: Record<string, unknown> = { A: v.A, b: v.b, sigma: v.sigma, xStar: v.xStar };
  if (v.signs.some((s) => s !== 1)) body.signs = v.signs;
  if (v.regularization) body.options = { regularization: v.regularization };
  return body;
}

/**
 * A problem that keeps a worker busy for about `seconds`: gradient descent with the gradient tolerance off
 * runs until its wall-clock budget ends (or it is cancelled). Its iteration budget is the server's cap
 * (MAX_ITERATIONS), which this problem needs more than 30 s to use up.
 */
export function slowBody(seconds: number): Record<string, unknown> {
  return {
    ...vectorBody('medium'),
    method: 'gd',
    options: {
      tolerance: 0,
      maxIterations: TEST_LIMITS.maxIterations,
      maxSeconds: seconds,
      lineSearch: 'none',
      stepSize: 1e-6,
    },
  };
}

export async function submit(h: Harness, body: unknown, secret?: string): Promise<JobView> {
  const res = await h
    .http(secret)
    .post('/solve')
    .send(body as object);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body as JobView;
}

/** Polls GET /jobs/{id} until `until(job)` holds. */
export async function waitForJob(
  h: Harness,
  id: string,
  until: (job: JobView) => boolean = (job) => job.done,
  timeoutMs = 30_000,
  secret?: string,
): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await h.http(secret).get(`/jobs/${id}`);
    expect(res.status).toBe(200);
    const job = res.body as JobView;
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Asserts an RFC 9457 problem+json response with `status`. */
export function expectProblem(res: request.Response, status: number): Record<string, unknown> {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  expect(body.detail).toEqual(expect.any(String));
  expect(body.instance).toEqual(expect.any(String));
  return body;
}
