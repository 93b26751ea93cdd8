/**
 * Webhooks on a real three-master Redis Cluster: the delivery queue shares the `{bullmq}` slot with the
 * solve queue, and each job's delivery log is in its own `{id}` slot with its run hash, so queueing,
 * delayed retries, the log's script and the deliveries route all work there (a cross-slot command would
 * fail with CROSSSLOT).
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import type { DeliveryRecord } from '../../src/webhooks/delivery-log.js';
import { vectorBody } from '../api/harness.js';
import { startTestCluster, type TestCluster } from '../helpers/redis-cluster.js';
import {
  type Receiver,
  SECRET,
  startReceiver,
  startWebhookHarness,
  type WebhookHarness,
  waitFor,
} from './harness.js';

let cluster: TestCluster;
let h: WebhookHarness;
let receiver: Receiver;
beforeAll(async () => {
  cluster = await startTestCluster();
  h = await startWebhookHarness('webhook-cluster', cluster.url);
  receiver = await startReceiver();
}, 120_000);
afterAll(async () => {
  await h?.close();
  await receiver?.close();
  await cluster?.close();
});

describe('webhooks on a Redis Cluster', () => {
  it('delivers start and completed, retries a 500, lists and deletes the log', async () => {
    // start and completed go to the same URL: the second request there (completed's first attempt) fails
    receiver.answers.set('/hook?cluster', (nth) => (nth === 2 ? 500 : 200));
    const res = await h
      .http()
      .post('/solve')
      .send({
        ...vectorBody('tiny'),
        webhook: { url: `${receiver.url}?cluster`, events: ['start', 'completed'] },
      });
    expect(res.status, res.text).toBe(202);
    const job = res.body as JobView;
    const items = await waitFor(async () => {
      const got = await h.http().get(`/jobs/${job.id}/deliveries`);
      const list = (got.body as { items: DeliveryRecord[] }).items;
      return list?.length === 3 && list;
    }, 'start, and completed twice');
    expect(items.filter((d) => d.event === 'start').map((d) => d.statusCode)).toEqual([200]);
    expect(items.filter((d) => d.event === 'completed').map((d) => [d.attempt, d.statusCode])).toEqual([
      [1, 500],
      [2, 200],
    ]);
    const last = receiver.forJob(job.id).at(-1)!;
    const view = new Webhook(SECRET).verify(last.body, last.headers as Record<string, string>) as JobView;
    expect(view.state).toBe('succeeded');
    expect(last.body).toBe((await h.http().get(`/jobs/${job.id}`)).text);
    expect((await h.http().delete(`/jobs/${job.id}`)).status).toBe(204);
    expect(await h.raw.exists(h.keys.data(job.id).deliveries)).toBe(0);
  });
});
