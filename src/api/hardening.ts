/**
 * What keeps one client from hurting the others: timeouts for slow clients, problem+json for the errors
 * Node's HTTP parser answers before fastify sees a request, request decompression with the body limit on the
 * inflated size, and load shedding (503) when the event loop lags or the heap fills up.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { getHeapStatistics } from 'node:v8';
import fastifyCompress from '@fastify/compress';
import fastifyUnderPressure from '@fastify/under-pressure';
import type { FastifyHttpOptions } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblem, PROBLEM_JSON, statusTitle } from './problems.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
/** Longer than the 60 s idle timeout of common load balancers, so they close idle connections, not we. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** A socket with no traffic at all for this long is closed (SSE streams write a comment every 15 s). */
const CONNECTION_TIMEOUT_MS = 75_000;
export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 1000;
/** Routes that answer under any load: liveness must not look like death, metrics explain the overload. */
const NEVER_SHED = new Set(['/healthz', '/metrics']);

export function serverOptions(requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): FastifyHttpOptions<Server> {
  return {
    requestTimeout: requestTimeoutMs,
    connectionTimeout: Math.max(CONNECTION_TIMEOUT_MS, requestTimeoutMs),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    http: {
      // Node arms the request timeout only when it is given at construction (fastify sets it afterwards).
      requestTimeout: requestTimeoutMs,
      // Node checks request timeouts on this interval (30 s by default), so a short timeout needs a short one.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(requestTimeoutMs / 4))),
    },
    clientErrorHandler,
  };
}

/** Node's parser errors by code; anything else it reports is a malformed request. */
function clientErrorStatus(code: string | undefined): number {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413;
  return 400;
}

const CLIENT_ERROR_DETAIL: Record<number, string> = {
  400: 'the request could not be parsed as HTTP/1.1',
  408: 'the request did not arrive in time',
  413: 'the request is too large',
  431: 'the request headers are too large',
};

/**
 * fastify's clientErrorHandler: the request never reached a route, so the answer is written on the socket
 * (with no request id, and never Node's own message, which can quote the bytes received).
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || socket.destroyed) return;
  const status = clientErrorStatus(error.code);
  const body = JSON.stringify({
    type: 'about:blank',
    title: statusTitle(status),
    status,
    detail: CLIENT_ERROR_DETAIL[status],
  });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${statusTitle(status)}\r\nContent-Type: ${PROBLEM_JSON}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * Request bodies with Content-Encoding gzip, deflate or br are inflated before parsing; fastify then applies
 * the route's body limit to the inflated bytes (a small gzip that inflates past it is a 413 as soon as it
 * does). Any other encoding is a 415, and bytes that are not what their encoding says a 400: never read as
 * plain. Responses are not compressed (the large ones are JSON a proxy may compress; CPU here is for solves).
 */
export const decompression = fp(
  async (app) => {
    await app.register(fastifyCompress, {
      globalCompression: false,
      globalDecompression: true,
      requestEncodings: ['gzip', 'deflate', 'br', 'identity'],
      onUnsupportedRequestEncoding: (encoding) =>
        new HttpProblem(
          415,
          `Content-Encoding '${encoding.slice(0, 40)}' is not supported (use gzip, deflate or br)`,
        ),
      // Copied onto zlib's error with Object.assign, so a plain object (an Error's message would not be copied).
      onInvalidRequestPayload: (encoding) =>
        ({
          statusCode: 400,
          code: 'INVALID_CONTENT_ENCODING',
          message: `the body is not valid ${encoding} data, as its Content-Encoding says`,
        }) as unknown as Error,
    });
  },
  { name: 'levinv-decompression' },
);

export interface PressureOptions {
  maxEventLoopDelayMs?: number;
  /** default: 90% of the V8 heap limit */
  maxHeapUsedBytes?: number;
  /** how often the figures are sampled (default 1000 ms) */
  sampleIntervalMs?: number;
}

/** Over a threshold every route but NEVER_SHED answers 503 problem+json with Retry-After. */
export const loadShedding = fp<PressureOptions>(
  async (app, options) => {
    const retryAfterSeconds = 2;
    await app.register(fastifyUnderPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: options.maxHeapUsedBytes ?? Math.floor(getHeapStatistics().heap_size_limit * 0.9),
      ...(options.sampleIntervalMs ? { sampleInterval: options.sampleIntervalMs } : {}),
      pressureHandler: async (request, _reply, type) => {
        if (NEVER_SHED.has(request.routeOptions.url ?? '')) return;
        const why = type === fastifyUnderPressure.TYPE_HEAP_USED_BYTES ? 'memory' : 'load';
        throw new HttpProblem(503, `the server is overloaded (${why}); retry later`, {
          headers: { 'retry-after': String(retryAfterSeconds) },
        });
      },
    });
  },
  { name: 'levinv-load-shedding' },
);
