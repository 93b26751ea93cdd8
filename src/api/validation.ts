/**
 * The route validator: fastify-type-provider-zod's `validatorCompiler` with the problem module's error map
 * and issue flattening in place of zod's defaults.
 *
 * Why not the library's compiler as is: it parses without an error map (messages would differ from the
 * CLI's) and reports a failed union or an unknown key at the parent's path, so a bad row of A would point
 * at `/A` instead of `/A/3` and a misspelt key at its object instead of at the key.
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import { errorMap, inputErrorFromZod } from '../problem/issues.js';
import { type RequestPart, RequestValidationError } from './problems.js';

export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const result = schema.safeParse(data, { error: errorMap });
    if (result.success) return { value: result.data };
    const { issues } = inputErrorFromZod(result.error, schema);
    return { error: new RequestValidationError((httpPart ?? 'body') as RequestPart, issues) };
  };
