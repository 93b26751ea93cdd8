import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisServerMissingError, startLocalRedis } from '../../src/main/local-redis.js';

describe('startLocalRedis', () => {
  it('starts a private server that answers, without persistence and with noeviction, and stops it', async () => {
    const local = await startLocalRedis();
    const client = new Redis(local.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
    } finally {
      client.disconnect();
      await local.stop();
      await local.stop();
    }
    // Stopped means the port no longer accepts connections.
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(local.port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('says how to get Redis when the binary is missing', async () => {
    const error = await startLocalRedis('/nonexistent/redis-server').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisServerMissingError);
    expect((error as Error).message).toMatch(/not on the PATH: install Redis .*REDIS_URL.*docker compose up/);
  });
});
