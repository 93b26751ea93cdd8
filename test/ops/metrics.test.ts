/**
 * /metrics through prom-client: valid Prometheus text, Node's process metrics, the per-process counters
 * (which add up across replicas) and the cluster-wide figures read from Redis, with exact numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { type Harness, startHarness, TEST_LIMITS, vectorBody, waitForJob } from '../api/harness.js';

interface Family {
  type: string;
  help: string;
  samples: Map<string, number>;
}

/**
 * A strict reader of the text format 0.0.4: every family has HELP and TYPE before its samples, every
 * sample belongs to the family declared last (histograms: _bucket, _sum, _count), values are numbers.
 */
function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: [string, Family] | undefined;
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (help) {
      expect(families.has(help[1]), `family ${help[1]} declared twice`).toBe(false);
      current = [help[1], { type: '', help: help[2], samples: new Map() }];
      families.set(...current);
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      expect(type[1]).toBe(current?.[0]);
      current![1].type = type[2];
      continue;
    }
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/.exec(line);
    expect(sample, `not a sample line: ${line}`).not.toBeNull();
    const [, name, labels = '', value] = sample!;
    expect(current, `sample before any HELP: ${line}`).toBeDefined();
    const [family, f] = current!;
    const suffixes =
      f.type === 'histogram'
        ? ['_bucket', '_sum', '_count']
        : f.type === 'summary'
          ? ['', '_sum', '_count']
          : [''];
    expect(
      suffixes.map((s) => family + s),
      line,
    ).toContain(name);
    // prom-client writes NaN as `Nan` (e.g. the event-loop lag before its first sample): Prometheus reads
    // the special values case-insensitively
    expect(Number.isNaN(Number(value)) && !/^nan$/i.test(value), line).toBe(false);
    f.samples.set(`${name}${labels}`, value === '+Inf' ? Number.POSITIVE_INFINITY : Number(value));
  }
  return families;
}

function value(families: Map<string, Family>, family: string, series: string): number {
  const found = families.get(family)?.samples.get(series);
  if (found === undefined) throw new Error(`no sample ${series} in family ${family}`);
  return found;
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness('ops-metrics', { workers: 1 });
});
afterAll(() => h?.close());

async function scrape(): Promise<Map<string, Family>> {
  const res = await h.http().get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheus(res.text);
}

describe('/metrics', () => {
  it("has Node's process metrics, event-loop lag included", async () => {
    const m = await scrape();
    expect(m.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
    expect(value(m, 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(
      0,
    );
    expect(m.get('nodejs_eventloop_lag_p99_seconds')?.type).toBe('gauge');
    expect(m.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(value(m, 'process_cpu_user_seconds_total', 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(m, 'process_resident_memory_bytes', 'process_resident_memory_bytes')).toBeGreaterThan(1e6);
  });

  it('counts requests per route template exactly, in the histogram and the counter', async () => {
    const before = await scrape();
    const series = '{method="GET",route="/healthz",status_code="200"}';
    const count = (m: Map<string, Family>): number =>
      m.get('levinv_http_requests_total')?.samples.get(`levinv_http_requests_total${series}`) ?? 0;
    for (let i = 0; i < 7; i++) expect((await h.http().get('/healthz')).status).toBe(200);
    const after = await scrape();
    expect(count(after) - count(before)).toBe(7);
    expect(after.get('levinv_http_requests_total')?.type).toBe('counter');
    const histogram = after.get('levinv_http_request_duration_seconds')!;
    expect(histogram.type).toBe('histogram');
    const histCount = value(
      after,
      'levinv_http_request_duration_seconds',
      `levinv_http_request_duration_seconds_count${series}`,
    );
    expect(histCount).toBe(count(after));
    expect(
      value(
        after,
        'levinv_http_request_duration_seconds',
        `levinv_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/healthz",status_code="200"}`,
      ),
    ).toBe(histCount);
  });

  it('counts each submitted job once, and the Redis-read figures match what happened', async () => {
    const submittedBefore = value(
      await scrape(),
      'levinv_jobs_submitted_total',
      'levinv_jobs_submitted_total',
    );
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await h.http().post('/solve').send(vectorBody('tiny'));
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    // an idempotent replay returns the same job and creates none
    const first = await h.http().post('/solve').set('idempotency-key', 'k-1').send(vectorBody('tiny'));
    const replay = await h.http().post('/solve').set('idempotency-key', 'k-1').send(vectorBody('tiny'));
    expect([first.status, replay.status]).toEqual([202, 200]);
    expect(replay.body.id).toBe(first.body.id);
    ids.push(first.body.id);
    // a refused problem creates none either
    expect(
      (
        await h
          .http()
          .post('/solve')
          .send({ A: [[1]], b: [0] })
      ).status,
    ).toBe(400);
    for (const id of ids) expect((await waitForJob(h, id)).state).toBe('succeeded');

    const m = await scrape();
    expect(value(m, 'levinv_jobs_submitted_total', 'levinv_jobs_submitted_total') - submittedBefore).toBe(4);
    expect(m.get('levinv_jobs_submitted_total')?.type).toBe('counter');
    // this harness's key prefix holds exactly these jobs
    expect(value(m, 'levinv_jobs', 'levinv_jobs{state="succeeded"}')).toBe(4);
    for (const state of ['queued', 'running', 'failed', 'cancelled']) {
      expect(value(m, 'levinv_jobs', `levinv_jobs{state="${state}"}`)).toBe(0);
    }
    expect(value(m, 'levinv_queue_depth', 'levinv_queue_depth')).toBe(0);
    expect(value(m, 'levinv_store_up', 'levinv_store_up')).toBe(1);
    expect(m.get('levinv_solve_duration_seconds')?.type).toBe('histogram');
    expect(value(m, 'levinv_solve_duration_seconds', 'levinv_solve_duration_seconds_count')).toBe(4);
    expect(value(m, 'levinv_solve_duration_seconds', 'levinv_solve_duration_seconds_bucket{le="+Inf"}')).toBe(
      4,
    );
    expect(value(m, 'levinv_solve_duration_seconds', 'levinv_solve_duration_seconds_sum')).toBeGreaterThan(0);
    // the cluster-wide series say how to aggregate them
    for (const family of ['levinv_jobs', 'levinv_queue_depth', 'levinv_solve_duration_seconds']) {
      expect(m.get(family)?.help).toMatch(/cluster-wide.*max/);
    }
  });

  it('a second app (another replica) counts its own work: per-process series sum, Redis ones do not', async () => {
    const other = buildApp({ jobs: h.jobs, maxBodyBytes: 1 << 20, limits: TEST_LIMITS });
    try {
      await other.inject({ url: '/healthz' });
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await other.inject({ method: 'POST', url: '/solve', payload: vectorBody('tiny') });
        expect(res.statusCode).toBe(202);
        ids.push(res.json().id);
      }
      for (const id of ids) expect((await waitForJob(h, id)).state).toBe('succeeded');
      const res = await other.inject({ url: '/metrics' });
      expect(res.statusCode).toBe(200);
      const mine = parsePrometheus(res.body);
      const first = await scrape();
      expect(
        value(
          mine,
          'levinv_http_requests_total',
          'levinv_http_requests_total{method="GET",route="/healthz",status_code="200"}',
        ),
      ).toBe(1);
      const submitted = (m: Map<string, Family>): number =>
        value(m, 'levinv_jobs_submitted_total', 'levinv_jobs_submitted_total');
      expect(submitted(mine)).toBe(2);
      expect(submitted(first)).toBe(4);
      // both replicas report the one cluster-wide count: max of them is right (6), a sum would say 12
      const succeeded = (m: Map<string, Family>): number =>
        value(m, 'levinv_jobs', 'levinv_jobs{state="succeeded"}');
      expect([succeeded(first), succeeded(mine)]).toEqual([6, 6]);
      expect(submitted(first) + submitted(mine)).toBe(Math.max(succeeded(first), succeeded(mine)));
      expect(value(mine, 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_seconds')).not.toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it('with Redis gone: levinv_store_up 0 and no stale Redis figures, process figures still there', async () => {
    if (!h.redis.stop) return; // a shared REDIS_URL is not ours to stop
    await h.stopWorkers();
    await h.redis.stop();
    const m = await scrape();
    expect(value(m, 'levinv_store_up', 'levinv_store_up')).toBe(0);
    expect(m.get('levinv_jobs')?.samples.size).toBe(0);
    expect(m.get('levinv_queue_depth')?.samples.size).toBe(0);
    expect(m.get('levinv_solve_duration_seconds')?.samples.size).toBe(0);
    expect(value(m, 'levinv_jobs_submitted_total', 'levinv_jobs_submitted_total')).toBe(4);
    expect(value(m, 'process_cpu_user_seconds_total', 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  }, 30_000);
});
