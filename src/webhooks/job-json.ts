/**
 * A job as JSON, byte for byte what GET /jobs/{id} answers: the route's own serializer (fast-json-stringify
 * compiled from the same zod schema), so a webhook's body and the API can never disagree.
 */
import { jobSchema } from '../api/schemas.js';
import { serializerCompiler } from '../api/serializer.js';
import type { JobView } from '../jobs/types.js';

let compiled: ((view: unknown) => string) | undefined;

export function jobJson(view: JobView): string {
  // compiled on first use: this module is loaded by the job layer, which the API's schemas import too
  compiled ??= serializerCompiler({
    schema: jobSchema,
    method: 'GET',
    url: '/jobs/:id',
    httpStatus: '200',
  }) as (view: unknown) => string;
  return compiled(view);
}
