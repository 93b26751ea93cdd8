/**
 * Identity: API keys (Bearer tokens, checked by @fastify/bearer-auth in constant time), the owner of each
 * request, the throttle of failed authentication (auth-throttle.ts), and the per-key limits of requests:
 * their rate, and how many a key holds open (held-requests.ts, `app.heldRequests`). With keys, every route
 * but the public ones needs a key; /metrics takes the metrics token when one is set. Without keys (and
 * without a metrics token) the service is open and every request's owner is ''.
 */
import fastifyBearerAuth from '@fastify/bearer-auth';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RedisClient } from '../jobs/redis.js';
import { AuthThrottle } from './auth-throttle.js';
import { HeldRequests } from './held-requests.js';
import type { Limits } from './limits.js';
import { HttpProblem } from './problems.js';
import { rateLimitOptions } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the API key's name; '' when the service runs without API keys */
    owner: string;
  }
}

/** name -> secret */
export interface AuthOptions {
  keys: ReadonlyMap<string, string>;
  /** when set, /metrics takes only this token */
  metricsToken?: string;
}

export interface IdentityOptions {
  /** absent: the service is open and every request's owner is '' */
  auth?: AuthOptions;
  limits: Limits;
  /** the rate limiter's shared store; absent: an in-process store */
  rateLimitRedis?: RedisClient;
}

export const UNAUTHORIZED_TYPE = 'urn:levinv:problem:unauthorized';
const REALM = 'levinv';
const METRICS_ROUTE = '/metrics';

/**
 * Routes anyone may call: liveness, readiness, the API reference and the dashboard page with their assets
 * (the page holds no data: it asks the API with the key its user types in).
 */
export function isPublicRoute(routeUrl: string | undefined): boolean {
  if (routeUrl === undefined) return false;
  return (
    routeUrl === '/healthz' ||
    routeUrl === '/readyz' ||
    routeUrl === '/docs' ||
    routeUrl.startsWith('/docs/') ||
    routeUrl === '/' ||
    routeUrl.startsWith('/assets/')
  );
}

type Verify = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

/** The token of a well-formed `Bearer` header (the scheme is case-insensitive), as the plugin reads it. */
function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.raw.headers.authorization;
  if (header === undefined || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  return header.slice(7).trim();
}

/** RFC 6750: no error code when no Bearer credentials came; invalid_token when a wrong one did. */
function unauthorized(request: FastifyRequest, what: string): HttpProblem {
  const sent = bearerToken(request) !== undefined;
  return new HttpProblem(
    401,
    sent
      ? `the bearer token is not a valid ${what}`
      : `this route needs an ${what}: send the header 'Authorization: Bearer <${what}>'`,
    {
      type: UNAUTHORIZED_TYPE,
      title: 'Unauthorized',
      headers: {
        'www-authenticate': sent
          ? `Bearer realm="${REALM}", error="invalid_token"`
          : `Bearer realm="${REALM}"`,
      },
    },
  );
}

export const identityPlugin = fp<IdentityOptions>(
  async (app, { auth, limits, rateLimitRedis }) => {
    app.decorateRequest('owner', '');
    app.decorate('heldRequests', new HeldRequests(limits.maxHeldRequestsPerKey ?? 0));

    const keys = auth?.keys ?? new Map<string, string>();
    const metricsToken = auth?.metricsToken;
    if (keys.size > 0 || metricsToken !== undefined) {
      /** secret -> name, read only after the plugin has accepted the secret (so in constant time) */
      const ownerOf = new Map([...keys].map(([name, secret]) => [secret, name]));
      const common = {
        addHook: false,
        // RFC 7235: the scheme is case-insensitive (the plugin calls this mode rfc6749)
        specCompliance: 'rfc6749',
        verifyErrorLogLevel: 'debug',
      } as const;
      await app.register(fastifyBearerAuth, { ...common, keys: [...keys.values()] });
      const verifyKey: Verify | undefined = keys.size > 0 ? app.verifyBearerAuth : undefined;
      const verifyMetrics: Verify | undefined =
        metricsToken === undefined
          ? verifyKey
          : app.verifyBearerAuthFactory?.({ ...common, keys: [metricsToken] });

      const failures = limits.authFailures;
      const throttle =
        failures && failures.limit > 0
          ? new AuthThrottle({
              ...failures,
              log: app.log,
              ...(rateLimitRedis ? { redis: rateLimitRedis } : {}),
            })
          : undefined;

      app.addHook('onRequest', (request, reply, done) => {
        const route = request.routeOptions.url;
        if (isPublicRoute(route)) return done();
        const metrics = route === METRICS_ROUTE;
        const verify = metrics ? verifyMetrics : verifyKey;
        if (verify === undefined) return done();
        // Before the key is looked at: a throttled address learns nothing from its guesses.
        const refused = throttle?.refusal(request.ip);
        if (refused) return done(refused);
        verify(request, reply, (error) => {
          if (!error) {
            if (!metrics) request.owner = ownerOf.get(bearerToken(request) ?? '') ?? '';
            return done();
          }
          const problem = unauthorized(request, metrics && metricsToken ? 'metrics token' : 'API key');
          if (throttle === undefined || bearerToken(request) === undefined) return done(problem);
          throttle.failed(request).then(
            (tooMany) => done(tooMany ?? problem),
            () => done(problem),
          );
        });
      });
    }

    // After the key check: its hook runs per route, after the instance's onRequest hooks, so it sees the owner.
    if (limits.ratePerSecond > 0) {
      await app.register(fastifyRateLimit, rateLimitOptions(limits.ratePerSecond, rateLimitRedis));
    }
  },
  { name: 'levinv-identity' },
);
