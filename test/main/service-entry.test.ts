/** `npm start` (dist/main/start.js) and `npm run api` (dist/main/api.js) as real processes. */
import { describe, expect, it } from 'vitest';
import { OPEN_SERVICE_WARNING } from '../../src/main/runtime.js';
import { generateProblem } from '../../src/problem/generate.js';
import { launchEntry } from '../helpers/entry-points.js';
import { redisForFile, uniquePrefix } from '../helpers/redis.js';

const redis = redisForFile();

/** Starts an entry point on loopback (HOST given, as a deployment would) with `env`. */
const launch = (name: string, env: Record<string, string>) =>
  launchEntry(name, { HOST: '127.0.0.1', ...env });

describe('npm start', () => {
  it('serves the API with workers in one process, solves a job, and exits 0 on SIGTERM', async () => {
    const service = launch('start', { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix('start') });
    try {
      const url = await service.listening;
      // No API keys: open, and it says so once, as a warning, before it says it listens.
      const warnings = service.logs.filter((line) => line.msg === OPEN_SERVICE_WARNING);
      expect(warnings).toHaveLength(1);
      expect(warnings[0].level).toBe(40);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const problem = generateProblem({ n: 40, d: 3, seed: 2 });
      const submitted = await fetch(`${url}/solve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(problem),
      });
      expect(submitted.status).toBe(202);
      const { id } = (await submitted.json()) as { id: string };
      let job: { state: string; result?: { relError?: number; x: number[] } } = { state: 'queued' };
      for (let i = 0; i < 100 && !['succeeded', 'failed'].includes(job.state); i++) {
        await new Promise((r) => setTimeout(r, 100));
        job = (await (await fetch(`${url}/jobs/${id}`)).json()) as typeof job;
      }
      expect(job.state).toBe('succeeded');
      expect(job.result!.relError).toBeLessThan(1e-8);
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      expect(service.logs.at(-1)!.msg).toBe('stopped');
    } finally {
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    }
  });

  it('stops at start-up with one line naming a bad variable (exit 78)', async () => {
    const service = launch('start', { PORT: 'eighty' });
    expect(await service.exited).toBe(78);
    expect(service.stderr().trim().split('\n')).toHaveLength(1);
    expect(service.stderr()).toBe(
      'levinv: invalid environment variable PORT="eighty": expected a port number (0 to 65535)\n',
    );
  });
});

describe('API keys at start-up', () => {
  const SECRET = 'entry-test-secret-0123456789';

  it('with API_KEYS, a request without a key is 401 and there is no open-service warning', async () => {
    const api = launch('api', {
      REDIS_URL: redis.url,
      KEY_PREFIX: uniquePrefix('api-keys'),
      API_KEYS: `ops:${SECRET}`,
    });
    try {
      const url = await api.listening;
      const anonymous = await fetch(`${url}/jobs`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="levinv"');
      expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const keyed = await fetch(`${url}/jobs`, { headers: { authorization: `Bearer ${SECRET}` } });
      expect(keyed.status).toBe(200);
      expect(await keyed.json()).toEqual({ items: [], nextCursor: null });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(api.logs.some((line) => line.msg === OPEN_SERVICE_WARNING)).toBe(false);
      expect(api.logs.find((line) => line.msg.startsWith('API listening'))).toMatchObject({ apiKeys: 1 });
      expect(JSON.stringify(api.logs)).not.toContain(SECRET);
      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
    } finally {
      if (api.child.exitCode === null) api.child.kill('SIGKILL');
    }
  });

  it('a bad API_KEYS list stops start-up with one line naming it, without the secret (exit 78)', async () => {
    const service = launch('start', { API_KEYS: `ops:${SECRET},ci:${SECRET}` });
    expect(await service.exited).toBe(78);
    expect(service.stderr()).toBe(
      'levinv: invalid environment variable API_KEYS: entry 2: key "ci" reuses the secret of another key\n',
    );
  });
});

describe('npm run api', () => {
  it('answers /readyz against its Redis and exits 0 on SIGTERM', async () => {
    const api = launch('api', { REDIS_URL: redis.url, KEY_PREFIX: uniquePrefix('api') });
    try {
      const url = await api.listening;
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
    } finally {
      if (api.child.exitCode === null) api.child.kill('SIGKILL');
    }
  });
});
