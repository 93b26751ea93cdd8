/**
 * Large uploads against real apps on loopback ports (private Redis, real JobService, no workers): slow
 * clients take only their own key's (or address's) upload slots, a body that arrives too slowly is a 408
 * that frees its slot, compressed multipart bodies are refused at once, and a json part over its limit is a
 * 413.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/api/app.js';
import { createJobService } from '../../src/jobs/index.js';
import type { JobService } from '../../src/jobs/types.js';
import { generateProblem } from '../../src/problem/generate.js';
import { encodeNpy } from '../../src/problem/npy.js';
import { type TestRedis, testRedis, uniquePrefix } from '../helpers/redis.js';
import { apiKeys, TEST_LIMITS, vectorBody } from './harness.js';
import {
  type Answer,
  BOUNDARY,
  type Dribbler,
  dribble,
  multipartBody,
  type Part,
  parseRaw,
  send,
} from './slow-clients.js';

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-0123456789';
const auth = apiKeys({ alice: ALICE, bob: BOB });

let redis: TestRedis;
let jobs: JobService;
const apps: App[] = [];

beforeAll(async () => {
  redis = await testRedis();
  jobs = await createJobService({
    redisUrl: redis.url,
    keyPrefix: uniquePrefix('uploads'),
    jobTtlSeconds: 600,
  });
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await jobs?.close();
  await redis?.close();
});

/** An app listening on 127.0.0.1; its base URL. A long request timeout: only the upload rules end a request. */
async function start(extra: Partial<Parameters<typeof buildApp>[0]>): Promise<string> {
  const app = buildApp({
    jobs,
    maxBodyBytes: 8 * 1024 * 1024,
    limits: TEST_LIMITS,
    requestTimeoutMs: 60_000,
    // load shedding is not under test: this process compresses large bodies between requests, and a
    // loaded machine then lags past the default threshold (a 503 instead of the answer under test)
    maxEventLoopDelayMs: 30_000,
    ...extra,
  });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

const bearer = (secret: string): Record<string, string> => ({ authorization: `Bearer ${secret}` });
const json = { 'content-type': 'application/json' };
const multipart = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

/** Over the 256 KiB threshold: a large body, parsed on a thread. */
const largeDoc = JSON.stringify(generateProblem({ n: 3000, d: 20, seed: 3 }));
/** A compressed body counts as large whatever its size: the cheapest way to ask for an upload slot. */
const tinyGzip = gzipSync(JSON.stringify(vectorBody('tiny')));

function expectProblem(answer: Answer, status: number): Record<string, unknown> {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(answer.json).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  expect(answer.json.detail).toEqual(expect.any(String));
  return answer.json;
}

/**
 * Sends a small compressed (so large) upload until one is not a 202: the slow clients started before have
 * then taken their slots. Returns that answer.
 */
async function untilRefused(
  base: string,
  headers: Record<string, string>,
  localAddress?: string,
): Promise<Answer> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const answer = await send(
      base,
      '/solve',
      tinyGzip,
      { ...json, 'content-encoding': 'gzip', ...headers },
      localAddress,
    );
    if (answer.status !== 202 || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends until a 202 (a slot freed asynchronously when a connection closed); returns the last answer. */
async function untilAccepted(send: () => Promise<Answer>): Promise<Answer> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const answer = await send();
    if (answer.status === 202 || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('upload slots per key', () => {
  let base: string;
  const slow: Dribbler[] = [];
  beforeAll(async () => {
    // no minimum rate here: the slow clients hold their slots until the test stops them
    base = await start({ auth, uploads: { max: 4, maxPerKey: 2, minBytesPerSecond: 0 } });
  });
  afterAll(() => {
    for (const client of slow) client.stop();
  });

  it("two slow uploads of alice take alice's slots only: her third is a 429, bob's large upload a 202", async () => {
    slow.push(dribble(base, { headers: bearer(ALICE) }), dribble(base, { headers: bearer(ALICE) }));
    const third = expectProblem(await untilRefused(base, bearer(ALICE)), 429);
    expect(third.type).toBe('urn:levinv:problem:too-many-uploads');
    expect(third.detail).toBe(
      'this API key already has 2 large bodies being received (MAX_LARGE_UPLOADS_PER_KEY = 2); ' +
        'retry after the Retry-After seconds',
    );
    const bob = await send(base, '/solve', largeDoc, { ...json, ...bearer(BOB) });
    expect(bob.status, bob.text).toBe(202);
    expect(bob.json).toMatchObject({ n: 3000, d: 20, state: 'queued' });
    // small bodies take no slot
    const small = await send(base, '/solve', JSON.stringify(vectorBody('tiny')), {
      ...json,
      ...bearer(ALICE),
    });
    expect(small.status, small.text).toBe(202);
    // the 429 said when to come back, and once the slow clients are gone alice uploads again
    const again = await send(base, '/solve', tinyGzip, {
      ...json,
      'content-encoding': 'gzip',
      ...bearer(ALICE),
    });
    expect(again.headers['retry-after']).toBe('1');
    for (const client of slow.splice(0)) client.stop();
    const later = await untilAccepted(() => send(base, '/solve', largeDoc, { ...json, ...bearer(ALICE) }));
    expect(later.status, later.text).toBe(202);
  }, 60_000);

  it('without keys, the client address is the key: two slow uploads from 127.0.0.2 leave 127.0.0.1 its slots', async () => {
    const open = await start({ uploads: { max: 4, maxPerKey: 2, minBytesPerSecond: 0 } });
    const other = '127.0.0.2';
    slow.push(dribble(open, { localAddress: other }), dribble(open, { localAddress: other }));
    const third = expectProblem(await untilRefused(open, {}, other), 429);
    expect(third.detail).toMatch(/^this client address already has 2 large bodies being received/);
    const mine = await send(open, '/solve', largeDoc, json);
    expect(mine.status, mine.text).toBe(202);
    for (const client of slow.splice(0)) client.stop();
  }, 60_000);

  it('past the total (MAX_LARGE_UPLOADS) every key gets 503: the bound on bodies held in memory', async () => {
    const total = await start({ auth, uploads: { max: 2, maxPerKey: 2, minBytesPerSecond: 0 } });
    slow.push(dribble(total, { headers: bearer(ALICE) }), dribble(total, { headers: bearer(ALICE) }));
    expectProblem(await untilRefused(total, bearer(ALICE)), 429);
    const bob = expectProblem(await send(total, '/solve', largeDoc, { ...json, ...bearer(BOB) }), 503);
    expect(bob.detail).toContain('large problem bodies are being received');
    for (const client of slow.splice(0)) client.stop();
  }, 60_000);
});

describe('minimum receive rate', () => {
  it('answers a body arriving under the minimum rate with 408 problem+json and frees its slot', async () => {
    const base = await start({
      auth,
      uploads: { max: 4, maxPerKey: 3, minBytesPerSecond: 1000, graceMs: 300 },
    });
    const slow = [
      // multipart, plain JSON and gzip'd JSON bodies: each reader stops at the 408
      dribble(base, { headers: bearer(ALICE) }),
      dribble(base, { headers: { ...bearer(ALICE), ...json } }),
      dribble(base, {
        headers: { ...bearer(ALICE), ...json, 'content-encoding': 'gzip' },
        body: gzipSync(largeDoc),
      }),
    ];
    try {
      // a body sent at full speed is not affected
      const fast = await send(base, '/solve', largeDoc, { ...json, ...bearer(BOB) });
      expect(fast.status, fast.text).toBe(202);
      for (const answer of await Promise.all(slow.map((client) => client.answer))) {
        const { status, type, body } = parseRaw(answer);
        expect(status, answer).toBe(408);
        expect(type).toMatch(/^application\/problem\+json/);
        expect(body).toMatchObject({ status: 408, title: 'Request Timeout', instance: '/solve' });
        expect(body.detail).toMatch(
          /^the body arrived too slowly: \d+ bytes in the last 300 ms, under the minimum of 1000 bytes\/s \(MIN_UPLOAD_BYTES_PER_SECOND\)$/,
        );
        // the connection is closed with the answer: the rest of that body is not wanted
        expect(answer).toMatch(/\r\nconnection: close\r\n/i);
      }
      await Promise.all(slow.map((client) => client.closed));
      // the slots were freed before the 408 was sent: alice's three slots take three uploads at once again
      const again = await Promise.all(
        [0, 1, 2].map(() => send(base, '/solve', largeDoc, { ...json, ...bearer(ALICE) })),
      );
      expect(again.map((answer) => answer.status)).toEqual([202, 202, 202]);
    } finally {
      for (const client of slow) client.stop();
    }
  }, 60_000);
});

describe('compressed multipart bodies', () => {
  let base: string;
  beforeAll(async () => {
    base = await start({});
  });

  function npyParts(n: number, d: number): Part[] {
    const p = generateProblem({ n, d, seed: n });
    const vector = (name: string, v: number[]): Part => ({
      name,
      filename: `${name}.npy`,
      data: encodeNpy(Float64Array.from(v), [v.length]),
    });
    return [
      { name: 'A', filename: 'A.npy', data: encodeNpy(Float64Array.from(p.A.flat()), [n, d]) },
      vector('b', p.b),
      vector('sigma', p.sigma),
      { name: 'json', data: JSON.stringify({ method: 'newton' }) },
    ];
  }

  it('refuses gzip, deflate and br multipart bodies of any size with 415, before reading them', async () => {
    const bodies = {
      small: multipartBody(npyParts(30, 3)),
      '70 KB': multipartBody(npyParts(1000, 8)),
      'over 256 KiB': multipartBody(npyParts(4000, 8)),
    };
    const encoders = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };
    for (const [size, plain] of Object.entries(bodies)) {
      for (const [encoding, encode] of Object.entries(encoders)) {
        const body = encode(plain);
        if (size === '70 KB') expect(body.length).toBeGreaterThan(60_000);
        if (size === 'over 256 KiB') expect(body.length).toBeGreaterThan(256 * 1024);
        const answer = await send(base, '/solve', body, { ...multipart, 'content-encoding': encoding });
        expect(expectProblem(answer, 415).detail, `${encoding} ${size}`).toBe(
          `a multipart/form-data body cannot have Content-Encoding '${encoding}': send it uncompressed ` +
            '(float64 .npy data hardly compresses), or compress a JSON body instead',
        );
      }
    }
    // the same body, uncompressed or labelled identity, is a problem
    for (const headers of [multipart, { ...multipart, 'content-encoding': 'identity' }]) {
      const answer = await send(base, '/solve', bodies.small, headers);
      expect(answer.status, answer.text).toBe(202);
      expect(answer.json).toMatchObject({ n: 30, d: 3 });
    }
  }, 60_000);

  it('refuses a plain multipart body labelled br (415), never reading it as plain', async () => {
    const answer = await send(base, '/solve', multipartBody(npyParts(30, 3)), {
      ...multipart,
      'content-encoding': 'br',
    });
    expect(expectProblem(answer, 415).detail).toMatch(
      /^a multipart\/form-data body cannot have Content-Encoding 'br'/,
    );
  });

  it('answers a slow (chunked) compressed multipart upload at once with 415', async () => {
    const slow = dribble(base, { headers: { 'content-encoding': 'gzip' } });
    const { status, type, body } = parseRaw(await slow.answer);
    slow.stop();
    expect(status).toBe(415);
    expect(type).toMatch(/^application\/problem\+json/);
    expect(body.detail).toMatch(/^a multipart\/form-data body cannot have Content-Encoding 'gzip'/);
  }, 30_000);
});

describe('the json part', () => {
  let base: string;
  beforeAll(async () => {
    base = await start({});
  });
  const parts = (jsonPart: Part): Part[] => {
    const p = generateProblem({ n: 30, d: 3, seed: 1 });
    const vector = (name: string, v: number[]): Part => ({
      name,
      filename: `${name}.npy`,
      data: encodeNpy(Float64Array.from(v), [v.length]),
    });
    return [
      { name: 'A', filename: 'A.npy', data: encodeNpy(Float64Array.from(p.A.flat()), [30, 3]) },
      vector('b', p.b),
      vector('sigma', p.sigma),
      jsonPart,
    ];
  };
  const padded = JSON.stringify({ method: 'newton', pad: 'x'.repeat(70 * 1024) });

  it('over 64 KiB is a 413, as a text field and as a file part', async () => {
    for (const part of [
      { name: 'json', data: padded },
      { name: 'json', filename: 'problem.json', type: 'application/json', data: padded },
    ]) {
      const answer = await send(base, '/solve', multipartBody(parts(part)), multipart);
      expect(expectProblem(answer, 413).detail).toBe('the json part exceeds 65536 bytes');
    }
  });

  it('as a text field with Content-Type application/json that is not JSON is a 400', async () => {
    const answer = await send(
      base,
      '/solve',
      multipartBody(parts({ name: 'json', type: 'application/json', data: '{"method": ' })),
      multipart,
    );
    expect(expectProblem(answer, 400).detail).toBe(
      'the json part is not valid JSON, or exceeds 65536 bytes (it is cut there)',
    );
  });

  it('may be a text field with Content-Type application/json', async () => {
    const answer = await send(
      base,
      '/solve',
      multipartBody(parts({ name: 'json', type: 'application/json', data: '{"method": "gauss-newton"}' })),
      multipart,
    );
    expect(answer.status, answer.text).toBe(202);
    expect(answer.json).toMatchObject({ n: 30, d: 3, method: 'gauss-newton' });
  });
});
