/**
 * The client cannot drift from the API: every operation of openapi.yaml has a client method (ROUTES) or is
 * excluded on purpose (EXCLUDED_OPERATIONS), and every route the client calls is in openapi.yaml with the
 * method and the success statuses the client expects.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { EXCLUDED_OPERATIONS, ROUTES } from '../../src/client/index.js';

const committedPath = new URL('../../openapi.yaml', import.meta.url).pathname;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Paths = Record<string, Record<string, { responses?: Record<string, unknown> }>>;

async function operations(): Promise<Map<string, string[]>> {
  const api = (await SwaggerParser.parse(committedPath)) as unknown as { paths: Paths };
  const ops = new Map<string, string[]>();
  for (const [path, item] of Object.entries(api.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.includes(method)) continue;
      ops.set(`${method.toUpperCase()} ${path}`, Object.keys(operation.responses ?? {}));
    }
  }
  return ops;
}

const clientOperations = Object.entries(ROUTES).map(([name, r]) => ({
  name,
  key: `${r.method} ${r.path}`,
  success: r.success,
}));

describe('the client against openapi.yaml', () => {
  it('covers every operation, or excludes it on purpose', async () => {
    const ops = await operations();
    expect(ops.size).toBeGreaterThan(0);
    const covered = new Set(clientOperations.map((o) => o.key));
    const missing = [...ops.keys()].filter((op) => !covered.has(op) && !EXCLUDED_OPERATIONS.includes(op));
    expect(missing, 'operations without a client method (add one to ROUTES, or exclude it)').toEqual([]);
    // an operation is covered or excluded, not both
    expect(EXCLUDED_OPERATIONS.filter((op) => covered.has(op))).toEqual([]);
  });

  it('calls only operations that exist, expecting the success statuses they document', async () => {
    const ops = await operations();
    for (const { name, key, success } of clientOperations) {
      const responses = ops.get(key);
      expect(responses, `${name}: ${key} is not in openapi.yaml`).toBeDefined();
      const documented = responses!.filter((status) => /^2\d\d$/.test(status)).map(Number);
      expect([...success].sort(), `${name}: ${key}`).toEqual(documented.sort());
    }
  });

  it('every client method name in ROUTES is a method of LevinvClient', async () => {
    const { LevinvClient } = await import('../../src/client/index.js');
    for (const name of Object.keys(ROUTES)) {
      expect(typeof (LevinvClient.prototype as unknown as Record<string, unknown>)[name], name).toBe(
        'function',
      );
    }
  });
});
