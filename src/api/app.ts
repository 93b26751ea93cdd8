/**
 * The HTTP app factory: routes, validation, OpenAPI, the one error handler. No `listen`: the server entry
 * points (src/main/api.ts, start.ts) listen, tests drive `app.server` directly, and `openapi.ts` only asks
 * for the document.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawServerDefault,
} from 'fastify';
import { jsonSchemaTransform, serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { JobService } from '../jobs/types.js';
import { createHttpMetrics } from './metrics.js';
import { openapiInfo, transformObject } from './openapi.js';
import { PROBLEM_JSON, toProblem } from './problems.js';
import { jobRoutes } from './routes/jobs.js';
import { solveRoutes } from './routes/solve.js';
import { systemRoutes } from './routes/system.js';
import { validatorCompiler } from './validation.js';

export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

export interface AppDeps {
  jobs: JobService;
  /** a pino logger; none: the app logs nothing */
  logger?: FastifyBaseLogger;
  /** request bodies larger than this are a 413 (config MAX_BODY_BYTES) */
  maxBodyBytes: number;
}

export const DOCS_PREFIX = '/docs';
/** A caller's X-Request-Id (e.g. from a proxy) ties its logs to ours, when it looks like an id. */
function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
}

export function buildApp(deps: AppDeps): App {
  // The one error handler. The body is sent as a string so that no route's response schema applies to it.
  const sendProblem = (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const problem = toProblem(error, deps.maxBodyBytes);
    if (problem.unexpected) request.log.error({ err: error }, 'unhandled error');
    const body = { ...problem.body, instance: request.url.split('?')[0], requestId: request.id };
    return reply.code(problem.status).headers(problem.headers).type(PROBLEM_JSON).send(JSON.stringify(body));
  };

  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: deps.maxBodyBytes,
    // genReqId reads X-Request-Id itself, so that a hostile value never reaches the logs.
    requestIdHeader: false,
    genReqId: requestId,
    // Routes like /jobs/:id/events/ should not 404 on a trailing slash.
    routerOptions: { ignoreTrailingSlash: true },
    // Errors fastify answers before routing (a malformed URL, an over-long parameter) speak problem+json too.
    frameworkErrors: (error, request, reply) => {
      sendProblem(error, request, reply);
    },
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  // Bodies are JSON only: fastify's default text/plain parser would turn any text into a string body.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((error, request, reply) => sendProblem(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      { statusCode: 404, message: `no route for ${request.method} ${request.url.split('?')[0]}` },
      request,
      reply,
    ),
  );

  const httpMetrics = createHttpMetrics();
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route template, never the raw URL, so that job ids do not explode the label set.
    const route = request.routeOptions.url ?? 'unmatched';
    httpMetrics.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.register(fastifySwagger, {
    openapi: openapiInfo(),
    transform: jsonSchemaTransform,
    transformObject,
  });
  app.register(fastifySwaggerUi, { routePrefix: DOCS_PREFIX });

  // Event streams end when the server closes, so that close() does not wait for their jobs to finish.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());

  app.register(solveRoutes, { jobs: deps.jobs });
  app.register(jobRoutes, { jobs: deps.jobs, closing: closing.signal });
  app.register(systemRoutes, { jobs: deps.jobs, httpMetrics });
  return app;
}
