/**
 * The worker's Prometheus endpoint (WORKER_METRICS_PORT): GET /metrics only, behind the same rule as the
 * API's /metrics (METRICS_TOKEN when set, else any API key, else open). A worker has no Fastify app, so
 * this is a bare node:http server that answers everything else with a problem+json 404 or 405.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { AuthOptions } from '../api/auth.js';

export interface MetricsServer {
  server: Server;
  close(): Promise<void>;
}

const digest = (secret: string): Buffer => createHash('sha256').update(secret).digest();

/** The tokens /metrics takes: METRICS_TOKEN alone when set, else every API key; none: open. */
function acceptedTokens(auth: AuthOptions | undefined): Buffer[] {
  if (auth?.metricsToken !== undefined) return [digest(auth.metricsToken)];
  return [...(auth?.keys.values() ?? [])].map(digest);
}

function problem(res: ServerResponse, status: number, title: string, detail: string, headers = {}): void {
  const body = JSON.stringify({ type: 'about:blank', title, status, detail, instance: '/metrics' });
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers }).end(body);
}

export async function startMetricsServer(opts: {
  host: string;
  port: number;
  registry: Registry;
  auth?: AuthOptions;
}): Promise<MetricsServer> {
  const tokens = acceptedTokens(opts.auth);
  const allowed = (req: IncomingMessage): boolean => {
    if (tokens.length === 0) return true;
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(req.headers.authorization ?? '');
    if (!match) return false;
    const given = digest(match[1]);
    // every token compared, in constant time each
    return tokens.reduce((ok, token) => timingSafeEqual(token, given) || ok, false);
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return problem(res, 404, 'Not Found', `no route for ${req.method} ${path}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return problem(res, 405, 'Method Not Allowed', 'GET /metrics only', { allow: 'GET, HEAD' });
    }
    if (!allowed(req)) {
      return problem(res, 401, 'Unauthorized', 'a missing or wrong metrics token', {
        'www-authenticate': 'Bearer realm="levinv"',
      });
    }
    opts.registry.metrics().then(
      (text) =>
        res
          .writeHead(200, { 'content-type': opts.registry.contentType })
          .end(req.method === 'HEAD' ? '' : text),
      () => problem(res, 500, 'Internal Server Error', 'the metrics could not be collected'),
    );
  });
  // a scrape is one small GET: nothing slow is worth waiting for
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  server.listen(opts.port, opts.host);
  await once(server, 'listening');
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
