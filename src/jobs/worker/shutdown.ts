/**
 * A worker process's close: stop taking jobs and let running solves finish; after `handBackAfterMs`, stop
 * them and hand them back to the queue with their checkpoints (process-job.ts); then close the threads,
 * the listeners and the connections. With Redis gone BullMQ's graceful close would wait forever: after the
 * hand-back period plus a margin it is forced.
 */
import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { JobEvents } from '../job-events.js';
import { closeConnection, type RedisClient } from '../redis.js';
import type { SolveThreadPool } from '../thread-pool.js';
import type { Wakeups } from '../wakeups.js';
import { delay } from './liveness.js';
import type { StopReason } from './process-job.js';

/** How long past the hand-back period a close may wait for Redis before it is forced. */
const FORCE_CLOSE_MARGIN_MS = 3000;

export interface ShutdownParts {
  worker: Worker;
  pool: SolveThreadPool;
  events: JobEvents;
  wakeups: Wakeups | null;
  /** the Cluster connection BullMQ was given (ours to close); null on a standalone Redis */
  bullCluster: RedisClient | null;
  redis: RedisClient;
  running: Map<string, (why: StopReason) => void>;
  handBackAfterMs: number;
  /** called when the grace runs out: solves that start after it go straight back */
  startHandingBack: () => void;
  logger: Logger;
}

export async function shutDown(p: ShutdownParts): Promise<void> {
  const handBack = setTimeout(() => {
    p.startHandingBack();
    for (const stop of p.running.values()) stop('shutdown');
  }, p.handBackAfterMs);
  try {
    const graceful = p.worker.close();
    const forced = await Promise.race([
      graceful.then(() => false),
      delay(p.handBackAfterMs + FORCE_CLOSE_MARGIN_MS).then(() => true),
    ]);
    if (forced) {
      p.logger.warn('the worker did not close in time (is Redis down?): forcing it');
      graceful.catch(() => undefined);
      await Promise.race([
        p.worker.close(true).then(() => p.worker.disconnect()),
        delay(FORCE_CLOSE_MARGIN_MS),
      ]);
    }
  } catch (error) {
    p.logger.warn({ err: error }, 'closing the worker');
  } finally {
    clearTimeout(handBack);
  }
  await p.pool.close();
  await p.events.close();
  await p.wakeups?.close();
  if (p.bullCluster) await closeConnection(p.bullCluster);
  await closeConnection(p.redis);
}
