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
import { jsonSchemaTransform, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { RedisClient } from '../jobs/redis.js';
import type { JobService } from '../jobs/types.js';
import { fastifyTracing } from '../telemetry/instrumentation.js';
import { type AuthOptions, identityPlugin } from './auth.js';
import { dashboardRoutes } from './dashboard.js';
import { decompression, loadShedding, serverOptions } from './hardening.js';
import type { Limits } from './limits.js';
import { ApiMetrics } from './metrics.js';
import { openapiInfo, transformObject } from './openapi-document.js';
import { ParsePool } from './parse-pool.js';
import { PROBLEM_JSON, toProblem } from './problems.js';
import { RequestLog } from './request-log.js';
import { jobRoutes } from './routes/jobs.js';
import { solveRoutes } from './routes/solve.js';
import { systemRoutes } from './routes/system.js';
import { serializerCompiler } from './serializer.js';
import type { UploadLimits } from './upload-gate.js';
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
  /** request bodies larger than this are a 413 (config MAX_BODY_BYTES); only POST /solve takes large ones */
  maxBodyBytes: number;
  /** API keys and the metrics token; absent: the service is open (every job's owner is '') */
  auth?: AuthOptions;
  /** per-key quotas and per-job limits */
  limits: Limits;
  /** Redis for the rate limiter's store, shared by all API processes; absent: an in-process store */
  rateLimitRedis?: RedisClient;
  /** a request (body included) must arrive within this (config REQUEST_TIMEOUT_MS) */
  requestTimeoutMs?: number;
  /** event-loop delay above which the API sheds load with 503 (config MAX_EVENT_LOOP_DELAY_MS) */
  maxEventLoopDelayMs?: number;
  /** heap use above which the API sheds load with 503; default 90% of the V8 heap limit */
  maxHeapUsedBytes?: number;
  /** how often the load figures are sampled (default 1000 ms; tests use less) */
  pressureSampleIntervalMs?: number;
  /** the built dashboard (index.html, assets/); default dist/web (tests point it elsewhere) */
  dashboardRoot?: string;
  /** the /metrics registry and series; default a new one (`npm start` adds its workers' series to it) */
  metrics?: ApiMetrics;
  /** how long a parse thread may spend on one large body (config PARSE_DEADLINE_MS; default 30 s) */
  parseDeadlineMs?: number;
  /** large POST /solve bodies received at once, in all and per key, and their minimum rate */
  uploads?: Partial<UploadLimits>;
}

/** The body limit of every route but POST /solve: their bodies are empty or a few fields. */
export const SMALL_BODY_BYTES = 16 * 1024;

export const DOCS_PREFIX = '/docs';
/** A caller's X-Request-Id (e.g. from a proxy) ties its logs to ours, when it looks like an id. */
function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
}

export function buildApp(deps: AppDeps): App {
  // The one error handler. The body is sent as a string so that no route's response schema applies to it.
  const smallBodyBytes = Math.min(SMALL_BODY_BYTES, deps.maxBodyBytes);
  const sendProblem = (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const problem = toProblem(
      error,
      request.routeOptions.bodyLimit ?? smallBodyBytes,
      request.headers['content-type'],
    );
    if (problem.unexpected) request.log.error({ err: error }, 'unhandled error');
    const body = { ...problem.body, instance: request.url.split('?')[0], requestId: request.id };
    return reply.code(problem.status).headers(problem.headers).type(PROBLEM_JSON).send(JSON.stringify(body));
  };

  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Small everywhere; POST /solve raises its own limit to maxBodyBytes.
    bodyLimit: smallBodyBytes,
    ...serverOptions(deps.requestTimeoutMs),
    // genReqId reads X-Request-Id itself, so that a hostile value never reaches the logs.
    requestIdHeader: false,
    logController: new RequestLog(),
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
  // While tracing (telemetry/tracing.ts): a span per request, before any other hook or route.
  const tracing = fastifyTracing();
  if (tracing) app.register(tracing);
  // First of the hooks, so that an overloaded API refuses before doing any work for the request.
  app.register(loadShedding, {
    ...(deps.maxEventLoopDelayMs ? { maxEventLoopDelayMs: deps.maxEventLoopDelayMs } : {}),
    ...(deps.maxHeapUsedBytes ? { maxHeapUsedBytes: deps.maxHeapUsedBytes } : {}),
    ...(deps.pressureSampleIntervalMs ? { sampleIntervalMs: deps.pressureSampleIntervalMs } : {}),
  });
  app.register(decompression);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      { statusCode: 404, message: `no route for ${request.method} ${request.url.split('?')[0]}` },
      request,
      reply,
    ),
  );

  const metrics = deps.metrics ?? new ApiMetrics();
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route template, never the raw URL, so that job ids do not explode the label set.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
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

  app.register(identityPlugin, {
    limits: deps.limits,
    ...(deps.auth ? { auth: deps.auth } : {}),
    ...(deps.rateLimitRedis ? { rateLimitRedis: deps.rateLimitRedis } : {}),
  });
  // Threads that parse large POST /solve bodies, started on the first one.
  let parsePool: ParsePool | undefined;
  app.addHook('onClose', async () => parsePool?.close());
  app.register(solveRoutes, {
    jobs: deps.jobs,
    closing: closing.signal,
    limits: deps.limits,
    maxBodyBytes: deps.maxBodyBytes,
    ...(deps.uploads ? { uploads: deps.uploads } : {}),
    onJobCreated: () => metrics.jobSubmitted(),
    parsePool: () => {
      parsePool ??= new ParsePool(deps.parseDeadlineMs ? { deadlineMs: deps.parseDeadlineMs } : {});
      return parsePool;
    },
  });
  app.register(jobRoutes, { jobs: deps.jobs, closing: closing.signal });
  app.register(systemRoutes, { jobs: deps.jobs, metrics });
  app.register(dashboardRoutes, deps.dashboardRoot ? { root: deps.dashboardRoot } : {});
  return app;
}
