/**
 * The OpenAPI document's static part and its post-processing, which the app's swagger plugin takes; paths
 * and components come from the route schemas through fastify-type-provider-zod's transforms.
 */
import { readFileSync } from 'node:fs';
import type { SwaggerTransformObject } from '@fastify/swagger';
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/** From package.json two levels up (src/api or dist/api), so the document's version is the package's. */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

export function openapiInfo() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'levinv',
      version: packageVersion(),
      description:
        'Inverts leverage scores: submit (A, b, sigma), a worker finds x such that diag(Ax - b)^-1 A has ' +
        'leverage scores sigma. Follow the job by polling `GET /jobs/{id}`, paging its iterates, or ' +
        'streaming its events. Every error is `application/problem+json` (RFC 9457).\n\n' +
        'When the service runs with API keys (API_KEYS), every route but /healthz, /readyz and /docs needs ' +
        '`Authorization: Bearer <secret>` (401 otherwise); a job belongs to the key that submitted it and ' +
        'is 404 to every other key. Requests are rate-limited per key (429 with `Retry-After`).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http' as const,
          scheme: 'bearer',
          description: 'the secret of an API key (API_KEYS); not needed when the service runs without keys',
        },
        metricsToken: {
          type: 'http' as const,
          scheme: 'bearer',
          description: 'METRICS_TOKEN, for /metrics only',
        },
      },
    },
    security: [{ apiKey: [] }],
    tags: [
      { name: 'jobs', description: 'submit problems and follow their solves' },
      { name: 'operations', description: 'health, readiness and metrics' },
    ],
  };
}

const REF_PREFIX = '#/components/schemas/';

function collectRefs(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, into);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string' && child.startsWith(REF_PREFIX)) {
        into.add(child.slice(REF_PREFIX.length));
      } else {
        collectRefs(child, into);
      }
    }
  }
}

/**
 * The order of the document's components. The library lists them in the order their schemas were
 * registered, which is the order their modules happen to load in; this fixes it. A component not named
 * here comes after these (stably, in registration order); `XInput` sorts with `X`.
 */
const COMPONENT_ORDER = [
  'Webhook',
  'Problem',
  'Iterate',
  'Progress',
  'JobResult',
  'JobError',
  'IteratesSummary',
  'Job',
  'JobPage',
  'IteratePage',
  'ProblemDetails',
  'Deliveries',
];

function componentRank(name: string): number {
  const rank = COMPONENT_ORDER.indexOf(name.replace(/Input$/, ''));
  return rank < 0 ? COMPONENT_ORDER.length : rank;
}

/**
 * The library's components step, then only the components the paths reach: it emits every registered schema
 * in both an input (`JobInput`) and an output (`Job`) form, and most of those are never used.
 */
export const transformObject: SwaggerTransformObject = (documentObject) => {
  const document = jsonSchemaTransformObject(documentObject) as {
    paths?: unknown;
    components?: { schemas?: Record<string, unknown> };
  };
  const schemas = document.components?.schemas;
  if (!schemas) return document as ReturnType<SwaggerTransformObject>;
  const reached = new Set<string>();
  collectRefs(document.paths, reached);
  // Components refer to components: follow refs until no new name turns up.
  let frontier = [...reached];
  while (frontier.length > 0) {
    const found = new Set<string>();
    for (const name of frontier) collectRefs(schemas[name], found);
    frontier = [...found].filter((name) => !reached.has(name));
    for (const name of frontier) reached.add(name);
  }
  const kept = Object.fromEntries(
    Object.entries(schemas)
      .filter(([name]) => reached.has(name))
      .sort(([a], [b]) => componentRank(a) - componentRank(b)),
  );
  return {
    ...document,
    components: { ...document.components, schemas: kept },
  } as ReturnType<SwaggerTransformObject>;
};
