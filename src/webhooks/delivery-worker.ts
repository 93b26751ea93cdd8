/**
 * The consumer side of webhook deliveries, in the worker process: a BullMQ Worker of its own on the
 * `webhook` queue (own concurrency, so slow receivers never hold a solve slot). Each attempt signs the body
 * per Standard Webhooks (the `standardwebhooks` package: `webhook-id`, `webhook-timestamp` of this attempt,
 * `webhook-signature`), POSTs it (deliver.ts), and appends a record to the job's delivery log. A network
 * error, a timeout, 429 or 5xx is retried with exponential backoff (base WEBHOOK_BACKOFF_MS); a refused
 * address, a redirect or another 4xx is final. Pending retries are BullMQ delayed jobs, so they survive a
 * restart. A job deleted or expired meanwhile is not delivered, nor a progress message of a job that has
 * finished since (its `completed` supersedes it).
 *
 * Fairness: each API key has at most `perKeyConcurrency` deliveries in flight in this process
 * (fair-share.ts). A message over its key's share goes back to the delayed set for about a second, without
 * using up an attempt, and a free slot takes the next message in line, another key's.
 */
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import { jobJson } from '../contract/job-json.js';
import type { Keys } from '../jobs/keys.js';
import { closeConnection, createClient, isClusterUrl, reconnect, WORKER_OPTIONS } from '../jobs/redis.js';
import { type JobStore, toView } from '../jobs/store.js';
import { isFinished, type JobResult } from '../jobs/types.js';
import { KeyedLeases } from '../limits/keyed-leases.js';
import { queueTelemetry } from '../telemetry/instrumentation.js';
import { AddressGuard } from './address-guard.js';
import { postWebhook } from './deliver.js';
import { appendDelivery } from './delivery-log.js';
import { WEBHOOK_BACKOFF, WEBHOOK_QUEUE_NAME, type WebhookJobData } from './delivery-queue.js';
import { shareKeyOf } from './fair-share.js';

export interface WebhookDeliveryOptions {
  /** WEBHOOK_SECRET (`whsec_` and base64) */
  secret: string;
  /** WEBHOOK_ALLOW_HOSTS: host names or addresses, as written in URLs, exempt from the address check */
  allowHosts?: readonly string[];
  /** one attempt's deadline (WEBHOOK_TIMEOUT_MS); default 5000 */
  timeoutMs?: number;
  /** the first retry's delay, doubled for each next one (WEBHOOK_BACKOFF_MS); default 120000 */
  backoffMs?: number;
  /** deliveries in flight at once per worker process (WEBHOOK_CONCURRENCY); default 8 */
  concurrency?: number;
  /** of those, at most this many for one API key (WEBHOOK_CONCURRENCY_PER_KEY); default 2 */
  perKeyConcurrency?: number;
}

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;
export const DEFAULT_WEBHOOK_BACKOFF_MS = 120_000;
export const DEFAULT_WEBHOOK_CONCURRENCY = 8;
export const DEFAULT_WEBHOOK_CONCURRENCY_PER_KEY = 2;
/**
 * How long a message over its key's share waits before it is offered again (plus up to as much again at
 * random, so a key's deferred messages do not all come back at once): short against a delivery's
 * deadline, long enough that a big backlog costs Redis little while it waits.
 */
const DEFER_MS = 500;

export interface WebhookDelivery {
  close(): Promise<void>;
}

export function startWebhookDelivery(
  options: WebhookDeliveryOptions,
  deps: { redisUrl: string; keys: Keys; store: JobStore; logger: Logger },
): WebhookDelivery {
  const { keys, store, logger } = deps;
  const signer = new Webhook(options.secret);
  const guard = new AddressGuard(options.allowHosts);
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const backoffMs = options.backoffMs ?? DEFAULT_WEBHOOK_BACKOFF_MS;
  const share = new KeyedLeases(options.perKeyConcurrency ?? DEFAULT_WEBHOOK_CONCURRENCY_PER_KEY);

  const deliver = async (job: { data: WebhookJobData; attemptsMade: number }): Promise<string> => {
    const { jobId, event, url, deliveryId } = job.data;
    const found = await store.readJob(jobId, job.data.body === undefined);
    if (!found) return 'gone';
    if (event === 'progress' && isFinished(found.meta.state)) return 'superseded';
    let body = job.data.body;
    if (body === undefined) {
      const { meta, data } = found;
      body = jobJson(
        toView(meta, data.recorded, data.result ? (JSON.parse(data.result) as JobResult) : undefined),
      );
    }
    const at = new Date();
    const headers = {
      'webhook-id': deliveryId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signer.sign(deliveryId, at, body),
    };
    const outcome = await postWebhook(url, body, headers, { guard, timeoutMs });
    const attempt = job.attemptsMade + 1;
    const k = keys.data(jobId);
    await appendDelivery(store.redis, k, {
      event,
      attempt,
      ...(outcome.statusCode === undefined ? {} : { statusCode: outcome.statusCode }),
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
      at: at.toISOString(),
      durationMs: outcome.durationMs,
      deliveryId,
    });
    if (outcome.ok) return 'delivered';
    // the detail (what a name resolved to, the address connected to) is for the operator, not the client
    logger.info(
      { jobId, event, attempt, statusCode: outcome.statusCode, retry: outcome.retry, detail: outcome.detail },
      'webhook delivery failed',
    );
    if (!outcome.retry) throw new UnrecoverableError(outcome.error ?? 'refused');
    throw new Error(outcome.error ?? 'failed');
  };

  // As the solve worker: a Cluster connection is ours to make and close, a standalone one BullMQ's.
  const cluster = isClusterUrl(deps.redisUrl)
    ? createClient(deps.redisUrl, WORKER_OPTIONS, 'levinv-webhooks-bullmq')
    : null;
  cluster?.on('error', (error) => logger.warn({ err: error }, 'webhook queue connection error'));
  const takeTurn = async (job: Job<WebhookJobData>, token?: string): Promise<string> => {
    const lease = share.tryAcquire(shareKeyOf(job.data));
    if (!lease) {
      await job.moveToDelayed(Date.now() + DEFER_MS + Math.random() * DEFER_MS, token);
      throw new DelayedError();
    }
    try {
      return await deliver(job);
    } finally {
      lease.release();
    }
  };

  const worker = new Worker<WebhookJobData>(WEBHOOK_QUEUE_NAME, takeTurn, {
    connection: cluster ?? {
      url: deps.redisUrl,
      maxRetriesPerRequest: null,
      retryStrategy: reconnect,
      connectionName: 'levinv-webhooks-bullmq',
    },
    prefix: keys.bullPrefix,
    concurrency: options.concurrency ?? DEFAULT_WEBHOOK_CONCURRENCY,
    ...queueTelemetry(),
    settings: {
      backoffStrategy: (attemptsMade, type) =>
        type === WEBHOOK_BACKOFF ? backoffMs * 2 ** Math.max(0, attemptsMade - 1) : backoffMs,
    },
  });
  worker.on('error', (error) => logger.error({ err: error }, 'webhook worker error'));

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        // deliveries in flight end within timeoutMs; with Redis gone BullMQ would wait forever: force it
        const graceful = worker.close().then(() => true);
        const closed = await Promise.race([graceful, delay(timeoutMs + 3000).then(() => false)]).catch(
          (error) => {
            logger.warn({ err: error }, 'closing the webhook worker');
            return true;
          },
        );
        if (!closed) await Promise.race([worker.close(true).catch(() => undefined), delay(3000)]);
        if (cluster) await closeConnection(cluster);
      })();
      return closing;
    },
  };
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
