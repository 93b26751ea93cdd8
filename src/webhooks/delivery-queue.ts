/**
 * The producer side of webhook deliveries: a BullMQ queue of its own (`webhook`, under the same `{bullmq}`
 * prefix as the solve queue, so one slot on a Redis Cluster), fed by the job lifecycle: `start` when a job
 * first runs, `progress` at most once a second per job, `completed` at every final state. Enqueueing never
 * blocks or fails a solve: `start` and `progress` are not awaited, `completed` is awaited (at most 5 s)
 * after the solve, before the job's CLOSE, so that a finisher's death cannot lose it; failures are logged.
 * Delivery (delivery-worker.ts) of `start` and `completed` is at least once: each message has a fixed id
 * (its `webhook-id`, also the BullMQ job id, so enqueueing the same message twice delivers it once),
 * retried with exponential backoff. `progress` is at most once: a newer one supersedes it, so it is tried
 * once, not kept afterwards, and a job's next one is not queued while its last is still pending, so a
 * receiver that never answers holds at most one progress message per job in Redis.
 */
import { type JobsOptions, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { jobJson } from '../contract/job-json.js';
import type { WebhookEvent } from '../contract/webhook.js';
import type { Keys } from '../jobs/keys.js';
import { QUEUE_EVENTS_MAX_LEN } from '../jobs/queue.js';
import type { RedisClient } from '../jobs/redis.js';
import type { JobMeta } from '../jobs/store.js';
import type { JobProgress, JobView } from '../jobs/types.js';
import { queueTelemetry } from '../telemetry/instrumentation.js';

export const WEBHOOK_QUEUE_NAME = 'webhook';
/** the backoff strategy's name (the delivery worker computes the delays: WEBHOOK_BACKOFF_MS) */
export const WEBHOOK_BACKOFF = 'webhook';
/** tries per message: with the default 2-minute base, retries after 2, 4, 8, 16 and 32 minutes (~1 h) */
export const WEBHOOK_ATTEMPTS = 6;
/** progress messages per job at most once per this many ms */
export const PROGRESS_INTERVAL_MS = 1000;
/** how long a job's close waits for its `completed` message to be queued (Redis slow or away) */
const FINISHED_WAIT_MS = 5000;
/** finished delivery jobs BullMQ keeps (by count; by age a day), for the dedupe of repeated enqueues */
const RETAIN = { count: 1000, age: 24 * 60 * 60 };

export interface WebhookJobData {
  jobId: string;
  /** the job's API key name ('' on an open service): deliveries are shared fairly between keys */
  owner?: string;
  event: WebhookEvent;
  url: string;
  /** the `webhook-id` */
  deliveryId: string;
  /** the job's JSON at the event (start, progress); absent for `completed`, read when delivered (final) */
  body?: string;
}

export function deliveryJobOptions(deliveryId: string, event: WebhookEvent, jobId: string): JobsOptions {
  if (event === 'progress') {
    return {
      jobId: deliveryId,
      attempts: 1,
      removeOnComplete: true,
      removeOnFail: true,
      // dropped while this job's previous progress message is waiting, deferred or being sent
      deduplication: { id: progressDedupId(jobId) },
    };
  }
  return {
    jobId: deliveryId,
    attempts: WEBHOOK_ATTEMPTS,
    backoff: { type: WEBHOOK_BACKOFF },
    removeOnComplete: RETAIN,
    removeOnFail: RETAIN,
  };
}

/** The BullMQ deduplication id that holds a job's one pending progress message. */
export const progressDedupId = (jobId: string): string => `progress_${jobId}`;

/** The webhook-id of a message: one per job and event (per iteration for progress). */
export const deliveryIdOf = (jobId: string, event: WebhookEvent, iteration?: number): string =>
  `msg_${jobId.replaceAll('-', '')}_${event}${iteration === undefined ? '' : `_${iteration}`}`;

export class WebhookNotifier {
  /** when each job's last progress message was queued (ms) */
  private readonly lastProgress = new Map<string, number>();

  constructor(
    private readonly queue: Queue<WebhookJobData>,
    private readonly logger: Logger,
  ) {}

  /** The job first ran: `view` is the job then. */
  started(meta: JobMeta, view: JobView): void {
    if (!wants(meta, 'start')) return;
    this.safely(meta, 'start', () =>
      this.enqueue(meta, 'start', deliveryIdOf(meta.id, 'start'), jobJson(view)),
    );
  }

  /** An iterate was written; at most one message a second per job goes out. */
  progressed(meta: JobMeta, progress: JobProgress, view: () => JobView): void {
    if (!wants(meta, 'progress')) return;
    const now = Date.now();
    if (now - (this.lastProgress.get(meta.id) ?? 0) < PROGRESS_INTERVAL_MS) return;
    this.lastProgress.set(meta.id, now);
    // a job that ended in another process (a takeover) leaves its entry here: forget stale ones now and then
    if (this.lastProgress.size > 10_000) {
      for (const [id, at] of this.lastProgress) if (now - at > 60_000) this.lastProgress.delete(id);
    }
    this.safely(meta, 'progress', () =>
      this.enqueue(meta, 'progress', deliveryIdOf(meta.id, 'progress', progress.iteration), jobJson(view())),
    );
  }

  /**
   * The job reached a final state (succeeded, failed, cancelled). Awaited by the store before it closes the
   * job (so a finisher that dies cannot lose the message), for at most FINISHED_WAIT_MS; never rejects.
   */
  async finished(meta: JobMeta): Promise<void> {
    this.lastProgress.delete(meta.id);
    if (!wants(meta, 'completed')) return;
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, FINISHED_WAIT_MS);
    });
    try {
      await Promise.race([this.enqueue(meta, 'completed', deliveryIdOf(meta.id, 'completed')), cap]);
    } catch (error) {
      this.logger.warn(
        { err: error, jobId: meta.id, event: 'completed' },
        'could not queue a webhook delivery',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whatever goes wrong here is logged, never thrown into the solve or the state change that called. */
  private safely(meta: JobMeta, event: WebhookEvent, queue: () => void): void {
    try {
      queue();
    } catch (error) {
      this.logger.warn({ err: error, jobId: meta.id, event }, 'could not queue a webhook delivery');
    }
  }

  /** Resolves once queued (or failed: logged); never rejects. */
  private enqueue(meta: JobMeta, event: WebhookEvent, deliveryId: string, body?: string): Promise<void> {
    const data: WebhookJobData = {
      jobId: meta.id,
      owner: meta.owner,
      event,
      url: meta.webhook!.url,
      deliveryId,
    };
    if (body !== undefined) data.body = body;
    return this.queue.add(event, data, deliveryJobOptions(deliveryId, event, meta.id)).then(
      () => undefined,
      (error) =>
        this.logger.warn({ err: error, jobId: meta.id, event }, 'could not queue a webhook delivery'),
    );
  }
}

const wants = (meta: JobMeta, event: WebhookEvent): boolean => meta.webhook?.events.includes(event) ?? false;

/**
 * The webhook queue on `redis` (the job layer's connection of this process): the caller closes it.
 * Enqueueing never waits for a connection, so a Redis outage costs a solve nothing here.
 */
export function webhookQueue(redis: RedisClient, keys: Keys, logger: Logger): Queue<WebhookJobData> {
  const queue = new Queue<WebhookJobData>(WEBHOOK_QUEUE_NAME, {
    connection: redis,
    prefix: keys.bullPrefix,
    // as the solve queue: never wait for a connection or ask for the server version while Redis is down
    skipWaitingForReady: true,
    skipVersionCheck: true,
    streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } },
    ...queueTelemetry(),
  });
  queue.on('error', (error) => logger.warn({ err: error }, 'webhook queue error'));
  return queue;
}
