/**
 * One draw of a random test problem (generate.ts, and the dashboard's generator in the browser, which must
 * give the same numbers for a seed): A and xStar standard normal, then per row a slack of size in
 * [0.5, 1.5] and its sign, b = A xStar - slack. No solver here (the browser bundles this file).
 */
import type { Rng } from './random.js';

export type SignPattern = 'positive' | 'mixed';
export const SIGN_PATTERNS: readonly SignPattern[] = ['positive', 'mixed'];

/** Share of negative slacks in a 'mixed' problem. */
export const MIXED_NEGATIVE_FRACTION = 0.3;

export interface Draw {
  /** n x d, row-major */
  A: Float64Array;
  xStar: Float64Array;
  b: Float64Array;
  /** the sign of each row's slack A xStar - b */
  signs: Int8Array;
}

/** Takes n d + d + n (+ n for 'mixed') numbers from `rng`, in this order. */
export function drawProblem(rng: Rng, n: number, d: number, pattern: SignPattern): Draw {
  const A = new Float64Array(n * d);
  for (let k = 0; k < A.length; k++) A[k] = rng.normal();
  const xStar = new Float64Array(d);
  for (let j = 0; j < d; j++) xStar[j] = rng.normal();
  const b = new Float64Array(n);
  const signs = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const magnitude = rng.uniform(0.5, 1.5);
    const sign = pattern === 'mixed' && rng.next() < MIXED_NEGATIVE_FRACTION ? -1 : 1;
    let ax = 0;
    for (let j = 0; j < d; j++) ax += A[i * d + j] * xStar[j];
    b[i] = ax - sign * magnitude;
    signs[i] = sign;
  }
  return { A, xStar, b, signs };
}

/** A row-major n x d array as rows, for a JSON problem document. */
export function toRows(A: Float64Array, n: number, d: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(A.subarray(i * d, (i + 1) * d)));
  return rows;
}
