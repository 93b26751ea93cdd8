/**
 * What `GET /jobs/{id}/deliveries` shows: one record per delivery attempt, in order, the last
 * MAX_DELIVERIES kept. A list in the job's data slot (`P:job:{id}:deliveries`), so it lives and dies with
 * the job's data: deleted with it (DELETE, prune), and given the TTL its run hash has at each write. A
 * record for a job that is gone is dropped rather than left behind.
 */
import type { RedisClient } from '../jobs/redis.js';
import type { WebhookEvent } from './schema.js';

export const MAX_DELIVERIES = 100;

export interface DeliveryRecord {
  event: WebhookEvent;
  /** 1 for the first attempt of this message */
  attempt: number;
  statusCode?: number;
  error?: string;
  /** when the attempt started, ISO 8601 */
  at: string;
  durationMs: number;
  /** the `webhook-id` header: the same for every attempt of one message */
  deliveryId: string;
}

// KEYS: the deliveries list, the job's run hash (same slot). ARGV: the record, how many to keep.
const APPEND = `
local ttl = redis.call('PTTL', KEYS[2])
if ttl == -2 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;

/** False when the job is gone (nothing written). */
export async function appendDelivery(
  redis: RedisClient,
  keys: { deliveries: string; run: string },
  record: DeliveryRecord,
): Promise<boolean> {
  const done = await redis.eval(APPEND, 2, keys.deliveries, keys.run, JSON.stringify(record), MAX_DELIVERIES);
  return done === 1;
}

export async function readDeliveries(redis: RedisClient, key: string): Promise<DeliveryRecord[]> {
  const items = await redis.lrange(key, 0, -1);
  return items.map((item) => JSON.parse(item) as DeliveryRecord);
}
