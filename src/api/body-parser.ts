/**
 * The POST /solve body parser. It reads the body (within the route's body limit, after @fastify/compress has
 * inflated it) and turns it into a `SolveSubmission`: small bodies inline, large ones on the parse pool, so
 * the event loop only ever copies bytes. Validation therefore happens here, and the route's validator only
 * passes the submission through (`solveBodyValidator`), while its zod schema still documents the body.
 */
import type { FastifyInstance, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import type { ParsedProblem } from '../problem/parse.js';
import type { ParsePool } from './parse-pool.js';
import { HttpProblem, RequestValidationError } from './problems.js';
import { prepareSolveBody, type SolveBodyOutcome } from './solve-body.js';
import { validatorCompiler } from './validation.js';

/** Bodies up to this size are parsed on the event loop (a few ms at most). */
export const INLINE_PARSE_BYTES = 256 * 1024;

/** A validated problem, ready for JobService.submit. */
export class SolveSubmission {
  constructor(
    readonly parsed: ParsedProblem,
    /** present when the request carries an Idempotency-Key */
    readonly fingerprint: string | undefined,
  ) {}
}

function toSubmission(outcome: SolveBodyOutcome): SolveSubmission {
  if (outcome.ok) return new SolveSubmission(outcome.parsed, outcome.fingerprint);
  if (outcome.issues) throw new RequestValidationError('body', outcome.issues);
  throw new HttpProblem(400, outcome.detail);
}

/** Registers the parser in `scope` (the /solve plugin), replacing fastify's JSON parser there only. */
export function useSolveBodyParser(scope: FastifyInstance, pool: () => ParsePool): void {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    async (request: FastifyRequest, bytes: Buffer) => {
      const withFingerprint = request.headers['idempotency-key'] !== undefined;
      const outcome =
        bytes.length <= INLINE_PARSE_BYTES
          ? prepareSolveBody(bytes, withFingerprint)
          : await pool().parse(bytes, withFingerprint);
      return toSubmission(outcome);
    },
  );
}

/**
 * The route-level validator of POST /solve: the body was validated by the parser, other parts (headers)
 * by the usual zod validator. A request without a body never met the parser, so it is refused here.
 */
export function solveBodyValidator<S>(
  route: Parameters<FastifySchemaCompiler<S>>[0],
): ReturnType<FastifySchemaCompiler<S>> {
  if (route.httpPart !== 'body')
    return validatorCompiler(route as unknown as Parameters<FastifySchemaCompiler<z.ZodType>>[0]);
  return (data: unknown) =>
    data instanceof SolveSubmission
      ? { value: data }
      : {
          error: new HttpProblem(400, 'the body must be a problem document (Content-Type: application/json)'),
        };
}
