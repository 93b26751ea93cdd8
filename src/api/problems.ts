/**
 * RFC 9457 problem details: the errors routes throw, and the one mapping from anything thrown to a
 * status and a problem+json body.
 */
import type { FastifyError } from 'fastify';
import type { ProblemDetails } from '../contract/problem-details.js';
import { IdempotencyConflictError, QuotaExceededError, StoreUnavailableError } from '../jobs/types.js';
import { type InputIssue, summarizeIssues } from '../problem/errors.js';

export const PROBLEM_JSON = 'application/problem+json';

/** Problem types with meaning beyond their status; the rest are `about:blank` with the status phrase. */
export const PROBLEM_TYPES = {
  validation: 'urn:levinv:problem:invalid-request',
  idempotencyConflict: 'urn:levinv:problem:idempotency-conflict',
  jobRunning: 'urn:levinv:problem:job-running',
  storeUnavailable: 'urn:levinv:problem:store-unavailable',
  quotaExceeded: 'urn:levinv:problem:quota-exceeded',
} as const;

/** Seconds a client over its active-jobs quota should wait: about one short solve. */
const QUOTA_RETRY_AFTER_SECONDS = '5';

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function statusTitle(status: number): string {
  return STATUS_TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

/** An error a route throws on purpose: the handler turns it into exactly this problem. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  /** extra response headers, e.g. Retry-After */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    detail: string,
    options: { type?: string; title?: string; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
    this.status = status;
    this.type = options.type ?? 'about:blank';
    this.title = options.title ?? statusTitle(status);
    this.headers = options.headers ?? {};
  }
}

export const jobNotFound = (id: string): HttpProblem => new HttpProblem(404, `no job with id '${id}'`);

/** Part of the request a validation issue is about (fastify's httpPart names). */
export type RequestPart = 'body' | 'querystring' | 'params' | 'headers';

/**
 * A request that failed its zod schema. The issues come from the problem module's formatting, so the body's
 * pointers and messages are the ones `levinv solve` prints for the same document.
 */
export class RequestValidationError extends Error {
  readonly part: RequestPart;
  readonly issues: InputIssue[];
  // fastify reads these off errors returned by a validator
  readonly statusCode = 400;
  readonly code = 'FST_ERR_VALIDATION';

  constructor(part: RequestPart, issues: InputIssue[]) {
    const where = part === 'body' ? '' : `${part === 'querystring' ? 'query' : part}: `;
    super(`${where}${summarizeIssues(issues)}`);
    this.name = 'RequestValidationError';
    this.part = part;
    this.issues = issues;
  }
}

function validationErrors(error: RequestValidationError): NonNullable<ProblemDetails['errors']> {
  return error.issues.map((issue) => {
    if (error.part === 'body') return { pointer: issue.pointer, detail: issue.message };
    // The parameter or header name itself (the human path would quote `idempotency-key` as ["idempotency-key"]).
    const name =
      issue.pointer === '' ? '(all)' : issue.pointer.slice(1).replaceAll('~1', '/').replaceAll('~0', '~');
    return error.part === 'headers'
      ? { header: name, detail: issue.message }
      : { parameter: name, detail: issue.message };
  });
}

export interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  body: Omit<ProblemDetails, 'instance' | 'requestId'>;
  /** 5xx other than a deliberate one: log the error, hide its message */
  unexpected: boolean;
}

/**
 * The one mapping from a thrown value to the response. `bodyLimit` is the limit of the route that was asked
 * (fastify's 413 does not say it), `contentType` the request's (fastify's 415 does not say it). Only
 * deliberate errors show their message: a 5xx from anywhere else (a Redis reply, a bug) is the generic
 * text, so no stack, file path or Redis message reaches a client.
 */
export function toProblem(error: unknown, bodyLimit: number, contentType?: string): ProblemResponse {
  const problem = (
    status: number,
    type: string,
    title: string,
    detail: string,
    extra: { headers?: Record<string, string>; errors?: ProblemDetails['errors'] } = {},
  ): ProblemResponse => ({
    status,
    headers: extra.headers ?? {},
    body: { type, title, status, detail, ...(extra.errors ? { errors: extra.errors } : {}) },
    unexpected: false,
  });
  const plain = (status: number, detail: string): ProblemResponse =>
    problem(status, 'about:blank', statusTitle(status), detail);

  if (error instanceof HttpProblem) {
    return problem(error.status, error.type, error.title, error.message, { headers: error.headers });
  }
  if (error instanceof RequestValidationError) {
    return problem(400, PROBLEM_TYPES.validation, 'Invalid request', error.message, {
      errors: validationErrors(error),
    });
  }
  if (error instanceof IdempotencyConflictError) {
    return problem(422, PROBLEM_TYPES.idempotencyConflict, 'Idempotency-Key reused', error.message);
  }
  if (error instanceof QuotaExceededError) {
    return problem(429, PROBLEM_TYPES.quotaExceeded, 'Too many active jobs', error.message, {
      headers: { 'retry-after': QUOTA_RETRY_AFTER_SECONDS },
    });
  }
  if (error instanceof StoreUnavailableError) {
    return problem(
      503,
      PROBLEM_TYPES.storeUnavailable,
      'Job store unavailable',
      'the job store cannot be reached; retry later',
      { headers: { 'retry-after': '5' } },
    );
  }

  const fastifyError = error as Partial<FastifyError> | undefined;
  // The job store's InvalidCursorError (matched by its stable code: the API knows jobs only by the contract).
  if (fastifyError?.code === 'INVALID_CURSOR') {
    const detail = fastifyError.message ?? 'invalid cursor';
    return problem(400, PROBLEM_TYPES.validation, 'Invalid request', `query: cursor: ${detail}`, {
      errors: [{ parameter: 'cursor', detail }],
    });
  }
  if (fastifyError?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    // fastify's text names only what was sent; the client needs what would have been taken
    // only the media type, as a token (no parameters, nothing a log or terminal would mis-read), and short
    const sent = /^[\w.+-]+\/[\w.+-]+/.exec(contentType?.trim() ?? '')?.[0]?.slice(0, 100);
    return plain(
      415,
      `${sent ? `Content-Type ${sent} is not accepted` : 'the Content-Type is not accepted'}: request ` +
        'bodies are application/json, and POST /solve also takes multipart/form-data with .npy parts',
    );
  }
  if (fastifyError?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return plain(413, `the request body exceeds the limit of ${bodyLimit} bytes`);
  }
  const status = fastifyError?.statusCode;
  // fastify's own client errors (empty body, unsupported media type, ...) carry a status and a safe message.
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return plain(status, fastifyError?.message ?? statusTitle(status));
  }
  return { ...plain(500, 'internal error; the server log has the details'), unexpected: true };
}
