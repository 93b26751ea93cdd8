/**
 * What the job layer announces about a job's life: it started, it made progress, it finished. The job
 * layer knows nothing of who listens; the entry points (src/main) hand it listeners, e.g. the webhooks'
 * (src/webhooks/job-listener.ts). A listener never slows or fails a solve: `started` and `progressed` are
 * fire and forget, `finished` is awaited before the job's CLOSE (so a finisher's death cannot lose it) and
 * must bound its own wait; whatever a listener throws is logged here.
 */
import type { Logger } from 'pino';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import type { JobMeta, JobStore } from './store.js';
import type { JobProgress, JobView } from './types.js';

export interface JobListener {
  /** the job ran for the first time; `view` is the job then */
  started?(meta: JobMeta, view: JobView): void;
  /** an iterate was written; `view` builds the job's JSON, only if the listener needs it */
  progressed?(meta: JobMeta, progress: JobProgress, view: () => JobView): void;
  /** a final state was stored (by a worker's FINISH or a queued job's CANCEL); awaited before CLOSE */
  finished?(meta: JobMeta): Promise<void>;
  /** the process is closing: release what the listener holds */
  close?(): Promise<void>;
}

/** What a listener may use: the process's job store and its connection. */
export interface JobEventSource {
  redisUrl: string;
  redis: RedisClient;
  keys: Keys;
  store: JobStore;
  logger: Logger;
}

/** Makes a listener once the job layer has its connection (createJobService, startWorkers). */
export type JobListenerFactory = (source: JobEventSource) => JobListener;

/** The listeners of one process, called in order, each one's failure logged and contained. */
export class JobEvents {
  private readonly listeners: JobListener[];

  constructor(
    factories: readonly JobListenerFactory[],
    private readonly source: JobEventSource,
  ) {
    this.listeners = factories.map((make) => make(source));
    source.store.onFinished = (meta) => this.finished(meta);
  }

  started(meta: JobMeta, view: JobView): void {
    for (const listener of this.listeners)
      this.contain('started', meta, () => listener.started?.(meta, view));
  }

  progressed(meta: JobMeta, progress: JobProgress, view: () => JobView): void {
    for (const listener of this.listeners) {
      this.contain('progressed', meta, () => listener.progressed?.(meta, progress, view));
    }
  }

  async finished(meta: JobMeta): Promise<void> {
    await Promise.all(
      this.listeners.map((listener) =>
        Promise.resolve()
          .then(() => listener.finished?.(meta))
          .catch((error) => this.logFailure('finished', meta, error)),
      ),
    );
  }

  async close(): Promise<void> {
    for (const listener of this.listeners) {
      await listener
        .close?.()
        .catch((error) => this.source.logger.warn({ err: error }, 'closing a job listener'));
    }
  }

  private contain(event: string, meta: JobMeta, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.logFailure(event, meta, error);
    }
  }

  private logFailure(event: string, meta: JobMeta, error: unknown): void {
    this.source.logger.warn({ err: error, jobId: meta.id, event }, 'a job listener failed');
  }
}
