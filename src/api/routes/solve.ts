/** `POST /solve`: validate the problem, apply the per-job limits, queue a job, answer 202 with where to follow it. */
import fastifyMultipart from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { jobSchema } from '../../contract/job.js';
import { solveBodySchema } from '../../contract/solve.js';
import type { JobService, JobView } from '../../jobs/types.js';
import {
  INLINE_PARSE_BYTES,
  type SolveSubmission,
  solveBodyValidator,
  useSolveBodyParser,
} from '../body-parser.js';
import { applyLimits, checkWebhookAllowed, type Limits } from '../limits.js';
import { readMultipartSolve, refuseEncodedMultipart } from '../multipart-body.js';
import type { ParsePool } from '../parse-pool.js';
import { preferredWait } from '../prefer.js';
import { jsonResponse, problemResponse, solveHeadersSchema } from '../schemas.js';
import { DEFAULT_UPLOAD_LIMITS, type UploadLimits, uploadGate } from '../upload-gate.js';

/** Seconds a client should wait before polling a job in `state`. */
export function retryAfterSeconds(job: JobView): string {
  return job.state === 'queued' ? '2' : '1';
}

/** The Idempotency-Key as a plain token (the draft standard sends it as a quoted structured string). */
function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return header.length >= 2 && header.startsWith('"') && header.endsWith('"') ? header.slice(1, -1) : header;
}

export interface SolveRouteOptions {
  jobs: JobService;
  limits: Limits;
  /** the largest body this route takes (config MAX_BODY_BYTES); every other route takes small ones only */
  maxBodyBytes: number;
  /** the threads that parse large bodies */
  parsePool: () => ParsePool;
  /** how many large bodies are received at once, and how slowly they may arrive (DEFAULT_UPLOAD_LIMITS) */
  uploads?: Partial<UploadLimits>;
  /** aborts when the server closes: a request held by `Prefer: wait` is answered at once */
  closing?: AbortSignal;
  /** called once per job this route creates (not for an idempotent replay): the per-process counter */
  onJobCreated?: () => void;
}

export const solveRoutes: FastifyPluginAsyncZod<SolveRouteOptions> = async (app, options) => {
  const { jobs, limits } = options;
  // This plugin's scope only: POST /solve bodies are parsed and validated off the event loop.
  useSolveBodyParser(app, options.parsePool);
  // Binary uploads (multipart/form-data with .npy parts): read in preValidation (multipart-body.ts).
  await app.register(fastifyMultipart, { limits: { fileSize: options.maxBodyBytes } });

  app.post('/solve', {
    bodyLimit: options.maxBodyBytes,
    onRequest: [
      refuseEncodedMultipart,
      uploadGate({ ...DEFAULT_UPLOAD_LIMITS, ...options.uploads, thresholdBytes: INLINE_PARSE_BYTES }),
    ],
    validatorCompiler: solveBodyValidator,
    preValidation: async (request) => {
      if (request.isMultipart()) {
        // the handler reads the body as a SolveSubmission (solveBodyValidator lets nothing else through)
        request.body = (await readMultipartSolve(request, options.parsePool, INLINE_PARSE_BYTES)) as never;
      }
    },
    schema: {
      tags: ['jobs'],
      summary: 'Submit a problem',
      description:
        'Validates the problem and queues it. Answers 202 with the job, `Location: /jobs/{id}` and ' +
        '`Retry-After`. Checks that need the numbers (rank, an empty cell) run in the worker: such a job ' +
        'ends `failed` with the solver error. With an `Idempotency-Key`, a retry answers 200 with the ' +
        'original job. The body may be sent with `Content-Encoding: gzip`, `deflate` or `br`; the body ' +
        'limit applies to its decompressed size. Large problems can come in binary instead: ' +
        '`multipart/form-data` with the arrays as NumPy `.npy` parts (little-endian float64, C order; ' +
        '`A` n x d, `b`, `sigma`, and optionally `x0`, `signs`, `regularization`, `xStar`) and a `json` ' +
        'part with the rest (`method`, `options`), checked with the same messages. With `Prefer: wait=N` (RFC 7240, N at most 60) the ' +
        'answer waits until the job is done or N seconds have passed: a done job is a 200 with its ' +
        'result (one round trip for a small problem), otherwise the 202 as without it; ' +
        '`Preference-Applied: wait=N` says it waited. With `webhook: {url, events}` the job is POSTed to ' +
        '`url` (the JSON of GET /jobs/{id}, signed per Standard Webhooks) on `start`, `progress` (at most ' +
        'once a second) and `completed` (the default: any final state); see GET /jobs/{id}/deliveries. ' +
        'A key already holding MAX_HELD_REQUESTS_PER_KEY event streams and waits gets no wait: the ' +
        'immediate 202, without Preference-Applied. A large body (over 256 KiB, chunked or compressed) takes ' +
        "one of its key's MAX_LARGE_UPLOADS_PER_KEY upload slots while it arrives, and must keep arriving " +
        'at MIN_UPLOAD_BYTES_PER_SECOND. A multipart body is never compressed.',
      headers: solveHeadersSchema,
      body: solveBodySchema,
      response: {
        200: jsonResponse(
          'an earlier submission with the same Idempotency-Key, or (with `Prefer: wait`) the job done',
          jobSchema,
        ),
        202: jsonResponse('the queued job', jobSchema),
        400: problemResponse('the body is not a valid problem; `errors` has one JSON pointer per bad field'),
        408: problemResponse(
          'the body did not arrive within REQUEST_TIMEOUT_MS, or a large body arrived slower than ' +
            'MIN_UPLOAD_BYTES_PER_SECOND over an UPLOAD_GRACE_MS window',
        ),
        413: problemResponse(
          'the body, the problem or the multipart `json` part is larger than the configured limits, or ' +
            'the body takes longer than PARSE_DEADLINE_MS to parse',
        ),
        415: problemResponse(
          'the body is not JSON or multipart, its Content-Encoding is not supported, or a multipart body ' +
            'is compressed',
        ),
        422: problemResponse(
          'the Idempotency-Key was used with another body, a per-job limit is exceeded, or the body has a ' +
            '`webhook` and the server has no WEBHOOK_SECRET (`urn:levinv:problem:webhooks-disabled`)',
        ),
        429: problemResponse(
          'too many requests, too many jobs queued or running, or too many large uploads arriving ' +
            '(`urn:levinv:problem:too-many-uploads`) for this API key, or too many failed authentications ' +
            'from this address (`urn:levinv:problem:auth-throttled`); `Retry-After` says when to retry',
        ),
        503: problemResponse('the job store is unavailable, or the server is overloaded'),
      },
    },
    handler: async (request, reply) => {
      // The body parser produced it (solveBodyValidator lets nothing else through).
      const submission = request.body as unknown as SolveSubmission;
      const parsed = applyLimits(submission.parsed, limits);
      checkWebhookAllowed(submission.webhook, limits);
      const key = idempotencyKey(request.headers['idempotency-key']);
      const { job, created } = await jobs.submit({
        ...parsed,
        ...(submission.blob ? { blob: submission.blob } : {}),
        owner: request.owner,
        ...(limits.maxActiveJobsPerKey > 0 ? { maxActiveJobs: limits.maxActiveJobsPerKey } : {}),
        ...(key === undefined ? {} : { idempotencyKey: key, fingerprint: submission.fingerprint }),
        ...(submission.webhook ? { webhook: submission.webhook } : {}),
      });
      if (created) options.onJobCreated?.();
      reply.header('location', `/jobs/${encodeURIComponent(job.id)}`);
      const wait = preferredWait(request.headers.prefer);
      // A key already holding MAX_HELD_REQUESTS_PER_KEY requests gets no wait, not a 429: the job is queued
      // by now, and a preference may go unapplied (RFC 7240); the answer is the 202 it handles anyway.
      const lease = wait === undefined || job.done ? undefined : app.heldRequests.tryHold(request);
      if (wait === undefined || lease === undefined) {
        if (!job.done) reply.header('retry-after', retryAfterSeconds(job));
        return reply.code(created ? 202 : 200).send(job);
      }
      // Held until done: stop waiting when the client goes away or the server closes.
      const gone = new AbortController();
      const onClose = (): void => gone.abort();
      reply.raw.once('close', onClose);
      options.closing?.addEventListener('abort', onClose);
      try {
        const now = (await jobs.waitUntilDone(job.id, request.owner, wait * 1000, gone.signal)) ?? job;
        reply.header('preference-applied', `wait=${wait}`);
        if (!now.done) reply.header('retry-after', retryAfterSeconds(now));
        return reply.code(now.done || !created ? 200 : 202).send(now);
      } finally {
        lease.release();
        reply.raw.off('close', onClose);
        options.closing?.removeEventListener('abort', onClose);
      }
    },
  });
};
