/**
 * The CLI's other input document: `levinv leverage` takes A, b and x. The problem document itself is the
 * API's, in src/contract/problem.ts, whose matrix and array checks (and messages) this shares.
 */
import { z } from 'zod';
import { expectLength, matrixSchema, matrixShape, numberArray } from '../contract/problem.js';

/** `levinv leverage` input: sigma(x) for a given A, b, x. */
export const leverageInputSchema = z
  .strictObject({
    A: matrixSchema,
    b: numberArray(),
    x: numberArray(),
  })
  .check((ctx) => {
    const { n, d } = matrixShape(ctx.value.A);
    if (n < 1 || d < 1) return;
    expectLength(ctx, ['b'], ctx.value.b, n, 'row');
    expectLength(ctx, ['x'], ctx.value.x, d, 'column');
  });

export type LeverageInputJson = z.output<typeof leverageInputSchema>;
