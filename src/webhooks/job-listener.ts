/**
 * Webhooks as a listener of the job layer's lifecycle events (src/jobs/job-events.ts): the entry points
 * hand it to createJobService (a queued job's cancel queues `completed`) and to startWorkers (start,
 * progress, completed; and, with WEBHOOK_SECRET set, the delivery worker of that process).
 */
import type { JobListener, JobListenerFactory } from '../jobs/job-events.js';
import { WebhookNotifier, webhookQueue } from './delivery-queue.js';
import { startWebhookDelivery, type WebhookDeliveryOptions } from './delivery-worker.js';

/**
 * Queues the messages of each job's webhook; `delivery` also delivers them from this process (absent: the
 * messages wait in Redis for a process that delivers).
 */
export function webhookListener(delivery?: WebhookDeliveryOptions): JobListenerFactory {
  return ({ redisUrl, redis, keys, store, logger }): JobListener => {
    const queue = webhookQueue(redis, keys, logger);
    const notifier = new WebhookNotifier(queue, logger);
    const worker = delivery ? startWebhookDelivery(delivery, { redisUrl, keys, store, logger }) : undefined;
    return {
      started: (meta, view) => notifier.started(meta, view),
      progressed: (meta, progress, view) => notifier.progressed(meta, progress, view),
      finished: (meta) => notifier.finished(meta),
      async close() {
        await worker?.close();
        await queue.close().catch((error) => logger.warn({ err: error }, 'closing the webhook queue'));
      },
    };
  };
}
