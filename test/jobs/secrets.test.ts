/**
 * Secrets never reach the logs: a Redis URL with a wrong password (a private redis-server with
 * --requirepass) makes every connection fail on every reconnect, and each failure is logged; neither the
 * password nor the URL's credentials may appear in any line, from our connections or BullMQ's.
 */

import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { createJobService, startWorkers } from '../../src/jobs/index.js';
import { redactRedisUrl, safeError } from '../../src/jobs/log-safety.js';
import { killAll, logLines, spawnWorker } from '../helpers/processes.js';
import { type PrivateRedis, privateRedis, uniquePrefix } from '../helpers/redis.js';

const RIGHT = 'right-password-4711';
const WRONG = 'Wr0ng-Secret-9z8y7x';
let server: PrivateRedis;
let wrongUrl: string;

beforeAll(async () => {
  server = await privateRedis({ password: RIGHT });
  wrongUrl = `redis://:${WRONG}@127.0.0.1:${server.port}`;
  return () => server.close();
});
afterEach(() => killAll());

it('logs no secret from a worker process whose Redis password is wrong', async () => {
  const worker = spawnWorker({ REDIS_URL: wrongUrl, KEY_PREFIX: uniquePrefix('secret'), LOG_LEVEL: 'debug' });
  await sleep(3000);
  await worker.kill('SIGKILL');
  const output = worker.out() + worker.err();
  expect(output).not.toContain(WRONG);
  expect(output).not.toContain(encodeURIComponent(WRONG));
  // the failures were logged, without their arguments
  const errors = logLines(worker.out()).filter((l) => JSON.stringify(l).includes('WRONGPASS'));
  expect(errors.length).toBeGreaterThan(1);
  expect(errors.some((l) => (l.err as { command?: string } | undefined)?.command === 'hello')).toBe(true);
});

it('logs no secret from the job service and in-process workers', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const prefix = uniquePrefix('secret-service');
  const service = await createJobService({
    redisUrl: wrongUrl,
    keyPrefix: prefix,
    jobTtlSeconds: 60,
    logger,
    connectWaitMs: 500,
  });
  const workers = await startWorkers({
    redisUrl: wrongUrl,
    keyPrefix: prefix,
    jobTtlSeconds: 60,
    concurrency: 1,
    logger,
    handBackAfterMs: 100,
  });
  await sleep(1500);
  await workers.close();
  await service.close();
  const text = lines.join('');
  expect(text).not.toContain(WRONG);
  expect(text).toContain('Redis does not answer yet');
  expect(text).toContain(`redis://***@127.0.0.1:${server.port}`);
  expect(lines.filter((l) => l.includes('WRONGPASS')).length).toBeGreaterThan(1);
}, 30_000);

it('masks credentials and drops command arguments from any error', () => {
  const error = Object.assign(new Error(`connect to redis://user:${WRONG}@host:6379 failed (${WRONG})`), {
    command: { name: 'auth', args: [WRONG] },
    code: 'WRONGPASS',
  });
  const safe = safeError(error, [WRONG]);
  expect(JSON.stringify(safe)).not.toContain(WRONG);
  expect(safe).toMatchObject({ type: 'Error', code: 'WRONGPASS', command: 'auth' });
  expect(safe.message).toBe('connect to redis://***@host:6379 failed (***)');
  expect(redactRedisUrl(`rediss://:${WRONG}@h:1/0`)).toBe('rediss://***@h:1/0');
});
