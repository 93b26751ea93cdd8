/**
 * Validated problem JSON -> the solver's typed-array `Problem`. Everything here runs after the schema, so
 * it trusts shapes and lengths.
 */
import type { z } from 'zod';
import { type MatrixJson, matrixShape, type ProblemJson, problemSchema } from '../contract/problem.js';
import { DEFAULT_RECORD_LIMIT, type Problem, type SolveOptions } from '../solver/index.js';
import { errorMap, inputErrorFromZod } from './issues.js';
import { type LeverageInputJson, leverageInputSchema } from './schema.js';

export interface ParsedProblem {
  problem: Problem;
  options: Partial<SolveOptions>;
  /** the generator's known answer, when the document carries one */
  xStar?: Float64Array;
}

export interface ParsedLeverageInput {
  problem: Pick<Problem, 'n' | 'd' | 'A' | 'b'>;
  x: Float64Array;
}

/** Runs `schema` with our messages; throws InputError listing every issue. */
function validate<T>(schema: z.ZodType<T>, json: unknown): T {
  const result = schema.safeParse(json, { error: errorMap });
  if (!result.success) throw inputErrorFromZod(result.error, schema);
  return result.data;
}

/** A (either JSON format) as one row-major buffer. */
export function matrixToFloat64(A: MatrixJson): { n: number; d: number; A: Float64Array } {
  const { n, d } = matrixShape(A);
  // a binary upload's A is a Float64Array already: no copy
  if (!Array.isArray(A))
    return { n, d, A: A.data instanceof Float64Array ? A.data : Float64Array.from(A.data) };
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) out.set(A[i], i * d);
  return { n, d, A: out };
}

/** Converts a document that already passed `problemSchema` (e.g. validated by an HTTP framework). */
export function toParsedProblem(doc: ProblemJson): ParsedProblem {
  const { n, d, A } = matrixToFloat64(doc.A);
  const problem: Problem = { n, d, A, b: Float64Array.from(doc.b), sigma: Float64Array.from(doc.sigma) };
  if (doc.signs) problem.signs = Int8Array.from(doc.signs);
  if (doc.x0) problem.x0 = Float64Array.from(doc.x0);

  const { regularization, record, ...rest } = doc.options ?? {};
  // The regularizer weights are part of the objective, so the solver takes them on the problem.
  if (regularization !== undefined) {
    problem.regularization =
      typeof regularization === 'number' ? regularization : Float64Array.from(regularization);
  }
  const options: Partial<SolveOptions> = {};
  for (const [key, value] of Object.entries(rest)) {
    if (value !== undefined) Object.assign(options, { [key]: value });
  }
  // SolveOptions.record is all-or-nothing while the JSON allows either field alone: fill the others with
  // their documented defaults (types.ts: every 1, includeX true; the JSON has no limit, a service sets its own).
  if (record !== undefined) {
    options.record = {
      every: record.every ?? 1,
      includeX: record.includeX ?? true,
      limit: DEFAULT_RECORD_LIMIT,
    };
  }
  if (doc.method !== undefined) options.method = doc.method;

  const parsed: ParsedProblem = { problem, options };
  if (doc.xStar) parsed.xStar = Float64Array.from(doc.xStar);
  return parsed;
}

/** Validates a problem document (see schema.ts) and converts it. Throws InputError. */
export function parseProblem(json: unknown): ParsedProblem {
  return toParsedProblem(validate(problemSchema, json));
}

/** Validates `{ A, b, x }` for `leverageScores`. Throws InputError. */
export function parseLeverageInput(json: unknown): ParsedLeverageInput {
  const doc: LeverageInputJson = validate(leverageInputSchema, json);
  const { n, d, A } = matrixToFloat64(doc.A);
  return { problem: { n, d, A, b: Float64Array.from(doc.b) }, x: Float64Array.from(doc.x) };
}
