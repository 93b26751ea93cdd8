/** /healthz, /readyz (503 once Redis is gone), /metrics, /docs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, type Harness, startHarness, submit, vectorBody, waitForJob } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-ops', { workers: 1 });
});
afterAll(() => h?.close());

/** The value of the sample `name` (with its labels, exactly as written) in a Prometheus text body. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe('operations', () => {
  it('GET /healthz and /readyz answer ok', async () => {
    const health = await h.http().get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await h.http().get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok' });
  });

  it('GET /metrics has job, queue, solve-time and HTTP series with numbers', async () => {
    const job = await submit(h, vectorBody('tiny'));
    await waitForJob(h, job.id);
    await h.http().get('/no/such/route');
    const res = await h.http().get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;

    expect(sample(text, 'levinv_store_up')).toBe(1);
    expect(sample(text, 'levinv_jobs{state="succeeded"}')).toBeGreaterThanOrEqual(1);
    for (const state of ['queued', 'running', 'failed', 'cancelled']) {
      expect(sample(text, `levinv_jobs{state="${state}"}`)).toBeGreaterThanOrEqual(0);
    }
    expect(sample(text, 'levinv_queue_depth')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('# TYPE levinv_solve_duration_seconds histogram');
    expect(sample(text, 'levinv_solve_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'levinv_solve_duration_seconds_bucket{le="+Inf"}')).toBe(
      sample(text, 'levinv_solve_duration_seconds_count'),
    );
    expect(sample(text, 'levinv_solve_duration_seconds_sum')).toBeGreaterThan(0);

    expect(text).toContain('# TYPE levinv_http_request_duration_seconds histogram');
    const solve =
      'levinv_http_request_duration_seconds_count{method="POST",route="/solve",status_code="202"}';
    expect(sample(text, solve)).toBeGreaterThanOrEqual(1);
    // Route templates, not URLs: job ids never become labels.
    expect(
      sample(
        text,
        'levinv_http_request_duration_seconds_count{method="GET",route="/jobs/:id",status_code="200"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(job.id);
    expect(
      sample(
        text,
        'levinv_http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"}',
      ),
    ).toBe(1);
    // Every sample line is `name{labels} number`.
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.e+-]+|\+Inf|NaN|Nan)$/);
    }
  });

  it('GET /docs serves the API reference from the generated document', async () => {
    const docs = await h.http().get('/docs').redirects(2);
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
    expect(docs.text.toLowerCase()).toContain('swagger');
    const json = await h.http().get('/docs/json');
    expect(json.status).toBe(200);
    expect(json.body.openapi).toBe('3.1.0');
    expect(Object.keys(json.body.paths)).toContain('/solve');
  });

  // Last: it stops this file's Redis.
  it('GET /readyz turns 503 problem+json when Redis stops, and job routes answer 503', async () => {
    if (!h.redis.stop) return; // a shared REDIS_URL is not ours to stop
    await h.stopWorkers();
    await h.redis.stop();
    const ready = await h.http().get('/readyz');
    expectProblem(ready, 503);
    expect(ready.headers['retry-after']).toBeDefined();
    expectProblem(await h.http().get('/jobs/00000000-0000-4000-8000-000000000000'), 503);
    expectProblem(await h.http().post('/solve').send(vectorBody('tiny')), 503);
    const metrics = await h.http().get('/metrics');
    expect(metrics.status).toBe(200);
    expect(sample(metrics.text, 'levinv_store_up')).toBe(0);
    expect((await h.http().get('/healthz')).status).toBe(200);
  }, 30_000);
});
