/** The variables of metrics, logs and traces: what they take, and one clear error for anything else. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/main/config.js';

describe('configuration of metrics, logs and traces', () => {
  it('defaults: format by terminal, tracing off, no worker metrics listener', () => {
    const config = loadConfig({});
    expect(config.LOG_FORMAT).toBeUndefined();
    expect(config.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(config.OTEL_SERVICE_NAME).toBeUndefined();
    expect(config.WORKER_METRICS_PORT).toBeUndefined();
  });

  it('takes good values', () => {
    const config = loadConfig({
      LOG_FORMAT: 'pretty',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318',
      OTEL_SERVICE_NAME: 'levinv-eu-1',
      WORKER_METRICS_PORT: '9464',
    });
    expect(config).toMatchObject({
      LOG_FORMAT: 'pretty',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318',
      OTEL_SERVICE_NAME: 'levinv-eu-1',
      WORKER_METRICS_PORT: 9464,
    });
    // empty means unset, as for every variable
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '', LOG_FORMAT: '' }).OTEL_EXPORTER_OTLP_ENDPOINT,
    ).toBeUndefined();
  });

  it.each([
    ['LOG_FORMAT', 'JSON'],
    ['LOG_FORMAT', 'text'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'localhost:4318'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://127.0.0.1:4317'],
    ['WORKER_METRICS_PORT', '65536'],
    ['WORKER_METRICS_PORT', '-1'],
    ['WORKER_METRICS_PORT', '9464x'],
  ])('%s=%s is refused with a message naming it', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message.split('\n')).toHaveLength(1);
  });
});
