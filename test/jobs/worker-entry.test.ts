/** `npm run worker` (dist/main/worker.js) as a process: configuration errors, solving, graceful shutdown. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { DEFAULT_QUEUE_NAME } from '../../src/jobs/index.js';
import { redisForFile } from '../helpers/redis.js';
import { generated, type Harness, harness } from './harness.js';

const ENTRY = fileURLToPath(new URL('../../dist/main/worker.js', import.meta.url));

const redis = redisForFile();
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [ENTRY], {
    // only what we pass: the test process may have REDIS_URL and friends set
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited, out: () => stdout, err: () => stderr };
}

it('exits 78 with one line naming the variable when the configuration is invalid', async () => {
  const worker = run({ WORKER_CONCURRENCY: '0' });
  expect(await worker.exited).toBe(78);
  const lines = worker.err().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/WORKER_CONCURRENCY/);
});

it('solves queued jobs, logs their ids, and exits 0 on SIGTERM', async () => {
  h = await harness(redis.url, 'entry', { queueName: DEFAULT_QUEUE_NAME });
  const worker = run({ REDIS_URL: redis.url, KEY_PREFIX: h.prefix, LOG_LEVEL: 'info' });
  try {
    const { job } = await h.service.submit(generated(100, 4, 9));
    const done = await h.waitForState(job.id, ['succeeded', 'failed', 'cancelled']);
    expect(done.state).toBe('succeeded');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const logs = worker
      .out()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; jobId?: string });
    expect(logs.some((l) => l.msg === 'worker started')).toBe(true);
    expect(logs.some((l) => l.jobId === job.id && l.msg === 'solve ended')).toBe(true);
    expect(logs.at(-1)).toMatchObject({ msg: 'stopped', name: 'levinv-worker' });
  } finally {
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  }
});
