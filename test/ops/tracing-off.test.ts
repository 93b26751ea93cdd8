/**
 * Tracing stays off without OTEL_EXPORTER_OTLP_ENDPOINT: no provider, no instrumentation, nothing carried in
 * the jobs. The last test turns it on in this process (its own, as for every vitest file).
 */
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSolveSpan } from '../../src/jobs/solve-observer.js';
import { ConfigError, loadConfig } from '../../src/main/config.js';
import { fastifyTracing, queueTelemetry } from '../../src/telemetry/instrumentation.js';
import { startTracing, tracingActive } from '../../src/telemetry/tracing.js';
import { redisForFile } from '../helpers/redis.js';
import { generated, type Harness, harness } from '../jobs/harness.js';

const redis = redisForFile();
let h: Harness;
beforeAll(async () => {
  h = await harness(redis.url, 'ops-tracing-off');
});
afterAll(() => h?.close());

describe('tracing off', () => {
  it('without OTEL_EXPORTER_OTLP_ENDPOINT registers nothing and installs no instrumentation', () => {
    const config = loadConfig({ OTEL_SERVICE_NAME: 'levinv-x' });
    expect(config.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(startTracing(config, 'levinv-api')).toBeUndefined();
    expect(tracingActive()).toBe(false);
    expect(queueTelemetry()).toEqual({});
    expect(fastifyTracing()).toBeUndefined();
    // the global API is the no-op one: spans record nothing, the solve span included
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(false);
    const span = startSolveSpan('id', { method: 'newton', n: 3, d: 2 });
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext().traceId).toBe('00000000000000000000000000000000');
  });

  it('a job carries no trace context through the queue', async () => {
    await h.startWorkers();
    const { job } = await h.service.submit(generated(20, 3));
    expect((await h.waitForState(job.id, ['succeeded'])).state).toBe('succeeded');
    const bull = await h.queue.getJob(job.id);
    expect(bull?.opts).toBeDefined();
    expect(bull?.opts.telemetry).toBeUndefined();
  });

  it('refuses an endpoint that is no http(s) URL, naming the variable', () => {
    for (const bad of ['ftp://127.0.0.1:4318', 'collector:4318', 'not a url']) {
      expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: bad })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    }
  });

  // Last: it registers the provider for the rest of this process.
  it('with an endpoint it is on: a recording provider, the instrumentation installed, started once', async () => {
    const config = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' });
    const tracing = startTracing(config, 'levinv-worker');
    expect(tracing).toBeDefined();
    expect(tracingActive()).toBe(true);
    expect(queueTelemetry().telemetry).toBeDefined();
    expect(fastifyTracing()).toBeTypeOf('function');
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(true);
    expect(() => startTracing(config, 'levinv-worker')).toThrow(/already/);
    // no span has ended, so nothing is sent anywhere
    await tracing?.shutdown();
  });
});
