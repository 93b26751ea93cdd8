/**
 * Server-Sent Events read with fetch rather than EventSource, which cannot send an Authorization header:
 * the body stream is split into events (blank-line separated `field: value` lines, per the HTML spec's
 * parsing rules for the fields the API sends).
 */
import { ApiError, authHeaders, request } from './api';

export interface StreamEvent {
  id?: string;
  event: string;
  data: string;
}

/** Parses one chunk of event-stream text; returns the events complete so far and the unparsed rest. */
export function parseEvents(buffer: string): { events: StreamEvent[]; rest: string } {
  const events: StreamEvent[] = [];
  const normalized = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalized.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (data.length > 0) events.push({ event, data: data.join('\n'), ...(id === undefined ? {} : { id }) });
  }
  return { events, rest };
}

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
