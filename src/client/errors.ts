/** The client's errors: one class for every failure the service reports, one for failing to reach it. */
import type { ProblemDetails } from './types.js';

type ProblemError = NonNullable<ProblemDetails['errors']>[number];

/**
 * An error answer of the service (status >= 400), carrying its RFC 9457 problem details. When the body was
 * not problem+json (a proxy's HTML page, say), the fields are filled in from the status line.
 */
export class LevinvError extends Error {
  /** the HTTP status; 0 for a LevinvNetworkError (no answer at all) */
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  /** one entry per bad field of a 400: `pointer` into the body, `parameter` or `header` */
  readonly errors: ProblemError[];
  /** the id under which the service logged the request (problem+json `requestId`, else X-Request-Id) */
  readonly requestId: string | undefined;
  /** the problem+json body as received, when there was one */
  readonly problem: ProblemDetails | undefined;

  constructor(
    status: number,
    fields: { type?: string; title: string; detail: string; errors?: ProblemError[]; requestId?: string },
    problem?: ProblemDetails,
    options?: { cause?: unknown },
  ) {
    super(fields.detail, options);
    this.name = 'LevinvError';
    this.status = status;
    this.type = fields.type ?? 'about:blank';
    this.title = fields.title;
    this.detail = fields.detail;
    this.errors = fields.errors ?? [];
    this.requestId = fields.requestId;
    this.problem = problem;
  }
}

/** The service could not be reached, or a connection broke off before an answer: status 0. */
export class LevinvNetworkError extends LevinvError {
  /** the system error code when there is one (ECONNREFUSED, ECONNRESET, ...) */
  readonly code: string | undefined;

  constructor(detail: string, code?: string, options?: { cause?: unknown }) {
    super(0, { type: 'about:blank', title: 'Network error', detail }, undefined, options);
    this.name = 'LevinvNetworkError';
    this.code = code;
  }
}

function isProblem(body: unknown): body is ProblemDetails {
  const b = body as Partial<ProblemDetails> | null;
  return typeof b === 'object' && b !== null && (typeof b.detail === 'string' || typeof b.title === 'string');
}

/** The LevinvError of an error response (reads its body). */
export async function errorFromResponse(response: Response): Promise<LevinvError> {
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch {
    // not JSON: the status line says it all
  }
  const statusLine = `HTTP ${response.status} ${response.statusText}`.trim();
  const headerId = response.headers.get('x-request-id') ?? undefined;
  if (!isProblem(body)) {
    return new LevinvError(response.status, {
      title: response.statusText || statusLine,
      detail: statusLine,
      ...(headerId ? { requestId: headerId } : {}),
    });
  }
  const detail = typeof body.detail === 'string' ? body.detail : body.title;
  const requestId = typeof body.requestId === 'string' ? body.requestId : headerId;
  return new LevinvError(
    response.status,
    {
      title: typeof body.title === 'string' ? body.title : statusLine,
      detail,
      ...(typeof body.type === 'string' ? { type: body.type } : {}),
      ...(Array.isArray(body.errors) ? { errors: body.errors } : {}),
      ...(requestId ? { requestId } : {}),
    },
    body,
  );
}

/** A fetch failure as a LevinvNetworkError that names the service and the reason (ECONNREFUSED: "connection refused"). */
export function networkError(error: unknown, url: URL): LevinvNetworkError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  const reason =
    code === 'ECONNREFUSED' ? 'connection refused' : (code ?? cause?.message ?? (error as Error).message);
  return new LevinvNetworkError(`cannot reach levinv at ${url.origin}: ${reason}`, code, { cause: error });
}

/** True for the error fetch (and the client's waits) throw when a signal aborts. */
export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error as { name?: string } | null)?.name === 'AbortError';
}
