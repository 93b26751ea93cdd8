/**
 * The instrumentation of the libraries that carry a job from the API to a worker, installed only while
 * this process traces (tracing.ts): @fastify/otel makes a span of every request (and continues a caller's
 * `traceparent`), bullmq-otel makes spans of the queue's add and the worker's process and carries the
 * trace context inside the job, so that one trace runs from the request to the solve.
 */
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { BullMQOtel } from 'bullmq-otel';
import type { FastifyPluginCallback } from 'fastify';
import { tracingActive } from './tracing.js';

/** The tracer name of levinv's own spans and of the queue's. */
export const TRACER_NAME = 'levinv';

/** `{ telemetry }` for a BullMQ Queue or Worker while tracing, else nothing (BullMQ then traces nothing). */
export function queueTelemetry(): { telemetry?: BullMQOtel } {
  return tracingActive() ? { telemetry: new BullMQOtel({ tracerName: TRACER_NAME }) } : {};
}

/**
 * The @fastify/otel plugin while tracing (register it before the routes), else undefined. Spans for the
 * request and its handler; none for each hook, which would be a dozen spans a request.
 */
export function fastifyTracing(): FastifyPluginCallback | undefined {
  if (!tracingActive()) return undefined;
  return new FastifyOtelInstrumentation({ instrumentHooks: false }).plugin() as FastifyPluginCallback;
}
