/**
 * The problem JSON format: one zod schema shared by the CLI's input files and the HTTP `POST /solve` body
 * (solve.ts adds the webhook field).
 *
 * Bulk number arrays (A, b, sigma, ...) are checked in plain loops instead of `z.array(z.number())`: zod's
 * per-element parsing took ~0.3 s for a 100000 x 20 A, and on a wholly bad A it built one issue object per
 * element (2 million, 5 s). The loops keep the same messages and paths but stop recording after a few issues.
 */
import { z } from 'zod';
import { count, describeValue } from './describe.js';
import { LINE_SEARCHES, METHODS, START_CHOICES } from './enums.js';

/** Issues recorded per array before the rest are summarised in one issue. */
const MAX_ISSUES_PER_ARRAY = 5;

type Ctx = z.core.ParsePayload<unknown>;

/** An element constraint beyond finiteness; the message is only built for the issues actually recorded. */
interface ElementRule {
  accepts(value: number): boolean;
  message(value: number): string;
}

/**
 * Checks `value` as an array of finite numbers, pushing issues at `base[i]`. Returns the number of bad
 * entries, so that callers sharing one budget (the rows of A) can stop recording.
 */
function checkNumbers(
  ctx: Ctx,
  value: readonly unknown[] | Float64Array,
  base: PropertyKey[],
  rule: ElementRule | undefined,
  budget: number,
): number {
  let bad = 0;
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    const finite = typeof v === 'number' && Number.isFinite(v);
    if (finite && (rule === undefined || rule.accepts(v as number))) continue;
    if (bad < budget) {
      const message =
        finite && rule ? rule.message(v as number) : `expected a finite number, got ${describeValue(v)}`;
      // A value out of range leaves the array well-typed, so cross-field checks may still run (continue).
      ctx.issues.push({ code: 'custom', message, input: v, path: [...base, i], continue: finite });
    }
    bad++;
  }
  return bad;
}

function summarizeOverflow(ctx: Ctx, bad: number, path: PropertyKey[]): void {
  if (bad > MAX_ISSUES_PER_ARRAY) {
    const more = bad - MAX_ISSUES_PER_ARRAY;
    const message = `${more} more invalid ${more === 1 ? 'entry' : 'entries'}`;
    ctx.issues.push({ code: 'custom', message, input: undefined, path });
  }
}

/**
 * A JSON array of finite numbers, each accepted by `rule` when given. A Float64Array passes too (a binary
 * upload's .npy part, checked by the same rules and messages without becoming a JS array).
 */
export function numberArray(rule?: ElementRule, items: Record<string, unknown> = { type: 'number' }) {
  return z
    .custom<number[]>()
    .check((ctx) => {
      const value: unknown = ctx.value;
      if (!Array.isArray(value) && !(value instanceof Float64Array)) {
        ctx.issues.push({ code: 'invalid_type', expected: 'array', input: value });
        return;
      }
      summarizeOverflow(ctx, checkNumbers(ctx, value, [], rule, MAX_ISSUES_PER_ARRAY), []);
    })
    .meta({ type: 'array', items });
}

const nonNegative: ElementRule = {
  accepts: (v) => v >= 0,
  message: (v) => `expected a number >= 0, got ${v}`,
};
const score: ElementRule = {
  accepts: (v) => v >= 0 && v <= 1,
  message: (v) => `expected a score in [0, 1], got ${v}`,
};
const sign: ElementRule = {
  accepts: (v) => v === 1 || v === -1,
  message: (v) => `expected 1 or -1, got ${v}`,
};

/** A as an array of rows, all of the same length d >= 1, with n >= d. */
const rowsMatrix = z
  .custom<number[][]>()
  .check((ctx) => {
    const rows: unknown = ctx.value;
    if (!Array.isArray(rows)) {
      ctx.issues.push({ code: 'invalid_type', expected: 'array', input: rows });
      return;
    }
    if (rows.length === 0) {
      ctx.issues.push({ code: 'custom', message: 'expected at least one row', input: rows });
      return;
    }
    const first: unknown = rows[0];
    const d = Array.isArray(first) ? first.length : 0;
    let bad = 0;
    for (let i = 0; i < rows.length; i++) {
      const row: unknown = rows[i];
      let message: string | undefined;
      if (!Array.isArray(row)) message = `expected a row (an array of numbers), got ${describeValue(row)}`;
      else if (row.length === 0) message = 'expected a row of at least one number, got an empty array';
      else if (row.length !== d) message = `expected ${count(d, 'number')}, got ${row.length}`;
      if (message === undefined) {
        bad += checkNumbers(ctx, row as unknown[], [i], undefined, MAX_ISSUES_PER_ARRAY - bad);
        continue;
      }
      if (bad < MAX_ISSUES_PER_ARRAY) ctx.issues.push({ code: 'custom', message, input: row, path: [i] });
      bad++;
    }
    summarizeOverflow(ctx, bad, []);
    if (bad === 0 && rows.length < d) {
      ctx.issues.push({ code: 'custom', message: tooFewRows(rows.length, d), input: rows, continue: true });
    }
  })
  .meta({
    type: 'array',
    description: 'the rows of A (n x d), all of the same length',
    items: { type: 'array', items: { type: 'number' } },
  });

/** A union's message when no branch even matched the value's type (a missing field included). */
function unionError(expected: string) {
  return (issue: { code?: string; input?: unknown }) => {
    if (issue.code !== 'invalid_union') return undefined;
    return issue.input === undefined ? 'required' : `expected ${expected}, got ${describeValue(issue.input)}`;
  };
}

/** zod reports `.positive()` on an int as "a number > 0"; one message covers both checks. */
function positiveInt() {
  return z
    .int({
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `expected a positive integer, got ${describeValue(issue.input)}`,
    })
    .positive();
}

function tooFewRows(n: number, d: number): string {
  return `expected at least as many rows as columns (n >= d), got ${n} x ${d}`;
}

/** A as `{ shape: [n, d], data }`, data row-major: compact for large n and one flat buffer to convert. */
const flatMatrix = z
  .strictObject({
    shape: z.tuple([positiveInt(), positiveInt()]),
    data: numberArray(),
  })
  .check((ctx) => {
    const [n, d] = ctx.value.shape;
    // A non-positive dimension is already reported (and its check lets this one run).
    if (n < 1 || d < 1) return;
    if (ctx.value.data.length !== n * d) {
      ctx.issues.push({
        code: 'custom',
        message: `expected ${count(n * d, 'number')} (n x d = ${n} x ${d}), got ${ctx.value.data.length}`,
        input: ctx.value.data,
        path: ['data'],
        continue: true,
      });
    }
    if (n < d)
      ctx.issues.push({ code: 'custom', message: tooFewRows(n, d), input: ctx.value, continue: true });
  });

export const matrixSchema = z.union([rowsMatrix, flatMatrix], {
  error: unionError('an array of rows or an object { shape: [n, d], data }'),
});

export type MatrixJson = z.output<typeof matrixSchema>;

/** n and d of a matrix that passed `matrixSchema` (or whose shape failed only a continuable check). */
export function matrixShape(A: MatrixJson): { n: number; d: number } {
  if (Array.isArray(A)) return { n: A.length, d: A[0].length };
  return { n: A.shape[0], d: A.shape[1] };
}

export const recordSchema = z
  .strictObject({
    every: positiveInt(),
    includeX: z.boolean(),
  })
  .partial();

export const optionsSchema = z
  .strictObject({
    maxIterations: positiveInt(),
    tolerance: z.number().min(0),
    lossChangeTolerance: z.number().min(0),
    regularization: z.union([z.number().min(0), numberArray(nonNegative)], {
      error: unionError('a weight >= 0 or an array of per-row weights'),
    }),
    lineSearch: z.enum(LINE_SEARCHES),
    stepSize: z.number().positive(),
    maxSeconds: z.number().positive(),
    // without x0: the point found from the scores alone (and its cell), or the cell's analytic centre
    start: z.enum(START_CHOICES),
    record: recordSchema,
  })
  .partial();

/** Pushes an issue when an array that must have one entry per row (or column) has another length. */
export function expectLength(
  ctx: z.core.ParsePayload<unknown>,
  path: PropertyKey[],
  value: readonly unknown[] | undefined,
  expected: number,
  per: 'row' | 'column',
): void {
  if (value === undefined || value.length === expected) return;
  ctx.issues.push({
    code: 'custom',
    message: `expected ${count(expected, 'number')} (one per ${per} of A), got ${value.length}`,
    input: value,
    path,
    continue: true,
  });
}

export const problemSchema = z
  .strictObject({
    A: matrixSchema,
    b: numberArray(),
    sigma: numberArray(score, { type: 'number', minimum: 0, maximum: 1 }),
    method: z.enum(METHODS).optional(),
    x0: numberArray().optional(),
    signs: numberArray(sign, { enum: [1, -1] }).optional(),
    xStar: numberArray().optional(),
    options: optionsSchema.optional(),
  })
  .check((ctx) => {
    const { n, d } = matrixShape(ctx.value.A);
    if (n < 1 || d < 1) return;
    expectLength(ctx, ['b'], ctx.value.b, n, 'row');
    expectLength(ctx, ['sigma'], ctx.value.sigma, n, 'row');
    expectLength(ctx, ['signs'], ctx.value.signs, n, 'row');
    const w = ctx.value.options?.regularization;
    if (Array.isArray(w)) expectLength(ctx, ['options', 'regularization'], w, n, 'row');
    expectLength(ctx, ['x0'], ctx.value.x0, d, 'column');
    expectLength(ctx, ['xStar'], ctx.value.xStar, d, 'column');
  });

/** The problem document as written (A in either format). */
export type ProblemJson = z.output<typeof problemSchema>;

/**
 * JSON Schema (draft 2020-12) of `problemSchema`, e.g. for an OpenAPI description of `POST /solve`. The
 * loop-checked arrays carry their JSON Schema in `.meta`, which `unrepresentable: 'any'` lets through.
 */
export function problemJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(problemSchema, { unrepresentable: 'any' }) as Record<string, unknown>;
}
