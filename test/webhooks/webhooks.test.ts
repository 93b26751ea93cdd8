/**
 * Webhooks end to end: the real API, job service, workers and delivery worker on a private Redis, and a
 * receiver on 127.0.0.1. Signatures are checked with the same library a receiver would use; the body is
 * byte for byte GET /jobs/{id}; failed attempts are retried (500, 429) or not (400, a redirect, a refused
 * address), each recorded in GET /jobs/{id}/deliveries.
 */
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevinvClient, LevinvError, type Problem, verifyWebhook } from '../../src/client/index.js';
import type { JobView } from '../../src/jobs/types.js';
import { REFUSED_MESSAGE } from '../../src/webhooks/address-guard.js';
import type { DeliveryRecord } from '../../src/webhooks/delivery-log.js';
import { WEBHOOK_QUEUE_NAME } from '../../src/webhooks/delivery-queue.js';
import { slowBody, vectorBody } from '../api/harness.js';
import {
  ALICE,
  BOB,
  type Receiver,
  SECRET,
  startReceiver,
  startWebhookHarness,
  type WebhookHarness,
  waitFor,
} from './harness.js';

let h: WebhookHarness;
let receiver: Receiver;
let queue: Queue;
beforeAll(async () => {
  h = await startWebhookHarness('webhooks');
  receiver = await startReceiver();
  queue = new Queue(WEBHOOK_QUEUE_NAME, { connection: h.raw, prefix: h.keys.bullPrefix });
});
afterAll(async () => {
  await queue?.close();
  await h?.close();
  await receiver?.close();
});

async function submit(body: Record<string, unknown>): Promise<JobView> {
  const res = await h.http().post('/solve').send(body);
  expect(res.status, res.text).toBe(202);
  return res.body as JobView;
}

async function deliveries(id: string): Promise<DeliveryRecord[]> {
  const res = await h.http().get(`/jobs/${id}/deliveries`);
  expect(res.status, res.text).toBe(200);
  return (res.body as { items: DeliveryRecord[] }).items;
}

const waitForDeliveries = (id: string, until: (items: DeliveryRecord[]) => boolean, what: string) =>
  waitFor(async () => {
    const items = await deliveries(id);
    return until(items) ? items : undefined;
  }, what);

/** The BullMQ job of a message: its final state (completed, failed) and attempts. */
async function messageState(deliveryId: string): Promise<string> {
  return (await queue.getJobState(deliveryId)) as string;
}

describe('completed (the default event)', () => {
  it('POSTs the job, signed per Standard Webhooks, with the body GET /jobs/{id} answers', async () => {
    const job = await submit({ ...vectorBody('tiny'), webhook: { url: receiver.url } });
    const [got] = await waitFor(
      () => receiver.forJob(job.id).length > 0 && receiver.forJob(job.id),
      'a delivery',
    );
    const verified = new Webhook(SECRET).verify(got.body, got.headers as Record<string, string>) as JobView;
    expect(verified.state).toBe('succeeded');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}_completed$/);
    expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const now = Date.now() / 1000;
    expect(Math.abs(Number(got.headers['webhook-timestamp']) - now)).toBeLessThan(60);
    const res = await h.http().get(`/jobs/${job.id}`);
    expect(got.body).toBe(res.text);
    // the webhook is not part of the job's JSON
    expect(res.text).not.toContain('webhook');
    expect(res.text).not.toContain(String(receiver.port));
    // a tampered body or another secret fails verification
    expect(() => new Webhook(SECRET).verify(`${got.body} `, got.headers as Record<string, string>)).toThrow();
    const items = await waitForDeliveries(job.id, (d) => d.length === 1, 'the delivery record');
    expect(items[0]).toMatchObject({
      event: 'completed',
      attempt: 1,
      statusCode: 200,
      deliveryId: got.headers['webhook-id'],
    });
    expect(items[0].error).toBeUndefined();
    expect(Date.parse(items[0].at)).toBeGreaterThanOrEqual(Date.parse(verified.finishedAt!));
    expect(items[0].durationMs).toBeGreaterThanOrEqual(0);
    // only completed was asked for
    expect(receiver.forJob(job.id)).toHaveLength(1);
  });

  it('the typed client reads the deliveries, and verifyWebhook accepts the delivery as the job', async () => {
    const baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    const client = new LevinvClient({ baseUrl, apiKey: ALICE });
    const job = await client.solve({ ...vectorBody('tiny'), webhook: { url: receiver.url } } as Problem);
    const [got] = await waitFor(
      () => receiver.forJob(job.id).length > 0 && receiver.forJob(job.id),
      'a delivery',
    );
    const verified = verifyWebhook(got.headers as Record<string, string>, got.body, SECRET);
    expect(verified).toEqual(await client.get(job.id));
    const { items } = await waitFor(async () => {
      const page = await client.deliveries(job.id);
      return page.items.length === 1 ? page : undefined;
    }, 'the delivery record');
    expect(items[0]).toMatchObject({
      event: 'completed',
      attempt: 1,
      statusCode: 200,
      deliveryId: got.headers['webhook-id'],
    });
    // another key's job is a 404, as on every /jobs/{id} route
    const bob = new LevinvClient({ baseUrl, apiKey: BOB });
    const error = await bob.deliveries(job.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LevinvError);
    expect((error as LevinvError).status).toBe(404);
  });

  it('fires for failed and cancelled jobs too', async () => {
    // rank-deficient A: the solver refuses it, the job fails
    const failed = await submit({
      A: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      b: [-1, -1, -1],
      sigma: [0.6, 0.7, 0.7],
      webhook: { url: receiver.url },
    });
    const [f] = await waitFor(
      () => receiver.forJob(failed.id).length > 0 && receiver.forJob(failed.id),
      'failed',
    );
    expect((JSON.parse(f.body) as JobView).state).toBe('failed');

    const running = await submit({ ...slowBody(30), webhook: { url: receiver.url } });
    await waitFor(
      async () => (await h.http().get(`/jobs/${running.id}`)).body.state === 'running',
      'running',
    );
    expect((await h.http().post(`/jobs/${running.id}/cancel`)).status).toBe(202);
    const [c] = await waitFor(
      () => receiver.forJob(running.id).length > 0 && receiver.forJob(running.id),
      'cancelled',
    );
    const cancelled = new Webhook(SECRET).verify(c.body, c.headers as Record<string, string>) as JobView;
    expect(cancelled.state).toBe('cancelled');
    expect(c.body).toBe((await h.http().get(`/jobs/${running.id}`)).text);
  });
});

describe('events', () => {
  it('start, progress (at most one a second) and completed', async () => {
    const job = await submit({
      ...slowBody(3),
      webhook: { url: receiver.url, events: ['start', 'progress', 'completed'] },
    });
    const all = await waitFor(() => {
      const got = receiver.forJob(job.id);
      return got.some((r) => r.headers['webhook-id']?.toString().endsWith('_completed')) && got;
    }, 'completed');
    const done = (await h.http().get(`/jobs/${job.id}`)).body as JobView;
    const kinds = all.map(
      (r) => /_(start|progress|completed)(_\d+)?$/.exec(String(r.headers['webhook-id']))![1],
    );
    expect(kinds.filter((k) => k === 'start')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'completed')).toHaveLength(1);
    const progress = all.filter((_, i) => kinds[i] === 'progress');
    const seconds = (Date.parse(done.finishedAt!) - Date.parse(done.startedAt!)) / 1000;
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(seconds + 1);
    const start = JSON.parse(all[kinds.indexOf('start')].body) as JobView;
    expect(start).toMatchObject({ id: job.id, state: 'running', done: false });
    for (const p of progress) {
      const view = new Webhook(SECRET).verify(p.body, p.headers as Record<string, string>) as JobView;
      expect(view.state).toBe('running');
      expect(view.progress!.iteration).toBeGreaterThan(0);
      expect(p.headers['webhook-id']).toBe(
        `msg_${job.id.replaceAll('-', '')}_progress_${view.progress!.iteration}`,
      );
    }
    const items = await waitForDeliveries(job.id, (d) => d.length === all.length, 'every record');
    expect(items.map((d) => d.event).sort()).toEqual(kinds.sort());
    expect(items.every((d) => d.statusCode === 200 && d.attempt === 1)).toBe(true);
  });

  it('a job without a webhook has no deliveries, and sends nothing', async () => {
    const job = await submit(vectorBody('tiny'));
    await waitFor(async () => (await h.http().get(`/jobs/${job.id}`)).body.done, 'done');
    expect(await deliveries(job.id)).toEqual([]);
    expect(receiver.forJob(job.id)).toHaveLength(0);
  });
});

describe('retries', () => {
  it.each([500, 429, 503])('a %i is retried, with the same webhook-id, until a 200', async (status) => {
    receiver.answers.set(`/hook?retry=${status}`, (nth) => (nth === 1 ? status : 200));
    const job = await submit({ ...vectorBody('tiny'), webhook: { url: `${receiver.url}?retry=${status}` } });
    const items = await waitForDeliveries(job.id, (d) => d.length === 2, 'two attempts');
    expect(items.map((d) => [d.attempt, d.statusCode])).toEqual([
      [1, status],
      [2, 200],
    ]);
    expect(items[0].error).toBe(`the receiver answered ${status}`);
    expect(items[0].deliveryId).toBe(items[1].deliveryId);
    const got = receiver.forJob(job.id);
    expect(got.map((r) => r.headers['webhook-id'])).toEqual([items[0].deliveryId, items[0].deliveryId]);
    expect(await messageState(items[0].deliveryId)).toBe('completed');
  });

  it.each([
    [400, 'the receiver answered 400'],
    [410, 'the receiver answered 410'],
    [302, 'redirect (302) not followed'],
  ])('a %i is final: one attempt, recorded', async (status, error) => {
    receiver.answers.set(`/hook?final=${status}`, () => ({
      status,
      headers: { location: 'http://127.0.0.1:1/' },
    }));
    const job = await submit({ ...vectorBody('tiny'), webhook: { url: `${receiver.url}?final=${status}` } });
    const [item] = await waitForDeliveries(job.id, (d) => d.length === 1, 'one attempt');
    expect(await waitFor(async () => (await messageState(item.deliveryId)) === 'failed', 'failed')).toBe(
      true,
    );
    expect(item).toMatchObject({ attempt: 1, statusCode: status, error });
    expect(await deliveries(job.id)).toHaveLength(1);
    expect(receiver.forJob(job.id)).toHaveLength(1);
  });

  it('gives up after 6 attempts', async () => {
    receiver.answers.set('/hook?always=500', () => 500);
    const job = await submit({ ...vectorBody('tiny'), webhook: { url: `${receiver.url}?always=500` } });
    // backoff 100 ms doubled: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s
    const items = await waitForDeliveries(job.id, (d) => d.length === 6, 'six attempts');
    expect(await waitFor(async () => (await messageState(items[0].deliveryId)) === 'failed', 'failed')).toBe(
      true,
    );
    expect(items.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await deliveries(job.id)).toHaveLength(6);
  });
});

describe('refused addresses (loopback only; nothing is sent)', () => {
  /** submits a job whose webhook goes to `host`, and waits for its one (final) delivery record */
  async function refusedDelivery(host: string): Promise<DeliveryRecord> {
    const before = receiver.received.length;
    const job = await submit({
      ...vectorBody('tiny'),
      webhook: { url: `http://${host}:${receiver.port}/hook` },
    });
    const [item] = await waitForDeliveries(job.id, (d) => d.length === 1, 'the refusal');
    expect(await waitFor(async () => (await messageState(item.deliveryId)) === 'failed', 'failed')).toBe(
      true,
    );
    expect(await deliveries(job.id)).toHaveLength(1);
    expect(receiver.forJob(job.id)).toHaveLength(0);
    expect(receiver.received.length).toBe(before);
    return item;
  }

  it.each([
    ['localhost, which resolves to loopback, when only 127.0.0.1 is allowed', 'localhost'],
    ['[::1] when not allowed', '[::1]'],
    ['127.0.0.2 when not allowed', '127.0.0.2'],
    ['2130706433, another spelling of the allowed 127.0.0.1', '2130706433'],
    ['0x7f.1, another spelling of the allowed 127.0.0.1', '0x7f.1'],
  ])('%s', async (_, host) => {
    const item = await refusedDelivery(host);
    expect(item.error).toBe(REFUSED_MESSAGE);
    expect(item.statusCode).toBeUndefined();
    expect(item.attempt).toBe(1);
  });

  it('a name that resolves to loopback and one that does not exist read the same, with no address', async () => {
    const [loopback, unknown] = await Promise.all([
      refusedDelivery('localhost'),
      refusedDelivery('levinv-no-such-name.invalid'),
    ]);
    const shown = (d: DeliveryRecord) => ({ ...d, at: undefined, deliveryId: undefined });
    expect(shown(loopback)).toEqual(shown(unknown));
    expect(loopback).toMatchObject({ event: 'completed', attempt: 1, error: REFUSED_MESSAGE, durationMs: 0 });
    const text = JSON.stringify([loopback, unknown]);
    for (const leak of ['127.0.0.1', '::1', 'ENOTFOUND', 'localhost', 'invalid'])
      expect(text).not.toContain(leak);
  });
});

describe('GET /jobs/{id}/deliveries', () => {
  it("is 404 for an unknown job, a malformed id, and another key's job", async () => {
    expect((await h.http().get('/jobs/00000000-0000-4000-8000-000000000000/deliveries')).status).toBe(404);
    expect((await h.http().get('/jobs/nope/deliveries')).status).toBe(404);
    const job = await submit({ ...vectorBody('tiny'), webhook: { url: receiver.url } });
    await waitForDeliveries(job.id, (d) => d.length === 1, 'a delivery');
    const other = await h.http(BOB).get(`/jobs/${job.id}/deliveries`);
    expect(other.status).toBe(404);
    expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await h.http('wrong-secret-0000000000').get(`/jobs/${job.id}/deliveries`)).status).toBe(401);
  });

  it('expires with the job, and goes with DELETE', async () => {
    const job = await submit({ ...vectorBody('tiny'), webhook: { url: receiver.url } });
    await waitForDeliveries(job.id, (d) => d.length === 1, 'a delivery');
    const k = h.keys.data(job.id);
    const [ttl, runTtl] = [await h.raw.pttl(k.deliveries), await h.raw.pttl(k.run)];
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(runTtl + 1000);
    expect((await h.http().delete(`/jobs/${job.id}`)).status).toBe(204);
    expect(await h.raw.exists(k.deliveries)).toBe(0);
    expect((await h.http().get(`/jobs/${job.id}/deliveries`)).status).toBe(404);
  });
});

describe('network failures (loopback)', () => {
  it('a receiver that does not answer in time is retried', async () => {
    await h.startWorkers({ timeoutMs: 500 });
    try {
      receiver.answers.set('/hook?hang', (nth) => (nth === 1 ? { status: 200, hang: true } : 200));
      const job = await submit({ ...vectorBody('tiny'), webhook: { url: `${receiver.url}?hang` } });
      const items = await waitForDeliveries(job.id, (d) => d.length === 2, 'a timeout, then a delivery');
      expect(items[0]).toMatchObject({ attempt: 1, error: 'no answer within 500 ms' });
      expect(items[0].statusCode).toBeUndefined();
      expect(items[0].durationMs).toBeGreaterThanOrEqual(500);
      expect(items[1]).toMatchObject({ attempt: 2, statusCode: 200 });
    } finally {
      await h.startWorkers();
    }
  });

  it('a refused connection is retried (6 attempts), an endless answer is cut short', async () => {
    // a port nobody listens on: open one, note it, close it
    const spare = await startReceiver();
    await spare.close();
    const job = await submit({
      ...vectorBody('tiny'),
      webhook: { url: `http://127.0.0.1:${spare.port}/hook` },
    });
    const items = await waitForDeliveries(job.id, (d) => d.length === 6, 'six attempts');
    expect(items.every((d) => d.error === 'network error (ECONNREFUSED)' && d.statusCode === undefined)).toBe(
      true,
    );
    // Node's message names the address connected to: not shown to the client
    expect(JSON.stringify(items)).not.toContain('127.0.0.1');

    receiver.answers.set('/hook?big', () => ({ status: 200, body: 'x'.repeat(8 << 20) }));
    const big = await submit({ ...vectorBody('tiny'), webhook: { url: `${receiver.url}?big` } });
    const [item] = await waitForDeliveries(big.id, (d) => d.length === 1, 'a delivery');
    expect(item).toMatchObject({ attempt: 1, statusCode: 200 });
    expect(item.error).toBeUndefined();
  });
});
