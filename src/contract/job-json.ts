/**
 * A job as JSON, byte for byte what GET /jobs/{id} answers: the same writer the route compiles
 * (serializer.ts) from the same schema, so a webhook's body and the API can never disagree.
 */
import type { z } from 'zod';
import { jobSchema } from './job.js';
import { compileSerializer } from './serializer.js';

let compiled: ((job: unknown) => string) | undefined;

/** `job` as GET /jobs/{id} writes it: only the schema's properties, non-finite floats as null. */
export function jobJson(job: z.input<typeof jobSchema>): string {
  // compiled on first use, not when the module loads
  compiled ??= compileSerializer(jobSchema);
  return compiled(job);
}
