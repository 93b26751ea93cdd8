/** `POST /solve`: validate the problem, queue a job, answer 202 with where to follow it. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { JobService, JobView } from '../../jobs/types.js';
import { toParsedProblem } from '../../problem/parse.js';
import { fingerprint } from '../fingerprint.js';
import { jobSchema, jsonResponse, problemResponse, solveBodySchema, solveHeadersSchema } from '../schemas.js';

/** Seconds a client should wait before polling a job in `state`. */
export function retryAfterSeconds(job: JobView): string {
  return job.state === 'queued' ? '2' : '1';
}

/** The Idempotency-Key as a plain token (the draft standard sends it as a quoted structured string). */
function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return header.length >= 2 && header.startsWith('"') && header.endsWith('"') ? header.slice(1, -1) : header;
}

export const solveRoutes: FastifyPluginAsyncZod<{ jobs: JobService }> = async (app, { jobs }) => {
  app.post('/solve', {
    schema: {
      tags: ['jobs'],
      summary: 'Submit a problem',
      description:
        'Validates the problem and queues it. Answers 202 with the job, `Location: /jobs/{id}` and ' +
        '`Retry-After`. Checks that need the numbers (rank, an empty cell) run in the worker: such a job ' +
        'ends `failed` with the solver error. With an `Idempotency-Key`, a retry answers 200 with the ' +
        'original job.',
      headers: solveHeadersSchema,
      body: solveBodySchema,
      response: {
        200: jsonResponse('an earlier submission with the same Idempotency-Key', jobSchema),
        202: jsonResponse('the queued job', jobSchema),
        400: problemResponse('the body is not a valid problem; `errors` has one JSON pointer per bad field'),
        413: problemResponse('the body is larger than the configured limit'),
        422: problemResponse('the Idempotency-Key was used with another body'),
        503: problemResponse('the job store is unavailable'),
      },
    },
    handler: async (request, reply) => {
      const parsed = toParsedProblem(request.body);
      const key = idempotencyKey(request.headers['idempotency-key']);
      const { job, created } = await jobs.submit({
        ...parsed,
        ...(key === undefined ? {} : { idempotencyKey: key, fingerprint: fingerprint(parsed) }),
      });
      reply.header('location', `/jobs/${encodeURIComponent(job.id)}`);
      if (!job.done) reply.header('retry-after', retryAfterSeconds(job));
      return reply.code(created ? 202 : 200).send(job);
    },
  });
};
