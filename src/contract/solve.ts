/** The body of POST /solve: a problem document (problem.ts), and optionally where to POST the job (webhook.ts). */
import { problemSchema } from './problem.js';
import { webhookSchema } from './webhook.js';

/** The POST /solve document, as the service validates it (a JSON body, or a binary upload's parts as one). */
export const solveDocSchema = problemSchema.safeExtend({ webhook: webhookSchema.optional() });

/** The same, as the OpenAPI document names it (`#/components/schemas/Problem`). */
export const solveBodySchema = solveDocSchema.meta({
  id: 'Problem',
  description:
    'A inverse leverage score problem: A (n x d, as rows or { shape, data }), b and the target leverage ' +
    'scores sigma (one per row), with optional method, start point, cell signs, known answer and options.',
});
