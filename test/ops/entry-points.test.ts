/**
 * The entry points as processes (dist/main/api.js and worker.js): with OTEL_EXPORTER_OTLP_ENDPOINT set
 * they send their spans over OTLP/HTTP (JSON) to a collector, here a stub on a loopback port, and flush
 * them on SIGTERM; one trace runs from the client's request through the API process to the worker
 * process. LOG_FORMAT=pretty gives readable lines even on a pipe.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAll, logLines, spawnNode } from '../helpers/processes.js';
import { redisForFile, uniquePrefix } from '../helpers/redis.js';
import { loadVector } from '../helpers/testdata.js';
import { waitFor } from '../jobs/harness.js';

const entry = (name: string): string => fileURLToPath(new URL(`../../dist/main/${name}.js`, import.meta.url));
const redis = redisForFile();

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
}
interface ExportedSpan extends OtlpSpan {
  service: string;
}

/** A collector that keeps what it is sent: POST /v1/traces with OTLP JSON. */
let collector: Server;
let collectorUrl: string;
const received: ExportedSpan[] = [];
const paths: string[] = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const parsed = JSON.parse(body) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: OtlpSpan[] }[];
        }[];
      };
      for (const rs of parsed.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const span of ss.spans) received.push({ ...span, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));
afterEach(killAll);

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';
const METRICS = 'worker-metrics-token-0123';

const attribute = (span: OtlpSpan, key: string): unknown => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value && Object.values(value)[0];
};

describe('the entry points with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('send one trace from the request in the API process to the solve in the worker process; the worker serves /metrics', async () => {
    const env = {
      REDIS_URL: redis.url,
      KEY_PREFIX: uniquePrefix('ops-entry'),
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
      HOST: '127.0.0.1',
      PORT: '0',
    };
    const api = spawnNode(entry('api'), { ...env, LOG_FORMAT: 'json' });
    const worker = spawnNode(entry('worker'), {
      ...env,
      LOG_FORMAT: 'pretty',
      WORKER_METRICS_PORT: '0',
      METRICS_TOKEN: METRICS,
    });
    let url = '';
    await waitFor(
      () => {
        url = (logLines(api.out()).find((l) => typeof l.url === 'string')?.url as string) ?? '';
        return url !== '' && worker.out().includes('worker started');
      },
      20_000,
      () => `api: ${api.out()} ${api.err()} worker: ${worker.out()} ${worker.err()}`,
    );

    const v = loadVector('tiny');
    const submitted = await fetch(`${url}/solve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
      body: JSON.stringify({ A: v.A, b: v.b, sigma: v.sigma }),
    });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    let job: { state: string; result?: { iterations: number } } = { state: 'queued' };
    await waitFor(async () => {
      job = (await (await fetch(`${url}/jobs/${id}`)).json()) as typeof job;
      return job.state === 'succeeded' || job.state === 'failed';
    }, 30_000);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');

    // the worker's own /metrics (WORKER_METRICS_PORT), behind METRICS_TOKEN
    const metricsUrl = /metrics: "(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(worker.out())?.[1];
    expect(metricsUrl, worker.out()).toBeDefined();
    expect((await fetch(metricsUrl!)).status).toBe(401);
    const scraped = await fetch(metricsUrl!, { headers: { authorization: `Bearer ${METRICS}` } });
    expect(scraped.status).toBe(200);
    const text = await scraped.text();
    const expectLine = (re: RegExp): void => expect(text, `${re} in ${text}`).toMatch(re);
    expectLine(/^levinv_worker_solves_total\{outcome="converged"\} 1$/m);
    expectLine(/^levinv_worker_solve_duration_seconds_count\{outcome="converged"\} 1$/m);
    expectLine(/^process_cpu_user_seconds_total \d/m);

    // the batches go out on shutdown at the latest
    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await api.exited, `${api.out()}\n${api.err()}`).toBe(0);
    expect(await worker.exited, `${worker.out()}\n${worker.err()}`).toBe(0);

    expect(paths.length).toBeGreaterThan(0);
    expect(
      paths.every((p) => p === 'POST /v1/traces application/json'),
      paths.join(', '),
    ).toBe(true);
    const trace = received.filter((s) => s.traceId === TRACE_ID);
    const named = (name: string): ExportedSpan => {
      const found = trace.filter((s) => s.name === name);
      expect(found, `one span ${name} in ${JSON.stringify(trace.map((s) => s.name))}`).toHaveLength(1);
      return found[0];
    };
    const request = named('request');
    const add = named('add solve.solve');
    const processSpan = named('process solve');
    const solve = named('solve');
    expect([request.service, add.service, processSpan.service, solve.service]).toEqual([
      'levinv-api',
      'levinv-api',
      'levinv-worker',
      'levinv-worker',
    ]);
    expect(request.parentSpanId).toBe(CALLER_SPAN);
    expect(processSpan.parentSpanId).toBe(add.spanId);
    expect(solve.parentSpanId).toBe(processSpan.spanId);
    expect(attribute(solve, 'levinv.job.id')).toBe(id);
    expect(Number(attribute(solve, 'levinv.iterations'))).toBe(job.result!.iterations);

    // LOG_FORMAT=pretty: readable lines on a pipe too, the job id on the job's lines
    const lines = worker.out().trim().split('\n');
    expect(() => JSON.parse(lines[0])).toThrow();
    expect(worker.out()).toMatch(/INFO \(levinv-worker\): worker started/);
    expect(worker.out()).toMatch(
      new RegExp(`INFO \\(levinv-worker\\): solve ended\\n(\\s+.*\\n)*?\\s+jobId: "${id}"`),
    );
    expect(lines.at(-1)).toMatch(/INFO \(levinv-worker\): stopped$/);
  }, 90_000);
});
