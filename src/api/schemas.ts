/**
 * The HTTP layer's own schemas: route parameters, query strings and headers, and the response maps the
 * routes declare. What the API sends and takes (the job, the problem document, problem details) is its
 * public contract, in src/contract; the routes validate and serialize with both, and the OpenAPI document
 * is generated from them.
 */
import { z } from 'zod';
import { isEventId } from '../contract/events.js';
import { jobStateSchema } from '../contract/job.js';
import { problemDetailsSchema } from '../contract/problem-details.js';

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

export const healthSchema = z.object({ status: z.literal('ok') });
