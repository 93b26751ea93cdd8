/**
 * The dashboard: the page that `npm run build` bundles from web/ into dist/web (vite), served at `/` with
 * its hashed assets under `/assets/`. Helmet's headers (a strict CSP: scripts, styles and requests to this
 * origin only, no framing) are scoped to these routes, so that the API's JSON and event streams and the
 * swagger-ui at /docs keep theirs. Without a build, `/` answers a 503 problem that says how to make one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { HttpProblem } from './problems.js';

export interface DashboardOptions {
  /** the built page's directory (index.html, assets/); default: dist/web of this checkout */
  root?: string;
}

export const DASHBOARD_ASSETS_PREFIX = '/assets/';
export const DASHBOARD_NOT_BUILT_TYPE = 'urn:levinv:problem:dashboard-not-built';

/** dist/api/dashboard.js sits beside dist/web; src/api/dashboard.ts (tests run from source) two levels up. */
export function defaultDashboardRoot(): string | undefined {
  for (const relative of ['../web/', '../../dist/web/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/** The page's Content-Security-Policy: nothing inline, nothing from elsewhere. */
export const DASHBOARD_CSP_DIRECTIVES = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  // data: for the empty favicon the page declares (so browsers do not ask for /favicon.ico)
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
  objectSrc: ["'none'"],
};

const HIDDEN = { schema: { hide: true } } as const;

export const dashboardRoutes: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  // Registered inside this (encapsulated) plugin, helmet's hooks only see the dashboard's routes.
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: DASHBOARD_CSP_DIRECTIVES,
    },
    // TLS is a proxy's business: HSTS from a plain-HTTP service would only be ignored, or pin a wrong host.
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
    // as frame-ancestors 'none', for browsers that only know the older header
    frameguard: { action: 'deny' },
  });

  const root = options.root ?? defaultDashboardRoot();
  if (root === undefined || !existsSync(join(root, 'index.html'))) {
    const notBuilt = async (): Promise<never> => {
      throw new HttpProblem(503, 'the dashboard is not built: run `npm run build` (it writes dist/web)', {
        type: DASHBOARD_NOT_BUILT_TYPE,
        title: 'Dashboard not built',
      });
    };
    app.get('/', HIDDEN, notBuilt);
    app.get(`${DASHBOARD_ASSETS_PREFIX}*`, HIDDEN, notBuilt);
    return;
  }

  // Asset names carry a content hash, so they may be cached for good; the page itself never is.
  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: DASHBOARD_ASSETS_PREFIX,
    immutable: true,
    maxAge: '365d',
    index: false,
  });
  app.get('/', HIDDEN, async (_request, reply) =>
    reply.header('cache-control', 'no-cache').sendFile('index.html', root, { cacheControl: false }),
  );
};
