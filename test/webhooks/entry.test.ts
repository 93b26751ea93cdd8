/**
 * The entry points as real processes, configured by the environment: `npm start` (dist/main/start.js)
 * with WEBHOOK_SECRET delivers signed webhooks and never logs the secret; `npm run api` without it refuses
 * a webhook (422); a bad WEBHOOK_SECRET stops start-up (exit 78) without printing it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import { redisForFile, uniquePrefix } from '../helpers/redis.js';
import { loadVector } from '../helpers/testdata.js';
import { type Receiver, SECRET, startReceiver, waitFor } from './harness.js';

const entry = (name: string): string => fileURLToPath(new URL(`../../dist/main/${name}.js`, import.meta.url));
const redis = redisForFile();

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver?.close());

function launch(name: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [entry(name)], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', RATE_LIMIT_PER_SECOND: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*listening/.exec(output);
      if (match) resolve(match[1]);
    });
    void exited.then((code) => reject(new Error(`${name} exited ${code}: ${output}`)));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  listening.catch(() => undefined);
  return { child, exited, listening, output: () => output };
}

const v = loadVector('tiny');
const problem = { A: v.A, b: v.b, sigma: v.sigma };

describe('webhooks configured by the environment', () => {
  it('npm start with WEBHOOK_SECRET delivers a signed completed, and never logs the secret', async () => {
    const service = launch('start', {
      REDIS_URL: redis.url,
      KEY_PREFIX: uniquePrefix('webhook-start'),
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_BACKOFF_MS: '100',
      LOG_LEVEL: 'debug',
    });
    try {
      const url = await service.listening;
      const res = await fetch(`${url}/solve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...problem, webhook: { url: `${receiver.url}?start` } }),
      });
      expect(res.status).toBe(202);
      const job = (await res.json()) as JobView;
      const [got] = await waitFor(
        () => receiver.forJob(job.id).length > 0 && receiver.forJob(job.id),
        'a delivery',
      );
      const view = new Webhook(SECRET).verify(got.body, got.headers as Record<string, string>) as JobView;
      expect(view).toMatchObject({ id: job.id, state: 'succeeded' });
      expect(got.body).toBe(await (await fetch(`${url}/jobs/${job.id}`)).text());
      const deliveries = (await (await fetch(`${url}/jobs/${job.id}/deliveries`)).json()) as {
        items: unknown[];
      };
      expect(deliveries.items).toMatchObject([{ event: 'completed', attempt: 1, statusCode: 200 }]);
    } finally {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    }
    expect(service.output()).not.toContain(SECRET.slice(6));
  });

  it('npm run api without WEBHOOK_SECRET refuses a webhook with a 422', async () => {
    const api = launch('api', { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix('webhook-api') });
    try {
      const url = await api.listening;
      const res = await fetch(`${url}/solve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...problem, webhook: { url: receiver.url } }),
      });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { type: string }).type).toBe('urn:levinv:problem:webhooks-disabled');
    } finally {
      api.child.kill('SIGTERM');
      await api.exited;
    }
  });

  it('a bad WEBHOOK_SECRET stops start-up with exit 78, naming the variable but not the value', async () => {
    const bad = 'whsec_tooshort';
    const worker = launch('worker', { REDIS_URL: redis.url, WEBHOOK_SECRET: bad });
    expect(await worker.exited).toBe(78);
    expect(worker.output()).toContain('invalid environment variable WEBHOOK_SECRET');
    expect(worker.output()).not.toContain(bad);
  });
});
