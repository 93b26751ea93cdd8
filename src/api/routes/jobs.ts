/** The job resource: read, page iterates, stream events, cancel, delete, list. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  deliveriesSchema,
  iteratePageSchema,
  jobPageSchema,
  jobSchema,
  resultVectorSchema,
} from '../../contract/job.js';
import type { JobService } from '../../jobs/types.js';
import { encodeNpy } from '../../problem/npy.js';
import { HttpProblem, jobNotFound, PROBLEM_TYPES } from '../problems.js';
import {
  eventsHeadersSchema,
  eventsQuerySchema,
  iteratesQuerySchema,
  jobIdParamsSchema,
  jsonResponse,
  listQuerySchema,
  problemResponse,
  rateLimitedResponse,
  unauthorizedResponse,
} from '../schemas.js';
import { streamEvents } from '../sse.js';
import { retryAfterSeconds } from './solve.js';

const notFound = problemResponse(
  'no job with this id for this API key (never submitted, made with another key, deleted, or expired)',
);
const unavailable = problemResponse('the job store is unavailable, or the API is overloaded (`Retry-After`)');
const badRequest = problemResponse('a parameter is invalid');
/** What every job route may answer besides its own statuses. */
const common = { 401: unauthorizedResponse, 429: rateLimitedResponse, 503: unavailable } as const;

export const jobRoutes: FastifyPluginAsyncZod<{ jobs: JobService; closing: AbortSignal }> = async (
  app,
  { jobs, closing },
) => {
  app.get('/jobs/:id', {
    schema: {
      tags: ['jobs'],
      summary: 'Get a job',
      description:
        'The job with its progress, and its result or error once `done`. `Retry-After` while not done.',
      params: jobIdParamsSchema,
      response: { 200: jsonResponse('the job', jobSchema), 404: notFound, ...common },
    },
    handler: async (request, reply) => {
      const job = await jobs.get(request.params.id, request.owner);
      if (!job) throw jobNotFound(request.params.id);
      if (!job.done) reply.header('retry-after', retryAfterSeconds(job));
      return job;
    },
  });

  app.get('/jobs/:id/result/:vector', {
    schema: {
      tags: ['jobs'],
      summary: 'A result vector as a NumPy .npy file',
      description:
        '`leverage.npy` (n scores), `x.npy` (d numbers) or `signs.npy` (n values +1/-1: the cell of x, ' +
        'the sign of each slack a_i^T x - b_i; not in the JSON) of a job that has a result (succeeded, or ' +
        'cancelled while running), as a little-endian float64 `.npy` file: for large n, instead of ' +
        'reading the JSON. 409 while the job has no result yet.',
      params: jobIdParamsSchema.extend({
        vector: resultVectorSchema,
      }),
      response: {
        200: {
          description: 'the vector, a NumPy .npy file (float64, little-endian)',
          content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } },
        },
        404: notFound,
        409: problemResponse('the job has no result (yet)'),
        ...common,
      },
    },
    handler: async (request, reply) => {
      const job = await jobs.get(request.params.id, request.owner);
      if (!job) throw jobNotFound(request.params.id);
      const name = request.params.vector.slice(0, -'.npy'.length) as 'leverage' | 'x' | 'signs';
      const values = job.result?.[name] as (number | null)[] | undefined;
      if (!job.result) {
        throw new HttpProblem(
          409,
          `job '${request.params.id}' has no result${job.done ? '' : ' yet'} (${job.state})`,
        );
      }
      // results stored before the solver reported its cell have no signs
      if (!values) throw new HttpProblem(409, `the result of job '${request.params.id}' has no ${name}`);
      // a non-finite value is null in JSON (schemas.ts float); NaN in the file
      const data = Float64Array.from(values, (v) => (v === null ? Number.NaN : v));
      return (
        reply
          .type('application/octet-stream')
          .header('content-disposition', `attachment; filename="${name}.npy"`)
          // bytes, sent as they are (the schema's string only documents a binary body)
          .send(encodeNpy(data, [data.length]) as never)
      );
    },
  });

  app.get('/jobs/:id/iterates', {
    schema: {
      tags: ['jobs'],
      summary: 'Page through the iterates',
      description:
        'The iterates recorded so far, readable while the job runs. Pass `nextOffset` as the next `offset`; ' +
        'an empty page means none newer yet (or none at all, once the job is done).',
      params: jobIdParamsSchema,
      querystring: iteratesQuerySchema,
      response: {
        200: jsonResponse('a page of iterates', iteratePageSchema),
        400: badRequest,
        404: notFound,
        ...common,
      },
    },
    handler: async (request) => {
      const { offset, limit } = request.query;
      const page = await jobs.iterates(request.params.id, request.owner, offset, limit);
      if (!page) throw jobNotFound(request.params.id);
      return page;
    },
  });

  app.get('/jobs/:id/deliveries', {
    schema: {
      tags: ['jobs'],
      summary: "The job's webhook deliveries",
      description:
        'One item per delivery attempt of the webhook given at submission, oldest first (the last 100): ' +
        "the event, the attempt number, the receiver's status or the error, when, how long it took, and " +
        'the `webhook-id`. Failed attempts (network errors, timeouts, 429, 5xx) are retried with ' +
        'exponential backoff, 6 tries over about an hour; a redirect, another 4xx or a refused address is ' +
        'final. Empty for a job without a webhook.',
      params: jobIdParamsSchema,
      response: { 200: jsonResponse('the delivery attempts', deliveriesSchema), 404: notFound, ...common },
    },
    handler: async (request) => {
      const items = await jobs.deliveries(request.params.id, request.owner);
      if (!items) throw jobNotFound(request.params.id);
      return { items };
    },
  });

  app.get('/jobs/:id/events', {
    schema: {
      tags: ['jobs'],
      summary: 'Stream job events (Server-Sent Events)',
      description:
        'Events `state` (a state change), `progress` (iteration, loss, gradNorm; throttled) and a final ' +
        '`done` carrying the finished job, after which the stream ends. Each event has an `id:`; a ' +
        'reconnecting client sends `Last-Event-ID` (or `?lastEventId=`) and receives only later events. ' +
        'Open streams and `Prefer: wait` requests count against MAX_HELD_REQUESTS_PER_KEY: a stream over ' +
        'it is a 429 (`urn:levinv:problem:too-many-held-requests`) with `Retry-After`.',
      params: jobIdParamsSchema,
      querystring: eventsQuerySchema,
      headers: eventsHeadersSchema,
      response: {
        200: {
          description: 'an event stream',
          content: { 'text/event-stream': { schema: z.string() } },
        },
        400: problemResponse('Last-Event-ID (or lastEventId) is not an event id of this stream'),
        404: notFound,
        ...common,
      },
    },
    handler: async (request, reply) => {
      const { id } = request.params;
      const { owner } = request;
      // Held until the stream ends, whichever way: the job is done, the client goes, the server closes.
      const lease = app.heldRequests.tryHold(request);
      if (!lease) throw app.heldRequests.refusal(request);
      try {
        // Checked before the stream starts, while a 404 can still be a status code.
        if (!(await jobs.exists(id, owner))) throw jobNotFound(id);
        const lastEventId = request.headers['last-event-id'] || request.query.lastEventId;
        reply.hijack();
        await streamEvents(
          reply.raw,
          { 'x-request-id': request.id },
          (signal) => jobs.events(id, owner, lastEventId, signal),
          request.log,
          closing,
        );
      } finally {
        lease.release();
      }
    },
  });

  app.post('/jobs/:id/cancel', {
    schema: {
      tags: ['jobs'],
      summary: 'Cancel a job',
      description:
        'A queued job is cancelled at once (200). A running job stops within one iteration: the answer is ' +
        '202 with the job still `running`; follow it to `cancelled`. A finished job is returned unchanged (200).',
      params: jobIdParamsSchema,
      response: {
        200: jsonResponse('the job, finished', jobSchema),
        202: jsonResponse('the job, asked to stop', jobSchema),
        404: notFound,
        ...common,
      },
    },
    handler: async (request, reply) => {
      const job = await jobs.cancel(request.params.id, request.owner);
      if (!job) throw jobNotFound(request.params.id);
      if (job.done) return reply.code(200).send(job);
      reply.header('retry-after', retryAfterSeconds(job));
      return reply.code(202).send(job);
    },
  });

  app.delete('/jobs/:id', {
    schema: {
      tags: ['jobs'],
      summary: 'Delete a job',
      description: 'Forgets a job that is not running, with its problem, iterates and result.',
      params: jobIdParamsSchema,
      response: {
        204: z.undefined().describe('deleted'),
        404: notFound,
        409: problemResponse('the job is running; cancel it first'),
        ...common,
      },
    },
    handler: async (request, reply) => {
      const outcome = await jobs.remove(request.params.id, request.owner);
      if (outcome === 'not-found') throw jobNotFound(request.params.id);
      if (outcome === 'running') {
        throw new HttpProblem(409, `job '${request.params.id}' is running; cancel it before deleting it`, {
          type: PROBLEM_TYPES.jobRunning,
          title: 'Job is running',
        });
      }
      return reply.code(204).send();
    },
  });

  app.get('/jobs', {
    schema: {
      tags: ['jobs'],
      summary: 'List jobs',
      description:
        'The retained jobs of the calling API key, newest first, optionally of one state. Follow ' +
        '`nextCursor` for older ones.',
      querystring: listQuerySchema,
      response: { 200: jsonResponse('a page of jobs', jobPageSchema), 400: badRequest, ...common },
    },
    handler: async (request) => {
      const { state, limit, cursor } = request.query;
      return jobs.list({
        owner: request.owner,
        limit,
        ...(state ? { state } : {}),
        ...(cursor ? { cursor } : {}),
      });
    },
  });
};
