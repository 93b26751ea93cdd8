/**
 * One trace from the HTTP request to the solve: the API (real HTTP), the queue and a worker in this process
 * with a private Redis, spans exported to memory. (The OpenTelemetry globals are per process; vitest runs
 * each test file in a process of its own, so this registration touches no other file.)
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing, tracingActive } from '../../src/telemetry/tracing.js';
import { type Harness, startHarness, submit, vectorBody, waitForJob } from '../api/harness.js';
import { waitFor } from '../jobs/harness.js';

const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;
let h: Harness;

beforeAll(async () => {
  // before the app, the job service and the workers, as the entry points do
  tracing = startTracing(
    { OTEL_SERVICE_NAME: 'levinv-test' },
    'levinv-api',
    new SimpleSpanProcessor(exporter),
  );
  h = await startHarness('ops-tracing', { workers: 1 });
});
afterAll(async () => {
  await h?.close();
  await tracing?.shutdown();
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

function spansOfTrace(traceId: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
}

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

/** Whether `ancestor` is `span`'s parent, grandparent, ... within `spans`. */
function descendsFrom(span: ReadableSpan, ancestor: ReadableSpan, spans: ReadableSpan[]): boolean {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  let parent = parentOf(span);
  while (parent !== undefined) {
    if (parent === ancestor.spanContext().spanId) return true;
    parent = byId.get(parent) ? parentOf(byId.get(parent)!) : undefined;
  }
  return false;
}

describe('tracing', () => {
  it('is on, with the service name of the config', () => {
    expect(tracing).toBeDefined();
    expect(tracingActive()).toBe(true);
  });

  it("links the caller's trace, the request, the queue's add, the worker's process and the solve", async () => {
    const res = await h
      .http()
      .post('/solve')
      .set('traceparent', `00-${TRACE_ID}-${CALLER_SPAN}-01`)
      // from the centre: the global start would land on the answer, with no iteration to trace
      .send({ ...vectorBody('tiny'), options: { start: 'centre' } });
    expect(res.status).toBe(202);
    const job = res.body as { id: string };
    const done = await waitForJob(h, job.id);
    expect(done.state).toBe('succeeded');

    // the solve span ends before the job's state is written, the process span just after
    let spans: ReadableSpan[] = [];
    await waitFor(
      () => {
        spans = spansOfTrace(TRACE_ID);
        return spans.some((s) => s.name === 'process solve') && spans.some((s) => s.name === 'solve');
      },
      20_000,
      () => `spans so far: ${exporter.getFinishedSpans().map((s) => `${s.name} ${s.spanContext().traceId}`)}`,
    );
    const one = (name: string): ReadableSpan => {
      const found = spans.filter((s) => s.name === name);
      expect(
        found.map((s) => s.name),
        `spans named ${name}`,
      ).toEqual([name]);
      return found[0];
    };

    // @fastify/otel's request span continues the caller's trace (W3C traceparent)
    const request = one('request');
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(parentOf(request)).toBe(CALLER_SPAN);
    expect(request.attributes['http.route']).toBe('/solve');
    expect(request.attributes['http.request.method']).toBe('POST');
    expect(request.resource.attributes['service.name']).toBe('levinv-test');

    // bullmq-otel: the add inside the request's handler, the process from the context carried in the job
    const add = one('add solve.solve');
    expect(add.kind).toBe(SpanKind.PRODUCER);
    expect(descendsFrom(add, request, spans)).toBe(true);
    expect(add.attributes['bullmq.job.id']).toBe(job.id);
    const processSpan = one('process solve');
    expect(processSpan.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(processSpan)).toBe(add.spanContext().spanId);
    expect(processSpan.attributes['bullmq.job.id']).toBe(job.id);

    // ours, inside the process span, with what the solve was and how it ended
    const solve = one('solve');
    expect(parentOf(solve)).toBe(processSpan.spanContext().spanId);
    expect(solve.status.code).toBe(SpanStatusCode.UNSET);
    expect(solve.attributes).toMatchObject({
      'levinv.job.id': job.id,
      'levinv.method': 'newton',
      'levinv.n': done.n,
      'levinv.d': done.d,
      'levinv.iterations': done.result!.iterations,
      'levinv.converged': true,
      'levinv.reason': done.result!.reason,
    });
    expect(done.result!.iterations).toBeGreaterThan(0);
  });

  it('a malformed traceparent starts a new trace instead of failing the request', async () => {
    const bad = [
      'garbage',
      `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`,
      `00-${'f'.repeat(2000)}`,
      `ff-${TRACE_ID}-${CALLER_SPAN}-01x`,
    ];
    for (const traceparent of bad) {
      exporter.reset();
      const res = await h.http().get('/healthz').set('traceparent', traceparent);
      expect(res.status).toBe(200);
      const [request] = exporter.getFinishedSpans().filter((s) => s.name === 'request');
      expect(request, traceparent).toBeDefined();
      expect(parentOf(request)).toBeUndefined();
      expect(request.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(request.spanContext().traceId).not.toBe('0'.repeat(32));
    }
  });

  it('marks the solve span of a problem the solver rejects as an error with its code', async () => {
    // rank-deficient A: two equal columns
    const body = {
      A: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      b: [0, 0, 0],
      sigma: [0.6, 0.7, 0.7],
    };
    const job = await submit(h, body);
    const done = await waitForJob(h, job.id);
    expect(done.state).toBe('failed');
    let solve: ReadableSpan | undefined;
    await waitFor(() => {
      solve = exporter
        .getFinishedSpans()
        .find((s) => s.name === 'solve' && s.attributes['levinv.job.id'] === job.id);
      return solve !== undefined;
    }, 20_000);
    expect(solve!.status.code).toBe(SpanStatusCode.ERROR);
    expect(solve!.attributes['levinv.error.code']).toBe(done.error!.code);
    // without a caller's traceparent the request starts the trace: the solve is in the request's trace
    const request = exporter
      .getFinishedSpans()
      .find((s) => s.name === 'request' && s.spanContext().traceId === solve!.spanContext().traceId);
    expect(request?.attributes['http.route']).toBe('/solve');
  });
});
