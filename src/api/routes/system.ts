/** Operations endpoints: liveness, readiness, Prometheus metrics. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { JobService, QueueStats } from '../../jobs/types.js';
import { type ApiMetrics, PROMETHEUS_CONTENT_TYPE } from '../metrics.js';
import { HttpProblem, PROBLEM_TYPES } from '../problems.js';
import { healthSchema, jsonResponse, problemResponse, unauthorizedResponse } from '../schemas.js';

/** Probes and scrapes must get through however busy the clients are. */
const NOT_RATE_LIMITED = { rateLimit: false } as const;

export const systemRoutes: FastifyPluginAsyncZod<{ jobs: JobService; metrics: ApiMetrics }> = async (
  app,
  { jobs, metrics },
) => {
  app.get('/healthz', {
    config: NOT_RATE_LIMITED,
    schema: {
      tags: ['operations'],
      summary: 'Liveness',
      description: 'The process is up; says nothing about Redis (see /readyz). Needs no API key.',
      security: [],
      response: { 200: jsonResponse('alive', healthSchema) },
    },
    handler: async () => ({ status: 'ok' as const }),
  });

  app.get('/readyz', {
    config: NOT_RATE_LIMITED,
    schema: {
      tags: ['operations'],
      summary: 'Readiness',
      description:
        'Ready when the job store answers; 503 otherwise, so a load balancer stops routing here. Needs no ' +
        'API key.',
      security: [],
      response: {
        200: jsonResponse('ready', healthSchema),
        503: problemResponse('the job store does not answer'),
      },
    },
    handler: async () => {
      const ok = await jobs.ping().catch(() => false);
      if (!ok) {
        throw new HttpProblem(503, 'the job store does not answer', {
          type: PROBLEM_TYPES.storeUnavailable,
          title: 'Job store unavailable',
          headers: { 'retry-after': '5' },
        });
      }
      return { status: 'ok' as const };
    },
  });

  app.get('/metrics', {
    config: NOT_RATE_LIMITED,
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics',
      description:
        'Per process (sum over replicas): Node.js process metrics (process_*, nodejs_*, e.g. ' +
        'nodejs_eventloop_lag_seconds), levinv_http_request_duration_seconds{method,route,status_code} ' +
        '(histogram), levinv_http_requests_total{method,route,status_code}, levinv_jobs_submitted_total, ' +
        'levinv_store_up. Cluster-wide, read from Redis (the same on every replica: take max): ' +
        'levinv_jobs{state}, levinv_queue_depth, levinv_solve_duration_seconds (histogram). Needs `Authorization: Bearer <METRICS_TOKEN>` when that is set, else any API key when the ' +
        'service has keys. Not rate-limited.',
      security: [{ metricsToken: [] }, { apiKey: [] }],
      response: {
        200: {
          description: 'Prometheus text exposition format 0.0.4',
          content: { 'text/plain': { schema: z.string() } },
        },
        401: unauthorizedResponse,
      },
    },
    handler: async (request, reply) => {
      let stats: QueueStats | null = null;
      try {
        stats = await jobs.stats();
      } catch (error) {
        // A scrape during a Redis outage still reports HTTP figures, and levinv_store_up 0.
        request.log.warn({ err: error }, 'job stats unavailable for /metrics');
      }
      // A string with its content type set is sent as is, past the route's serializer.
      return reply.type(PROMETHEUS_CONTENT_TYPE).send(await metrics.render(stats));
    },
  });
};
