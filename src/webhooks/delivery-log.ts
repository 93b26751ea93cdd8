/**
 * The log of a job's webhook deliveries, which `GET /jobs/{id}/deliveries` shows (the job store reads it):
 * one record per delivery attempt, in order, the last MAX_DELIVERIES kept. A list in the job's data slot
 * (`P:job:{id}:deliveries`), so it lives and dies with the job's data: deleted with it (DELETE, prune), and
 * given the TTL its run hash has at each write. A record for a job that is gone is dropped, not left behind.
 */
import { MAX_DELIVERIES } from '../contract/job.js';
import type { DeliveryRecord } from '../jobs/job-record.js';
import { appendDelivery as append } from '../jobs/job-writer.js';
import type { RedisClient } from '../jobs/redis.js';

export type { DeliveryRecord } from '../jobs/job-record.js';

/** False when the job is gone (nothing written: lua/append-delivery.lua). */
export async function appendDelivery(
  redis: RedisClient,
  keys: { deliveries: string; run: string },
  record: DeliveryRecord,
): Promise<boolean> {
  return append(redis, keys, { record: JSON.stringify(record), keep: MAX_DELIVERIES });
}
