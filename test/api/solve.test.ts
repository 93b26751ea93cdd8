/** POST /solve through a real worker: the shared vectors are recovered, failures end `failed`, idempotency. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import { generateProblem } from '../../src/problem/generate.js';
import { parseProblem } from '../../src/problem/parse.js';
import { findStart } from '../../src/solver/index.js';
import { loadVector, relErr, testVectorNames } from '../helpers/testdata.js';
import { expectProblem, type Harness, startHarness, submit, vectorBody, waitForJob } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-solve', { workers: 2 });
});
afterAll(() => h?.close());

describe('POST /solve', () => {
  it.each(testVectorNames())('solves %s to the shared solution.x within 1e-8', async (name) => {
    const v = loadVector(name);
    const res = await h.http().post('/solve').send(vectorBody(name));
    expect(res.status).toBe(202);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const job = res.body as JobView;
    expect(res.headers.location).toBe(`/jobs/${job.id}`);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(job).toMatchObject({ n: v.n, d: v.d, done: false, method: 'newton' });
    expect(['queued', 'running']).toContain(job.state);

    const done = await waitForJob(h, job.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.finishedAt).not.toBeNull();
    const result = done.result!;
    expect(result.converged).toBe(true);
    expect(relErr(result.x as number[], v.solution.x)).toBeLessThan(1e-8);
    // The vector carries xStar, so the result carries the relative error against it.
    expect(result.relError).toEqual(expect.any(Number));

    const again = await h.http().get(`/jobs/${job.id}`);
    expect(again.status).toBe(200);
    expect(again.headers['retry-after']).toBeUndefined();
  });

  it('accepts A as { shape, data } and a method', async () => {
    const v = loadVector('tiny');
    const body = {
      ...vectorBody('tiny'),
      A: { shape: [v.n, v.d], data: v.A.flat() },
      method: 'gauss-newton',
    };
    const job = await submit(h, body);
    expect(job.method).toBe('gauss-newton');
    const done = await waitForJob(h, job.id);
    expect(done.state).toBe('succeeded');
    expect(relErr(done.result!.x as number[], v.solution.x)).toBeLessThan(1e-8);
  });

  it('fails a rank-deficient problem in the worker (zod cannot see rank)', async () => {
    const A = [1, 2, 3, 4, 5, 6].map((i) => [i, 2 * i]);
    const job = await submit(h, { A, b: [0, 0, 0, 0, 0, 0], sigma: [0.3, 0.3, 0.3, 0.3, 0.4, 0.4] });
    const done = await waitForJob(h, job.id);
    expect(done.state).toBe('failed');
    expect(done.error).toMatchObject({ code: 'RANK_DEFICIENT', field: 'A' });
    expect(done.result).toBeUndefined();
  });
});

describe('Idempotency-Key', () => {
  it('returns the same job for a retried submit, 422 for the same key with another body', async () => {
    const key = `retry-${Date.now()}`;
    const body = vectorBody('tiny');
    const first = await h.http().post('/solve').set('Idempotency-Key', key).send(body);
    expect(first.status).toBe(202);
    const second = await h.http().post('/solve').set('Idempotency-Key', key).send(body);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.location).toBe(`/jobs/${first.body.id}`);

    // The same numbers written differently are the same request.
    const v = loadVector('tiny');
    const flat = { ...body, A: { shape: [v.n, v.d], data: v.A.flat() } };
    const third = await h.http().post('/solve').set('Idempotency-Key', `"${key}"`).send(flat);
    expect(third.status).toBe(200);
    expect(third.body.id).toBe(first.body.id);

    const other = await h
      .http()
      .post('/solve')
      .set('Idempotency-Key', key)
      .send({ ...body, sigma: (body.sigma as number[]).map((s) => s * 0.999) });
    const problem = expectProblem(other, 422);
    expect(problem.detail).toContain(key);

    // Without a key every submit is a new job.
    const a = await submit(h, body);
    const b = await submit(h, body);
    expect(a.id).not.toBe(b.id);
    await waitForJob(h, first.body.id);
  });

  it('rejects a malformed key with 400', async () => {
    const res = await h.http().post('/solve').set('Idempotency-Key', 'has space').send(vectorBody('tiny'));
    const problem = expectProblem(res, 400);
    expect(problem.errors).toEqual([{ header: 'idempotency-key', detail: expect.any(String) }]);
  });
  it('searches the cell x0 lies in when signs are absent (a mixed-sign problem)', async () => {
    const mixed = generateProblem({ n: 60, d: 4, seed: 8, signs: 'mixed' });
    expect(mixed.signs!.some((v) => v === -1)).toBe(true);
    // a point of the true cell that is not the answer: the cell's analytic centre
    const parsed = parseProblem(mixed);
    const centre = Array.from(findStart(parsed.problem));
    const { signs: _signs, ...withoutSigns } = mixed;
    const job = await submit(h, { ...withoutSigns, x0: centre });
    const done = await waitForJob(h, job.id);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.result!.start).toEqual(centre);
    expect(done.result!.converged).toBe(true);
    expect(done.result!.relError).toBeLessThan(1e-8);
  });
});
