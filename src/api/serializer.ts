/**
 * Response serialization compiled once per route from the zod schemas' JSON Schema (fast-json-stringify,
 * what fastify itself uses), instead of fastify-type-provider-zod's compiler, which parses every response
 * with zod: for a job with 100000 leverage scores that was ~70 ms of event loop per GET, and this is ~9 ms.
 * Only the schemas' properties are written, so nothing a store adds to a record leaks.
 *
 * Floats (`type: [number, null]` in schemas.ts) and arrays of them are written by JSON.stringify: it renders
 * NaN and Infinity as null (fast-json-stringify throws on NaN), and one native call per array is as fast as
 * it gets.
 */

import fastJsonStringify, { type Schema } from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify';
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

export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = ({ schema }) => {
  const json = z.toJSONSchema(schema, { io: 'output', target: 'draft-07', unrepresentable: 'any' });
  return fastJsonStringify(looseFloats(json) as Schema);
};
