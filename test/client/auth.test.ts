/** The client against a service with API keys and a rate limit: 401 as a LevinvError, 429 retried. */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevinvClient, LevinvError } from '../../src/client/index.js';
import { generateProblem } from '../../src/problem/generate.js';
import { apiKeys, type Harness, startHarness } from '../api/harness.js';

const SECRET = 'alice-secret-0123456789';
let h: Harness;
let baseUrl: string;
beforeAll(async () => {
  // one request a second per key: a second request within the same second is a 429 with Retry-After
  h = await startHarness('client-auth', {
    workers: 1,
    auth: apiKeys({ alice: SECRET }),
    limits: { ratePerSecond: 1 },
  });
  baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
});

async function rejection(promise: Promise<unknown>): Promise<LevinvError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LevinvError);
    return error as LevinvError;
  }
  throw new Error('expected a rejection');
}

describe('LevinvClient with API keys', () => {
  it('no key or a wrong key: LevinvError 401 with the problem fields', async () => {
    const none = await rejection(new LevinvClient({ baseUrl }).list());
    expect(none.status).toBe(401);
    expect(none.problem).toMatchObject({ status: 401, instance: '/jobs' });
    const wrong = await rejection(new LevinvClient({ baseUrl, apiKey: 'not-the-key' }).list());
    expect(wrong.status).toBe(401);
    expect(wrong.detail).toEqual(expect.any(String));
    expect(wrong.type).toBe(wrong.problem!.type);
  });

  it('the right key is sent; the service 429 is retried after its Retry-After', async () => {
    const client = new LevinvClient({ baseUrl, apiKey: SECRET });
    // take this second's one request, so that the client's POST is refused with 429 first
    expect((await h.http(SECRET).get('/jobs')).status).toBe(200);
    const job = await client.solve(generateProblem({ n: 40, d: 3, seed: 2 }), { wait: 30 });
    expect(job.state).toBe('succeeded');
    const metrics = (await h.http(SECRET).get('/metrics')).text;
    const refused =
      /levinv_http_request_duration_seconds_count\{method="POST",route="\/solve",status_code="429"\} (\d+)/.exec(
        metrics,
      );
    expect(Number(refused?.[1] ?? 0)).toBeGreaterThanOrEqual(1);
    // the job belongs to alice
    expect((await h.jobs.list({ owner: 'alice', limit: 10 })).items.map((j) => j.id)).toContain(job.id);
  });

  it('with retries: 0 the 429 is a LevinvError carrying its problem', async () => {
    const client = new LevinvClient({ baseUrl, apiKey: SECRET, retries: 0 });
    // one request a second: of a few in a row, all but (at most) one per second are refused at once
    let error: LevinvError | undefined;
    for (let i = 0; i < 10 && !error; i++) {
      error = await client.list().then(
        () => undefined,
        (e: unknown) => e as LevinvError,
      );
    }
    expect(error).toBeInstanceOf(LevinvError);
    expect(error!.status).toBe(429);
    expect(error!.problem).toMatchObject({ status: 429 });
  });
});
