/**
 * Redis for integration tests: REDIS_URL when set, otherwise a private redis-server on a free port.
 * Each test should also use its own key prefix / queue name (see uniquePrefix).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { startLocalRedis } from '../../src/main/local-redis.js';

export interface TestRedis {
  url: string;
  /** present only for a private server, which a test may stop (to see /readyz turn 503) */
  stop?: () => Promise<void>;
  close(): Promise<void>;
}

export async function testRedis(): Promise<TestRedis> {
  const shared = process.env.REDIS_URL;
  if (shared) return { url: shared, close: async () => {} };
  const local = await startLocalRedis();
  return { url: local.url, stop: local.stop, close: local.stop };
}

export const uniquePrefix = (name: string): string => `test-${name}-${randomUUID().slice(0, 8)}`;

/**
 * One Redis for a whole test file: started before its first test, closed after its last. Call it at the
 * top level of the file; read `.url` inside tests.
 */
export function redisForFile(): { readonly url: string } {
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    redis = await testRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });
  return {
    get url(): string {
      if (!redis) throw new Error('redisForFile: Redis is not up yet (use .url inside a test)');
      return redis.url;
    },
  };
}

export { type PrivateRedis, privateRedis } from './private-redis.js';
