/**
 * `completed` is queued before the job's CLOSE (store.ts), so a finisher that dies anywhere after FINISH
 * cannot lose it: its BullMQ job stays active, is handed out again, and the worker that finds the job
 * finished (closeFinished) queues the message again under the same id. The store's steps are driven one
 * by one here, with no solve worker running, as a dying process would leave them.
 */
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defineScripts } from '../../src/jobs/scripts.js';
import { type JobMeta, JobStore } from '../../src/jobs/store.js';
import type { JobView } from '../../src/jobs/types.js';
import {
  deliveryIdOf,
  WEBHOOK_QUEUE_NAME,
  type WebhookJobData,
  WebhookNotifier,
} from '../../src/webhooks/delivery-queue.js';
import { vectorBody } from '../api/harness.js';
import {
  type Receiver,
  startReceiver,
  startWebhookHarness,
  type WebhookHarness,
  waitFor,
} from './harness.js';

const RUN = { holder: 'test', every: 1, recordLimit: 100 };
/** a whole result (the delivery serializes it as GET /jobs/{id} does), as a solve would store it */
const RESULT = {
  method: 'newton',
  x: [1, 2],
  loss: 1e-30,
  gradNorm: 1e-15,
  iterations: 3,
  converged: true,
  reason: 'gradient-tolerance',
  leverage: [0.6, 0.7, 0.7],
  maxAbsResidual: 1e-16,
  start: [0, 0],
  timings: { startMs: 0.1, solveMs: 0.2, totalMs: 0.3, threads: 1 },
  warnings: [],
};

let h: WebhookHarness;
let receiver: Receiver;
let queue: Queue<WebhookJobData>;
beforeAll(async () => {
  h = await startWebhookHarness('at-least-once');
  await h.stopWorkers();
  receiver = await startReceiver();
  defineScripts(h.raw);
  queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE_NAME, { connection: h.raw, prefix: h.keys.bullPrefix });
});
afterAll(async () => {
  await queue?.close();
  await h?.close();
  await receiver?.close();
});

/** A queued job with a `completed` webhook, and a store of a worker process with the webhook notifier. */
async function queuedJob(): Promise<{ meta: JobMeta; store: JobStore }> {
  const res = await h
    .http()
    .post('/solve')
    .send({ ...vectorBody('tiny'), webhook: { url: receiver.url } });
  expect(res.status, res.text).toBe(202);
  const store = new JobStore(h.raw, h.keys, 600);
  const meta = (await store.readMeta((res.body as JobView).id))!;
  expect(meta.webhook).toEqual({ url: receiver.url, events: ['completed'] });
  return { meta, store };
}

const notifierStore = (): JobStore => {
  const store = new JobStore(h.raw, h.keys, 600);
  const notifier = new WebhookNotifier(queue, pino({ level: 'silent' }));
  store.onFinished = (meta) => notifier.finished(meta);
  return store;
};

it('queues completed after FINISH and before CLOSE', async () => {
  const { meta } = await queuedJob();
  const store = notifierStore();
  const queueIt = store.onFinished!;
  let closedWhenQueued: string | null = 'not called';
  store.onFinished = async (m) => {
    closedWhenQueued = await h.raw.hget(h.keys.data(m.id).run, 'closed');
    await queueIt(m);
  };
  await store.start(meta, 'tok', 1, Date.now(), RUN);
  expect(await store.finish(meta, 'tok', { state: 'succeeded', result: RESULT as never }, Date.now())).toBe(
    true,
  );
  expect(closedWhenQueued).toBeNull();
  const message = await queue.getJob(deliveryIdOf(meta.id, 'completed'));
  expect(message?.data).toMatchObject({ jobId: meta.id, event: 'completed', url: receiver.url });
  expect(await h.raw.hget(h.keys.data(meta.id).run, 'closed')).not.toBeNull();
});

it('a finisher that dies after FINISH, before queueing: the next worker queues it, delivered once', async () => {
  const { meta, store: dying } = await queuedJob();
  // the finisher stops for good while queueing: FINISH ran, the message never went out, CLOSE never ran
  dying.onFinished = () => new Promise<void>(() => undefined);
  await dying.start(meta, 'tok', 1, Date.now(), RUN);
  void dying.finish(meta, 'tok', { state: 'succeeded', result: RESULT as never }, Date.now());
  await waitFor(
    async () => (await dying.readMeta(meta.id))?.state === 'succeeded',
    'the finished state (FINISH)',
  );
  expect(await queue.getJob(deliveryIdOf(meta.id, 'completed'))).toBeUndefined();
  expect(await h.raw.hget(h.keys.data(meta.id).run, 'closed')).toBeNull();

  // the next worker that is handed the BullMQ job finds it finished and closes it, queueing the message
  expect(await notifierStore().closeFinished(meta.id)).toBe(true);
  expect(await queue.getJob(deliveryIdOf(meta.id, 'completed'))).toBeDefined();
  // closing it again (another hand-out) queues it again under the same id: still one message
  await notifierStore().closeFinished(meta.id);

  await h.startWorkers();
  const [got] = await waitFor(
    () => receiver.forJob(meta.id).length > 0 && receiver.forJob(meta.id),
    'the completed delivery',
  );
  const job = JSON.parse(got.body) as JobView;
  expect(job).toMatchObject({ id: meta.id, state: 'succeeded', done: true });
  expect(job.result?.x).toEqual(RESULT.x);
  // delivered once, though queued twice
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(receiver.forJob(meta.id)).toHaveLength(1);
});
