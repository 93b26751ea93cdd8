/**
 * AUTH_FAILURE_LIMIT: wrong credentials are counted per client address; past the limit that address gets
 * 429 with Retry-After on every route that needs a key, a right key included, while other addresses go on.
 * Failures are logged at warn, at most one line a second, never with the key. Real sockets from two
 * client addresses (127.0.0.1 and 127.0.0.2, both loopback on Linux).
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FAILURE_NAMESPACE, AUTH_THROTTLED_TYPE } from '../../src/api/auth-throttle.js';
import { loadConfig } from '../../src/main/config.js';
import { createLogger } from '../../src/main/runtime.js';
import { apiKeys, type Harness, startHarness } from './harness.js';

const ALICE = 'alice-secret-0123456789';
const WRONG = 'wrong-secret-guess-42424242';
const LIMIT = 5;

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

/** GET /jobs from `localAddress` with `authorization` (none: no header). */
function getJobs(h: Harness, localAddress: string, authorization?: string): Promise<Answer> {
  const { port } = h.app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/jobs',
        localAddress,
        agent: false,
        headers: authorization ? { authorization } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string, body }),
        );
      },
    );
    req.once('error', reject);
    req.end();
  });
}

function capturedLogger() {
  const lines: string[] = [];
  const logger = createLogger({ ...loadConfig({}), LOG_LEVEL: 'info' }, 'levinv-api', {
    write: (line: string) => {
      lines.push(line);
    },
  });
  const parsed = () =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string; level: number });
  return { logger, lines, parsed };
}

describe('failed authentication, counted in process', () => {
  const log = capturedLogger();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-auth-throttle', {
      workers: 0,
      auth: apiKeys({ alice: ALICE }),
      limits: { authFailures: { limit: LIMIT, windowSeconds: 60 } },
      logger: log.logger,
    });
  });
  afterAll(() => h?.close());

  it(`after ${LIMIT} wrong keys an address gets 429 with Retry-After, a right key too; others go on`, async () => {
    for (let i = 0; i < LIMIT; i++)
      expect((await getJobs(h, '127.0.0.1', `Bearer ${WRONG}`)).status).toBe(401);
    const throttled = await getJobs(h, '127.0.0.1', `Bearer ${WRONG}`);
    expect(throttled.status).toBe(429);
    const seconds = Number(throttled.retryAfter);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(60);
    const problem = JSON.parse(throttled.body) as { type: string; detail: string };
    expect(problem.type).toBe(AUTH_THROTTLED_TYPE);
    expect(problem.detail).toContain(`more than ${LIMIT} failed authentications from this client address`);
    // the right key from the same address: refused too, so a guesser cannot tell a hit
    expect((await getJobs(h, '127.0.0.1', `Bearer ${ALICE}`)).status).toBe(429);

    // another address: its own count
    expect((await getJobs(h, '127.0.0.2', `Bearer ${ALICE}`)).status).toBe(200);
    expect((await getJobs(h, '127.0.0.2', `Bearer ${WRONG}`)).status).toBe(401);
    expect((await getJobs(h, '127.0.0.2', `Bearer ${ALICE}`)).status).toBe(200);
  });

  it('requests without credentials are not counted', async () => {
    for (let i = 0; i < LIMIT * 3; i++) expect((await getJobs(h, '127.0.0.3')).status).toBe(401);
    expect((await getJobs(h, '127.0.0.3', `Bearer ${ALICE}`)).status).toBe(200);
  });

  it('logs failures at warn, the throttling once, and never a key', () => {
    const lines = log.parsed();
    const failures = lines.filter((l) => l.msg === 'failed authentication: wrong bearer token');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures.every((l) => l.level === 40)).toBe(true);
    expect(failures[0]).toMatchObject({ ip: '127.0.0.1', route: '/jobs', method: 'GET', failures: 1 });
    const throttling = lines.filter((l) => /too many failed authentications/.test(l.msg));
    expect(throttling).toHaveLength(1);
    expect(throttling[0]).toMatchObject({ level: 40, ip: '127.0.0.1', failures: LIMIT, windowSeconds: 60 });
    const all = log.lines.join('');
    expect(all).not.toContain(WRONG);
    expect(all).not.toContain(ALICE);
  });
});

describe('a flood of wrong keys', () => {
  it('is logged at warn at most once a second, with the number left out', async () => {
    const log = capturedLogger();
    const flood = 300;
    const h = await startHarness('api-auth-flood', {
      workers: 0,
      auth: apiKeys({ alice: ALICE }),
      limits: { authFailures: { limit: flood + 1, windowSeconds: 60 } },
      logger: log.logger,
    });
    try {
      const started = Date.now();
      for (let i = 0; i < flood; i += 30) {
        const batch = Array.from({ length: 30 }, () => getJobs(h, '127.0.0.1', `Bearer ${WRONG}`));
        for (const answer of await Promise.all(batch)) expect(answer.status).toBe(401);
      }
      const elapsedMs = Date.now() - started;
      const failures = log.parsed().filter((l) => l.msg === 'failed authentication: wrong bearer token');
      expect(failures.length).toBeGreaterThanOrEqual(1);
      // one line a second at most: a bound from the time it took, whatever the machine's speed
      expect(failures.length).toBeLessThanOrEqual(1 + Math.ceil(elapsedMs / 1000));
      const accounted = failures.reduce((sum, l) => sum + 1 + (l.unlogged as number), 0);
      expect(accounted).toBeLessThanOrEqual(flood);
      expect(log.lines.join('')).not.toContain(WRONG);
    } finally {
      await h.close();
    }
  });
});

describe('failed authentication, counted in Redis', () => {
  it('two API processes add to one count per address', async () => {
    const auth = apiKeys({ alice: ALICE });
    const limits = { authFailures: { limit: LIMIT, windowSeconds: 60 } };
    const a = await startHarness('api-auth-shared-a', { workers: 0, auth, limits, rateLimitRedis: true });
    const b = await startHarness('api-auth-shared-b', {
      workers: 0,
      auth,
      limits,
      rateLimitRedis: a.redis.url,
    });
    const redis = new Redis(a.redis.url);
    try {
      for (let i = 0; i < 3; i++) expect((await getJobs(a, '127.0.0.1', `Bearer ${WRONG}`)).status).toBe(401);
      for (let i = 0; i < 2; i++) expect((await getJobs(b, '127.0.0.1', `Bearer ${WRONG}`)).status).toBe(401);
      const key = `${AUTH_FAILURE_NAMESPACE}127.0.0.1`;
      expect(await redis.get(key)).toBe(String(LIMIT));
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      // B saw the count reach the limit; A sees it pass it at its next failure
      expect((await getJobs(b, '127.0.0.1', `Bearer ${ALICE}`)).status).toBe(429);
      expect((await getJobs(a, '127.0.0.1', `Bearer ${WRONG}`)).status).toBe(429);
      expect((await getJobs(a, '127.0.0.1', `Bearer ${ALICE}`)).status).toBe(429);
      expect((await getJobs(a, '127.0.0.2', `Bearer ${ALICE}`)).status).toBe(200);
    } finally {
      redis.disconnect();
      await b.close();
      await a.close();
    }
  });

  it('with Redis away nothing is throttled (as with the rate limiter)', async () => {
    const h = await startHarness('api-auth-no-redis', {
      workers: 0,
      auth: apiKeys({ alice: ALICE }),
      limits: { authFailures: { limit: 2, windowSeconds: 60 } },
      // nothing listens on port 1
      rateLimitRedis: 'redis://127.0.0.1:1',
    });
    try {
      for (let i = 0; i < 6; i++) expect((await getJobs(h, '127.0.0.1', `Bearer ${WRONG}`)).status).toBe(401);
      expect((await getJobs(h, '127.0.0.1', `Bearer ${ALICE}`)).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
