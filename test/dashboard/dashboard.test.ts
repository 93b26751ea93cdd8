/**
 * The dashboard in a real browser (Debian's chromium via playwright-core) against the real service
 * processes: `dist/main/start.js` (what `npm start` runs) for an open service, and `dist/main/api.js` plus
 * a worker with API_KEYS. Every check reads what the page shows and holds it against what the API says.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import type { JobService } from '../../src/jobs/types.js';
import { generateProblem as generateInNode } from '../../src/problem/generate.js';
import { parseNpy } from '../../src/problem/npy.js';
import { slowBody, TEST_LIMITS } from '../api/harness.js';
import { redisForFile, uniquePrefix } from '../helpers/redis.js';
import { launchBrowser, launchService, missingPrerequisite, type Service, screenshot } from './browser.js';

const LONG = 120_000;
// a real browser and real processes on a busy 2-core machine
vi.setConfig({ testTimeout: 3 * LONG, hookTimeout: LONG });
const redis = redisForFile();

interface ApiJob {
  id: string;
  state: string;
  done: boolean;
  result?: { loss: number; x: number[]; startMethod?: string; negativeSlacks?: number };
}

async function api(base: string, path: string, init: RequestInit = {}, key?: string): Promise<Response> {
  return fetch(`${base}${path}`, {
    ...init,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(init.headers ?? {}) },
  });
}

async function jobOf(base: string, id: string, key?: string): Promise<ApiJob> {
  const res = await api(base, `/jobs/${id}`, {}, key);
  expect(res.status).toBe(200);
  return (await res.json()) as ApiJob;
}

/** The id of the job the page just submitted (it shows it, and opens the job). */
async function submittedId(page: Page): Promise<string> {
  const id = (await page.locator('[data-testid="submitted-id"]').textContent({ timeout: LONG }))!;
  await page.locator(`#job-id:text-is("${id}")`).waitFor({ timeout: LONG });
  return id;
}

/** Console messages about the Content-Security-Policy, and uncaught page errors: both must stay empty. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (/Content.Security.Policy|Refused to/i.test(message.text())) errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return errors;
}

let browser: Browser;

/** Without chromium or the built page every browser test fails, saying which (hooks would only skip them). */
const missing = missingPrerequisite();
function browserIt(name: string, test: () => Promise<void>): void {
  it(name, async () => {
    if (missing) throw new Error(missing);
    await test();
  });
}

beforeAll(async () => {
  if (!missing) browser = await launchBrowser();
}, LONG);

afterAll(async () => {
  await browser?.close();
});

describe('dashboard served by npm start (open service)', () => {
  let service: Service;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    if (missing) return;
    service = await launchService('start', {
      REDIS_URL: redis.url,
      KEY_PREFIX: uniquePrefix('dashboard'),
      RATE_LIMIT_PER_SECOND: '0',
    });
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    context.setDefaultTimeout(LONG);
    page = await context.newPage();
    errors = watchErrors(page);
    await page.goto(`${service.url}/`);
  }, LONG);

  afterAll(async () => {
    await context?.close();
    await service?.stop();
  });

  browserIt(
    'sends the page with a strict CSP and nosniff; assets load; /docs and the JSON routes keep theirs',
    async () => {
      const res = await api(service.url, '/');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      // the page names the current assets: never cached without asking; the hashed assets for good
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const html = await res.text();
      // no inline script: every <script> has a src under /assets/
      const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      expect(scripts.length).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag).toMatch(/src="\/assets\/[\w.-]+\.js"/);
      const asset = /src="(\/assets\/[\w.-]+\.js)"/.exec(html)![1];
      const js = await api(service.url, asset);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
      expect(js.headers.get('cache-control')).toContain('immutable');
      // the bundled levinv/client: nothing of Node, and not the webhook verification (standardwebhooks)
      const code = await js.text();
      expect(code).toContain('text/event-stream');
      expect(code).not.toMatch(/["']node:/);
      expect(code).not.toContain('whsec_');
      expect((await api(service.url, '/assets/nope.js')).status).toBe(404);

      const docs = await api(service.url, '/docs/');
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('swagger');
      // the page's CSP is the page's: the API's JSON does not carry it
      const jobs = await api(service.url, '/jobs');
      expect(jobs.status).toBe(200);
      expect(jobs.headers.get('content-security-policy')).toBeNull();

      await page.locator('#jobs-table tbody td.empty').waitFor();
      expect(await page.title()).toBe('levinv dashboard');
    },
  );

  browserIt(
    "generates a 200 x 8 problem in the page and follows it to the API's final loss, x and scores",
    async () => {
      await page.fill('#form-generate input[name="n"]', '200');
      await page.fill('#form-generate input[name="d"]', '8');
      await page.fill('#form-generate input[name="seed"]', '7');
      await page.click('#form-generate button[type="submit"]');
      const id = await submittedId(page);

      await page.locator('#job[data-state="succeeded"]').waitFor();
      const finalLoss = page.locator('[data-testid="final-loss"]');
      await finalLoss.waitFor();
      const job = await jobOf(service.url, id);
      expect(job.state).toBe('succeeded');
      expect(Number(await finalLoss.textContent())).toBe(job.result!.loss);
      expect(await page.locator('#job-state').textContent()).toBe('succeeded');
      // how the start was found and the cell's negative slacks, as the API has them
      expect(job.result!.startMethod).toBe('global');
      expect(await page.locator('[data-testid="start-method"]').textContent()).toBe('global');
      expect(await page.locator('[data-testid="negative-slacks"]').textContent()).toBe(
        `${job.result!.negativeSlacks} of 200`,
      );
      // generated with mixed signs (the default), and the cell found without them is the generator's
      await page
        .locator(
          `[data-testid="cell-match"]:text-is("${job.result!.negativeSlacks} of 200 negative; matches the generator's (200 of 200 rows)")`,
        )
        .waitFor();
      expect(job.result!.negativeSlacks).toBeGreaterThan(0);

      // the loss plot drew every iterate, ending at the final loss
      const iterations = (await (await api(service.url, `/jobs/${id}/iterates?limit=1000`)).json()) as {
        items: { iteration: number; loss: number }[];
      };
      await page.locator(`#plot-loss[data-points="${iterations.items.length}"]`).waitFor();
      expect(Number(await page.locator('#plot-loss').getAttribute('data-last'))).toBe(job.result!.loss);
      expect(await page.locator('#plot-loss canvas').count()).toBe(1);
      expect(await page.locator('#plot-grad canvas').count()).toBe(1);

      // x against xStar (kept in the page) and leverage against sigma: drawn, and x recovered
      await page.locator('#plot-x canvas').waitFor();
      await page.locator('#plot-lev canvas').waitFor();
      const maxError = Number(await page.locator('[data-testid="max-x-error"]').textContent());
      expect(maxError).toBeLessThan(1e-6);
      expect(await page.locator('#plot-lev-caption').textContent()).toContain('target scores');
      expect(await page.locator('#plot-lev-note').textContent()).toContain('on the dashed line');

      // the jobs table lists it, succeeded
      await page.locator(`#jobs-table tr[data-id="${id}"][data-state="succeeded"]`).waitFor();
      await screenshot(page, 'solved');
      expect(errors).toEqual([]);
    },
  );

  browserIt(
    "sends a generated problem without signs or x0, and shows the found cell against the generator's",
    async () => {
      const sent: Record<string, unknown>[] = [];
      const keys: (string | undefined)[] = [];
      const onRequest = (request: import('playwright-core').Request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/solve') {
          sent.push(JSON.parse(request.postData() ?? 'null') as Record<string, unknown>);
          keys.push(request.headers()['idempotency-key']);
        }
      };
      page.on('request', onRequest);
      try {
        await page.click('.tabs [data-tab="generate"]');
        await page.fill('#form-generate input[name="n"]', '60');
        await page.fill('#form-generate input[name="d"]', '4');
        await page.fill('#form-generate input[name="seed"]', '1');
        await page.selectOption('#form-generate select[name="signs"]', 'mixed');
        await page.selectOption('#form-generate select[name="method"]', 'newton');
        await page.click('#form-generate button[type="submit"]');
        const id = await submittedId(page);
        await page.locator('#job[data-state="succeeded"]').waitFor();

        // the problem as sent: no hint of the cell or of a start
        expect(sent).toHaveLength(1);
        expect(Object.keys(sent[0]).sort()).toEqual(['A', 'b', 'method', 'options', 'sigma', 'xStar']);
        // sent by levinv/client's solve(), which makes every submission safe to retry
        expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

        // the generator's cell, drawn again in Node (the page's generator is held to this draw)
        const truth = generateInNode({ n: 60, d: 4, seed: 1, signs: 'mixed' }).signs!;
        const negative = truth.filter((sign) => sign === -1).length;
        expect(negative).toBeGreaterThan(0);
        const line = page.locator('[data-testid="cell-match"]');
        await line.waitFor();
        expect(await line.textContent()).toBe(
          `${negative} of 60 negative; matches the generator's (60 of 60 rows)`,
        );

        // what the API says: found by the global start, and signs.npy is the generator's cell
        const job = await jobOf(service.url, id);
        expect(job.result!.startMethod).toBe('global');
        expect(job.result!.negativeSlacks).toBe(negative);
        const signs = await api(service.url, `/jobs/${id}/result/signs.npy`);
        expect(signs.status).toBe(200);
        const { data } = parseNpy(new Uint8Array(await signs.arrayBuffer()), 'signs');
        expect(Array.from(data)).toEqual(truth);
        expect(await page.locator('#job-links a:text-is("signs.npy")').getAttribute('href')).toBe(
          `/jobs/${id}/result/signs.npy`,
        );
        await screenshot(page, 'cell-match');
        expect(errors).toEqual([]);
      } finally {
        page.off('request', onRequest);
      }
    },
  );

  browserIt('cancels a long gradient-descent job from the page, then deletes it', async () => {
    await page.click('.tabs [data-tab="paste"]');
    await page.fill('#paste-text', JSON.stringify(slowBody(600)));
    await page.click('#form-paste button[type="submit"]');
    const id = await submittedId(page);
    // running, with iterates arriving over the event stream
    await page.locator('#job[data-state="running"]').waitFor();
    await page.locator('#plot-loss[data-points]').waitFor();
    await screenshot(page, 'running');
    await page.click('#job-cancel');

    await page.locator('#job[data-state="cancelled"]').waitFor();
    const job = await jobOf(service.url, id);
    expect(job.state).toBe('cancelled');
    expect(await page.locator('[data-testid="reason"]').textContent()).toBe('aborted');
    await page.locator(`#jobs-table tr[data-id="${id}"][data-state="cancelled"]`).waitFor();
    await screenshot(page, 'cancelled');

    await page.locator('#job-delete:enabled').click();
    await page.locator('#job').waitFor({ state: 'hidden' });
    expect((await api(service.url, `/jobs/${id}`)).status).toBe(404);
    await page.locator(`#jobs-table tr[data-id="${id}"]`).waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
  });

  browserIt(
    "keeps the open job's row current from its events, and polls the list only every 10 s",
    async () => {
      // The page's timers are recorded and never run: whatever the table shows comes from the open job's
      // events and the list requests they prompt, not from the poll.
      const quiet = await context.newPage();
      const pageErrors = watchErrors(quiet);
      try {
        await quiet.addInitScript(
          'window.intervals = []; window.setInterval = (_, ms) => window.intervals.push(ms ?? 0);',
        );
        await quiet.goto(`${service.url}/`);
        await quiet.locator('#jobs-table tbody tr').first().waitFor();
        expect(await quiet.evaluate('window.intervals')).toEqual([10_000]);

        await quiet.click('.tabs [data-tab="paste"]');
        await quiet.fill('#paste-text', JSON.stringify(slowBody(600)));
        await quiet.click('#form-paste button[type="submit"]');
        const id = await submittedId(quiet);
        const row = quiet.locator(`#jobs-table tr[data-id="${id}"]`);
        // queued, then running: a state event, so the list was asked for again
        await quiet.locator(`#jobs-table tr[data-id="${id}"][data-state="running"]`).waitFor();
        // its iteration and loss follow the progress events, as the job's own facts do
        const iteration = async () => Number(await row.locator('td').nth(4).textContent());
        await expect.poll(iteration, { timeout: LONG }).toBeGreaterThan(0);
        const first = await iteration();
        await expect.poll(iteration, { timeout: LONG }).toBeGreaterThan(first);
        await quiet.click('#job-cancel');
        await quiet.locator('#job[data-state="cancelled"]').waitFor();
        await quiet.locator(`#jobs-table tr[data-id="${id}"][data-state="cancelled"]`).waitFor();
        expect((await jobOf(service.url, id)).state).toBe('cancelled');
        expect(pageErrors).toEqual([]);
      } finally {
        await quiet.close();
      }
    },
  );

  browserIt(
    'uploads .npy files as multipart/form-data and plots x against the xStar read from them',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'levinv-npy-'));
      const cli = fileURLToPath(new URL('../../dist/main/cli.js', import.meta.url));
      const args = ['generate', '--n', '120', '--d', '5', '--seed', '11', '--format', 'npy', '--out', dir];
      execFileSync(process.execPath, [cli, ...args]);
      await page.click('.tabs [data-tab="upload"]');
      for (const name of ['A', 'b', 'sigma', 'xStar']) {
        await page.setInputFiles(`#form-upload input[name="${name}"]`, join(dir, `${name}.npy`));
      }
      await page.fill('#form-upload textarea[name="json"]', '{"method": "gauss-newton"}');
      await page.click('#form-upload button[type="submit"]');
      const id = await submittedId(page);
      await page.locator('#job[data-state="succeeded"]').waitFor();
      const job = (await jobOf(service.url, id)) as ApiJob & { method: string; n: number; d: number };
      expect([job.method, job.n, job.d]).toEqual(['gauss-newton', 120, 5]);
      expect(Number(await page.locator('[data-testid="final-loss"]').textContent())).toBe(job.result!.loss);
      // xStar and sigma came back out of the .npy files in the page
      expect(Number(await page.locator('[data-testid="max-x-error"]').textContent())).toBeLessThan(1e-6);
      expect(await page.locator('#plot-lev-note').textContent()).toContain('on the dashed line');
      expect(errors).toEqual([]);
    },
  );

  browserIt('lists jobs by state and pages through them with the cursor', async () => {
    const tiny = {
      A: [
        [1, 0],
        [0, 1],
        [-1, -1],
      ],
      b: [0, 0, -2],
      sigma: [0.6, 0.7, 0.7],
    };
    const ids: string[] = [];
    for (let k = 0; k < 11; k++) {
      const res = await api(service.url, '/solve', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(tiny),
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as ApiJob).id);
    }
    for (const id of ids) {
      await expect
        .poll(async () => (await jobOf(service.url, id)).done, { timeout: LONG, interval: 100 })
        .toBe(true);
    }
    const all = (await (await api(service.url, '/jobs?state=succeeded&limit=100')).json()) as {
      items: ApiJob[];
    };
    const succeeded = all.items.map((j) => j.id);
    expect(succeeded.length).toBeGreaterThan(10);

    await page.selectOption('#jobs-state', 'succeeded');
    const rowIds = () =>
      page.locator('#jobs-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    await expect.poll(rowIds, { timeout: LONG }).toEqual(succeeded.slice(0, 10));
    await page.locator('#jobs-older:enabled').click();
    await expect.poll(rowIds, { timeout: LONG }).toEqual(succeeded.slice(10, 20));
    expect(await page.locator('#jobs-page').textContent()).toBe('page 2');
    await screenshot(page, 'jobs-page-2');
    await page.locator('#jobs-newer:enabled').click();
    await expect.poll(rowIds, { timeout: LONG }).toEqual(succeeded.slice(0, 10));
    await page.selectOption('#jobs-state', 'failed');
    await page.locator('#jobs-table tbody td.empty').waitFor();
    await page.selectOption('#jobs-state', '');
  });

  browserIt(
    'serves nothing but the page and its assets: traversal and other methods are 404 problems',
    async () => {
      for (const path of [
        '/assets/..%2f..%2fpackage.json',
        '/assets/%2e%2e/%2e%2e/package.json',
        '/assets/../index.html',
      ]) {
        const res = await api(service.url, path);
        expect(res.status, path).toBe(404);
        expect(await res.text()).not.toContain('"name": "levinv"');
      }
      const post = await api(service.url, '/', { method: 'POST', body: 'x' });
      expect(post.status).toBe(404);
      expect(post.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const head = await api(service.url, '/', { method: 'HEAD' });
      expect(head.status).toBe(200);
    },
  );

  browserIt('shows a job the solver refused as failed, with its error code and message', async () => {
    const A = [1, 2, 3, 4, 5, 6].map((i) => [i, 2 * i]);
    const body = { A, b: [0, 0, 0, 0, 0, 0], sigma: [0.3, 0.3, 0.3, 0.3, 0.4, 0.4] };
    await page.click('.tabs [data-tab="paste"]');
    await page.fill('#paste-text', JSON.stringify(body));
    await page.click('#form-paste button[type="submit"]');
    const id = await submittedId(page);
    await page.locator('#job[data-state="failed"]').waitFor();
    const job = (await jobOf(service.url, id)) as ApiJob & { error: { code: string; message: string } };
    expect(job.error.code).toBe('RANK_DEFICIENT');
    expect(await page.locator('[data-testid="job-error"]').textContent()).toBe(
      `RANK_DEFICIENT: ${job.error.message}`,
    );
    // no result: no final loss, and the plots of x say why they are empty
    expect(await page.locator('[data-testid="final-loss"]').count()).toBe(0);
    await page.locator('#plot-x .placeholder:text-is("no result: the job failed")').waitFor();
    await page.locator(`#jobs-table tr[data-id="${id}"][data-state="failed"]`).waitFor();
    await screenshot(page, 'failed');
    expect(errors).toEqual([]);
  });

  browserIt('shows a 400 as the problem says it: title, detail and the JSON pointers', async () => {
    const bad = { A: [[1, 0], [0, 1], [1]], b: [0, 0, 0], sigma: [0.5, 0.5, 1.5] };
    const res = await api(service.url, '/solve', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(bad),
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { title: string; errors: { pointer: string; detail: string }[] };
    expect(problem.errors.map((e) => e.pointer)).toEqual(expect.arrayContaining(['/A/2', '/sigma/2']));

    await page.click('.tabs [data-tab="paste"]');
    await page.fill('#paste-text', JSON.stringify(bad));
    await page.click('#form-paste button[type="submit"]');
    const status = page.locator('#submit-status.error');
    await status.waitFor();
    expect(await status.locator('.problem-title').textContent()).toBe(`400 ${problem.title}`);
    const shown = await status.locator('.problem-errors li').allTextContents();
    expect(shown).toEqual(problem.errors.map((e) => `${e.pointer} ${e.detail}`));
    await screenshot(page, 'bad-request');

    // not JSON at all: said before anything is sent
    await page.fill('#paste-text', '{"A": [[1, 0]');
    await page.click('#form-paste button[type="submit"]');
    await page.locator('#submit-status.error .problem-title:text-is("Not JSON")').waitFor();
    expect(errors).toEqual([]);
  });
});

describe('dashboard with API keys (dist/main/api.js and a worker)', () => {
  const SECRET = 'dashboard-secret-0123456789';
  let apiProcess: Service;
  let worker: Service;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    if (missing) return;
    const env = {
      REDIS_URL: redis.url,
      KEY_PREFIX: uniquePrefix('dashboard-keys'),
      API_KEYS: `alice:${SECRET}`,
      RATE_LIMIT_PER_SECOND: '0',
    };
    apiProcess = await launchService('api', env);
    worker = await launchService('worker', env, /worker started/);
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    context.setDefaultTimeout(LONG);
    page = await context.newPage();
  }, LONG);

  afterAll(async () => {
    await context?.close();
    await worker?.stop();
    await apiProcess?.stop();
  });

  browserIt(
    'serves the page without a key, shows the 401 problem, and works once the key is given',
    async () => {
      const errors = watchErrors(page);
      const unauthorized = await api(apiProcess.url, '/jobs');
      expect(unauthorized.status).toBe(401);
      const problem = (await unauthorized.json()) as { title: string; detail: string };

      await page.goto(`${apiProcess.url}/`);
      const tableError = page.locator('#jobs-error.error');
      await tableError.waitFor();
      expect(await tableError.locator('.problem-title').textContent()).toBe(`401 ${problem.title}`);
      expect(await tableError.locator('.problem-detail').textContent()).toBe(problem.detail);
      await screenshot(page, 'unauthorized');

      await page.fill('#api-key', SECRET);
      await page.click('#key-form button[type="submit"]');
      await page.locator('#jobs-error:not(.error):empty').waitFor({ state: 'attached' });
      await page.locator('#jobs-table tbody td.empty').waitFor();
      expect(await page.evaluate("sessionStorage.getItem('levinv.apiKey')")).toBe(SECRET);
      expect(await page.locator('#key-state').textContent()).toBe('key set for this tab');

      // a job made with the key, followed over the event stream with the key
      await page.click('.tabs [data-tab="generate"]');
      await page.fill('#form-generate input[name="n"]', '60');
      await page.fill('#form-generate input[name="d"]', '4');
      await page.click('#form-generate button[type="submit"]');
      const id = await submittedId(page);
      await page.locator('#job[data-state="succeeded"]').waitFor();
      const job = await jobOf(apiProcess.url, id, SECRET);
      expect(Number(await page.locator('[data-testid="final-loss"]').textContent())).toBe(job.result!.loss);
      await page.locator('#plot-x canvas').waitFor();
      // signs.npy was read with the key too
      await page.locator('[data-testid="cell-match"]', { hasText: /\(60 of 60 rows\)$/ }).waitFor();
      await screenshot(page, 'with-key');

      // a wrong key: the API's own words again
      await page.fill('#api-key', 'not-the-secret-at-all');
      await page.click('#key-form button[type="submit"]');
      await page
        .locator('#jobs-error.error .problem-detail:text-is("the bearer token is not a valid API key")')
        .waitFor();
      expect(errors).toEqual([]);
    },
  );
});

describe('dashboard not built', () => {
  it('answers GET / with a 503 problem that says to build, and does not crash', async () => {
    const app = buildApp({
      jobs: {} as JobService,
      maxBodyBytes: 1 << 20,
      limits: TEST_LIMITS,
      dashboardRoot: mkdtempSync(join(tmpdir(), 'levinv-no-web-')),
    });
    try {
      for (const url of ['/', '/assets/index.js']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(503);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        const body = res.json() as { title: string; detail: string; type: string };
        expect(body.title).toBe('Dashboard not built');
        expect(body.detail).toContain('npm run build');
        expect(body.type).toBe('urn:levinv:problem:dashboard-not-built');
      }
    } finally {
      await app.close();
    }
  });
});
