/**
 * `levinv submit`: sends a problem to a running levinv API with Node's fetch, prints the job, and with
 * `--wait` follows its event stream (reconnecting with Last-Event-ID) until it is done.
 */
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView } from '../jobs/types.js';
import { SolverError, type SolverErrorCode } from '../solver/index.js';
import { CliError, classifyError, EXIT_DATA, EXIT_OK, EXIT_SOFTWARE, EXIT_USAGE } from './cli-errors.js';
import { createProgress, type Progress } from './cli-progress.js';

/** the service cannot be reached, or answers 503 (EX_UNAVAILABLE) */
export const EXIT_UNAVAILABLE = 69;
/** the job was cancelled before it finished (EX_TEMPFAIL: submitting again may work) */
export const EXIT_TEMP_FAIL = 75;
/** the service refused the API key, or none was given where one is needed (EX_NOPERM) */
export const EXIT_NO_PERMISSION = 77;

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

export interface SubmitOptions {
  url: string;
  wait: boolean;
  /** sent as `Authorization: Bearer <apiKey>` on every request */
  apiKey?: string;
}

export interface SubmitIo {
  stdout: Writable;
  stderr: Writable;
  stderrIsTTY: boolean;
}

/** Reconnects of the event stream in a row without a new event before giving up. */
const MAX_RECONNECTS = 5;
const RECONNECT_DELAY_MS = 500;

/** The service's base URL, checked up front so a typo is a usage error, not a connection error. */
export function apiBase(url: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new CliError(EXIT_USAGE, `invalid --url '${url}': expected an http:// or https:// URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new CliError(EXIT_USAGE, `invalid --url '${url}': expected an http:// or https:// URL`);
  }
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base;
}

/** Tries of a request answered 429 or 503 before giving up. */
const MAX_TRIES = 6;
/** the longest Retry-After honoured between tries */
const MAX_RETRY_AFTER_S = 30;

/** The Authorization header of every request, set once from --api-key or LEVINV_API_KEY. */
let authorization: Record<string, string> = {};

/**
 * fetch, with a network failure turned into the one-line EX_UNAVAILABLE error. A 429 or 503 (over a rate or
 * a quota, overloaded: nothing was done) is tried again after its Retry-After, up to MAX_TRIES times.
 */
async function request(url: URL, init: RequestInit = {}): Promise<Response> {
  for (let tries = 1; ; tries++) {
    const response = await fetchOnce(url, init);
    if ((response.status !== 429 && response.status !== 503) || tries >= MAX_TRIES) return response;
    const after = Number(response.headers.get('retry-after'));
    await response.arrayBuffer();
    await sleep(1000 * Math.min(MAX_RETRY_AFTER_S, Number.isFinite(after) && after >= 0 ? after : 1));
  }
}

async function fetchOnce(url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, headers: { ...authorization, ...(init.headers as object) } });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason =
      cause?.code === 'ECONNREFUSED'
        ? 'connection refused'
        : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new CliError(EXIT_UNAVAILABLE, `cannot reach levinv at ${url.origin}: ${reason}`);
  }
}

/** An error response as one line: the problem+json detail when there is one. */
async function responseError(response: Response): Promise<CliError> {
  let detail = `HTTP ${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { detail?: unknown; title?: unknown };
    if (typeof body.detail === 'string') detail = body.detail;
    else if (typeof body.title === 'string') detail = body.title;
  } catch {
    // not JSON: the status line says it all
  }
  if (response.status === 503) return new CliError(EXIT_UNAVAILABLE, `service unavailable: ${detail}`);
  if (response.status === 401 || response.status === 403) {
    return new CliError(EXIT_NO_PERMISSION, `${detail} (pass --api-key or set LEVINV_API_KEY)`);
  }
  if (response.status === 429) return new CliError(EXIT_TEMP_FAIL, `refused for now: ${detail}`);
  if (response.status >= 500) return new CliError(EXIT_SOFTWARE, `server error: ${detail}`);
  return new CliError(EXIT_DATA, detail);
}

async function getJob(base: URL, id: string): Promise<JobView> {
  const response = await request(new URL(`jobs/${encodeURIComponent(id)}`, base));
  if (!response.ok) throw await responseError(response);
  return (await response.json()) as JobView;
}

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Parses a text/event-stream body into events (the subset levinv sends: id, event, data, comments). */
export async function* parseEventStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let current: { id?: string; event?: string; data: string[] } = { data: [] };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.search(/\r?\n/);
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(buffer[newline] === '\r' ? newline + 2 : newline + 1);
      newline = buffer.search(/\r?\n/);
      if (line === '') {
        if (current.data.length > 0 || current.event !== undefined) {
          yield { id: current.id, event: current.event ?? 'message', data: current.data.join('\n') };
        }
        current = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') current.id = value;
      else if (field === 'event') current.event = value;
      else if (field === 'data') current.data.push(value);
    }
  }
}

function isProgress(value: unknown): value is { iteration: number; loss: number; gradNorm: number } {
  const v = value as { iteration?: unknown; loss?: unknown; gradNorm?: unknown } | null;
  return typeof v?.iteration === 'number' && typeof v.loss === 'number' && typeof v.gradNorm === 'number';
}

/** Follows the job's events until `done`; draws progress when asked. Returns when the job is finished. */
async function follow(base: URL, id: string, progress: Progress | undefined): Promise<void> {
  let lastEventId: string | undefined;
  let reconnects = 0;
  for (;;) {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    const response = await request(new URL(`jobs/${encodeURIComponent(id)}/events`, base), { headers });
    if (!response.ok || !response.body) throw await responseError(response);
    try {
      for await (const event of parseEventStream(response.body)) {
        if (event.id !== undefined) lastEventId = event.id;
        reconnects = 0;
        if (event.event === 'done') return;
        if (event.event === 'progress' && progress) {
          const data: unknown = JSON.parse(event.data);
          if (isProgress(data)) progress.update({ ...data, step: 0, shift: 0 });
        }
      }
    } catch {
      // The stream broke off (server restart, proxy timeout): reconnect below and resume.
    }
    // Ended without `done`: the job may have finished while we were away, or the server went down.
    if ((await getJob(base, id)).done) return;
    if (++reconnects > MAX_RECONNECTS) {
      throw new CliError(EXIT_UNAVAILABLE, `lost the event stream of job ${id}`);
    }
    await sleep(RECONNECT_DELAY_MS);
  }
}

/**
 * POSTs the problem: a JSON document, or a multipart form of .npy parts (cli-io.ts npyForm); with `wait`,
 * follows the job. Returns the exit code.
 */
export async function submitProblem(
  doc: unknown,
  options: SubmitOptions,
  io: SubmitIo,
  form?: FormData,
): Promise<number> {
  const base = apiBase(options.url);
  authorization = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  const response = await request(
    new URL('solve', base),
    form
      ? { method: 'POST', headers: { accept: 'application/json' }, body: form }
      : {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(doc),
        },
  );
  if (!response.ok) throw await responseError(response);
  let job = (await response.json()) as JobView;
  if (options.wait && !job.done) {
    const progress = io.stderrIsTTY ? createProgress(io.stderr) : undefined;
    try {
      await follow(base, job.id, progress);
    } finally {
      progress?.end();
    }
    job = await getJob(base, job.id);
  }
  io.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
  if (!options.wait) return EXIT_OK;
  if (job.state === 'failed') {
    const error = job.error ?? { code: 'INTERNAL', message: 'no error recorded' };
    if (error.code === 'INTERNAL') {
      throw new CliError(EXIT_SOFTWARE, `job ${job.id} failed: internal error: ${error.message}`);
    }
    // The exit code and message `levinv solve` gives for the same problem.
    const { exitCode, message } = classifyError(
      new SolverError(error.code as SolverErrorCode, error.message, error.field),
    );
    throw new CliError(exitCode, `job ${job.id} failed: ${message}`);
  }
  if (job.state === 'cancelled') throw new CliError(EXIT_TEMP_FAIL, `job ${job.id} was cancelled`);
  return EXIT_OK;
}
