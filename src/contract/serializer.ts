/**
 * JSON writers compiled once from the zod schemas' JSON Schema (fast-json-stringify, what fastify itself
 * uses), instead of parsing every value with zod: for a job with 100000 leverage scores that was ~70 ms of
 * event loop per GET, and this is ~9 ms. Only the schemas' properties are written, so nothing a store adds
 * to a record leaks. The API's routes (src/api/serializer.ts) and the job's JSON (job-json.ts) use it.
 *
 * Floats (`type: [number, null]` in job.ts) and arrays of them are written by JSON.stringify: it renders
 * NaN and Infinity as null (fast-json-stringify throws on NaN), and one native call per array is as fast as
 * it gets.
 */

import fastJsonStringify, { type Schema } from 'fast-json-stringify';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

function isFloat(node: unknown): boolean {
  const type = (node as JsonSchema | undefined)?.type;
  return Array.isArray(type) && type.length === 2 && type.includes('number') && type.includes('null');
}

/** Replaces float and float-array schemas by `{}` (any: written with JSON.stringify). */
function looseFloats(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(looseFloats);
  if (node === null || typeof node !== 'object') return node;
  const schema = node as JsonSchema;
  if (isFloat(schema) || (schema.type === 'array' && isFloat(schema.items))) {
    return schema.description === undefined ? {} : { description: schema.description };
  }
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, looseFloats(value)]));
}

/** A function writing values of `schema`'s output type as JSON. */
export function compileSerializer(schema: z.ZodType): (value: unknown) => string {
  const json = z.toJSONSchema(schema, { io: 'output', target: 'draft-07', unrepresentable: 'any' });
  return fastJsonStringify(looseFloats(json) as Schema);
}
