/**
 * The client's transport against tiny node:http stubs on loopback: Retry-After on 429 and 503, the
 * Idempotency-Key of a retried POST /solve, error bodies that are not problem+json, a refused connection,
 * an event stream that drops mid-way, aborts, and the bodies and keys of POST /solve.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type JobEvent, LevinvClient, LevinvError, LevinvNetworkError } from '../../src/client/index.js';
import { retryDelayMs } from '../../src/client/retry.js';
import { randomUuid } from '../../src/client/uuid.js';
import { freePort } from '../../src/main/local-redis.js';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A stub answering the n-th request (from 0) with `handler`; `requests` records what came in. */
async function stub(handler: Handler) {
  const requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = requests.length;
      requests.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      handler(req, res, n);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests };
}

const JOB = {
  id: 'j1',
  state: 'queued',
  done: false,
  method: 'newton',
  n: 6,
  d: 2,
  createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: null,
  finishedAt: null,
  progress: null,
  resumes: 0,
  iterates: { recorded: 0, limit: 10000, truncated: false },
};
const DONE = { ...JOB, state: 'succeeded', done: true };

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function problem(res: ServerResponse, status: number, detail: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
  res.end(JSON.stringify({ type: 'about:blank', title: 'Refused', status, detail, instance: '/x' }));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const tiny = { A: [[1], [2]], b: [0, 0], sigma: [0.5, 0.5] };

describe('retries', () => {
  it('a 429 with Retry-After: 1 is tried again, and the POST keeps its Idempotency-Key', async () => {
    const s = await stub((_req, res, n) => {
      if (n === 0) problem(res, 429, 'slow down', { 'retry-after': '1' });
      else json(res, 202, JOB);
    });
    const client = new LevinvClient({ baseUrl: s.url });
    const job = await client.solve(tiny);
    expect(job.id).toBe('j1');
    expect(s.requests).toHaveLength(2);
    const keys = s.requests.map((r) => r.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(s.requests[1].body).toBe(JSON.stringify(tiny));
    expect(s.requests[1].headers['content-type']).toBe('application/json');
    // a caller's own key is sent as given
    await client.solve(tiny, { idempotencyKey: 'mine-1' });
    expect(s.requests.at(-1)!.headers['idempotency-key']).toBe('mine-1');
  });

  it('a 503 with an HTTP-date Retry-After is tried again; GET retries too', async () => {
    const s = await stub((_req, res, n) => {
      if (n < 2) problem(res, 503, 'busy', { 'retry-after': new Date(Date.now() + 1000).toUTCString() });
      else json(res, 200, DONE);
    });
    const job = await new LevinvClient({ baseUrl: s.url }).get('j1');
    expect(job.state).toBe('succeeded');
    expect(s.requests.map((r) => `${r.method} ${r.url}`)).toEqual(Array(3).fill('GET /jobs/j1'));
  });

  it('after `retries` tries the 503 is a LevinvError with its problem fields', async () => {
    const s = await stub((_req, res) =>
      problem(res, 503, 'the job store is unavailable', { 'retry-after': '0', 'x-request-id': 'req-7' }),
    );
    const error = (await rejection(
      new LevinvClient({ baseUrl: s.url, retries: 2 }).get('j1'),
    )) as LevinvError;
    expect(error).toBeInstanceOf(LevinvError);
    expect(error).not.toBeInstanceOf(LevinvNetworkError);
    expect(error).toMatchObject({ status: 503, title: 'Refused', detail: 'the job store is unavailable' });
    expect(error.requestId).toBe('req-7');
    expect(s.requests).toHaveLength(3);
    // other errors are not retried
    const once = await stub((_req, res) => problem(res, 500, 'boom'));
    expect(((await rejection(new LevinvClient({ baseUrl: once.url }).get('j1'))) as LevinvError).status).toBe(
      500,
    );
    expect(once.requests).toHaveLength(1);
  });

  it('an abort during the Retry-After wait rejects with the AbortError; nothing more is sent', async () => {
    const s = await stub((_req, res) => problem(res, 429, 'later', { 'retry-after': '30' }));
    const controller = new AbortController();
    const pending = new LevinvClient({ baseUrl: s.url }).solve(tiny, { signal: controller.signal });
    while (s.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    expect(((await rejection(pending)) as Error).name).toBe('AbortError');
    expect(s.requests).toHaveLength(1);
  });

  it('retryDelayMs: seconds, an HTTP date, a cap, and a backoff when the header is missing or garbage', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryDelayMs('2', 0, 30_000, now)).toBe(2000);
    expect(retryDelayMs('Thu, 01 Jan 2026 00:00:05 GMT', 0, 30_000, now)).toBe(5000);
    expect(retryDelayMs('Wed, 31 Dec 2025 23:59:00 GMT', 0, 30_000, now)).toBe(0);
    expect(retryDelayMs('3600', 0, 30_000, now)).toBe(30_000);
    expect(retryDelayMs(null, 0, 30_000, now)).toBe(500);
    expect(retryDelayMs('soon', 2, 30_000, now)).toBe(2000);
    expect(retryDelayMs('-1', 1, 30_000, now)).toBe(1000);
  });
});

describe('errors', () => {
  it('an error body that is not problem+json still gives a LevinvError from the status line', async () => {
    const s = await stub((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    });
    const error = (await rejection(new LevinvClient({ baseUrl: s.url }).list())) as LevinvError;
    expect(error).toMatchObject({ status: 502, type: 'about:blank', detail: 'HTTP 502 Bad Gateway' });
    expect(error.errors).toEqual([]);
    expect(error.problem).toBeUndefined();
  });

  it('a refused connection is a LevinvNetworkError with status 0', async () => {
    const port = await freePort();
    const error = (await rejection(
      new LevinvClient({ baseUrl: `http://127.0.0.1:${port}` }).get('j1'),
    )) as LevinvNetworkError;
    expect(error).toBeInstanceOf(LevinvNetworkError);
    expect(error).toBeInstanceOf(LevinvError);
    expect(error.status).toBe(0);
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toBe(`cannot reach levinv at http://127.0.0.1:${port}: connection refused`);
  });

  it('refuses a baseUrl that is not http(s); keeps a path prefix; encodes ids', async () => {
    expect(() => new LevinvClient({ baseUrl: 'ftp://x' })).toThrow(/http/);
    const s = await stub((_req, res) => json(res, 200, DONE));
    const client = new LevinvClient({ baseUrl: `${s.url}/levinv`, apiKey: 'k1', userAgent: 'tests/1' });
    await client.get('a/b?c');
    expect(s.requests[0].url).toBe('/levinv/jobs/a%2Fb%3Fc');
    expect(s.requests[0].headers.authorization).toBe('Bearer k1');
    expect(s.requests[0].headers['user-agent']).toBe('tests/1');
  });
});

describe('solve bodies', () => {
  it('a JSON text goes as it is, as application/json with an Idempotency-Key; a FormData as multipart', async () => {
    const s = await stub((_req, res) => json(res, 202, JOB));
    const client = new LevinvClient({ baseUrl: s.url });
    // as a person typed it: spacing, a number JSON.stringify would write otherwise, a duplicate key
    const text = '{ "A": [[1], [2]], "b": [0, 0e0], "sigma": [0.5, 0.50], "sigma": [0.5, 0.5] }';
    expect((await client.solve(text)).id).toBe('j1');
    expect(s.requests[0].body).toBe(text);
    expect(s.requests[0].headers['content-type']).toBe('application/json');
    expect(s.requests[0].headers['idempotency-key']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const form = new FormData();
    form.append('json', '{"method": "gd"}');
    await client.solve(form);
    expect(s.requests[1].headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(s.requests[1].body).toContain('{"method": "gd"}');
    expect(s.requests[1].headers['idempotency-key']).not.toBe(s.requests[0].headers['idempotency-key']);
  });

  it('makes version-4 UUIDs from getRandomValues where randomUUID is missing (a page on plain http)', () => {
    const getRandomValues = (array: Uint8Array<ArrayBuffer>) => crypto.getRandomValues(array);
    const keys = new Set(Array.from({ length: 200 }, () => randomUuid({ getRandomValues })));
    expect(keys.size).toBe(200);
    for (const key of keys) {
      expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    // all-zero randomness shows exactly which bits are the version and the variant
    const zeros = (array: Uint8Array<ArrayBuffer>) => array;
    expect(randomUuid({ getRandomValues: zeros })).toBe('00000000-0000-4000-8000-000000000000');
    expect(randomUuid({ getRandomValues: zeros, randomUUID: () => 'given' })).toBe('given');
  });
});

const frame = (id: string, type: string, data: unknown) =>
  `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

describe('events()', () => {
  it('reconnects a dropped stream with Last-Event-ID and yields each event once', async () => {
    let streams = 0;
    const s = await stub((req, res) => {
      if (req.url === '/jobs/j1') return json(res, 200, { ...JOB, state: 'running' });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (streams++ === 0) {
        res.write('retry: 2000\n\n');
        res.write(frame('1-0', 'state', { state: 'running' }));
        res.write(frame('1-1', 'progress', { iteration: 1, loss: 2, gradNorm: 3 }));
        // mid-way through the next event, the connection breaks
        res.write('id: 1-2\nevent: progr', () => req.socket.destroy());
        return;
      }
      res.write(frame('1-2', 'progress', { iteration: 2, loss: 1, gradNorm: 1 }));
      res.end(frame('1-3', 'done', DONE));
    });
    const client = new LevinvClient({ baseUrl: s.url, reconnectDelayMs: 10 });
    const events: JobEvent[] = [];
    for await (const event of client.events('j1')) events.push(event);
    expect(events.map((e) => `${e.id} ${e.type}`)).toEqual([
      '1-0 state',
      '1-1 progress',
      '1-2 progress',
      '1-3 done',
    ]);
    expect(events.at(-1)!.data).toEqual(DONE);
    expect(s.requests.map((r) => r.url)).toEqual(['/jobs/j1/events', '/jobs/j1/events']);
    expect(s.requests[0].headers['last-event-id']).toBeUndefined();
    expect(s.requests[1].headers['last-event-id']).toBe('1-1');
    expect(s.requests[0].headers.accept).toBe('text/event-stream');
  });

  it('a connection lost while reconnecting is tried again; the first connection failing is final', async () => {
    let n = 0;
    const s = await stub((req, res) => {
      const k = n++;
      if (k === 1 || k === 2) return req.socket.destroy(); // the service is away for a moment
      if (req.url === '/jobs/j1') return json(res, 200, { ...JOB, state: 'running' });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (k === 0) return res.end(frame('1-0', 'state', { state: 'running' }));
      res.end(frame('1-1', 'done', DONE));
    });
    const client = new LevinvClient({ baseUrl: s.url, reconnectDelayMs: 1 });
    const events: JobEvent[] = [];
    for await (const event of client.events('j1')) events.push(event);
    expect(events.map((e) => e.id)).toEqual(['1-0', '1-1']);
    // the stream ended (so it asked whether the job was done); that lookup and a reconnect failed
    expect(s.requests.map((r) => r.url)).toEqual([
      '/jobs/j1/events',
      '/jobs/j1',
      '/jobs/j1/events',
      '/jobs/j1/events',
    ]);
    expect(s.requests[3].headers['last-event-id']).toBe('1-0');
    const port = await freePort();
    const refused = new LevinvClient({ baseUrl: `http://127.0.0.1:${port}` }).events('j1');
    const error = (await rejection(refused.next())) as LevinvNetworkError;
    expect(error).toBeInstanceOf(LevinvNetworkError);
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('a stream that ends after the job finished yields a done with the job', async () => {
    const s = await stub((req, res) => {
      if (req.url === '/jobs/j1') return json(res, 200, DONE);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(': nothing new\n\n');
    });
    const client = new LevinvClient({ baseUrl: s.url });
    const events: JobEvent[] = [];
    for await (const event of client.events('j1', { lastEventId: '5-0' })) events.push(event);
    expect(events).toEqual([{ id: undefined, type: 'done', data: DONE }]);
    expect(s.requests[0].headers['last-event-id']).toBe('5-0');
  });

  it('an in-band error event reconnects; a stream that never comes back gives up', async () => {
    const s = await stub((req, res) => {
      if (req.url === '/jobs/j1') return json(res, 200, { ...JOB, state: 'running' });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('event: error\ndata: {"detail":"the event stream failed; reconnect to resume"}\n\n');
    });
    const client = new LevinvClient({ baseUrl: s.url, maxReconnects: 2, reconnectDelayMs: 1 });
    const error = await rejection(
      (async () => {
        for await (const _ of client.events('j1')) expect.unreachable();
      })(),
    );
    expect(error).toBeInstanceOf(LevinvNetworkError);
    expect((error as Error).message).toBe('lost the event stream of job j1');
    expect(s.requests.filter((r) => r.url === '/jobs/j1/events')).toHaveLength(3);
  });

  it('a 404 for the stream is a LevinvError at once', async () => {
    const s = await stub((_req, res) => problem(res, 404, "no job 'j9'"));
    const error = (await rejection(
      (async () => {
        for await (const _ of new LevinvClient({ baseUrl: s.url }).events('j9')) expect.unreachable();
      })(),
    )) as LevinvError;
    expect(error.status).toBe(404);
    expect(error.detail).toBe("no job 'j9'");
  });
});

describe('solve with wait', () => {
  it('sends Prefer: wait=N (at most 60), then follows the events for a longer wait', async () => {
    const s = await stub((req, res) => {
      if (req.method === 'POST') return json(res, 202, JOB);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(frame('1-0', 'done', DONE));
    });
    const client = new LevinvClient({ baseUrl: s.url });
    expect(await client.solve(tiny, { wait: 5 })).toEqual(DONE);
    expect(s.requests[0].headers.prefer).toBe('wait=5');
    expect(await client.solve(tiny, { wait: 600 })).toEqual(DONE);
    expect(s.requests[2].headers.prefer).toBe('wait=60');
    // the held request came back before the job was done: the events follow it
    expect(s.requests.map((r) => r.url)).toEqual(['/solve', '/jobs/j1/events', '/solve', '/jobs/j1/events']);
    expect(s.requests[3].headers['last-event-id']).toBeUndefined();
    // no wait, or a careless one (0, negative, NaN): no Prefer, the queued job at once
    for (const wait of [undefined, false, 0, -5, Number.NaN]) {
      expect(await client.solve(tiny, { wait })).toEqual(JOB);
      expect(s.requests.at(-1)!.headers.prefer, String(wait)).toBeUndefined();
    }
    expect(s.requests.filter((r) => r.url !== '/solve')).toHaveLength(2);
    // a wait longer than a timer can hold is no limit, not an immediate timeout
    expect(await client.solve(tiny, { wait: 1e12 })).toEqual(DONE);
  });
});
