/**
 * Zod schemas of everything the HTTP API reads and writes besides the problem document (which is
 * `problemSchema` from src/problem). The routes validate and serialize with these, and the OpenAPI document
 * is generated from them, so this file is the API's one description.
 *
 * Schemas registered with an `id` become named components (`#/components/schemas/Job`) in the OpenAPI
 * document instead of being repeated inline in every response.
 */
import { z } from 'zod';
import { isEventId } from '../jobs/index.js';
import { JOB_STATES } from '../jobs/types.js';
import { METHODS, type StartMethod, type StopReason } from '../solver/index.js';
import { MAX_DELIVERIES } from '../webhooks/delivery-log.js';
import { WEBHOOK_EVENTS } from '../webhooks/schema.js';
import { solveDocSchema } from './solve-body.js';

/**
 * A float from the solver. Non-finite values cannot exist in JSON (JSON.stringify writes null) and a stored
 * result may already carry that null, so serialization must not turn such a job into a 500.
 */
const float = z
  .custom<number | null>((v) => typeof v === 'number' || v === null, 'expected a number')
  .meta({ type: ['number', 'null'], description: 'a float; null where the value is not finite' });

const floats = z.array(float);

const STOP_REASONS = [
  'gradient-tolerance',
  'loss-change',
  'step-rounding',
  'max-iterations',
  'max-seconds',
  'aborted',
  'line-search-failed',
] as const;
// Fails to compile when the solver gains a stop reason this list lacks.
const allStopReasons: Exclude<StopReason, (typeof STOP_REASONS)[number]> extends never ? true : never = true;
void allStopReasons;

const START_METHODS = ['x0', 'global', 'global-signs', 'centre'] as const;
const allStartMethods: Exclude<StartMethod, (typeof START_METHODS)[number]> extends never ? true : never =
  true;
void allStartMethods;

export const jobStateSchema = z.enum(JOB_STATES).meta({
  description: 'queued -> running -> succeeded | failed | cancelled (a queued job may be cancelled directly)',
});

export const iterateSchema = z
  .object({
    iteration: z.int().min(0).meta({ description: '0 is the start point' }),
    loss: float,
    gradNorm: float,
    step: float.meta({ description: 'the step length taken to reach this iterate (0 at the start)' }),
    shift: float.meta({ description: 'the Hessian shift used for the step' }),
    x: floats.optional().meta({ description: 'absent when the request set options.record.includeX false' }),
  })
  .meta({ id: 'Iterate' });

const progressSchema = z
  .object({ iteration: z.int().min(0), loss: float, gradNorm: float })
  .meta({ id: 'Progress', description: 'the latest iterate the worker reported' });

const jobResultSchema = z
  .object({
    method: z.enum(METHODS),
    x: floats,
    loss: float,
    gradNorm: float,
    iterations: z.int().min(0),
    converged: z.boolean(),
    reason: z.enum(STOP_REASONS),
    leverage: floats.meta({ description: 'sigma(x) at the returned x' }),
    maxAbsResidual: float.meta({ description: 'max_i |sigma_i(x) - sigma_i|' }),
    start: floats.meta({ description: 'the start point actually used' }),
    // Optional: results stored before the solver reported them lack them, and a GET must not fail on those.
    startMethod: z
      .enum(START_METHODS)
      .optional()
      .meta({
        description:
          'how the start was found: `x0` (given), `global` (from A, b and sigma alone: x and its cell), ' +
          '`global-signs` (the same, in the cell `signs` names), `centre` (the analytic centre of the cell)',
      }),
    negativeSlacks: z.int().min(0).optional().meta({
      description:
        'how many slacks a_i^T x - b_i are negative at x; the cell itself (+1/-1 per row) is `signs.npy`',
    }),
    ambiguity: z.string().optional().meta({
      description:
        'set when other points may have the same scores (b = 0, too few rows, ...): why, and what would settle it',
    }),
    alternatives: z.array(floats).optional().meta({
      description: 'other points with exactly the scores of x (b = 0: -x)',
    }),
    timings: z.object({
      startMs: float,
      solveMs: float,
      totalMs: float,
      threads: z
        .int()
        .min(1)
        .optional()
        .meta({ description: 'threads the row loops ran on (SOLVER_THREADS; 1 for small problems)' }),
    }),
    warnings: z.array(z.string()),
    relError: float
      .optional()
      .meta({ description: '||x - xStar|| / ||xStar||, when the problem carried xStar' }),
  })
  .meta({ id: 'JobResult' });

const jobErrorSchema = z
  .object({
    code: z
      .string()
      .meta({ description: 'the solver error code (RANK_DEFICIENT, EMPTY_CELL, ...) or INTERNAL' }),
    message: z.string(),
    field: z.string().optional(),
  })
  .meta({ id: 'JobError' });

const timestamp = z.string().meta({ format: 'date-time' });

const iteratesSummarySchema = z
  .object({
    recorded: z
      .int()
      .min(0)
      .meta({ description: 'iterates recorded so far (what `/iterates` pages through)' }),
    limit: z.int().min(1).meta({ description: 'at most this many are kept (MAX_RECORDED_ITERATES)' }),
    truncated: z.boolean().meta({
      description: 'true when more were made than kept: the first limit - 1 are kept, then always the latest',
    }),
  })
  .meta({ id: 'IteratesSummary', description: 'what was recorded of the iterates' });

export const jobSchema = z
  .object({
    id: z.string(),
    state: jobStateSchema,
    done: z.boolean().meta({ description: 'true exactly when `result` or `error` is set' }),
    method: z.enum(METHODS),
    n: z.int().min(1),
    d: z.int().min(1),
    createdAt: timestamp,
    startedAt: timestamp.nullable(),
    finishedAt: timestamp.nullable(),
    progress: progressSchema.nullable(),
    resumes: z.int().min(0).meta({
      description:
        'how often another worker took the job over from its checkpoint (a worker died or lost the job)',
    }),
    iterates: iteratesSummarySchema,
    result: jobResultSchema.optional(),
    error: jobErrorSchema.optional(),
  })
  .meta({ id: 'Job' });

/**
 * The result's vectors served as .npy files (GET /jobs/{id}/result/{vector}). `signs` (n values) is served
 * only there: the JSON result leaves it out.
 */
export const resultVectorSchema = z
  .enum(['leverage.npy', 'x.npy', 'signs.npy'])
  .meta({ description: 'which vector' });

export const jobPageSchema = z
  .object({
    items: z.array(jobSchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'pass as `cursor` for the next page; null at the end' }),
  })
  .meta({ id: 'JobPage' });

export const iteratePageSchema = z
  .object({
    items: z.array(iterateSchema),
    nextOffset: z.int().min(0).meta({ description: 'the offset of the next unread iterate' }),
  })
  .meta({ id: 'IteratePage' });

/** RFC 9457 problem details, with the validation issues of a 400 in `errors`. */
export const problemDetailsSchema = z
  .object({
    type: z
      .string()
      .meta({ description: 'a URI naming the problem type; about:blank for plain HTTP errors' }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string().meta({ description: 'the request path' }),
    requestId: z.string().optional().meta({ description: 'the id under which the request was logged' }),
    errors: z
      .array(
        z.object({
          pointer: z
            .string()
            .optional()
            .meta({ description: 'RFC 6901 pointer into the request body, e.g. /A/3' }),
          parameter: z.string().optional().meta({ description: 'the query or path parameter at fault' }),
          header: z.string().optional().meta({ description: 'the request header at fault' }),
          detail: z.string(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'ProblemDetails' });

export type ProblemDetails = z.output<typeof problemDetailsSchema>;

/**
 * A JSON response for a route's `response` map. The content-type form carries a description of its own, so
 * named schemas stay `$ref`s (`.describe()` would clone them into an inline copy).
 */
export function jsonResponse<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } };
}

/** A problem+json response for a route's `response` map. */
export function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: problemDetailsSchema } } };
}

/** 401 on every route that needs an API key (when the service runs with keys). */
export const unauthorizedResponse = problemResponse(
  'no API key, or a wrong one (`Authorization: Bearer <secret>`); `WWW-Authenticate: Bearer` says which',
);

/** 429 on every rate-limited route. */
export const rateLimitedResponse = problemResponse(
  'more requests per second from this API key than RATE_LIMIT_PER_SECOND (`Retry-After` and the ' +
    '`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` headers say when to retry), or more ' +
    'failed authentications from this address than AUTH_FAILURE_LIMIT (`urn:levinv:problem:auth-throttled`)',
);

export const solveBodySchema = solveDocSchema.meta({
  id: 'Problem',
  description:
    'A inverse leverage score problem: A (n x d, as rows or { shape, data }), b and the target leverage ' +
    'scores sigma (one per row), with optional method, start point, cell signs, known answer and options.',
});

export const jobIdParamsSchema = z.object({
  id: z.string().min(1).max(200).meta({ description: 'the job id from POST /solve' }),
});

/** A query integer: query strings are text, so it is coerced (and documented as the integer it becomes). */
function queryInt(min: number, max: number, fallback: number) {
  return z.coerce.number().int().min(min).max(max).default(fallback);
}

export const MAX_PAGE = 100;
export const MAX_ITERATES_PAGE = 1000;

export const listQuerySchema = z.object({
  state: jobStateSchema.optional(),
  limit: queryInt(1, MAX_PAGE, 20),
  cursor: z.string().min(1).optional().meta({ description: 'nextCursor of the previous page' }),
});

export const iteratesQuerySchema = z.object({
  offset: queryInt(0, Number.MAX_SAFE_INTEGER, 0),
  limit: queryInt(1, MAX_ITERATES_PAGE, 100),
});

/** An event id as the stream writes it (`ms-seq`, both parts 64-bit): anything else is a 400, not a 500. */
const eventId = z.string().refine(isEventId, 'expected an event id from this stream (ms-seq)');

export const eventsQuerySchema = z.object({
  lastEventId: eventId
    .optional()
    .meta({ description: 'resume after this event id (for clients that cannot send Last-Event-ID)' }),
});

// Loose: fastify replaces request.headers with the parsed value, so other headers must survive it.
export const solveHeadersSchema = z.looseObject({
  prefer: z
    .string()
    .optional()
    .meta({
      description:
        'RFC 7240; `wait=N` holds the answer until the job is done or N seconds (at most 60) have passed. ' +
        'Other preferences are ignored.',
    }),
  'idempotency-key': z
    .string()
    .regex(/^"?[\x21\x23-\x7e]{1,255}"?$/, 'expected 1 to 255 visible ASCII characters')
    .optional()
    .meta({
      description:
        'makes a retried submit return the original job; reusing a key with another body is a 422. ' +
        'Keys are kept as long as their job.',
    }),
});

export const eventsHeadersSchema = z.looseObject({
  'last-event-id': z
    .string()
    .refine((id) => id === '' || isEventId(id), 'expected an event id from this stream (ms-seq)')
    .optional()
    .meta({ description: 'the id of the last event received (empty: none)' }),
});

export const deliveriesSchema = z
  .object({
    items: z.array(
      z.object({
        event: z.enum(WEBHOOK_EVENTS),
        attempt: z.int().min(1).meta({ description: '1 for the first attempt of this message' }),
        statusCode: z.int().optional().meta({ description: "the receiver's HTTP status, when it answered" }),
        error: z
          .string()
          .optional()
          .meta({ description: 'why the attempt failed (network, timeout, status, refused address)' }),
        at: timestamp.meta({ description: 'when the attempt started' }),
        durationMs: z.number().min(0),
        deliveryId: z
          .string()
          .meta({ description: 'the `webhook-id` header: the same for every attempt of one message' }),
      }),
    ),
  })
  .meta({
    id: 'Deliveries',
    description: `the webhook delivery attempts, oldest first (the last ${MAX_DELIVERIES})`,
  });

export const healthSchema = z.object({ status: z.literal('ok') });
