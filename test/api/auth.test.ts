/**
 * Identity: API keys as Bearer tokens (401 problem+json with WWW-Authenticate), the public routes, the
 * metrics token, jobs isolated per key on every route, and secrets kept out of the logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import { loadConfig } from '../../src/main/config.js';
import { createLogger } from '../../src/main/runtime.js';
import {
  apiKeys,
  expectProblem,
  type Harness,
  slowBody,
  startHarness,
  submit,
  vectorBody,
  waitForJob,
} from './harness.js';

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-abcdefghijklm';
const METRICS = 'metrics-token-9876543210';
const UNKNOWN_JOB = '00000000-0000-4000-8000-000000000000';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-auth', { workers: 1, auth: apiKeys({ alice: ALICE, bob: BOB }, METRICS) });
});
afterAll(() => h?.close());

/** Every route that needs a key, with a method and path to call it by. */
const protectedRoutes: [string, string][] = [
  ['post', '/solve'],
  ['get', '/jobs'],
  ['get', `/jobs/${UNKNOWN_JOB}`],
  ['get', `/jobs/${UNKNOWN_JOB}/iterates`],
  ['get', `/jobs/${UNKNOWN_JOB}/events`],
  ['post', `/jobs/${UNKNOWN_JOB}/cancel`],
  ['delete', `/jobs/${UNKNOWN_JOB}`],
  ['get', '/no/such/route'],
];

function call(method: string, path: string, authorization?: string) {
  const agent = h.http();
  const req =
    method === 'post'
      ? agent.post(path).send(vectorBody('tiny'))
      : method === 'delete'
        ? agent.delete(path)
        : agent.get(path);
  return authorization === undefined ? req : req.set('authorization', authorization);
}

describe('API keys', () => {
  it.each(protectedRoutes)(
    '%s %s without a key is 401 with WWW-Authenticate: Bearer',
    async (method, path) => {
      const res = await call(method, path);
      const body = expectProblem(res, 401);
      expect(body.type).toBe('urn:levinv:problem:unauthorized');
      expect(body.detail).toBe(
        "this route needs an API key: send the header 'Authorization: Bearer <API key>'",
      );
      expect(res.headers['www-authenticate']).toBe('Bearer realm="levinv"');
    },
  );

  it('a wrong key is 401 with error="invalid_token"; another scheme counts as no key', async () => {
    for (const wrong of [`Bearer ${ALICE}x`, `Bearer ${ALICE.slice(0, -1)}`, `Bearer ${METRICS}`]) {
      const res = await call('get', '/jobs', wrong);
      const body = expectProblem(res, 401);
      expect(body.detail).toBe('the bearer token is not a valid API key');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="levinv", error="invalid_token"');
    }
    const basic = await call('get', '/jobs', `Basic ${Buffer.from(`alice:${ALICE}`).toString('base64')}`);
    expectProblem(basic, 401);
    expect(basic.headers['www-authenticate']).toBe('Bearer realm="levinv"');
  });

  it('a right key passes, whatever the case of the scheme', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await call('get', '/jobs', `${scheme} ${BOB}`);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toHaveProperty('items');
    }
  });

  it('/healthz, /readyz and /docs answer without a key', async () => {
    expect((await h.http().get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await h.http().get('/readyz')).body).toEqual({ status: 'ok' });
    const docs = await h.http().get('/docs').redirects(2);
    expect(docs.status).toBe(200);
    expect(docs.text.toLowerCase()).toContain('swagger');
    const json = await h.http().get('/docs/json');
    expect(json.status).toBe(200);
    expect(json.body.components.securitySchemes.apiKey).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
  });

  it('/metrics takes only METRICS_TOKEN when it is set', async () => {
    const none = await h.http().get('/metrics');
    expectProblem(none, 401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="levinv"');
    const apiKey = await h.http().get('/metrics').set('authorization', `Bearer ${ALICE}`);
    expect(expectProblem(apiKey, 401).detail).toBe('the bearer token is not a valid metrics token');
    const token = await h.http().get('/metrics').set('authorization', `Bearer ${METRICS}`);
    expect(token.status).toBe(200);
    expect(token.text).toMatch(/^levinv_store_up 1$/m);
  });

  it('a refused POST /solve queues nothing', async () => {
    expectProblem(await h.http().post('/solve').send(vectorBody('tiny')), 401);
    expectProblem(
      await h.http().post('/solve').set('authorization', 'Bearer nope').send(vectorBody('tiny')),
      401,
    );
    const metrics = await h.http().get('/metrics').set('authorization', `Bearer ${METRICS}`);
    // No job of any owner exists in this file's store yet (this test runs before any submit).
    expect(metrics.text).toMatch(/^levinv_queue_depth 0$/m);
    for (const state of ['queued', 'running', 'succeeded', 'failed', 'cancelled']) {
      expect(metrics.text).toContain(`levinv_jobs{state="${state}"} 0`);
    }
  });
});

describe('jobs belong to the key that made them', () => {
  it("another key's job is 404 on every route, and only its owner lists it", async () => {
    const job = await submit(h, slowBody(1.5), ALICE);
    await waitForJob(h, job.id, (j) => j.state === 'running', 30_000, ALICE);

    const asBob = h.http(BOB);
    const notFound = `no job with id '${job.id}'`;
    expect(expectProblem(await asBob.get(`/jobs/${job.id}`), 404).detail).toBe(notFound);
    expect(expectProblem(await asBob.get(`/jobs/${job.id}/iterates`), 404).detail).toBe(notFound);
    expect(expectProblem(await asBob.get(`/jobs/${job.id}/events`), 404).detail).toBe(notFound);
    expect(expectProblem(await asBob.post(`/jobs/${job.id}/cancel`), 404).detail).toBe(notFound);
    expect(expectProblem(await asBob.delete(`/jobs/${job.id}`), 404).detail).toBe(notFound);
    const bobsList = await asBob.get('/jobs?limit=100');
    expect(bobsList.status).toBe(200);
    expect((bobsList.body.items as JobView[]).map((j) => j.id)).not.toContain(job.id);

    // Bob's cancel did not touch it: it runs to the end, and Alice sees all of it.
    const done = await waitForJob(h, job.id, (j) => j.done, 30_000, ALICE);
    expect(done.state).toBe('succeeded');
    const asAlice = h.http(ALICE);
    const iterates = await asAlice.get(`/jobs/${job.id}/iterates?limit=5`);
    expect(iterates.status).toBe(200);
    expect(iterates.body.items).toHaveLength(5);
    const alicesList = await asAlice.get('/jobs?limit=100');
    expect((alicesList.body.items as JobView[]).map((j) => j.id)).toContain(job.id);

    // Bob's jobs are his alone in the same way.
    const bobs = await submit(h, vectorBody('tiny'), BOB);
    await waitForJob(h, bobs.id, (j) => j.done, 30_000, BOB);
    expectProblem(await asAlice.get(`/jobs/${bobs.id}`), 404);
    const bobsOwn = await h.http(BOB).get('/jobs?limit=100');
    expect((bobsOwn.body.items as JobView[]).map((j) => j.id)).toEqual([bobs.id]);

    expect((await asAlice.delete(`/jobs/${job.id}`)).status).toBe(204);
    expectProblem(await asAlice.get(`/jobs/${job.id}`), 404);
  });

  it('the same Idempotency-Key from two keys makes two jobs', async () => {
    const body = vectorBody('tiny');
    const post = (secret: string) =>
      h.http(secret).post('/solve').set('idempotency-key', 'shared-key-1').send(body);
    const first = await post(ALICE);
    expect(first.status, first.text).toBe(202);
    const other = await post(BOB);
    expect(other.status, other.text).toBe(202);
    expect(other.body.id).not.toBe(first.body.id);
    const retry = await post(ALICE);
    expect(retry.status).toBe(200);
    expect(retry.body.id).toBe(first.body.id);
  });
});

describe('other identity settings', () => {
  it('without METRICS_TOKEN, /metrics takes any API key', async () => {
    const other = await startHarness('api-auth-metrics', { workers: 0, auth: apiKeys({ alice: ALICE }) });
    try {
      expectProblem(await other.http().get('/metrics'), 401);
      const res = await other.http(ALICE).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/^levinv_store_up 1$/m);
    } finally {
      await other.close();
    }
  });

  it('with only METRICS_TOKEN, the job routes are open and /metrics needs the token', async () => {
    const other = await startHarness('api-auth-open', {
      workers: 0,
      auth: { keys: new Map(), metricsToken: METRICS },
    });
    try {
      const job = await submit(other, vectorBody('tiny'));
      expect((await other.http().get(`/jobs/${job.id}`)).body.id).toBe(job.id);
      expectProblem(await other.http().get('/metrics'), 401);
      expect((await other.http(METRICS).get('/metrics')).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('secrets in logs', () => {
  it('requests with right and wrong secrets log neither, even at trace level', async () => {
    const lines: string[] = [];
    const logger = createLogger({ ...loadConfig({}), LOG_LEVEL: 'trace' }, 'levinv-api', {
      write: (line: string) => {
        lines.push(line);
      },
    });
    const other = await startHarness('api-auth-logs', {
      workers: 0,
      auth: apiKeys({ alice: ALICE }),
      logger,
    });
    try {
      expect((await other.http(ALICE).get('/jobs')).status).toBe(200);
      expectProblem(await other.http().get('/jobs').set('authorization', `Bearer ${BOB}`), 401);
      expectProblem(await other.http().get('/jobs').set('authorization', `Basic ${ALICE}`), 401);
    } finally {
      await other.close();
    }
    const log = lines.join('');
    // The requests were logged, one line each (so the check below looked at something)...
    expect(lines.filter((l) => l.includes('"msg":"request completed"'))).toHaveLength(3);
    expect(log).toContain('"statusCode":401');
    // ...and no secret was.
    expect(log).not.toContain(ALICE);
    expect(log).not.toContain(BOB);

    // A header object logged anywhere (a request, an error's context) has its credentials redacted.
    lines.length = 0;
    logger.info({ req: { headers: { authorization: `Bearer ${ALICE}`, 'user-agent': 'test' } } }, 'one');
    logger.error({ headers: { authorization: `Bearer ${BOB}`, cookie: 'session=1' } }, 'two');
    const redacted = lines.map((l) => JSON.parse(l));
    expect(redacted[0].req.headers).toEqual({ authorization: '[Redacted]', 'user-agent': 'test' });
    expect(redacted[1].headers).toEqual({ authorization: '[Redacted]', cookie: '[Redacted]' });
  });
});
