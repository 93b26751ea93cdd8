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
        '/jobs/{id}/events',
        '/jobs/{id}/iterates',
        '/metrics',
        '/readyz',
        '/solve',
      ].sort(),
    );
  });
});
