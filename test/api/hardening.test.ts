/**
 * Hostile clients against a real app on a loopback port (private Redis, real JobService, no workers): body
 * limits per route, large bodies parsed off the event loop with the same messages, Content-Encoding and zip
 * bombs, slow and malformed HTTP on raw sockets, load shedding, Last-Event-ID, and error bodies that leak
 * nothing. Stubbed JobServices cover what a real one cannot be made to do on demand (NaN in a result, a
 * quota, a bug).
 */
import { connect } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/api/app.js';
import { createJobService } from '../../src/jobs/index.js';
import { type JobService, type JobView, QuotaExceededError } from '../../src/jobs/types.js';
import { generateProblem } from '../../src/problem/generate.js';
import { type TestRedis, testRedis, uniquePrefix } from '../helpers/redis.js';
import { TEST_LIMITS, vectorBody } from './harness.js';

const MAX_BODY = 24 * 1024 * 1024;

let redis: TestRedis;
let jobs: JobService;
let app: App;
let base: string;

beforeAll(async () => {
  redis = await testRedis();
  jobs = await createJobService({
    redisUrl: redis.url,
    keyPrefix: uniquePrefix('hardening'),
    jobTtlSeconds: 600,
  });
  app = buildApp({ jobs, maxBodyBytes: MAX_BODY, limits: TEST_LIMITS, requestTimeoutMs: 600 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  base = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await app?.close();
  await jobs?.close();
  await redis?.close();
});

interface Answer {
  status: number;
  type: string;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

async function send(
  method: string,
  path: string,
  body?: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const res = await fetch(`${base}${path}`, { method, headers, ...(bytes ? { body: bytes } : {}) });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    headers: res.headers,
    text,
    json,
  };
}

const postJson = (doc: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
  send('POST', '/solve', JSON.stringify(doc), { 'content-type': 'application/json', ...headers });

function expectProblem(answer: Answer, status: number): Record<string, unknown> {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.type).toMatch(/^application\/problem\+json/);
  expect(answer.json).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  expect(answer.json.detail).toEqual(expect.any(String));
  return answer.json;
}

/** Nothing a client should see of the server's insides. */
function expectNoLeak(text: string): void {
  expect(text).not.toMatch(
    /\bat .*\(|node_modules|\/work\/|\.ts:\d|\.js:\d|ECONNREFUSED|redis|ioredis|127\.0\.0\.1:\d/i,
  );
}

/** A problem document of more than the inline threshold (256 KiB), so that it is parsed on a thread. */
const large = generateProblem({ n: 3000, d: 20, seed: 3 }) as unknown as Record<string, unknown>;

describe('body limits per route', () => {
  it('takes a 24 MiB body only on POST /solve; 16 KiB elsewhere', async () => {
    const cancel = await send('POST', '/jobs/x/cancel', JSON.stringify({ pad: 'x'.repeat(20_000) }), {
      'content-type': 'application/json',
    });
    expect(expectProblem(cancel, 413).detail).toBe('the request body exceeds the limit of 16384 bytes');
    const tooBig = await postJson({ ...large, pad: 'x'.repeat(MAX_BODY) });
    expect(expectProblem(tooBig, 413).detail).toBe(`the request body exceeds the limit of ${MAX_BODY} bytes`);
  });
});

describe('large bodies on the parse threads', () => {
  it('queues a 3000 x 20 problem (over 256 KiB) with its shape', async () => {
    expect(JSON.stringify(large).length).toBeGreaterThan(256 * 1024);
    const answer = await postJson(large);
    expect(answer.status, answer.text).toBe(202);
    expect(answer.json).toMatchObject({ n: 3000, d: 20, state: 'queued' });
  });

  it('reports the same pointers and messages as the inline path', async () => {
    const A = (large.A as number[][]).map((row) => [...row]);
    A[3] = [1];
    A[7][2] = Number.NaN;
    const sigma = [...(large.sigma as number[])];
    sigma[0] = 2;
    const problem = expectProblem(await postJson({ ...large, A, sigma, optons: {} }), 400);
    expect(problem.errors).toEqual([
      { pointer: '/A/3', detail: 'expected 20 numbers, got 1' },
      { pointer: '/A/7/2', detail: 'expected a finite number, got null' },
      { pointer: '/sigma/0', detail: 'expected a score in [0, 1], got 2' },
      { pointer: '/optons', detail: 'unknown key (did you mean "options"?)' },
    ]);
    expect(problem.detail).toBe('A[3]: expected 20 numbers, got 1 (and 3 more problems)');
    const cut = JSON.stringify(large).slice(0, 300_000);
    const syntax = expectProblem(
      await send('POST', '/solve', cut, { 'content-type': 'application/json' }),
      400,
    );
    expect(syntax.detail).toMatch(/^the body is not valid JSON: /);
  });

  it('fingerprints on the thread: a retried large submit returns the same job', async () => {
    const key = `large-${Date.now()}`;
    const first = await postJson(large, { 'idempotency-key': key });
    const second = await postJson(large, { 'idempotency-key': key });
    expect([first.status, second.status]).toEqual([202, 200]);
    expect(second.json.id).toBe(first.json.id);
    const other = await postJson(
      { ...large, b: (large.b as number[]).map((v) => v - 1) },
      { 'idempotency-key': key },
    );
    expectProblem(other, 422);
  });

  it('/healthz answers within 1 s while a 40000 x 20 body (~18 MB) is parsed', async () => {
    const doc = JSON.stringify(generateProblem({ n: 40_000, d: 20, seed: 5 }));
    const posting = send('POST', '/solve', doc, { 'content-type': 'application/json' });
    const waits: number[] = [];
    let done = false;
    void posting.finally(() => {
      done = true;
    });
    while (!done) {
      const start = performance.now();
      expect((await send('GET', '/healthz')).status).toBe(200);
      waits.push(performance.now() - start);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect((await posting).status).toBe(202);
    expect(waits.length).toBeGreaterThan(0);
    expect(Math.max(...waits)).toBeLessThan(1000);
  });
});

describe('Content-Encoding', () => {
  const doc = JSON.stringify(vectorBody('tiny'));
  const json = { 'content-type': 'application/json' };

  it('decompresses gzip, deflate and br bodies', async () => {
    for (const [encoding, body] of [
      ['gzip', gzipSync(doc)],
      ['deflate', deflateSync(doc)],
      ['br', brotliCompressSync(doc)],
    ] as const) {
      const answer = await send('POST', '/solve', body, { ...json, 'content-encoding': encoding });
      expect(answer.status, `${encoding}: ${answer.text}`).toBe(202);
      expect(answer.json).toMatchObject({ n: 6, d: 2 });
    }
  });

  it('refuses an unknown coding (415) and a plain body labelled br or gzip (400), never reading it as plain', async () => {
    const unknown = expectProblem(
      await send('POST', '/solve', doc, { ...json, 'content-encoding': 'compress' }),
      415,
    );
    expect(unknown.detail).toContain("'compress' is not supported");
    for (const encoding of ['br', 'gzip']) {
      const plain = expectProblem(
        await send('POST', '/solve', doc, { ...json, 'content-encoding': encoding }),
        400,
      );
      expect(plain.detail).toBe(`the body is not valid ${encoding} data, as its Content-Encoding says`);
    }
  });

  it('answers a zip bomb (250 KB of gzip inflating to 256 MB) with 413 without inflating it all', async () => {
    const bomb = gzipSync(Buffer.concat([Buffer.from('{"A":"'), Buffer.alloc(256 * 1024 * 1024, 0x30)]), {
      level: 9,
    });
    expect(bomb.length).toBeLessThan(300_000);
    const before = process.memoryUsage().rss;
    const answer = await send('POST', '/solve', bomb, { ...json, 'content-encoding': 'gzip' });
    expect(expectProblem(answer, 413).detail).toBe(`the request body exceeds the limit of ${MAX_BODY} bytes`);
    // The 256 MB never existed in memory at once (the limit stops reading at 24 MiB).
    expect(process.memoryUsage().rss - before).toBeLessThan(128 * 1024 * 1024);
  });
});

describe('slow and malformed HTTP (raw sockets)', () => {
  /** Writes `chunks` on a fresh connection and resolves with everything the server sent before closing. */
  function raw(chunks: string[], wait = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const url = new URL(base);
      const socket = connect(Number(url.port), url.hostname);
      let received = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer within ${wait} ms; got ${JSON.stringify(received)}`));
      }, wait);
      socket.on('data', (data) => {
        received += data.toString('latin1');
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(received);
      });
      socket.on('connect', () => {
        for (const chunk of chunks) socket.write(chunk);
      });
    });
  }

  function parse(response: string): { status: number; type: string; body: Record<string, unknown> } {
    const [head, body] = response.split('\r\n\r\n');
    const status = Number(head.split(' ')[1]);
    const type = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
    return { status, type, body: JSON.parse(body) };
  }

  it('answers a body that never completes with 408 problem+json, while /healthz keeps answering', async () => {
    const started = performance.now();
    const slow = raw([
      'POST /solve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"A":',
    ]);
    const health = await send('GET', '/healthz');
    expect(health.status).toBe(200);
    const answer = parse(await slow);
    const elapsed = performance.now() - started;
    expect(answer.status).toBe(408);
    expect(answer.type).toBe('application/problem+json');
    expect(answer.body).toMatchObject({ status: 408, title: 'Request Timeout', type: 'about:blank' });
    // requestTimeout is 600 ms here; Node checks it on a 150 ms interval.
    expect(elapsed).toBeGreaterThan(500);
    expect(elapsed).toBeLessThan(4000);
  });

  it('takes at most 2 large bodies at once per client: a third gets 429 with Retry-After, small ones still pass', async () => {
    const head = (length: number): string =>
      `POST /solve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{"A":`;
    // two uploads of 1 MB that stall after a few bytes hold both places until the request timeout (600 ms)
    const slow = [raw([head(1_000_000)]), raw([head(1_000_000)])];
    await new Promise((resolve) => setTimeout(resolve, 150));
    const third = await postJson(large);
    expect(expectProblem(third, 429).detail).toContain('this client address already has 2 large bodies');
    expect(third.headers.get('retry-after')).toBe('1');
    const small = await postJson(generateProblem({ n: 30, d: 3, seed: 1 }));
    expect(small.status, small.text).toBe(202);
    expect((await Promise.all(slow)).map((r) => parse(r).status)).toEqual([408, 408]);
    // the places are free again once those requests ended
    const later = await postJson(large);
    expect(later.status, later.text).toBe(202);
  });

  it('answers oversize headers with 431 and a garbage request line with 400, both problem+json', async () => {
    const big = parse(
      await raw([`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]),
    );
    expect(big.status).toBe(431);
    expect(big.type).toBe('application/problem+json');
    expect(big.body).toMatchObject({ status: 431, detail: 'the request headers are too large' });
    const garbage = parse(await raw(['\x00\x01 NOT HTTP AT ALL\r\n\r\n']));
    expect(garbage.status).toBe(400);
    expect(garbage.type).toBe('application/problem+json');
    expect(garbage.body).toMatchObject({
      status: 400,
      detail: 'the request could not be parsed as HTTP/1.1',
    });
  });
});

describe('Last-Event-ID', () => {
  it('is a 400 problem+json before the stream starts when out of range or malformed', async () => {
    const job = (await postJson(vectorBody('tiny'))).json as unknown as JobView;
    for (const id of ['18446744073709551616-0', 'abc', '1-2-3', '-1-0']) {
      const header = expectProblem(
        await send('GET', `/jobs/${job.id}/events`, undefined, { 'last-event-id': id }),
        400,
      );
      expect(header.errors).toEqual([
        { header: 'last-event-id', detail: expect.stringContaining('event id') },
      ]);
      const query = expectProblem(
        await send('GET', `/jobs/${job.id}/events?lastEventId=${encodeURIComponent(id)}`),
        400,
      );
      expect(query.errors).toEqual([
        { parameter: 'lastEventId', detail: expect.stringContaining('event id') },
      ]);
    }
    // A well-formed id starts the stream.
    const controller = new AbortController();
    const res = await fetch(`${base}/jobs/${job.id}/events`, {
      headers: { 'last-event-id': '0-0' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    controller.abort();
  });
});

/** An app over a stub JobService, driven with inject (what a real store cannot be made to do on demand). */
async function stubApp(stub: Partial<JobService>, extra: Partial<Parameters<typeof buildApp>[0]> = {}) {
  const stubApp = buildApp({
    jobs: stub as JobService,
    maxBodyBytes: MAX_BODY,
    limits: TEST_LIMITS,
    ...extra,
  });
  await stubApp.ready();
  return stubApp;
}

const doneJob = (n: number): JobView =>
  ({
    id: 'j1',
    state: 'succeeded',
    done: true,
    method: 'newton',
    n,
    d: 2,
    createdAt: '2024-01-01T00:00:00.000Z',
    startedAt: '2024-01-01T00:00:00.000Z',
    finishedAt: '2024-01-01T00:00:01.000Z',
    progress: { iteration: 3, loss: Number.NaN, gradNorm: Number.POSITIVE_INFINITY },
    resumes: 0,
    iterates: { recorded: 4, limit: 1000, truncated: false },
    result: {
      method: 'newton',
      x: [1, Number.NaN],
      loss: Number.NEGATIVE_INFINITY,
      gradNorm: 0,
      iterations: 3,
      converged: false,
      reason: 'max-iterations',
      leverage: Array.from({ length: n }, (_, i) => (i === 1 ? Number.NaN : 0.5)),
      maxAbsResidual: 0,
      start: [0, 0],
      timings: { startMs: 1, solveMs: 2, totalMs: 3 },
      warnings: [],
    },
  }) as unknown as JobView;

describe('responses', () => {
  it('render non-finite floats as null (never a 500) and only the schema properties', async () => {
    const job = { ...doneJob(100_000), owner: 'someone-else', internal: { secret: 1 } };
    const stub = await stubApp({ get: async () => job as unknown as JobView });
    const res = await stub.inject({ method: 'GET', url: '/jobs/j1' });
    expect(res.statusCode, res.body).toBe(200);
    const body = JSON.parse(res.body);
    expect(body.progress).toEqual({ iteration: 3, loss: null, gradNorm: null });
    expect(body.result.x).toEqual([1, null]);
    expect(body.result.loss).toBeNull();
    expect(body.result.leverage).toHaveLength(100_000);
    expect(body.result.leverage.slice(0, 3)).toEqual([0.5, null, 0.5]);
    expect(body.owner).toBeUndefined();
    expect(body.internal).toBeUndefined();
    await stub.close();
  });
});

describe('error bodies leak nothing', () => {
  it('a 500 from a JobService bug carries only the generic text', async () => {
    const boom = new Error('ERR at /work/main/src/jobs/store.ts:12 redis 127.0.0.1:6379 ECONNREFUSED');
    const stub = await stubApp({
      get: async () => {
        throw boom;
      },
    });
    const res = await stub.inject({ method: 'GET', url: '/jobs/j1' });
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body).detail).toBe('internal error; the server log has the details');
    expectNoLeak(res.body);
    await stub.close();
  });

  it('a JSON syntax error names the problem, not the parser internals', async () => {
    const answer = await send('POST', '/solve', '{"A": [', { 'content-type': 'application/json' });
    expect(expectProblem(answer, 400).detail).toMatch(/^the body is not valid JSON: /);
    expectNoLeak(answer.text);
  });

  it('Redis down: 503 with no Redis text in the body', async () => {
    const own = await testRedis();
    if (!own.stop) return void (await own.close());
    const service = await createJobService({
      redisUrl: own.url,
      keyPrefix: uniquePrefix('down'),
      jobTtlSeconds: 60,
    });
    const down = buildApp({ jobs: service, maxBodyBytes: MAX_BODY, limits: TEST_LIMITS });
    await down.ready();
    try {
      await own.stop();
      const submit = await down.inject({ method: 'POST', url: '/solve', payload: vectorBody('tiny') });
      const read = await down.inject({ method: 'GET', url: '/jobs/00000000-0000-4000-8000-000000000000' });
      for (const res of [submit, read]) {
        expect(res.statusCode, res.body).toBe(503);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.headers['retry-after']).toBeDefined();
        expectNoLeak(res.body);
      }
    } finally {
      await down.close();
      await service.close();
    }
  }, 30_000);
});

describe('quotas', () => {
  it('passes the owner and the active-jobs limit to submit; QuotaExceededError is a 429 with Retry-After', async () => {
    const seen: unknown[] = [];
    const stub = await stubApp(
      {
        submit: async (input) => {
          seen.push({ owner: input.owner, maxActiveJobs: input.maxActiveJobs });
          throw new QuotaExceededError(3, 3);
        },
      },
      { limits: { ...TEST_LIMITS, maxActiveJobsPerKey: 3 } },
    );
    const res = await stub.inject({ method: 'POST', url: '/solve', payload: vectorBody('tiny') });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('5');
    expect(JSON.parse(res.body)).toMatchObject({ status: 429, type: 'urn:levinv:problem:quota-exceeded' });
    expect(seen).toEqual([{ owner: '', maxActiveJobs: 3 }]);
    await stub.close();
  });
});

describe('load shedding', () => {
  it('answers 503 problem+json with Retry-After while the event loop lags; /healthz stays exempt', async () => {
    const stub = await stubApp(
      { list: async () => ({ items: [], nextCursor: null }) },
      { maxEventLoopDelayMs: 20, pressureSampleIntervalMs: 100 },
    );
    let shed: Awaited<ReturnType<typeof stub.inject>> | undefined;
    let health: Awaited<ReturnType<typeof stub.inject>> | undefined;
    for (let attempt = 0; attempt < 20 && shed?.statusCode !== 503; attempt++) {
      const until = Date.now() + 300;
      while (Date.now() < until) {} // a request that hogs the event loop
      await new Promise((resolve) => setTimeout(resolve, 1));
      shed = await stub.inject({ method: 'GET', url: '/jobs' });
      health = await stub.inject({ method: 'GET', url: '/healthz' });
    }
    expect(shed?.statusCode).toBe(503);
    expect(shed?.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(shed?.headers['retry-after']).toBe('2');
    expect(JSON.parse(shed?.body ?? '{}').detail).toBe('the server is overloaded (load); retry later');
    expect(health?.statusCode).toBe(200);
    // Once the loop is idle again, the API serves.
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await stub.inject({ method: 'GET', url: '/jobs' })).statusCode).toBe(200);
    await stub.close();
  });
});
