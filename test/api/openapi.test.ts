/** The committed openapi.yaml is what the route schemas generate, and it is a valid OpenAPI document. */
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { openapiYaml } from '../../src/api/openapi.js';

const committedPath = new URL('../../openapi.yaml', import.meta.url);

describe('openapi.yaml', () => {
  it('equals the document generated from the route schemas (regenerate with npm run openapi)', async () => {
    expect(readFileSync(committedPath, 'utf8')).toBe(await openapiYaml());
  });

  it('validates as OpenAPI 3.1 and describes every route', async () => {
    const api = await SwaggerParser.validate(committedPath.pathname);
    expect(api).toHaveProperty('openapi', '3.1.0');
    const paths = Object.keys(api.paths ?? {}).sort();
    expect(paths).toEqual(
      [
        '/healthz',
        '/jobs',
        '/jobs/{id}',
        '/jobs/{id}/cancel',
        '/jobs/{id}/deliveries',
        '/jobs/{id}/events',
        '/jobs/{id}/iterates',
        '/jobs/{id}/result/{vector}',
        '/metrics',
        '/readyz',
        '/solve',
      ].sort(),
    );
  });

  it('documents the API key: a bearer scheme, required except on the probes, with 401 and 429 answers', async () => {
    const api = (await SwaggerParser.parse(committedPath.pathname)) as unknown as {
      security: unknown;
      components: {
        securitySchemes: Record<string, unknown>;
        schemas: Record<string, { required: string[] }>;
      };
      paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
    };
    expect(api.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(api.security).toEqual([{ apiKey: [] }]);
    expect(api.paths['/healthz'].get.security).toEqual([]);
    expect(api.paths['/readyz'].get.security).toEqual([]);
    expect(Object.keys(api.paths['/metrics'].get.responses)).toContain('401');
    const jobRoutes: [string, string][] = [
      ['/jobs', 'get'],
      ['/jobs/{id}', 'get'],
      ['/jobs/{id}', 'delete'],
      ['/jobs/{id}/iterates', 'get'],
      ['/jobs/{id}/events', 'get'],
      ['/jobs/{id}/cancel', 'post'],
      ['/jobs/{id}/result/{vector}', 'get'],
    ];
    for (const [path, method] of jobRoutes) {
      expect(Object.keys(api.paths[path][method].responses), `${method} ${path}`).toEqual(
        expect.arrayContaining(['401', '429', '503']),
      );
    }
    expect(api.components.schemas.Job.required).toEqual(expect.arrayContaining(['resumes', 'iterates']));
  });
});
