/**
 * Is this worker process fit to take jobs? True while the BullMQ worker runs, is not closing, and the
 * process's Redis connection answers within `timeoutMs`: what a container healthcheck wants to know (the
 * heartbeat file of src/main/health.ts).
 */
import type { Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import type { Keys } from '../keys.js';
import type { RedisClient } from '../redis.js';

export async function isAlive(
  worker: Worker,
  redis: RedisClient,
  keys: Keys,
  closing: boolean,
  timeoutMs: number,
): Promise<boolean> {
  if (closing || !worker.isRunning()) return false;
  // The worker's connection retries a command forever while Redis is away: the race turns that into false.
  // On a Cluster any one node answers a PING, even while the cluster refuses keys (CLUSTERDOWN) or the
  // master of {bullmq} (the queue and the jobs' states) is away: a keyed read there instead.
  const probe = redis instanceof Cluster ? redis.exists(keys.all).then(() => 'PONG') : redis.ping();
  const pong = probe.then(
    (reply) => reply === 'PONG',
    () => false,
  );
  return Promise.race([pong, delay(timeoutMs).then(() => false)]);
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
