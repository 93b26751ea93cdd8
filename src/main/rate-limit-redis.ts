/**
 * The rate limiter's own Redis connection (apart from the job store's, so that a slow job command never
 * delays the limit check). It fails fast: no offline queue, one try, short timeouts; the limiter lets
 * requests through while Redis is away (skipOnError) and counts again once it is back.
 */
import type { Logger } from 'pino';
import { closeConnection, createClient, type RedisClient, reconnect } from '../jobs/redis.js';

export interface RateLimitRedis {
  redis: RedisClient;
  /** Idempotent. */
  close(): Promise<void>;
}

export function createRateLimitRedis(url: string, logger: Logger): RateLimitRedis {
  // a Redis Cluster URL gives a Cluster: the limiter's keys are one per client, each on its own slot
  const redis = createClient(
    url,
    {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      commandTimeout: 500,
      retryStrategy: reconnect,
    },
    'levinv-rate-limit',
  );
  // One line when it goes away and one when it is back, not one per reconnect attempt.
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn(
      { err: { message: error.message } },
      'rate limiter: Redis unavailable; requests are not limited',
    );
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('rate limiter: Redis is back');
  });
  let closed: Promise<void> | undefined;
  return {
    redis,
    close: () => {
      closed ??= closeConnection(redis);
      return closed;
    },
  };
}
