/** A Redis outage seen from the API side: fast failures (503), never a hung request. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import {
  createJobService,
  type JobService,
  StoreUnavailableError,
  startWorkers,
} from '../../src/jobs/index.js';
import { startLocalRedis } from '../../src/main/local-redis.js';
import { uniquePrefix } from '../helpers/redis.js';
import { generated, OWNER, waitFor } from './harness.js';

let service: JobService | undefined;
afterEach(async () => {
  await service?.close();
});

it('answers ping false and throws StoreUnavailableError quickly once Redis is gone', async () => {
  // a private server of its own, since this test stops it
  const local = await startLocalRedis();
  try {
    const prefix = uniquePrefix('outage');
    service = await createJobService({ redisUrl: local.url, keyPrefix: prefix, jobTtlSeconds: 60 });
    expect(await service.ping()).toBe(true);
    const { job } = await service.submit(generated(20, 2));
    expect((await service.get(job.id, OWNER))!.state).toBe('queued');

    await local.stop();
    const began = Date.now();
    expect(await service.ping()).toBe(false);
    await expect(service.submit(generated(20, 2))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(service.get(job.id, OWNER)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(service.iterates(job.id, OWNER, 0, 10)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(service.cancel(job.id, OWNER)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(service.remove(job.id, OWNER)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(service.list({ owner: OWNER, limit: 10 })).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(service.stats()).rejects.toBeInstanceOf(StoreUnavailableError);
    const events = async () => {
      for await (const _ of service!.events(job.id, OWNER, undefined, new AbortController().signal)) {
        // drains
      }
    };
    await expect(events()).rejects.toBeInstanceOf(StoreUnavailableError);
    // generous: each call fails at once rather than waiting for a reconnect
    expect(Date.now() - began).toBeLessThan(5000);
  } finally {
    await local.stop();
  }
  // closing with Redis down must not hang either
  await service.close();
  await service.close();
});

it('starts while Redis is down and reports it unavailable', async () => {
  const local = await startLocalRedis();
  await local.stop();
  const began = Date.now();
  service = await createJobService({
    redisUrl: local.url,
    keyPrefix: uniquePrefix('down'),
    jobTtlSeconds: 60,
    connectWaitMs: 300,
  });
  expect(await service.ping()).toBe(false);
  await expect(service.get('00000000-0000-4000-8000-000000000000', OWNER)).rejects.toBeInstanceOf(
    StoreUnavailableError,
  );
  expect(Date.now() - began).toBeLessThan(5000);
});

it('works again once Redis is back, also when it was down at start', async () => {
  const local = await startLocalRedis();
  await local.stop();
  service = await createJobService({
    redisUrl: local.url,
    keyPrefix: uniquePrefix('back'),
    jobTtlSeconds: 60,
    connectWaitMs: 100,
  });
  expect(await service.ping()).toBe(false);
  // the same port again (the client keeps reconnecting to it)
  let server: ChildProcess | undefined;
  try {
    server = spawn('redis-server', ['--port', String(local.port), '--bind', '127.0.0.1', '--save', ''], {
      stdio: 'ignore',
    });
    await waitFor(
      () => service!.ping(),
      10_000,
      () => 'Redis did not come back',
    );
    const { job, created } = await service.submit(generated(20, 2));
    expect(created).toBe(true);
    expect((await service.get(job.id, OWNER))!.state).toBe('queued');
    expect((await service.stats()).queueDepth).toBe(1);
  } finally {
    await service.close();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
  }
});

it('closes workers within the hand-back period plus a margin when Redis is gone', async () => {
  const local = await startLocalRedis();
  const workers = await startWorkers({
    redisUrl: local.url,
    keyPrefix: uniquePrefix('worker-down'),
    jobTtlSeconds: 60,
    concurrency: 1,
    handBackAfterMs: 500,
    logger: pino({ level: 'silent' }),
  });
  await local.stop();
  const began = Date.now();
  await workers.close();
  await workers.close();
  // 0.5 s hand-back + 3 s margin to force, + at most 3 s for the forced close: never the 30 s exit limit.
  expect(Date.now() - began).toBeLessThan(8000);
});
