/**
 * A worker's own solve counters (per process, they add up across workers), in the API's /metrics when both
 * share a process (`npm start`), and the worker's own metrics listener with the /metrics auth rule.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { ApiMetrics } from '../../src/api/metrics.js';
import { WorkerMetrics } from '../../src/jobs/worker-metrics.js';
import { type MetricsServer, startMetricsServer } from '../../src/main/metrics-server.js';
import { listenUrl } from '../../src/main/runtime.js';
import { TEST_LIMITS } from '../api/harness.js';
import { redisForFile } from '../helpers/redis.js';
import { generated, type Harness, harness, OWNER } from '../jobs/harness.js';

const redis = redisForFile();
let h: Harness;
beforeAll(async () => {
  h = await harness(redis.url, 'ops-worker-metrics');
});
afterAll(() => h?.close());

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe('worker solve counters', () => {
  it("count each solve by outcome, in the API's /metrics when they share a process", async () => {
    const metrics = new ApiMetrics();
    await h.startWorkers({ metrics: new WorkerMetrics(metrics.registry) });
    const app = buildApp({ jobs: h.service, maxBodyBytes: 1 << 20, limits: TEST_LIMITS, metrics });
    try {
      const ids: string[] = [];
      for (const seed of [1, 2]) ids.push((await h.service.submit(generated(30, 3, seed))).job.id);
      // not converged: one iteration allowed, from the centre (the global start lands on the answer)
      ids.push((await h.service.submit(generated(30, 3, 3, { maxIterations: 1, start: 'centre' }))).job.id);
      // the solver refuses it: rank-deficient A (two equal columns)
      const rankDeficient = generated(30, 3, 4);
      const A = rankDeficient.problem.A;
      for (let i = 0; i < 30; i++) A[i * 3 + 1] = A[i * 3];
      ids.push((await h.service.submit({ ...rankDeficient, owner: OWNER })).job.id);
      for (const id of ids) await h.waitForState(id, ['succeeded', 'failed']);

      const res = await app.inject({ url: '/metrics' });
      expect(res.statusCode).toBe(200);
      const text = res.body;
      expect(sample(text, 'levinv_worker_solves_total{outcome="converged"}')).toBe(2);
      expect(sample(text, 'levinv_worker_solves_total{outcome="not-converged"}')).toBe(1);
      expect(sample(text, 'levinv_worker_solves_total{outcome="error"}')).toBe(1);
      expect(sample(text, 'levinv_worker_solves_total{outcome="crashed"}')).toBe(0);
      expect(sample(text, 'levinv_worker_solve_duration_seconds_count{outcome="converged"}')).toBe(2);
      expect(sample(text, 'levinv_worker_solves_running')).toBe(0);
      // and the cluster-wide histogram in Redis counted the same finished solves
      expect(sample(text, 'levinv_solve_duration_seconds_count')).toBe(4);
      expect(text).toContain('# TYPE levinv_worker_solves_total counter');
      expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    } finally {
      await app.close();
    }
  });
});

describe("the worker's metrics listener", () => {
  const TOKEN = 'metrics-token-0123456789';
  const KEY = 'api-key-secret-0123456789';
  let servers: MetricsServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });

  async function serve(auth?: { keys: Map<string, string>; metricsToken?: string }): Promise<string> {
    const registry = new Registry();
    new WorkerMetrics(registry).solveStarted();
    const server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      ...(auth ? { auth } : {}),
    });
    servers.push(server);
    return listenUrl(server.server);
  }

  const get = (url: string, authorization?: string, method = 'GET') =>
    fetch(url, { method, headers: authorization ? { authorization } : {} });

  async function expectProblem(res: Response, status: number): Promise<void> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  }

  it('takes only METRICS_TOKEN when it is set', async () => {
    const url = `${await serve({ keys: new Map([['alice', KEY]]), metricsToken: TOKEN })}/metrics`;
    for (const bad of [
      undefined,
      `Bearer ${KEY}`,
      `Bearer ${TOKEN}x`,
      `Basic ${TOKEN}`,
      `Bearer  ${TOKEN}`,
      'Bearer',
    ]) {
      const res = await get(url, bad);
      await expectProblem(res, 401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    for (const good of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
      const res = await get(url, good);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      expect(sample(text, 'levinv_worker_solves_running')).toBe(1);
    }
  });

  it('takes any API key without METRICS_TOKEN, and is open without either', async () => {
    const keyed = `${await serve({
      keys: new Map([
        ['alice', KEY],
        ['bob', `${KEY}-bob`],
      ]),
    })}/metrics`;
    expect((await get(keyed, `Bearer ${KEY}-bob`)).status).toBe(200);
    await expectProblem(await get(keyed), 401);
    const open = `${await serve()}/metrics`;
    expect((await get(open)).status).toBe(200);
  });

  it('answers other paths 404 and other methods 405, as problem+json', async () => {
    const base = await serve();
    await expectProblem(await get(`${base}/`), 404);
    await expectProblem(await get(`${base}/metrics/../etc`), 404);
    const post = await get(`${base}/metrics`, undefined, 'POST');
    await expectProblem(post, 405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await get(`${base}/metrics?x=1`)).status).toBe(200);
  });
});
