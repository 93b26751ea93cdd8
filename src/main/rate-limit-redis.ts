/**
 * The rate limiter's own Redis connection (apart from the job store's, so that a slow job command never
 * delays the limit check). It fails fast: no offline queue, one try, short timeouts; the limiter lets
 * requests through while Redis is away (skipOnError) and counts again once it is back.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { closeConnection } from '../jobs/redis.js';

/** Reconnect forever, backing off to 2 s between tries. */
const reconnect = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2000);

export interface RateLimitRedis {
  redis: Redis;
  /** Idempotent. */
  close(): Promise<void>;
}

export function createRateLimitRedis(url: string, logger: Logger): RateLimitRedis {
  const redis = new Redis(url, {
    connectionName: 'levinv-rate-limit',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    commandTimeout: 500,
    retryStrategy: reconnect,
  });
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
