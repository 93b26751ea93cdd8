/**
 * Log lines: JSON or readable (pino-pretty) by LOG_FORMAT and whether stdout is a terminal, the request id
 * on every line about a request, the job id on every worker line about a job.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/main/config.js';
import { chooseLogFormat, logDestination } from '../../src/main/log-format.js';
import { createLogger } from '../../src/main/runtime.js';
import { TEST_LIMITS } from '../api/harness.js';
import { redisForFile } from '../helpers/redis.js';
import { generated, type Harness, harness, waitFor } from '../jobs/harness.js';

/** A pino destination that keeps what it is given, line by line. */
function capture(): { stream: Writable; lines: () => string[]; records: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const lines = (): string[] => chunks.join('').split('\n').filter(Boolean);
  return { stream, lines, records: () => lines().map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('the log format', () => {
  it('is pretty on a terminal and JSON elsewhere, unless LOG_FORMAT says', () => {
    expect(chooseLogFormat(undefined, true)).toBe('pretty');
    expect(chooseLogFormat(undefined, false)).toBe('json');
    expect(chooseLogFormat(undefined, undefined)).toBe('json');
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
  });

  it('JSON: pino writes its own lines (no stream in between), one object a line', () => {
    expect(logDestination('json')).toBeUndefined();
    const out = capture();
    const logger = createLogger(loadConfig({ LOG_FORMAT: 'json' }), 'levinv-api', out.stream);
    logger.info({ jobId: 'j1', authorization: 'Bearer secret-secret-secret' }, 'job queued');
    const [record] = out.records();
    expect(record).toMatchObject({ level: 30, name: 'levinv-api', jobId: 'j1', msg: 'job queued' });
    expect(record.authorization).toBe('[Redacted]');
  });

  it('pretty: readable lines through pino-pretty, secrets still redacted', () => {
    const out = capture();
    const logger = createLogger(loadConfig({ LOG_FORMAT: 'pretty' }), 'levinv-api', out.stream);
    logger.info({ jobId: 'j1', authorization: 'Bearer secret-secret-secret' }, 'job queued');
    const text = out.lines().join('\n');
    expect(() => JSON.parse(out.lines()[0])).toThrow();
    expect(out.lines()[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(levinv-api\): job queued$/);
    expect(text).toContain('jobId: "j1"');
    expect(text).toContain('[Redacted]');
    expect(text).not.toContain('secret-secret');
  });

  it('LOG_FORMAT takes json or pretty only', () => {
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
    expect(loadConfig({}).LOG_FORMAT).toBeUndefined();
  });
});

describe('ids on log lines', () => {
  const redis = redisForFile();
  let h: Harness;
  beforeAll(async () => {
    h = await harness(redis.url, 'ops-logging');
  });
  afterAll(() => h?.close());

  it("every worker line about a job carries the job's id", async () => {
    const out = capture();
    await h.startWorkers({ logger: pino({ level: 'debug' }, out.stream) });
    const { job } = await h.service.submit(generated(30, 3));
    const other = await h.service.submit(generated(30, 3, 2));
    await h.waitForState(job.id, ['succeeded']);
    await h.waitForState(other.job.id, ['succeeded']);
    // 'solve ended' is logged just after the state is written
    const ended = (id: string): boolean =>
      out.records().some((r) => r.jobId === id && r.msg === 'solve ended');
    await waitFor(
      () => ended(job.id) && ended(other.job.id),
      20_000,
      () => out.lines().join('\n'),
    );
    const records = out.records();
    // each job: started and ended, on lines of its own id
    for (const id of [job.id, other.job.id]) {
      const mine = records.filter((r) => r.jobId === id);
      expect(mine.map((r) => r.msg)).toEqual(expect.arrayContaining(['solve started', 'solve ended']));
      expect(mine.find((r) => r.msg === 'solve ended')).toMatchObject({ state: 'succeeded', attempt: 1 });
    }
    // and no line mentions a job without saying which one it is about
    for (const record of records) {
      const text = JSON.stringify(record);
      for (const id of [job.id, other.job.id]) {
        if (text.includes(id)) expect(record.jobId, text).toBe(id);
      }
    }
  });

  it("one line per request, carrying the request's id; successful reads at debug, the rest at info", async () => {
    const out = capture();
    const app = buildApp({
      jobs: h.service,
      logger: pino({ level: 'debug' }, out.stream),
      maxBodyBytes: 1 << 20,
      limits: TEST_LIMITS,
    });
    const ok = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'req-ok-1' } });
    const missing = await app.inject({ url: '/jobs/nope', headers: { 'x-request-id': 'req-404-2' } });
    const generatedId = await app.inject({ url: '/healthz' });
    await app.close();
    expect(ok.headers['x-request-id']).toBe('req-ok-1');
    expect(missing.statusCode).toBe(404);
    const records = out.records().filter((r) => r.req !== undefined || r.res !== undefined);
    const ids = [
      ok.headers['x-request-id'],
      missing.headers['x-request-id'],
      generatedId.headers['x-request-id'],
    ];
    const levels = ids.map((id) => {
      // one line, with the id the client saw, the method, URL and status
      const mine = records.filter((r) => r.reqId === id);
      expect(mine.map((r) => r.msg)).toEqual(['request completed']);
      return mine[0].level;
    });
    expect(records.every((r) => ids.includes(r.reqId as string))).toBe(true);
    // pino's levels: debug 20, info 30
    expect(levels).toEqual([20, 30, 20]);
    const notFound = records.find((r) => r.reqId === 'req-404-2') as {
      req: { method: string; url: string };
      res: { statusCode: number };
    };
    expect(notFound.req).toMatchObject({ method: 'GET', url: '/jobs/nope' });
    expect(notFound.res.statusCode).toBe(404);
  });
});
