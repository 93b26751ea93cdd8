/**
 * Random test problems with a known answer: A and xStar standard normal, slacks s* = A xStar - b of
 * magnitude in [0.5, 1.5] (away from the walls), and sigma = sigma(xStar), so that the solver should
 * recover xStar from the analytic centre of the cell sign(s*).
 */
import { findStart, leverageScores, type Problem, SolverError } from '../solver/index.js';
import { drawProblem, SIGN_PATTERNS, type SignPattern, toRows } from './draw.js';
import { InputError, makeIssue } from './errors.js';
import { createRng } from './random.js';

export { MIXED_NEGATIVE_FRACTION, SIGN_PATTERNS, type SignPattern } from './draw.js';
/** Draws tried before giving up on finding a cell with an analytic centre. */
export const MAX_DRAWS = 20;

export interface GenerateParams {
  n: number;
  d: number;
  /** any safe integer; default 1 */
  seed?: number;
  /** default 'positive' */
  signs?: SignPattern;
}

/** A problem document (see schema.ts), ready for JSON.stringify. */
export interface GeneratedProblem {
  A: number[][];
  b: number[];
  sigma: number[];
  /** only for 'mixed' (all +1 is the solver's default) */
  signs?: number[];
  xStar: number[];
}

function validateParams({ n, d, seed, signs }: Required<GenerateParams>): void {
  const issues = [];
  if (!Number.isInteger(d) || d < 1) issues.push(makeIssue(['d'], `expected an integer >= 1, got ${d}`));
  if (!Number.isInteger(n) || n < 1) issues.push(makeIssue(['n'], `expected an integer >= 1, got ${n}`));
  else if (Number.isInteger(d) && n < d) issues.push(makeIssue(['n'], `expected n >= d = ${d}, got ${n}`));
  if (!Number.isSafeInteger(seed)) issues.push(makeIssue(['seed'], `expected an integer, got ${seed}`));
  if (!SIGN_PATTERNS.includes(signs)) {
    issues.push(makeIssue(['signs'], `expected one of ${SIGN_PATTERNS.join(', ')}, got ${String(signs)}`));
  }
  if (issues.length > 0) throw new InputError(issues);
}

function isCellWithoutCentre(error: unknown): boolean {
  return error instanceof SolverError && (error.code === 'UNBOUNDED_CELL' || error.code === 'EMPTY_CELL');
}

/**
 * Deterministic in (n, d, seed, signs). Throws InputError for bad parameters, or when MAX_DRAWS draws in a
 * row give a cell without an analytic centre (n too close to d makes an unbounded cell likely).
 */
export function generateProblem(params: GenerateParams): GeneratedProblem {
  const full: Required<GenerateParams> = { seed: 1, signs: 'positive', ...params };
  validateParams(full);
  const { n, d, signs } = full;
  const rng = createRng(full.seed);

  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    // Redraws continue the same stream, so the result still depends on the seed alone.
    const { A, xStar, b, signs: signVector } = drawProblem(rng, n, d, signs);

    // findStart only needs the cell; placeholder scores (valid, summing to d) keep the problem well-formed.
    const problem: Problem = { n, d, A, b, sigma: new Float64Array(n).fill(d / n), signs: signVector };
    try {
      findStart(problem);
    } catch (error) {
      if (isCellWithoutCentre(error)) continue;
      throw error;
    }

    const sigma = leverageScores(problem, xStar);
    return {
      A: toRows(A, n, d),
      b: Array.from(b),
      sigma: Array.from(sigma),
      ...(signs === 'mixed' ? { signs: Array.from(signVector) } : {}),
      xStar: Array.from(xStar),
    };
  }

  throw new InputError([
    makeIssue(
      ['n'],
      `no draw in ${MAX_DRAWS} gave a bounded cell for n = ${n}, d = ${d}; use more rows (n well above d)`,
    ),
  ]);
}
