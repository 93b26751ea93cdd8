/**
 * Server-Sent Events read with fetch rather than EventSource, which cannot send an Authorization header:
 * the body stream is split into events (blank-line separated `field: value` lines, per the HTML spec's
 * parsing rules for the fields the API sends).
 */
import { ApiError, authHeaders, request } from './api.js';
import { parseEvents, type StreamEvent } from './sse-parse.js';

/**
 * Streams `path` until it ends or `signal` aborts, calling `onEvent` for each event. Resolves with the
 * last event id seen (for a reconnect with Last-Event-ID); throws ApiError for a refused stream.
 */
export async function readEventStream(
  path: string,
  onEvent: (event: StreamEvent) => void,
  signal: AbortSignal,
  lastEventId?: string,
): Promise<string | undefined> {
  const res = await request(path, {
    headers: {
      accept: 'text/event-stream',
      ...authHeaders(),
      ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
    },
    signal,
  });
  if (!res.body)
    throw new ApiError(res.status, { title: 'No event stream', detail: 'the answer had no body' });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let last = lastEventId;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const parsed = parseEvents(buffer);
      buffer = parsed.rest;
      for (const event of parsed.events) {
        if (event.id) last = event.id;
        onEvent(event);
      }
    }
  } finally {
    reader.releaseLock();
  }
  return last;
}
