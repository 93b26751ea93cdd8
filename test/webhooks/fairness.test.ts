/**
 * One key's dead receivers cannot starve another key's webhooks, nor pile up progress messages: the real
 * API, workers and delivery worker (8 slots, 2 per key) on a private Redis, a receiver that never answers
 * and one that does, both on 127.0.0.1. The delivery deadline is long (20 s) so that a hanging delivery
 * holds its slot for the whole of a test: what is asserted is an order and a count, never a duration.
 */
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import {
  deliveryIdOf,
  progressDedupId,
  WEBHOOK_QUEUE_NAME,
  type WebhookJobData,
} from '../../src/webhooks/delivery-queue.js';
import {
  DEFAULT_WEBHOOK_CONCURRENCY,
  DEFAULT_WEBHOOK_CONCURRENCY_PER_KEY,
} from '../../src/webhooks/delivery-worker.js';
import { slowBody, vectorBody } from '../api/harness.js';
import {
  ALICE,
  BOB,
  type Receiver,
  startReceiver,
  startWebhookHarness,
  type WebhookHarness,
  waitFor,
} from './harness.js';

let h: WebhookHarness;
let good: Receiver;
/** never answers: each delivery to it holds a slot until the deadline or until it is closed */
let dead: Receiver;
let queue: Queue<WebhookJobData>;
beforeAll(async () => {
  h = await startWebhookHarness('webhook-fairness');
  await h.startWorkers({ timeoutMs: 20_000 });
  good = await startReceiver();
  queue = new Queue(WEBHOOK_QUEUE_NAME, { connection: h.raw, prefix: h.keys.bullPrefix });
});
beforeEach(async () => {
  dead = await startReceiver();
  dead.answers.set('/hook', () => ({ status: 200, hang: true }));
});
// closing the dead receiver ends its hanging deliveries (a network error), so the workers can close
afterEach(() => dead?.close());
afterAll(async () => {
  await queue?.close();
  await h?.close();
  await good?.close();
});

async function submit(secret: string, body: Record<string, unknown>): Promise<JobView> {
  const res = await h.http(secret).post('/solve').send(body);
  expect(res.status, res.text).toBe(202);
  return res.body as JobView;
}

it("bob's completed webhook arrives while alice's flood of dead receivers is still queued", async () => {
  // more of alice's messages than the process has delivery slots
  const flood = DEFAULT_WEBHOOK_CONCURRENCY + 2;
  const alice = await Promise.all(
    Array.from({ length: flood }, () => submit(ALICE, { ...vectorBody('tiny'), webhook: { url: dead.url } })),
  );
  await waitFor(async () => {
    const queued = await Promise.all(alice.map((j) => queue.getJob(deliveryIdOf(j.id, 'completed'))));
    return queued.every(Boolean);
  }, "all of alice's messages queued");
  await waitFor(() => dead.received.length > 0, "alice's first deliveries under way");

  const bob = await submit(BOB, { ...vectorBody('tiny'), webhook: { url: good.url } });
  const [got] = await waitFor(() => good.forJob(bob.id).length > 0 && good.forJob(bob.id), "bob's delivery");
  // none of alice's deliveries has ended (20 s deadline), so what she had started by then is what she held
  const aliceStarted = dead.received.filter((r) => r.at <= got.at).length;
  expect(aliceStarted).toBeGreaterThanOrEqual(1);
  expect(aliceStarted).toBeLessThanOrEqual(DEFAULT_WEBHOOK_CONCURRENCY_PER_KEY);
  expect(aliceStarted).toBeLessThan(flood);
  // and her backlog is still there: every one of her messages is pending, none dropped
  const states = await Promise.all(alice.map((j) => queue.getJobState(deliveryIdOf(j.id, 'completed'))));
  expect(states.every((s) => s === 'active' || s === 'waiting' || s === 'delayed')).toBe(true);
  expect(dead.received.length).toBeLessThanOrEqual(DEFAULT_WEBHOOK_CONCURRENCY_PER_KEY);
});

it('a receiver that never answers holds at most one progress message per job in Redis', async () => {
  const job = await submit(BOB, { ...slowBody(4), webhook: { url: dead.url, events: ['progress'] } });
  const pattern = `${h.keys.bullPrefix}:${WEBHOOK_QUEUE_NAME}:${deliveryIdOf(job.id, 'progress')}_*`;
  /** the job's progress messages in the webhook queue (BullMQ job hashes, not their :lock or :logs) */
  const progressMessages = async () =>
    (await h.raw.keys(pattern)).filter((key) => /_progress_\d+$/.test(key)).length;
  let most = 0;
  let samples = 0;
  await waitFor(async () => {
    most = Math.max(most, await progressMessages());
    samples += 1;
    return (await h.http(BOB).get(`/jobs/${job.id}`)).body.done === true;
  }, 'the job to finish');
  const done = (await h.http(BOB).get(`/jobs/${job.id}`)).body as JobView;
  expect(done.progress!.iteration).toBeGreaterThan(0);
  expect(samples).toBeGreaterThan(5);
  expect(most).toBe(1);
  // only the first was sent: later ones were not queued while it hung
  expect(dead.forJob(job.id)).toHaveLength(1);

  // the hanging delivery fails (the receiver goes away): it is not retried, and not kept
  await dead.close();
  await waitFor(async () => (await progressMessages()) === 0, 'no progress message left');
  const dedupKey = `${h.keys.bullPrefix}:${WEBHOOK_QUEUE_NAME}:de:${progressDedupId(job.id)}`;
  expect(await h.raw.exists(dedupKey)).toBe(0);
  const items = (await h.http(BOB).get(`/jobs/${job.id}/deliveries`)).body.items as { attempt: number }[];
  expect(items.map((d) => d.attempt)).toEqual([1]);
});
