/**
 * OpenTelemetry tracing for one process, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then a
 * NodeTracerProvider is registered globally (with the AsyncLocalStorage context manager and W3C trace
 * context propagation) and batches spans to that collector over OTLP/HTTP. The exporter reads the other
 * standard OTEL_EXPORTER_OTLP_* variables (headers, timeout, a traces-only endpoint) itself.
 *
 * When off nothing is registered: the instrumentation in app.ts, the queue and the workers is not even
 * installed (tracingActive()), and the solve span is the OpenTelemetry API's no-op.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface TracingConfig {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_SERVICE_NAME?: string | undefined;
}

export interface Tracing {
  /** Sends the spans still batched and unregisters nothing (the process is about to exit). */
  shutdown(): Promise<void>;
}

/** The provider this process registered; the OpenTelemetry globals are per process, and so is this. */
let active: NodeTracerProvider | undefined;

/** Whether this process traces: the app and the BullMQ queue and workers install their instrumentation. */
export function tracingActive(): boolean {
  return active !== undefined;
}

/**
 * Starts tracing when `config` names a collector (or `spanProcessor` is given: tests export to memory),
 * before the app, the job service and the workers are built; undefined when tracing stays off.
 */
export function startTracing(
  config: TracingConfig,
  defaultServiceName: string,
  spanProcessor?: SpanProcessor,
): Tracing | undefined {
  if (active) throw new Error('tracing has already been started in this process');
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT === undefined && spanProcessor === undefined) return undefined;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME ?? defaultServiceName,
    }),
    spanProcessors: [spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  active = provider;
  return {
    async shutdown() {
      await provider.shutdown();
    },
  };
}
