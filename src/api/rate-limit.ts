/**
 * The per-key request rate limit (@fastify/rate-limit): RATE_LIMIT_PER_SECOND requests per key (per client
 * address when the service is open) in a 1 s window, counted in Redis when a connection is given (so that
 * every API process shares one count) and in process otherwise. Routes opt out with
 * `config: { rateLimit: false }` (health, readiness, metrics).
 */
import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import type { RedisClient } from '../jobs/redis.js';
import { HttpProblem } from './problems.js';

export const RATE_LIMITED_TYPE = 'urn:levinv:problem:rate-limited';
export const RATE_LIMIT_WINDOW_MS = 1000;
/** Redis keys of the limiter: `levinv:rate-limit:key:<name>` or `...:ip:<address>`, each living one window. */
export const RATE_LIMIT_NAMESPACE = 'levinv:rate-limit:';

/** Whom a request counts against: its API key, or its address when the service is open. */
export function rateLimitKey(request: FastifyRequest): string {
  return request.owner === '' ? `ip:${request.ip}` : `key:${request.owner}`;
}

export function rateLimitOptions(ratePerSecond: number, redis?: RedisClient): RateLimitPluginOptions {
  return {
    global: true,
    max: ratePerSecond,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    // Refused before the body is read: a request over the limit costs no parsing and queues nothing.
    hook: 'onRequest',
    // RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset (and Retry-After on a 429)
    enableDraftSpec: true,
    // A limiter whose Redis is down lets requests through rather than failing them.
    skipOnError: true,
    keyGenerator: rateLimitKey,
    ...(redis ? { redis, nameSpace: RATE_LIMIT_NAMESPACE } : {}),
    errorResponseBuilder: (request, context) => {
      const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
      const who = request.owner === '' ? 'client address' : 'API key';
      return new HttpProblem(
        429,
        `more than ${context.max} requests per second from this ${who} (RATE_LIMIT_PER_SECOND); retry in ${seconds} s`,
        { type: RATE_LIMITED_TYPE, title: 'Too Many Requests', headers: { 'retry-after': String(seconds) } },
      );
    },
  };
}
