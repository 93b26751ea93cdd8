/** `levinv submit` against a service with API keys and quotas: the key is sent, and 429 is retried. */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/types.js';
import { EXIT_OK } from '../../src/main/cli.js';
import { EXIT_NO_PERMISSION } from '../../src/main/cli-submit.js';
import { generateProblem } from '../../src/problem/generate.js';
import { apiKeys, type Harness, startHarness } from '../api/harness.js';
import { runCliCaptured } from '../helpers/run-cli.js';

const SECRET = 'alice-secret-0123456789';
let h: Harness;
let url: string;
beforeAll(async () => {
  // one request a second per key: a second submit within the same second is a 429 with Retry-After
  h = await startHarness('cli-submit-auth', {
    workers: 1,
    auth: apiKeys({ alice: SECRET }),
    limits: { ratePerSecond: 1 },
  });
  url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
});

const run = (argv: string[], stdin: string) => runCliCaptured(argv, { stdin });

const problem = JSON.stringify(generateProblem({ n: 40, d: 3, seed: 2 }));

describe('levinv submit with API keys', () => {
  it('without a key exits 77 with one line that says how to give one', async () => {
    const { code, stderr } = await run(['submit', '-', '--url', url], problem);
    expect(code).toBe(EXIT_NO_PERMISSION);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('--api-key');
  });

  it('sends --api-key, and retries a 429 after its Retry-After until the job is queued', async () => {
    // take this second's one request, so that the CLI's first POST is refused with 429
    expect((await h.http(SECRET).get('/jobs')).status).toBe(200);
    const { code, stdout, stderr } = await run(
      ['submit', '-', '--url', url, '--api-key', SECRET, '--wait'],
      problem,
    );
    expect(code, stderr).toBe(EXIT_OK);
    const job = JSON.parse(stdout) as JobView;
    expect(job.state).toBe('succeeded');
    // the service counted the refused attempt and then the accepted one
    const metrics = (await h.http(SECRET).get('/metrics')).text;
    const count = (status: string): number =>
      Number(
        new RegExp(
          `levinv_http_request_duration_seconds_count\\{method="POST",route="/solve",status_code="${status}"\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    expect(count('429')).toBeGreaterThanOrEqual(1);
    expect(count('202')).toBe(1);
    // the job belongs to alice
    const list = await h.jobs.list({ owner: 'alice', limit: 10 });
    expect(list.items.map((j) => j.id)).toEqual([job.id]);
  });
});
