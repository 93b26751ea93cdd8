import { describe, expect, it } from 'vitest';
import { freePort, startLocalRedis } from '../../src/main/local-redis.js';
import { answersPing, resolveRedis } from '../../src/main/redis-address.js';

describe('resolveRedis (what npm start connects to)', () => {
  it('uses REDIS_URL as given, without looking', async () => {
    expect(await resolveRedis('redis://example.invalid:1', 'redis://127.0.0.1:1')).toEqual({
      url: 'redis://example.invalid:1',
    });
  });

  it('uses the default address when a Redis answers there', async () => {
    const running = await startLocalRedis();
    try {
      expect(await answersPing(running.url)).toBe(true);
      expect(await resolveRedis(undefined, running.url)).toEqual({ url: running.url });
    } finally {
      await running.stop();
    }
  });

  it('starts a private redis-server when nothing answers at the default address', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    expect(await answersPing(closed)).toBe(false);
    const resolved = await resolveRedis(undefined, closed);
    try {
      expect(resolved.local).toBeDefined();
      expect(resolved.url).not.toBe(closed);
      expect(await answersPing(resolved.url)).toBe(true);
    } finally {
      await resolved.local?.stop();
    }
    expect(await answersPing(resolved.url)).toBe(false);
  });
});
