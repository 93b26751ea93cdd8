/**
 * A typed client of the levinv HTTP API. Only fetch, streams, TextDecoder, FormData, Blob and crypto's
 * random numbers: it runs in Node 20+ and in browsers (the dashboard is built on it). Request and response
 * types come from the API's own zod schemas (types.ts); the routes it calls are checked against
 * openapi.yaml (routes.ts).
 */
import { parseNpy } from '../contract/npy.js';
import { errorFromResponse, isAbort, LevinvError, LevinvNetworkError, networkError } from './errors.js';
import { npyPart } from './npy.js';
import { retryDelayMs, sleep } from './retry.js';
import { ROUTES, type Route, routePath } from './routes.js';
import { chunks, parseEventStream } from './sse.js';
import type {
  Deliveries,
  IteratePage,
  Job,
  JobEvent,
  JobPage,
  JobState,
  NpyProblem,
  Problem,
  Progress,
  ResultVector,
} from './types.js';
import { randomUuid } from './uuid.js';

export interface LevinvClientOptions {
  /** the service's URL, e.g. `http://127.0.0.1:3000` (a path prefix is kept: `https://host/levinv/`) */
  baseUrl: string | URL;
  /** sent as `Authorization: Bearer <apiKey>` */
  apiKey?: string;
  /** a fetch implementation (default: the global one) */
  fetch?: typeof fetch;
  /** tries again after a 429 or 503 (honouring Retry-After) this many times; default 3 */
  retries?: number;
  /** the longest wait between tries, whatever Retry-After says; default 30 s */
  maxRetryAfterSeconds?: number;
  userAgent?: string;
  /** reconnects of an event stream in a row without a new event before giving up; default 5 */
  maxReconnects?: number;
  /** pause before reconnecting a dropped event stream; default 500 ms */
  reconnectDelayMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface WaitOptions extends CallOptions {
  /** give up waiting after this many seconds (default: no limit) */
  seconds?: number;
  /** each progress event while waiting */
  onProgress?: (progress: Progress) => void;
}

export interface SolveCallOptions extends CallOptions {
  /**
   * Wait for the job to be done, at most this many seconds (`true`: however long it takes). Up to 60 s is
   * one held request (`Prefer: wait`); longer waits, and waits with `onProgress`, follow the job's events.
   * The job is returned as it is when the wait ends, done or not. Without `wait`: the queued job at once.
   */
  wait?: number | boolean;
  /** progress events while waiting */
  onProgress?: (progress: Progress) => void;
  /** makes retries safe: a resent submission returns the original job. Default: a fresh UUID per call. */
  idempotencyKey?: string;
}

export interface EventsOptions extends CallOptions {
  /** resume after this event id */
  lastEventId?: string;
}

export interface IteratesOptions extends CallOptions {
  /** iterates per request (at most 1000); default 100 */
  pageSize?: number;
  /** the first iterate to read; default 0 */
  offset?: number;
}

export interface ListOptions extends CallOptions {
  state?: JobState;
  /** jobs per page (at most 100); default 20 */
  limit?: number;
  /** `nextCursor` of the previous page */
  cursor?: string;
}

interface SendOptions extends CallOptions {
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  body?: string | FormData;
}

const MAX_PREFER_WAIT_SECONDS = 60;

const isNpyProblem = (problem: unknown): problem is NpyProblem =>
  typeof problem === 'object' && problem !== null && 'npy' in problem;

/**
 * A problem as a POST /solve body: JSON (a document, or its text as it is), or a multipart form of .npy
 * parts and a `json` part.
 */
function solveBody(problem: Problem | NpyProblem | FormData | string): {
  body: string | FormData;
  json: boolean;
} {
  if (typeof problem === 'string') return { body: problem, json: true };
  if (problem instanceof FormData) return { body: problem, json: false };
  if (!isNpyProblem(problem)) return { body: JSON.stringify(problem), json: true };
  const form = new FormData();
  for (const [name, value] of Object.entries(problem.npy)) {
    if (value !== undefined) form.append(name, npyPart(value), `${name}.npy`);
  }
  if (problem.json) form.append('json', JSON.stringify(problem.json));
  return { body: form, json: false };
}

/** A signal that aborts with `parent` or after `ms` (then `timedOut()` is true). */
function withDeadline(parent: AbortSignal | undefined, ms: number) {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  // setTimeout fires at once for more than 2^31 - 1 ms (24.8 days): so long a deadline is none
  const timer =
    ms < 2 ** 31 - 1
      ? setTimeout(
          () => {
            timedOut = true;
            controller.abort();
          },
          Math.max(0, ms),
        )
      : undefined;
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}

export class LevinvClient {
  private readonly base: URL;
  private readonly headers: Record<string, string>;
  private readonly fetchImpl: typeof fetch;
  private readonly retries: number;
  private readonly maxRetryMs: number;
  private readonly maxReconnects: number;
  private readonly reconnectDelayMs: number;

  constructor(options: LevinvClientOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new TypeError(`baseUrl must be an http:// or https:// URL, got ${this.base.protocol}`);
    }
    if (!this.base.pathname.endsWith('/')) this.base.pathname += '/';
    this.headers = {
      ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
    };
    // bound to the global object: some runtimes refuse a fetch called as a method of something else
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.retries = Math.max(0, options.retries ?? 3);
    this.maxRetryMs = 1000 * (options.maxRetryAfterSeconds ?? 30);
    this.maxReconnects = options.maxReconnects ?? 5;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 500;
  }

  /**
   * Submits a problem: a JSON document, an NpyProblem (binary .npy parts), a ready FormData of such parts,
   * or a JSON document's text, sent as it is (a file's contents: not parsed and written again here, so the
   * service judges exactly what was given). Always sends an Idempotency-Key, so that retrying a 429 or 503
   * (or a lost answer) never makes two jobs.
   */
  async solve(
    problem: Problem | NpyProblem | FormData | string,
    options: SolveCallOptions = {},
  ): Promise<Job> {
    const { signal, onProgress } = options;
    // true: no limit; a number of seconds > 0; anything else (false, 0, negative, NaN): no wait
    const waitSeconds =
      options.wait === true
        ? Number.POSITIVE_INFINITY
        : typeof options.wait === 'number' && options.wait > 0
          ? options.wait
          : 0;
    const deadline = Date.now() + waitSeconds * 1000;
    const { body, json } = solveBody(problem);
    const headers: Record<string, string> = {
      accept: 'application/json',
      'idempotency-key': options.idempotencyKey ?? randomUuid(),
      ...(json ? { 'content-type': 'application/json' } : {}),
    };
    // A held request shows no progress: with onProgress, the events are followed instead.
    if (waitSeconds > 0 && !onProgress) {
      headers.prefer = `wait=${Math.min(MAX_PREFER_WAIT_SECONDS, Math.ceil(waitSeconds))}`;
    }
    const job = await this.json<Job>(ROUTES.solve, {}, { headers, body, signal });
    if (waitSeconds <= 0 || job.done || Date.now() >= deadline) return job;
    return this.waitUntilDone(job.id, {
      seconds: (deadline - Date.now()) / 1000,
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
  }

  /**
   * Follows a job's events until it is done (the finished job) or `seconds` have passed (the job as it is
   * then; default: no limit), calling `onProgress` with each progress event.
   */
  async waitUntilDone(id: string, options: WaitOptions = {}): Promise<Job> {
    const { signal, onProgress } = options;
    const limit = withDeadline(signal, 1000 * (options.seconds ?? Number.POSITIVE_INFINITY));
    try {
      for await (const event of this.events(id, { signal: limit.signal })) {
        if (event.type === 'progress') onProgress?.(event.data);
        if (event.type === 'done') return event.data;
      }
    } catch (error) {
      if (!limit.timedOut()) throw error;
    } finally {
      limit.dispose();
    }
    return this.get(id, signal ? { signal } : {});
  }

  get(id: string, options: CallOptions = {}): Promise<Job> {
    return this.json<Job>(ROUTES.get, { id }, options);
  }

  /** The job's webhook deliveries (the last 100 attempts, oldest first). */
  deliveries(id: string, options: CallOptions = {}): Promise<Deliveries> {
    return this.json<Deliveries>(ROUTES.deliveries, { id }, options);
  }

  /** Asks a job to stop: a queued one is cancelled at once, a running one within an iteration (still `running` here). */
  cancel(id: string, options: CallOptions = {}): Promise<Job> {
    return this.json<Job>(ROUTES.cancel, { id }, options);
  }

  /** Forgets a job that is not running (a running one is a 409 LevinvError: cancel it first). */
  async delete(id: string, options: CallOptions = {}): Promise<void> {
    const response = await this.send(ROUTES.delete, { id }, options);
    await response.body?.cancel();
  }

  /** One page of the caller's jobs, newest first. */
  list(options: ListOptions = {}): Promise<JobPage> {
    const { state, limit, cursor, signal } = options;
    return this.json<JobPage>(ROUTES.list, {}, { query: { state, limit, cursor }, signal });
  }

  /** Every page of the caller's jobs (of one state, if given), following `nextCursor`. */
  async *listAll(options: Omit<ListOptions, 'cursor'> = {}): AsyncGenerator<JobPage> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...options, ...(cursor ? { cursor } : {}) });
      yield page;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  /**
   * The iterates recorded so far, page by page (following `nextOffset`), in order. Ends at the first short
   * page: while the job runs, more may be recorded later (call again with `offset`).
   */
  async *iterates(id: string, options: IteratesOptions = {}): AsyncGenerator<IteratePage> {
    const limit = options.pageSize ?? 100;
    let offset = options.offset ?? 0;
    for (;;) {
      const page = await this.json<IteratePage>(
        ROUTES.iterates,
        { id },
        { query: { offset, limit }, signal: options.signal },
      );
      if (page.items.length === 0) return;
      yield page;
      offset = page.nextOffset;
      if (page.items.length < limit) return;
    }
  }

  /**
   * The job's events (state, progress, done) until `done`, which carries the finished job. A stream that
   * breaks off, or a connection lost on the way, is reopened with Last-Event-ID, so no event is seen twice
   * or missed; a stream that ends early because the job is done with its done event behind us yields a
   * `done` with the job (id undefined). Error answers (404, 401, ...) and failing to reach the service at
   * the first try throw at once; `maxReconnects` reconnects in a row without a new event throw
   * LevinvNetworkError.
   */
  async *events(id: string, options: EventsOptions = {}): AsyncGenerator<JobEvent> {
    const { signal } = options;
    let lastEventId = options.lastEventId;
    let reconnects = 0;
    let opened = false;
    let lost: unknown;
    for (;;) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      try {
        const response = await this.send(ROUTES.events, { id }, { headers, signal });
        opened = true;
        if (!response.body) throw new LevinvNetworkError('the event stream has no body');
        for await (const sse of parseEventStream(chunks(response.body))) {
          // the server's stream failed (it says so in-band): reconnect and resume
          if (sse.event === 'error') break;
          if (sse.event !== 'state' && sse.event !== 'progress' && sse.event !== 'done') continue;
          if (sse.id !== undefined) lastEventId = sse.id;
          // a new event: the stream works, so the count of reconnects in a row starts again
          reconnects = 0;
          const event = { id: sse.id, type: sse.event, data: JSON.parse(sse.data) } as JobEvent;
          yield event;
          if (event.type === 'done') return;
          // events already read arrive in one chunk: an abort while the caller handled this one ends it here
          signal?.throwIfAborted();
        }
        // Ended without `done`: the job may have finished while we were away (its done event behind us).
        const job = await this.get(id, signal ? { signal } : {});
        if (job.done) {
          yield { id: undefined, type: 'done', data: job };
          return;
        }
      } catch (error) {
        if (isAbort(error, signal)) throw error;
        // An answer (404, 401, ...) is final, and so is not reaching the service at all at first; a
        // broken stream or connection later (a restart, a proxy's timeout) is reconnected below.
        if (error instanceof LevinvError && !(error instanceof LevinvNetworkError)) throw error;
        if (!opened) throw error;
        lost = error;
      }
      if (++reconnects > this.maxReconnects) {
        throw new LevinvNetworkError(`lost the event stream of job ${id}`, undefined, { cause: lost });
      }
      await sleep(this.reconnectDelayMs, signal);
    }
  }

  /**
   * A result vector from its .npy endpoint: exact float64, no JSON. `leverage`: n scores, `x`: d numbers,
   * `signs`: n values +1/-1, the cell of x (only here: the JSON result leaves it out).
   */
  async resultVector(id: string, vector: ResultVector, options: CallOptions = {}): Promise<Float64Array> {
    const response = await this.send(ROUTES.resultVector, { id, vector: `${vector}.npy` }, options);
    const bytes = new Uint8Array(await this.read(response, (r) => r.arrayBuffer()));
    return parseNpy(bytes, `${vector}.npy`).data;
  }

  private url(route: Route, params: Record<string, string>, query: SendOptions['query']): URL {
    const url = new URL(routePath(route, params), this.base);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url;
  }

  /**
   * One call: the response when its status is a success, else a LevinvError. A 429 or 503 (nothing was done)
   * is tried again after its Retry-After, `retries` times; every call the client makes is safe to repeat
   * (POST /solve carries an Idempotency-Key, cancel is idempotent).
   */
  private async send(route: Route, params: Record<string, string>, options: SendOptions): Promise<Response> {
    const url = this.url(route, params, options.query);
    const init: RequestInit = {
      method: route.method,
      headers: { ...this.headers, ...options.headers },
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, init);
      } catch (error) {
        if (isAbort(error, options.signal)) throw error;
        throw networkError(error, url);
      }
      if (response.ok) return response;
      if ((response.status === 429 || response.status === 503) && attempt < this.retries) {
        const delay = retryDelayMs(response.headers.get('retry-after'), attempt, this.maxRetryMs);
        await response.body?.cancel();
        await sleep(delay, options.signal);
        continue;
      }
      throw await errorFromResponse(response);
    }
  }

  /** Reads a response body; a connection that breaks off mid-body is a LevinvNetworkError. */
  private async read<T>(response: Response, how: (r: Response) => Promise<T>): Promise<T> {
    try {
      return await how(response);
    } catch (error) {
      if (error instanceof SyntaxError || (error as { name?: string } | null)?.name === 'AbortError')
        throw error;
      throw networkError(error, new URL(response.url || this.base));
    }
  }

  private async json<T>(route: Route, params: Record<string, string>, options: SendOptions): Promise<T> {
    const response = await this.send(route, params, options);
    return this.read(response, (r) => r.json() as Promise<T>);
  }
}
