/**
 * MAX_HELD_REQUESTS_PER_KEY: event streams and `Prefer: wait` requests one key (one client address when the
 * service is open) holds open at once. Real sockets against the listening app; no worker runs, so every job
 * stays queued and every stream and wait stays open until the test ends it (client gone, job done, server
 * closing). The count is read from the app (`app.heldRequests`) and must come back to exactly 0.
 */
import { type ClientRequest, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELD_RETRY_AFTER_SECONDS, HeldRequests, TOO_MANY_HELD_TYPE } from '../../src/api/held-requests.js';
import type { JobView } from '../../src/jobs/types.js';
import { waitFor } from '../jobs/harness.js';
import { apiKeys, type Harness, startHarness, submit, vectorBody } from './harness.js';

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-abcdefghijklm';
const MAX = 3;

interface Held {
  status: number;
  headers: IncomingHttpHeaders;
  /** the whole body, once the response ends */
  body: Promise<string>;
  request: ClientRequest;
}

/** One request on its own connection: the request at once, and its response once the headers arrive. */
function start(
  h: Harness,
  method: string,
  path: string,
  options: { secret?: string; localAddress?: string; headers?: Record<string, string>; body?: string } = {},
): { request: ClientRequest; response: Promise<Held> } {
  const { port } = h.app.server.address() as AddressInfo;
  const request = httpRequest({
    host: '127.0.0.1',
    port,
    method,
    path,
    agent: false,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    headers: {
      ...(options.secret ? { authorization: `Bearer ${options.secret}` } : {}),
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
  });
  const response = new Promise<Held>((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      const body = new Promise<string>((done) => {
        res.once('end', () => done(text));
        // a stream the client destroys never ends: its body is what came
        res.once('close', () => done(text));
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body, request });
    });
  });
  // a request the test destroys before its answer rejects; nothing waits for that answer then
  response.catch(() => undefined);
  request.end(options.body);
  return { request, response };
}

const send = (...args: Parameters<typeof start>): Promise<Held> => start(...args).response;

const stream = (h: Harness, id: string, options: Parameters<typeof send>[3] = {}) =>
  send(h, 'GET', `/jobs/${id}/events`, options);

const postWait = (h: Harness, seconds: number, secret?: string) =>
  start(h, 'POST', '/solve', {
    ...(secret ? { secret } : {}),
    headers: { prefer: `wait=${seconds}` },
    body: JSON.stringify(vectorBody('tiny')),
  });

async function expect429(held: Held): Promise<void> {
  expect(held.status).toBe(429);
  expect(held.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(held.headers['retry-after']).toBe(String(HELD_RETRY_AFTER_SECONDS));
  const problem = JSON.parse(await held.body) as { type: string; detail: string };
  expect(problem.type).toBe(TOO_MANY_HELD_TYPE);
  expect(problem.detail).toContain(`already holds ${MAX} open event streams and waiting requests`);
}

const countOf = (h: Harness, key: string) => () => h.app.heldRequests.count(key);
const until = (read: () => number, value: number) =>
  waitFor(
    () => read() === value,
    10_000,
    () => `count ${read()}, expected ${value}`,
  );

describe('with API keys: per key', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('api-held', {
      workers: 0,
      auth: apiKeys({ alice: ALICE, bob: BOB }),
      limits: { maxHeldRequestsPerKey: MAX },
    });
  });
  afterAll(() => h?.close());
  const alice = () => h.app.heldRequests.count('key:alice');

  it('holds MAX streams of one key, refuses the next with 429, lets another key in, and counts back to 0', async () => {
    const job = await submit(h, vectorBody('tiny'), ALICE);
    const held = [];
    for (let i = 0; i < MAX; i++) held.push(await stream(h, job.id, { secret: ALICE }));
    for (const s of held) expect(s.status).toBe(200);
    expect(alice()).toBe(MAX);

    await expect429(await stream(h, job.id, { secret: ALICE }));
    expect(alice()).toBe(MAX);

    const bobs = await submit(h, vectorBody('tiny'), BOB);
    const bob = await stream(h, bobs.id, { secret: BOB });
    expect(bob.status).toBe(200);
    expect(h.app.heldRequests.count('key:bob')).toBe(1);

    // Ended by the client: one lease back.
    held[0].request.destroy();
    await until(alice, MAX - 1);
    // Ended by the job: cancelling the queued job ends its streams with `done`.
    await h.http(ALICE).post(`/jobs/${job.id}/cancel`).expect(200);
    for (const s of held.slice(1)) expect(await s.body).toContain('event: done');
    await until(alice, 0);
    expect(h.app.heldRequests.count('key:bob')).toBe(1);
    bob.request.destroy();
    await until(() => h.app.heldRequests.total, 0);

    // Back at 0: MAX new ones are held again, and only MAX.
    const next = await submit(h, vectorBody('tiny'), ALICE);
    const again = [];
    for (let i = 0; i < MAX; i++) again.push(await stream(h, next.id, { secret: ALICE }));
    for (const s of again) expect(s.status).toBe(200);
    await expect429(await stream(h, next.id, { secret: ALICE }));
    for (const s of again) s.request.destroy();
    await until(alice, 0);
  });

  it('a refused stream of an unknown job holds nothing', async () => {
    const missing = await stream(h, '00000000-0000-4000-8000-000000000000', { secret: ALICE });
    expect(missing.status).toBe(404);
    await missing.body;
    expect(alice()).toBe(0);
  });

  it('Prefer: wait shares the count; over it the answer does not wait (202, no Preference-Applied)', async () => {
    const job = await submit(h, vectorBody('tiny'), ALICE);
    const streams = [];
    for (let i = 0; i < MAX - 1; i++) streams.push(await stream(h, job.id, { secret: ALICE }));
    // The last free lease goes to a wait (no worker runs: it would wait its 60 s).
    const waiting = postWait(h, 60, ALICE);
    await until(alice, MAX);

    const over = await postWait(h, 60, ALICE).response;
    expect(over.status).toBe(202);
    expect(over.headers['preference-applied']).toBeUndefined();
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.headers.location).toMatch(/^\/jobs\//);
    const overJob = JSON.parse(await over.body) as JobView;
    expect(overJob.state).toBe('queued');
    expect(alice()).toBe(MAX);

    // Another key still waits.
    const bobWaits = postWait(h, 60, BOB);
    await until(countOf(h, 'key:bob'), 1);

    // The waiting one ends when its job does (cancelled while queued): 200 with the done job, lease back.
    // (newest first: the one over the cap, then the waiting one, submitted just before it)
    const queued = (await h.http(ALICE).get('/jobs?state=queued&limit=100')).body.items as JobView[];
    expect(queued[0].id).toBe(overJob.id);
    await h.http(ALICE).post(`/jobs/${queued[1].id}/cancel`).expect(200);
    const answer = await waiting.response;
    expect(answer.status).toBe(200);
    expect(answer.headers['preference-applied']).toBe('wait=60');
    await until(alice, MAX - 1);

    // Client gone, for streams and waits alike.
    for (const s of streams) s.request.destroy();
    bobWaits.request.destroy();
    await until(() => h.app.heldRequests.total, 0);

    // At 0 again, a wait is applied: it waits its second and says so.
    const applied = await postWait(h, 1, ALICE).response;
    expect(applied.status).toBe(202);
    expect(applied.headers['preference-applied']).toBe('wait=1');
    await applied.body;
    expect(alice()).toBe(0);
  });
});

describe('open service: per client address', () => {
  it('caps each address; another address is not affected', async () => {
    const h = await startHarness('api-held-open', { workers: 0, limits: { maxHeldRequestsPerKey: MAX } });
    try {
      const job = await submit(h, vectorBody('tiny'));
      const held = [];
      for (let i = 0; i < MAX; i++) held.push(await stream(h, job.id));
      expect(h.app.heldRequests.count('ip:127.0.0.1')).toBe(MAX);
      const refused = await stream(h, job.id);
      expect(refused.status).toBe(429);
      expect(JSON.parse(await refused.body).detail).toContain('this client address already holds');
      // 127.0.0.2 is loopback too on Linux, but another client address
      const other = await stream(h, job.id, { localAddress: '127.0.0.2' });
      expect(other.status).toBe(200);
      expect(h.app.heldRequests.count('ip:127.0.0.2')).toBe(1);
      for (const s of [...held, other]) s.request.destroy();
      await until(() => h.app.heldRequests.total, 0);
    } finally {
      await h.close();
    }
  });
});

describe('server closing', () => {
  it('releases every held stream and wait when the app closes', async () => {
    const h = await startHarness('api-held-close', { workers: 0, limits: { maxHeldRequestsPerKey: MAX } });
    try {
      const job = await submit(h, vectorBody('tiny'));
      const held = [await stream(h, job.id), await stream(h, job.id)];
      const waiting = postWait(h, 60);
      await until(countOf(h, 'ip:127.0.0.1'), MAX);
      await h.app.close();
      await until(countOf(h, 'ip:127.0.0.1'), 0);
      // the wait was answered (the job still queued, so the 202), the streams ended
      const answer = await waiting.response;
      expect(answer.status).toBe(202);
      for (const s of held) await s.body;
    } finally {
      await h.close();
    }
  });
});

describe('HeldRequests', () => {
  it('counts a lease released twice once, and drops keys that hold nothing', () => {
    const held = new HeldRequests(2);
    const a = held.tryAcquire('key:a')!;
    const b = held.tryAcquire('key:a')!;
    expect(held.tryAcquire('key:a')).toBeUndefined();
    a.release();
    a.release();
    expect(held.count('key:a')).toBe(1);
    const c = held.tryAcquire('key:a')!;
    expect(held.tryAcquire('key:a')).toBeUndefined();
    b.release();
    c.release();
    expect(held.count('key:a')).toBe(0);
    expect(held.total).toBe(0);
    // 0: no cap, still counted
    const open = new HeldRequests(0);
    for (let i = 0; i < 100; i++) expect(open.tryAcquire('ip:x')).toBeDefined();
    expect(open.count('ip:x')).toBe(100);
  });
});
