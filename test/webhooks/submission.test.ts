/**
 * The `webhook` field at submission: bad ones are a 400 with a pointer under /webhook (JSON and multipart),
 * a good one in the multipart form's json part works, a webhook is part of the Idempotency-Key's request,
 * and a server without WEBHOOK_SECRET refuses a webhook with a 422 of its own type. A cancel of a queued job
 * (the API's doing, no worker involved) fires `completed` too, and a pending retry survives a worker
 * restart.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import type { JobView } from '../../src/jobs/types.js';
import { encodeNpy } from '../../src/problem/npy.js';
import type { DeliveryRecord } from '../../src/webhooks/delivery-log.js';
import { DEFAULT_MAX_BODY_BYTES, expectProblem, TEST_LIMITS, vectorBody } from '../api/harness.js';
import { loadVector } from '../helpers/testdata.js';
import {
  type Receiver,
  SECRET,
  startReceiver,
  startWebhookHarness,
  TEST_EVENT_LOOP_DELAY_MS,
  type WebhookHarness,
  waitFor,
} from './harness.js';

let h: WebhookHarness;
let receiver: Receiver;
beforeAll(async () => {
  h = await startWebhookHarness('webhook-submit');
  receiver = await startReceiver();
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

const tiny = () => vectorBody('tiny');

async function deliveries(id: string): Promise<DeliveryRecord[]> {
  const res = await h.http().get(`/jobs/${id}/deliveries`);
  expect(res.status, res.text).toBe(200);
  return (res.body as { items: DeliveryRecord[] }).items;
}

describe('bad webhooks are a 400 with a pointer', () => {
  it.each([
    ['an ftp: URL', { url: 'ftp://127.0.0.1/x' }, '/webhook/url', 'expected an absolute http: or https: URL'],
    ['not a URL', { url: 'not a url' }, '/webhook/url', 'expected an absolute http: or https: URL'],
    ['a relative URL', { url: '/hook' }, '/webhook/url', 'expected an absolute http: or https: URL'],
    [
      'a javascript: URL',
      { url: 'javascript:alert(1)' },
      '/webhook/url',
      'expected an absolute http: or https: URL',
    ],
    ['a URL that is no string', { url: 42 }, '/webhook/url', 'expected a string, got 42'],
    ['no URL', { events: ['completed'] }, '/webhook/url', 'required'],
    [
      'a huge URL',
      { url: `http://127.0.0.1/${'a'.repeat(3000)}` },
      '/webhook/url',
      'expected a URL of at most 2048 characters',
    ],
    [
      'an unknown event',
      { url: 'http://127.0.0.1/', events: ['finished'] },
      '/webhook/events/0',
      'expected one of "start", "progress", "completed", got "finished"',
    ],
    ['no events', { url: 'http://127.0.0.1/', events: [] }, '/webhook/events', 'expected at least one event'],
    [
      'events not a list',
      { url: 'http://127.0.0.1/', events: 'start' },
      '/webhook/events',
      'expected an array, got "start"',
    ],
    [
      'an unknown key',
      { url: 'http://127.0.0.1/', secret: 'x' },
      '/webhook/secret',
      'unknown key; expected one of url, events',
    ],
    ['a string', 'http://127.0.0.1/', '/webhook', 'expected an object, got "http://127.0.0.1/"'],
  ])('%s', async (_, webhook, pointer, detail) => {
    const res = await h
      .http()
      .post('/solve')
      .send({ ...tiny(), webhook });
    const body = expectProblem(res, 400);
    const errors = body.errors as { pointer: string; detail: string }[];
    expect(errors).toContainEqual({ pointer, detail: expect.stringContaining(detail) });
  });

  it('the same in the multipart form json part', async () => {
    const v = loadVector('tiny');
    const parts = {
      A: encodeNpy(Float64Array.from(v.A.flat()), [v.A.length, v.A[0].length]),
      b: encodeNpy(Float64Array.from(v.b), [v.b.length]),
      sigma: encodeNpy(Float64Array.from(v.sigma), [v.sigma.length]),
    };
    const post = (json: unknown) => {
      let req = h.http().post('/solve');
      for (const [name, bytes] of Object.entries(parts))
        req = req.attach(name, Buffer.from(bytes), `${name}.npy`);
      return req.field('json', JSON.stringify(json));
    };
    const bad = expectProblem(await post({ webhook: { url: 'ftp://x/' } }), 400);
    expect(bad.errors).toEqual([
      { pointer: '/webhook/url', detail: 'expected an absolute http: or https: URL' },
    ]);

    const res = await post({ method: 'newton', webhook: { url: receiver.url } });
    expect(res.status, res.text).toBe(202);
    const job = res.body as JobView;
    const [got] = await waitFor(
      () => receiver.forJob(job.id).length > 0 && receiver.forJob(job.id),
      'a delivery',
    );
    const view = new Webhook(SECRET).verify(got.body, got.headers as Record<string, string>) as JobView;
    expect(view).toMatchObject({ id: job.id, state: 'succeeded', n: v.A.length });
  });
});

describe('Idempotency-Key', () => {
  it('the same body with another webhook is a conflict; the same webhook is the same job', async () => {
    const key = `wh-${Date.now()}`;
    const first = await h
      .http()
      .post('/solve')
      .set('idempotency-key', key)
      .send({ ...tiny(), webhook: { url: receiver.url } });
    expect(first.status, first.text).toBe(202);
    const again = await h
      .http()
      .post('/solve')
      .set('idempotency-key', key)
      .send({ ...tiny(), webhook: { url: receiver.url } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const other = await h
      .http()
      .post('/solve')
      .set('idempotency-key', key)
      .send({ ...tiny(), webhook: { url: `${receiver.url}/other` } });
    expect(expectProblem(other, 422).type).toBe('urn:levinv:problem:idempotency-conflict');
    const none = await h.http().post('/solve').set('idempotency-key', key).send(tiny());
    expect(none.status).toBe(422);
  });
});

describe('without WEBHOOK_SECRET', () => {
  it('a webhook is refused with a 422 of its own type, and nothing is queued', async () => {
    const app = buildApp({
      jobs: h.jobs,
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      limits: TEST_LIMITS,
      maxEventLoopDelayMs: TEST_EVENT_LOOP_DELAY_MS,
    });
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/solve',
        payload: { ...tiny(), webhook: { url: receiver.url } },
      });
      expect(res.statusCode).toBe(422);
      const body = res.json() as { type: string; detail: string };
      expect(body.type).toBe('urn:levinv:problem:webhooks-disabled');
      expect(body.detail).toMatch(/WEBHOOK_SECRET is not set/);
      expect((await h.jobs.list({ owner: '', limit: 10 })).items).toHaveLength(0);
      // a bad webhook is still a 400 first, and no webhook is fine
      const bad = await app.inject({
        method: 'POST',
        url: '/solve',
        payload: { ...tiny(), webhook: { url: 'x' } },
      });
      expect(bad.statusCode).toBe(400);
      const plain = await app.inject({ method: 'POST', url: '/solve', payload: tiny() });
      expect(plain.statusCode).toBe(202);
    } finally {
      await app.close();
    }
  });
});

describe('the worker side stopped and started again', () => {
  it('a job cancelled while queued fires completed (from the API); a pending retry survives a restart', async () => {
    await h.stopWorkers();
    // queued (no workers): the API's cancel finishes it, and queues the message
    const queued = await h
      .http()
      .post('/solve')
      .send({ ...tiny(), webhook: { url: `${receiver.url}?restart` } });
    expect(queued.status).toBe(202);
    const cancel = await h.http().post(`/jobs/${queued.body.id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.state).toBe('cancelled');
    // the first attempt fails (500) and is retried 6 s later: the worker side is gone by then
    receiver.answers.set('/hook?restart', (nth) => (nth === 1 ? 500 : 200));
    await h.startWorkers({ backoffMs: 6000 });
    const [first] = await waitFor(async () => {
      const items = await deliveries(queued.body.id);
      return items.length === 1 && items;
    }, 'the first attempt');
    expect(first).toMatchObject({ event: 'completed', attempt: 1, statusCode: 500 });
    await h.stopWorkers();
    expect(await deliveries(queued.body.id)).toHaveLength(1);
    await h.startWorkers();
    const items = await waitFor(async () => {
      const all = await deliveries(queued.body.id);
      return all.length === 2 && all;
    }, 'the retry, by the new worker side');
    expect(items[1]).toMatchObject({
      event: 'completed',
      attempt: 2,
      statusCode: 200,
      deliveryId: first.deliveryId,
    });
    const got = receiver.forJob(queued.body.id);
    expect(got).toHaveLength(2);
    const view = new Webhook(SECRET).verify(got[1].body, got[1].headers as Record<string, string>) as JobView;
    expect(view).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
  });
});
