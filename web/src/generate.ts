/**
 * `levinv generate` in the browser: the same seeded draw as src/problem/generate.ts (src/problem/draw.ts and
 * its PRNG, bundled as they are), so a seed gives the CLI's problem, with sigma = sigma(xStar) computed here from the normal
 * equations (the solver itself is not bundled: it needs Node's threads and files). One difference: the
 * CLI redraws when a draw's cell has no analytic centre; this sends the first draw, and the solver then
 * says so (EMPTY_CELL / UNBOUNDED_CELL), which for n well above d practically never happens. Another:
 * the CLI writes `signs` into a mixed problem; here the cell is returned apart, as `cell`, so the page
 * sends the problem without it.
 */
import { drawProblem, type SignPattern, toRows } from '../../src/problem/draw.js';
import { createRng } from '../../src/problem/random.js';

export type { SignPattern };

export interface GeneratedProblem {
  A: number[][];
  b: number[];
  sigma: number[];
  xStar: number[];
  /**
   * The generator's cell, the sign of each slack a_i^T xStar - b_i (all +1 for 'positive'): kept by the
   * page to hold the solver's cell against, never sent (the solver is to find it from A, b and sigma).
   */
  cell: number[];
}

export function checkParams(n: number, d: number, seed: number): string | undefined {
  if (!Number.isInteger(d) || d < 1) return `d: expected an integer >= 1, got ${d}`;
  if (!Number.isInteger(n) || n < d) return `n: expected an integer >= d = ${d}, got ${n}`;
  if (!Number.isSafeInteger(seed)) return `seed: expected an integer, got ${seed}`;
  return undefined;
}

/**
 * Leverage scores of diag(A x - b)^-1 A at x: sigma_i = a_i^T M^-1 a_i / s_i^2 with M = sum a_i a_i^T / s_i^2,
 * by a Cholesky factor of M (d x d). A: n x d row-major.
 */
export function leverageAt(
  A: Float64Array,
  b: Float64Array,
  x: Float64Array,
  n: number,
  d: number,
): number[] {
  const slack = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let ax = 0;
    for (let j = 0; j < d; j++) ax += A[i * d + j] * x[j];
    slack[i] = ax - b[i];
  }
  const M = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const w = 1 / (slack[i] * slack[i]);
    for (let j = 0; j < d; j++) {
      const aij = A[i * d + j] * w;
      for (let k = 0; k <= j; k++) M[j * d + k] += aij * A[i * d + k];
    }
  }
  // lower Cholesky factor in place
  for (let j = 0; j < d; j++) {
    let diag = M[j * d + j];
    for (let k = 0; k < j; k++) diag -= M[j * d + k] * M[j * d + k];
    if (!(diag > 0)) throw new Error('A is rank-deficient: draw again with another seed');
    const ljj = Math.sqrt(diag);
    M[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let v = M[i * d + j];
      for (let k = 0; k < j; k++) v -= M[i * d + k] * M[j * d + k];
      M[i * d + j] = v / ljj;
    }
  }
  const sigma = new Array<number>(n);
  const y = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    // ||L^-1 a_i||^2 / s_i^2
    let sum = 0;
    for (let j = 0; j < d; j++) {
      let v = A[i * d + j];
      for (let k = 0; k < j; k++) v -= M[j * d + k] * y[k];
      y[j] = v / M[j * d + j];
      sum += y[j] * y[j];
    }
    sigma[i] = sum / (slack[i] * slack[i]);
  }
  return sigma;
}

export function generateProblem(n: number, d: number, seed: number, signs: SignPattern): GeneratedProblem {
  const bad = checkParams(n, d, seed);
  if (bad) throw new Error(bad);
  // the CLI's first draw (src/problem/draw.ts), so a seed gives the CLI's problem
  const { A, xStar, b, signs: signVector } = drawProblem(createRng(seed), n, d, signs);
  return {
    A: toRows(A, n, d),
    b: Array.from(b),
    sigma: leverageAt(A, b, xStar, n, d),
    xStar: Array.from(xStar),
    cell: Array.from(signVector),
  };
}
