/**
 * Server-Sent Events over a hijacked reply: fastify's serializer and onSend hooks do not apply to a stream
 * that stays open, so this writes the raw response (headers, framing, keep-alive, backpressure).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { JobEvent } from '../jobs/types.js';

/** Comment lines keep proxies and load balancers from closing an idle stream. */
export const KEEP_ALIVE_MS = 15_000;
/** Reconnect delay suggested to EventSource clients. */
const RETRY_MS = 2_000;

/** An error the client caused (it carries a 4xx status): worth a line in the log, not a stack trace. */
function isClientError(error: unknown): boolean {
  const status = (error as { statusCode?: unknown; status?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** One event in the text/event-stream framing; `data` is one line of JSON, so it needs no splitting. */
export function formatEvent(event: JobEvent): string {
  return `id: ${event.id.replace(/[\r\n]/g, '')}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/** Resolves once the socket drains, or at once when it closed (a closed response never drains). */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.on('drain', done);
    signal.addEventListener('abort', done);
  });
}

/**
 * Streams `source(signal)` to `res` until it ends, the client goes away or `closing` aborts (the server shuts
 * down: an open stream would otherwise hold `app.close()` until its job ends). The signal is how the job
 * store's live subscription learns to stop.
 */
export async function streamEvents(
  res: ServerResponse,
  headers: Record<string, string>,
  source: (signal: AbortSignal) => AsyncIterable<JobEvent>,
  log: FastifyBaseLogger,
  closing: AbortSignal,
): Promise<void> {
  const controller = new AbortController();
  const { signal } = controller;
  const abort = (): void => controller.abort();
  res.on('close', abort);
  closing.addEventListener('abort', abort);
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx buffers proxied responses unless told otherwise
    'x-accel-buffering': 'no',
  });
  res.write(`retry: ${RETRY_MS}\n\n`);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  keepAlive.unref();
  try {
    for await (const event of source(signal)) {
      if (signal.aborted) break;
      if (!res.write(formatEvent(event))) await drained(res, signal);
    }
  } catch (error) {
    // The status line is long gone: tell the client in-band and end the stream; it may reconnect.
    if (!signal.aborted) {
      if (isClientError(error)) log.info({ detail: (error as Error).message }, 'event stream refused');
      else log.error({ err: error }, 'event stream failed');
      res.write(
        `event: error\ndata: ${JSON.stringify({ detail: 'the event stream failed; reconnect to resume' })}\n\n`,
      );
    }
  } finally {
    clearInterval(keepAlive);
    closing.removeEventListener('abort', abort);
    controller.abort();
    if (!res.writableEnded) res.end();
  }
}
