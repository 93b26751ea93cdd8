/**
 * The routes' response serialization: each route's schema compiled once with fast-json-stringify
 * (src/contract/serializer.ts), instead of fastify-type-provider-zod's compiler, which parses every
 * response with zod.
 */
import type { FastifySerializerCompiler } from 'fastify';
import type { z } from 'zod';
import { compileSerializer } from '../contract/serializer.js';

export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = ({ schema }) =>
  compileSerializer(schema);
