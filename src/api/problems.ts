/**
 * RFC 9457 problem details: the errors routes throw, and the one mapping from anything thrown to a
 * status and a problem+json body.
 */
import type { FastifyError } from 'fastify';
import { IdempotencyConflictError, StoreUnavailableError } from '../jobs/types.js';
import { type InputIssue, summarizeIssues } from '../problem/errors.js';
import type { ProblemDetails } from './schemas.js';

export const PROBLEM_JSON = 'application/problem+json';

/** Problem types with meaning beyond their status; the rest are `about:blank` with the status phrase. */
export const PROBLEM_TYPES = {
  validation: 'urn:levinv:problem:invalid-request',
  idempotencyConflict: 'urn:levinv:problem:idempotency-conflict',
  jobRunning: 'urn:levinv:problem:job-running',
  storeUnavailable: 'urn:levinv:problem:store-unavailable',
} as const;

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
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

/** The one mapping from a thrown value to the response. */
export function toProblem(error: unknown, maxBodyBytes: number): ProblemResponse {
  const plain = (status: number, detail: string, headers: Record<string, string> = {}): ProblemResponse => ({
    status,
    headers,
    body: { type: 'about:blank', title: statusTitle(status), status, detail },
    unexpected: false,
  });

  if (error instanceof HttpProblem) {
    return {
      status: error.status,
      headers: error.headers,
      body: { type: error.type, title: error.title, status: error.status, detail: error.message },
      unexpected: false,
    };
  }
  if (error instanceof RequestValidationError) {
    return {
      status: 400,
      headers: {},
      body: {
        type: PROBLEM_TYPES.validation,
        title: 'Invalid request',
        status: 400,
        detail: error.message,
        errors: validationErrors(error),
      },
      unexpected: false,
    };
  }
  if (error instanceof IdempotencyConflictError) {
    return {
      status: 422,
      headers: {},
      body: {
        type: PROBLEM_TYPES.idempotencyConflict,
        title: 'Idempotency-Key reused',
        status: 422,
        detail: error.message,
      },
      unexpected: false,
    };
  }
  if (error instanceof StoreUnavailableError) {
    return {
      status: 503,
      headers: { 'retry-after': '5' },
      body: {
        type: PROBLEM_TYPES.storeUnavailable,
        title: 'Job store unavailable',
        status: 503,
        detail: 'the job store cannot be reached; retry later',
      },
      unexpected: false,
    };
  }

  const fastifyError = error as Partial<FastifyError> | undefined;
  // The job store's InvalidCursorError (matched by its stable code: the API knows jobs only by the contract).
  if (fastifyError?.code === 'INVALID_CURSOR') {
    const detail = fastifyError.message ?? 'invalid cursor';
    return {
      status: 400,
      headers: {},
      body: {
        type: PROBLEM_TYPES.validation,
        title: 'Invalid request',
        status: 400,
        detail: `query: cursor: ${detail}`,
        errors: [{ parameter: 'cursor', detail }],
      },
      unexpected: false,
    };
  }
  if (fastifyError?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return plain(413, `the request body exceeds the limit of ${maxBodyBytes} bytes`);
  }
  const status = fastifyError?.statusCode;
  // fastify's own client errors (empty body, unsupported media type, ...) carry a status and a safe message.
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return plain(status, fastifyError?.message ?? statusTitle(status));
  }
  return { ...plain(500, 'internal error; the server log has the details'), unexpected: true };
}
