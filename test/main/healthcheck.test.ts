/** Container healthchecks: the worker's heartbeat file and `node dist/main/healthcheck.js api|worker`. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readyUrl, staleHeartbeat, startHeartbeat } from '../../src/main/health.js';
import { killAll, spawnWorker } from '../helpers/processes.js';
import { redisForFile, uniquePrefix } from '../helpers/redis.js';

const CHECK = fileURLToPath(new URL('../../dist/main/healthcheck.js', import.meta.url));
const redis = redisForFile();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'levinv-health-'));
});
afterAll(async () => {
  await killAll();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the healthcheck with only `env` (the test process may have REDIS_URL and friends set). */
function check(role: string, env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CHECK, role],
      { env: { PATH: process.env.PATH ?? '', ...env } },
      (error, _out, err) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, err }),
    );
  });
}

const until = async (what: () => Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

it('beats only while the probe says alive, never two probes at once, and removes the file on stop', async () => {
  const file = join(dir, 'beat');
  let alive = false;
  let probes = 0;
  let release: (() => void) | undefined;
  const heartbeat = startHeartbeat(
    file,
    async () => {
      probes += 1;
      if (probes === 3) await new Promise<void>((resolve) => (release = resolve));
      return alive;
    },
    20,
  );
  await until(async () => probes >= 2);
  expect(await staleHeartbeat(file)).toMatch(/no heartbeat file/);
  alive = true;
  // the third probe hangs: no more probes start until it ends
  await until(async () => release !== undefined);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(probes).toBe(3);
  release!();
  await until(async () => (await staleHeartbeat(file)) === undefined);
  await heartbeat.stop();
  expect(await staleHeartbeat(file)).toMatch(/no heartbeat file/);
});

it('calls a heartbeat stale past its age limit', async () => {
  const file = join(dir, 'old');
  await writeFile(file, 'x');
  const old = new Date(Date.now() - 60_000);
  await utimes(file, old, old);
  expect(await staleHeartbeat(file, 20_000)).toMatch(/heartbeat 60 s old/);
  expect(await staleHeartbeat(file, 120_000)).toBeUndefined();
});

it('reaches the API on loopback when it listens on a wildcard address', () => {
  expect(readyUrl('0.0.0.0', 3000)).toBe('http://127.0.0.1:3000/readyz');
  expect(readyUrl('::', 3000)).toBe('http://127.0.0.1:3000/readyz');
  expect(readyUrl('::1', 8080)).toBe('http://[::1]:8080/readyz');
});

it('api: exit 0 while /readyz answers 200, 1 on 503 or nothing listening, 2 on a wrong role', async () => {
  let status = 200;
  const server: Server = createServer((req, res) => {
    res.statusCode = req.url === '/readyz' ? status : 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = String((server.address() as AddressInfo).port);
  try {
    expect((await check('api', { HOST: '127.0.0.1', PORT: port })).code).toBe(0);
    status = 503;
    const down = await check('api', { HOST: '127.0.0.1', PORT: port });
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/unhealthy: .*503/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  expect((await check('api', { HOST: '127.0.0.1', PORT: port })).code).toBe(1);
  expect((await check('both', {})).code).toBe(2);
  expect((await check('worker', {})).code).toBe(2);
});

it('worker: healthy while the worker process runs against Redis, unhealthy once it stops', async () => {
  const file = join(dir, 'worker-alive');
  const env = { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix('health'), WORKER_HEALTH_FILE: file };
  expect((await check('worker', env)).code).toBe(1);
  const worker = spawnWorker({ ...env, LOG_LEVEL: 'warn' });
  await until(async () => (await staleHeartbeat(file)) === undefined);
  expect((await check('worker', env)).code).toBe(0);
  await worker.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  const after = await check('worker', env);
  expect(after.code).toBe(1);
  expect(after.err).toMatch(/no heartbeat file/);
});
