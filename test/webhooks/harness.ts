/**
 * Webhook tests' plumbing: the real API, job service and workers (with webhook delivery) on a private Redis
 * and a fresh key prefix, and a receiver: a node:http server on 127.0.0.1 (a random port) that records every
 * request and answers what the test says. WEBHOOK_ALLOW_HOSTS is 127.0.0.1 only, so every other loopback
 * name or address is refused; nothing here sends traffic anywhere but 127.0.0.1.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { type App, buildApp } from '../../src/api/app.js';
import { createJobService, startWorkers, type WorkerHandle } from '../../src/jobs/index.js';
import { Keys } from '../../src/jobs/keys.js';
import { createClient, type RedisClient } from '../../src/jobs/redis.js';
import type { JobService } from '../../src/jobs/types.js';
import type { WebhookDeliveryOptions } from '../../src/webhooks/delivery-worker.js';
import { webhookListener } from '../../src/webhooks/job-listener.js';
import { apiKeys, DEFAULT_MAX_BODY_BYTES, TEST_LIMITS } from '../api/harness.js';
import { type TestRedis, testRedis, uniquePrefix } from '../helpers/redis.js';

export const ALICE = 'alice-secret-0123456789';
export const BOB = 'bob-secret-abcdefghijklm';
export const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

export interface Received {
  /** the request's path and query */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** when it arrived (ms) */
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** never answer (the connection stays open until the receiver closes) */
  hang?: boolean;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /**
   * What requests to a path (with its query) get, by their number there (1 for the first): a status, or a
   * status with headers or a body, or no answer. Set before the job is submitted; unset paths get 200.
   */
  answers: Map<string, (nth: number) => number | Answer>;
  /** the requests carrying this job's id in their body */
  forJob(id: string): Received[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const receiver: Receiver = {
    url: '',
    port: 0,
    received,
    answers: new Map(),
    forJob: (id) => received.filter((r) => (JSON.parse(r.body) as { id: string }).id === id),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '';
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ url, headers: req.headers, body, at: Date.now() });
      const nth = received.filter((r) => r.url === url).length;
      const given = receiver.answers.get(url)?.(nth) ?? 200;
      const answer: Answer = typeof given === 'number' ? { status: given } : given;
      if (answer.hang) return;
      res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hook`;
  return receiver;
}

export interface WebhookHarness {
  app: App;
  jobs: JobService;
  keys: Keys;
  raw: RedisClient;
  /** supertest as alice (or another key's secret) */
  http: (secret?: string) => ReturnType<typeof request.agent>;
  /** (re)starts the worker side: solves and webhook delivery */
  startWorkers(webhooks?: Partial<WebhookDeliveryOptions>): Promise<WorkerHandle>;
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

export const TEST_EVENT_LOOP_DELAY_MS = 30_000;

export const WEBHOOK_OPTIONS: WebhookDeliveryOptions = {
  secret: SECRET,
  allowHosts: ['127.0.0.1'],
  timeoutMs: 5000,
  backoffMs: 100,
};

/** `redisUrl`: a Redis (Cluster) the caller runs; default a private server of the harness's own. */
export async function startWebhookHarness(name: string, redisUrl?: string): Promise<WebhookHarness> {
  const redis: TestRedis = redisUrl ? { url: redisUrl, close: async () => {} } : await testRedis();
  const keyPrefix = uniquePrefix(name);
  const common = { redisUrl: redis.url, keyPrefix, jobTtlSeconds: 600 };
  const jobs = await createJobService({ ...common, listeners: [webhookListener()] });
  const raw = createClient(redis.url, { maxRetriesPerRequest: 1 }, 'webhook-tests');
  let workers: WorkerHandle | undefined;
  const app = buildApp({
    jobs,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    limits: { ...TEST_LIMITS, webhooksEnabled: true },
    auth: apiKeys({ alice: ALICE, bob: BOB }),
    // not a test of load shedding: a loaded test machine must not turn requests into 503s
    maxEventLoopDelayMs: TEST_EVENT_LOOP_DELAY_MS,
  });
  await app.ready();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const h: WebhookHarness = {
    app,
    jobs,
    keys: new Keys(keyPrefix),
    raw,
    http: (secret = ALICE) => request.agent(app.server).set('authorization', `Bearer ${secret}`),
    async startWorkers(webhooks = {}) {
      await workers?.close();
      workers = await startWorkers({
        ...common,
        concurrency: 2,
        listeners: [webhookListener({ ...WEBHOOK_OPTIONS, ...webhooks })],
      });
      return workers;
    },
    async stopWorkers() {
      await workers?.close();
      workers = undefined;
    },
    async close() {
      await app.close();
      await workers?.close();
      await jobs.close();
      raw.disconnect();
      await redis.close();
    },
  };
  await h.startWorkers();
  return h;
}

export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
