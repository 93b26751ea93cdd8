/**
 * `Prefer: wait=N` on POST /solve (RFC 7240): the answer waits until the job is done (200 with its result,
 * one round trip) or N seconds have passed (the usual 202), and says so with Preference-Applied.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WAIT_SECONDS, preferredWait } from '../../src/api/prefer.js';
import type { JobView } from '../../src/jobs/types.js';
import { generateProblem } from '../../src/problem/generate.js';
import { waitFor } from '../jobs/harness.js';
import { type Harness, startHarness, waitForJob } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-prefer', { workers: 1 });
});
afterAll(() => h?.close());

const small = (seed: number) => generateProblem({ n: 200, d: 8, seed });
/** a gd job that runs about `seconds` (its maxSeconds; it ends succeeded-or-failed by time) */
const slow = (seed: number, seconds: number) => ({
  ...small(seed),
  method: 'gd',
  options: { tolerance: 0, maxIterations: 100_000, maxSeconds: seconds, lineSearch: 'none', stepSize: 1e-4 },
});

describe('preferredWait', () => {
  it('reads wait among other preferences, caps it and ignores what it does not understand', () => {
    expect(preferredWait(undefined)).toBeUndefined();
    expect(preferredWait('wait=5')).toBe(5);
    expect(preferredWait('respond-async, wait=10')).toBe(10);
    expect(preferredWait('WAIT = "7"; foo=bar')).toBe(7);
    expect(preferredWait(['handling=lenient', 'wait=3'])).toBe(3);
    expect(preferredWait('wait=3600')).toBe(MAX_WAIT_SECONDS);
    expect(preferredWait('wait=99999999999')).toBeUndefined();
    for (const junk of ['wait', 'wait=', 'wait=-1', 'wait=1.5', 'wait=abc', 'waiting=5', 'respond-async']) {
      expect(preferredWait(junk), junk).toBeUndefined();
    }
  });
});

describe('POST /solve with Prefer: wait', () => {
  it('answers 200 with the result once the job is done: one round trip', async () => {
    const started = Date.now();
    const res = await h.http().post('/solve').set('prefer', 'wait=20').send(small(1));
    expect(res.status, res.text).toBe(200);
    expect(res.headers['preference-applied']).toBe('wait=20');
    expect(res.headers['retry-after']).toBeUndefined();
    const job = res.body as JobView;
    expect(job).toMatchObject({ state: 'succeeded', done: true });
    expect(job.result!.relError).toBeLessThan(1e-8);
    expect(res.headers.location).toBe(`/jobs/${job.id}`);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('answers 202 as without it when the job is not done in time, having waited', async () => {
    const started = Date.now();
    const res = await h.http().post('/solve').set('prefer', 'wait=1').send(slow(2, 4));
    const waited = Date.now() - started;
    expect(res.status, res.text).toBe(202);
    expect(res.headers['preference-applied']).toBe('wait=1');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect((res.body as JobView).done).toBe(false);
    expect(waited).toBeGreaterThanOrEqual(950);
    await h.http().post(`/jobs/${(res.body as JobView).id}/cancel`);
    await waitForJob(h, (res.body as JobView).id);
  });

  it('ignores a malformed preference: an immediate 202', async () => {
    const res = await h.http().post('/solve').set('prefer', 'wait=soon').send(small(3));
    expect(res.status).toBe(202);
    expect(res.headers['preference-applied']).toBeUndefined();
    await waitForJob(h, (res.body as JobView).id);
  });

  it('stops waiting when the client goes away; the job goes on', async () => {
    const controller = new AbortController();
    const address = h.app.server.address() as { port: number };
    const body = JSON.stringify(slow(4, 1.5));
    const sent = fetch(`http://127.0.0.1:${address.port}/solve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'wait=60' },
      body,
      signal: controller.signal,
    }).catch((error: Error) => error);
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    expect(await sent).toBeInstanceOf(Error);
    // the service answers at once meanwhile
    const page = await h.http().get('/jobs?limit=1');
    expect(page.status).toBe(200);
    const [latest] = page.body.items as JobView[];
    // the held request stopped following the job (its wake-up channel) while the job still runs
    const raw = new Redis(h.redis.url);
    try {
      await waitFor(
        async () => ((await raw.pubsub('SHARDCHANNELS', `*{${latest.id}}:events`)) as string[]).length === 0,
        1000,
      );
      expect((await h.jobs.get(latest.id, ''))!.done).toBe(false);
    } finally {
      raw.disconnect();
    }
    expect((await waitForJob(h, latest.id)).done).toBe(true);
  });
});
