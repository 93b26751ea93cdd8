/**
 * The operations the client calls: method, path template (as in openapi.yaml) and the success statuses it
 * expects. test/client/openapi-coverage.test.ts checks this table against openapi.yaml both ways, so a
 * route added to the service without a client method (or one the client calls that the service lacks)
 * fails a test instead of drifting.
 */

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** an OpenAPI path template: `{name}` is a path parameter */
  path: string;
  success: readonly number[];
}

export const ROUTES = {
  solve: { method: 'POST', path: '/solve', success: [200, 202] },
  get: { method: 'GET', path: '/jobs/{id}', success: [200] },
  delete: { method: 'DELETE', path: '/jobs/{id}', success: [204] },
  cancel: { method: 'POST', path: '/jobs/{id}/cancel', success: [200, 202] },
  iterates: { method: 'GET', path: '/jobs/{id}/iterates', success: [200] },
  events: { method: 'GET', path: '/jobs/{id}/events', success: [200] },
  resultVector: { method: 'GET', path: '/jobs/{id}/result/{vector}', success: [200] },
  list: { method: 'GET', path: '/jobs', success: [200] },
  deliveries: { method: 'GET', path: '/jobs/{id}/deliveries', success: [200] },
} as const satisfies Record<string, Route>;

export type RouteName = keyof typeof ROUTES;

/**
 * Operations of openapi.yaml the client deliberately has no method for (`METHOD /path`): probes, scrapes
 * and pages for operators and browsers, not for programs that submit jobs.
 */
export const EXCLUDED_OPERATIONS: readonly string[] = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /docs',
  'GET /docs/json',
  'GET /docs/yaml',
];

/** The path of `route` with its parameters filled in (each percent-encoded), relative (no leading `/`). */
export function routePath(route: Route, params: Record<string, string> = {}): string {
  return route.path.slice(1).replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`${route.path}: missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
}
