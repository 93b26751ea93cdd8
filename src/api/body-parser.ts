/**
 * The POST /solve body parser. It reads the body (within the route's body limit, after @fastify/compress has
 * inflated it) and turns it into a `SolveSubmission`: small bodies inline, large ones on the parse pool, so
 * the event loop only ever copies bytes. Validation therefore happens here, and the route's validator only
 * passes the submission through (`solveBodyValidator`), while its zod schema still documents the body.
 */
import type { Readable } from 'node:stream';
import { errorCodes, type FastifyInstance, type FastifyRequest, type FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import type { WebhookConfig } from '../jobs/webhook-config.js';
import type { ParsedProblem } from '../problem/parse.js';
import type { ParsePool } from './parse-pool.js';
import { HttpProblem, RequestValidationError } from './problems.js';
import { prepareSolveBody, type SolveBodyOutcome } from './solve-body.js';
import { whileArriving } from './upload-gate.js';
import { validatorCompiler } from './validation.js';

/** Bodies up to this size are parsed on the event loop (a few ms at most). */
export const INLINE_PARSE_BYTES = 256 * 1024;

/** A validated problem, ready for JobService.submit. */
export class SolveSubmission {
  constructor(
    readonly parsed: ParsedProblem,
    /** present when the request carries an Idempotency-Key */
    readonly fingerprint: string | undefined,
    /** the encoded problem, when the parse thread made it */
    readonly blob: Uint8Array | undefined,
    /** where to POST the job (the body's `webhook`) */
    readonly webhook?: WebhookConfig,
  ) {}
}

export function toSubmission(outcome: SolveBodyOutcome): SolveSubmission {
  if (outcome.ok) {
    return new SolveSubmission(outcome.parsed, outcome.fingerprint, outcome.blob, outcome.webhook);
  }
  if (outcome.issues) throw new RequestValidationError('body', outcome.issues);
  throw new HttpProblem(400, outcome.detail);
}

/**
 * The body as the chunks the socket (or @fastify/compress's inflater) delivered, with fastify's own limit
 * and Content-Length checks. Not joined: Buffer.concat of a 44 MB body held the event loop for ~0.1 s here
 * (fresh pages), 20 such posts for over 2 s; the parse thread joins them instead.
 */
function readChunks(
  request: FastifyRequest,
  payload: Readable,
): Promise<{ chunks: Buffer[]; length: number }> {
  const limit = request.routeOptions.bodyLimit ?? Number.POSITIVE_INFINITY;
  const declared = Number(request.headers['content-length']);
  if (declared > limit) return Promise.reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const stop = (): void => {
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('error', onError);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      length += bytes.length;
      // the inflated size counts (a zip bomb), and so does the encoded one
      const encoded = (payload as Readable & { receivedEncodedLength?: number }).receivedEncodedLength ?? 0;
      if (length > limit || encoded > limit) {
        stop();
        reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = (): void => {
      stop();
      const received =
        (payload as Readable & { receivedEncodedLength?: number }).receivedEncodedLength || length;
      if (!Number.isNaN(declared) && received !== declared) {
        reject(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        return;
      }
      resolve({ chunks, length });
    };
    const onError = (error: Error & { statusCode?: number }): void => {
      stop();
      if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
      reject(error);
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  });
}

/** Registers the parser in `scope` (the /solve plugin), replacing fastify's JSON parser there only. */
export function useSolveBodyParser(scope: FastifyInstance, pool: () => ParsePool): void {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', async (request: FastifyRequest, payload: Readable) => {
    const { chunks, length } = await whileArriving(request, readChunks(request, payload));
    const withFingerprint = request.headers['idempotency-key'] !== undefined;
    const outcome =
      length <= INLINE_PARSE_BYTES
        ? prepareSolveBody(Buffer.concat(chunks, length), withFingerprint)
        : await pool().parse(chunks, withFingerprint);
    return toSubmission(outcome);
  });
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
