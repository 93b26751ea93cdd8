/**
 * Every 4xx is RFC 9457 problem+json with the right status; validation issues point into the body. (409 needs a
 * running job: jobs.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProblem } from '../../src/problem/generate.js';
import { expectProblem, type Harness, startHarness, vectorBody } from './harness.js';

// No workers: nothing here needs a solve, and a queued 20000 x 20 job then costs no CPU.
let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-errors', { workers: 0 });
});
afterAll(() => h?.close());

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe('400 validation', () => {
  it('points at each bad field with the CLI messages', async () => {
    const body = vectorBody('tiny') as { A: number[][]; sigma: number[] };
    const A = body.A.map((row) => [...row]);
    A[3] = [1];
    A[4][1] = Number.NaN; // JSON null
    const res = await h
      .http()
      .post('/solve')
      .send({ ...body, A, sigma: [2, ...body.sigma.slice(1)], optons: {} });
    const problem = expectProblem(res, 400);
    expect(problem.type).toBe('urn:levinv:problem:invalid-request');
    expect(problem.instance).toBe('/solve');
    expect(problem.errors).toEqual([
      { pointer: '/A/3', detail: 'expected 2 numbers, got 1' },
      { pointer: '/A/4/1', detail: 'expected a finite number, got null' },
      { pointer: '/sigma/0', detail: 'expected a score in [0, 1], got 2' },
      { pointer: '/optons', detail: 'unknown key (did you mean "options"?)' },
    ]);
    // The summary line is the one `levinv solve` prints for the same file.
    expect(problem.detail).toBe('A[3]: expected 2 numbers, got 1 (and 3 more problems)');
  });

  it('reports missing fields, wrong lengths and option errors', async () => {
    const missing = expectProblem(
      await h
        .http()
        .post('/solve')
        .send({ A: [[1], [2]] }),
      400,
    );
    expect(missing.errors).toEqual([
      { pointer: '/b', detail: 'required' },
      { pointer: '/sigma', detail: 'required' },
    ]);
    const body = vectorBody('tiny');
    const short = expectProblem(
      await h
        .http()
        .post('/solve')
        .send({ ...body, b: [1, 2], options: { maxIterations: 0 } }),
      400,
    );
    expect(short.errors).toEqual(
      expect.arrayContaining([
        { pointer: '/b', detail: 'expected 6 numbers (one per row of A), got 2' },
        { pointer: '/options/maxIterations', detail: expect.stringContaining('positive integer') },
      ]),
    );
  });

  it('answers malformed JSON, a non-object body and a wrong media type', async () => {
    const bad = await h.http().post('/solve').set('content-type', 'application/json').send('{"A": [');
    expectProblem(bad, 400);
    expectProblem(await h.http().post('/solve').send([1, 2]), 400);
    const text = expectProblem(
      await h.http().post('/solve').set('content-type', 'text/plain').send('hello'),
      415,
    );
    // it names what was sent and what is accepted
    expect(text.detail).toBe(
      'Content-Type text/plain is not accepted: request bodies are application/json, and POST /solve also ' +
        'takes multipart/form-data with .npy parts',
    );
    // a hostile type is echoed as a short token at most, never whole
    const long = expectProblem(
      await h
        .http()
        .post('/solve')
        .set('content-type', `x/${'a'.repeat(5000)}; q="<script>"`)
        .send('hello'),
      415,
    );
    expect(long.detail).toBe(
      `Content-Type x/${'a'.repeat(98)} is not accepted: request bodies are application/json, and POST ` +
        '/solve also takes multipart/form-data with .npy parts',
    );
  });

  it('names the bad query parameter', async () => {
    const problem = expectProblem(await h.http().get(`/jobs/${UNKNOWN}/iterates?limit=5000`), 400);
    expect(problem.errors).toEqual([{ parameter: 'limit', detail: expect.any(String) }]);
  });
});

describe('404', () => {
  it('for unknown jobs on every job route, and unknown routes', async () => {
    for (const res of [
      await h.http().get(`/jobs/${UNKNOWN}`),
      await h.http().get(`/jobs/${UNKNOWN}/iterates`),
      await h.http().post(`/jobs/${UNKNOWN}/cancel`),
      await h.http().delete(`/jobs/${UNKNOWN}`),
      await h.http().get('/jobs/not-a-uuid'),
      await h.http().get('/no/such/route'),
      await h.http().put('/solve'),
    ]) {
      expectProblem(res, 404);
    }
  });

  it('and errors fastify raises before routing: a malformed URL (400), an over-long id (414)', async () => {
    expectProblem(await h.http().get('/jobs/%E0%A4%A'), 400);
    expectProblem(await h.http().get(`/jobs/${'a'.repeat(300)}`), 414);
  });
});

describe('413 and large bodies', () => {
  it('takes a 20000 x 20 problem under the default limit', async () => {
    const doc = generateProblem({ n: 20_000, d: 20, seed: 7 });
    const res = await h.http().post('/solve').send(doc);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ n: 20_000, d: 20, state: 'queued' });
    const cancelled = await h.http().post(`/jobs/${res.body.id}/cancel`);
    expect(cancelled.body.state).toBe('cancelled');
  });

  it('answers 413 problem+json over the configured limit', async () => {
    const small = await startHarness('api-413', { workers: 0, maxBodyBytes: 4096 });
    try {
      const doc = generateProblem({ n: 200, d: 4, seed: 1 });
      const problem = expectProblem(await small.http().post('/solve').send(doc), 413);
      expect(problem.detail).toContain('4096 bytes');
      // Under the limit the same app accepts.
      expect((await small.http().post('/solve').send(vectorBody('tiny'))).status).toBe(202);
    } finally {
      await small.close();
    }
  });
});

describe('422', () => {
  it('for an Idempotency-Key reused with another body', async () => {
    const key = 'errors-test-key';
    expect((await h.http().post('/solve').set('Idempotency-Key', key).send(vectorBody('tiny'))).status).toBe(
      202,
    );
    const problem = expectProblem(
      await h.http().post('/solve').set('Idempotency-Key', key).send(vectorBody('small-regularized')),
      422,
    );
    expect(problem.type).toBe('urn:levinv:problem:idempotency-conflict');
  });
});

describe('request ids', () => {
  it('echoes X-Request-Id and puts it in problems', async () => {
    const res = await h.http().get('/no/such/route').set('X-Request-Id', 'abc-123');
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(JSON.parse(res.text).requestId).toBe('abc-123');
    const fresh = await h.http().get('/healthz');
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
