/**
 * The global start (docs/MATH.md, "The global start"): x and its cell from A, b and sigma alone.
 *
 * 1. Weights with the target scores (leverage-weights.ts): w_i = 1 / s_i^2 up to one common factor, so
 *    the slacks' sizes r_i = w_i^(-1/2) are known up to a factor alpha > 0: |a_i^T x - b_i| = alpha r_i.
 * 2. With the signs known this is linear in (x, alpha): s_i (a_i^T x - b_i) = alpha r_i, solved in least
 *    squares relative to r_i over all rows (one thin QR, O(n d^2)). With the signs unknown, write
 *    y = (x, 1) and e_i = (a_i, -b_i) / r_i: (e_i^T y)^2 = alpha^2, i.e. e_i^T U e_i = 1 with
 *    U = y y^T / alpha^2, linear in the (d+1)(d+2)/2 entries of the symmetric U. A sample of rows twice
 *    that many determines U (exactly, for exact scores and rows in general position; the dense sample is
 *    m x K with K = (d+1)(d+2)/2, never n x K), its leading eigenvector gives y up to sign and scale, and
 *    y's last entry fixes both: x = y_1..d / y_d+1. The signs of A x - b are the cell; step 2's linear
 *    fit with them, alternated with re-reading the signs, polishes x over all rows.
 *
 * The answer may not be unique: b = 0 makes every c x (c != 0) score the same, and n below the lifting
 * size or rows not in general position may leave several cells that fit; `ambiguity` says so.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { HouseholderQr, toColumnMajor } from './householder-qr.js';
import type { Kernels } from './kernels.js';
import { leverageWeights } from './leverage-weights.js';
import type { Stopper } from './stop.js';
import type { Problem } from './types.js';

/** How the start was found, as the result reports it. */
export type StartMethod = 'x0' | 'global' | 'global-signs' | 'centre';

export interface GlobalStart {
  x: Float64Array;
  /** the cell of x: the sign of each slack */
  signs: Int8Array;
  /** passes of the weights' iteration */
  weightPasses: number;
  /** max relative error of the weights' scores */
  weightResidual: number;
  /** set when other answers may score the same: why, and what would settle it */
  ambiguity?: string;
  /** other points with the same scores (b = 0: -x) */
  alternatives: Float64Array[];
}

export const HOMOGENEOUS =
  'b = 0: the scores do not change when x is multiplied by any nonzero number, so x is determined only ' +
  'up to such a factor; -x (in alternatives) lies in the opposite cell';

/** Largest d whose lifted system (K = (d+1)(d+2)/2 unknowns) is solved densely on a row sample. */
export const MAX_LIFTED_D = 40;
/** Rounds of (signs from x, then x from the signs) that polish the lifted answer. */
const POLISH_ROUNDS = 12;

/**
 * Returns undefined when the targets cannot define weights (a score of 0, or a row of zeros): the caller
 * falls back to the analytic centre. `signs`: the cell the caller named; then only step 2's linear fit
 * runs, and the answer is returned only if it lies strictly in that cell.
 */
export function globalStart(
  problem: Problem,
  kernels: Kernels,
  stop: Stopper,
  signs?: Int8Array,
): GlobalStart | undefined {
  const { n, d, A, b, sigma } = problem;
  // Noisy targets need not sum to d; F has a minimiser only when they do, and a common factor of the
  // scores changes no weight's ratio to another: rescale for this step only.
  let total = 0;
  for (let i = 0; i < n; i++) total += sigma[i];
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    target[i] = Math.min(1, (sigma[i] * d) / total);
    if (!(target[i] > 0)) return undefined;
  }
  const weights = leverageWeights(A, n, d, target, kernels, stop);
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    r[i] = 1 / Math.sqrt(weights.w[i]);
    if (!Number.isFinite(r[i]) || r[i] <= 0) return undefined;
  }
  const found = { weightPasses: weights.passes, weightResidual: weights.relResidual };

  if (signs) {
    const x = fitWithSigns(A, b, n, d, r, signs, stop);
    if (!x || !inCell(A, b, n, d, x, signs)) return undefined;
    return { x, signs: Int8Array.from(signs), ...found, alternatives: [] };
  }

  let homogeneous = true;
  for (let i = 0; i < n && homogeneous; i++) homogeneous = b[i] === 0;
  const lifted = homogeneous ? liftHomogeneous(A, n, d, r, stop) : lift(A, b, n, d, r, stop);
  let x = lifted.x;
  let cell = signsOf(A, b, n, d, x);
  for (let round = 0; round < POLISH_ROUNDS; round++) {
    const next = fitWithSigns(A, b, n, d, r, cell, stop);
    if (!next) break;
    const nextCell = signsOf(A, b, n, d, next);
    x = next;
    if (nextCell.every((s, i) => s === cell[i])) break;
    cell = nextCell;
  }
  cell = signsOf(A, b, n, d, x);
  if (homogeneous) {
    return {
      x,
      signs: cell,
      ...found,
      ambiguity: HOMOGENEOUS,
      alternatives: [x.map((v) => -v)],
    };
  }
  return {
    x,
    signs: cell,
    ...found,
    ...(lifted.ambiguity ? { ambiguity: lifted.ambiguity } : {}),
    alternatives: [],
  };
}

/** The signs of A x - b (+1 for a zero slack, which the polish moves off the wall). */
function signsOf(A: Float64Array, b: Float64Array, n: number, d: number, x: Float64Array): Int8Array {
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    let s = -b[i];
    for (let j = 0; j < d; j++) s += A[i * d + j] * x[j];
    out[i] = s < 0 ? -1 : 1;
  }
  return out;
}

function inCell(
  A: Float64Array,
  b: Float64Array,
  n: number,
  d: number,
  x: Float64Array,
  signs: Int8Array,
): boolean {
  for (let i = 0; i < n; i++) {
    let s = -b[i];
    for (let j = 0; j < d; j++) s += A[i * d + j] * x[j];
    if (!(signs[i] * s > 0)) return false;
  }
  return true;
}

/**
 * x from s_i (a_i^T x - b_i) = alpha r_i in least squares relative to r_i: rows (a_i / r_i, -s_i) times
 * (x, alpha) = b_i / r_i, one thin QR of n x (d+1). Undefined when alpha <= 0 or the fit is singular.
 */
function fitWithSigns(
  A: Float64Array,
  b: Float64Array,
  n: number,
  d: number,
  r: Float64Array,
  signs: Int8Array,
  stop: Stopper,
): Float64Array | undefined {
  const k = d + 1;
  const rows = new Float64Array(n * k);
  const rhs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = 1 / r[i];
    for (let j = 0; j < d; j++) rows[i * k + j] = A[i * d + j] * f;
    rows[i * k + d] = -signs[i];
    rhs[i] = b[i] * f;
  }
  stop.tick(n * k * k);
  const qr = new HouseholderQr(toColumnMajor(rows, n, k), n, k, stop);
  if (!(qr.diagonalRatio() > 1e-12)) return undefined;
  const solution = qr.solveLeastSquares(rhs);
  if (!(solution[d] > 0)) return undefined;
  return solution.slice(0, d);
}

/** Rows sampled for the lifted system: about twice its unknowns, spread evenly by a fixed-seed shuffle. */
function sampleRows(n: number, unknowns: number): Int32Array {
  const m = Math.min(n, 2 * unknowns + 20);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // xorshift32 with a fixed seed: the same problem gives the same start
  let state = 0x9e3779b9;
  for (let i = 0; i < m; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = i + ((state >>> 0) % (n - i));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order.slice(0, m).sort();
}

interface Lifted {
  x: Float64Array;
  ambiguity?: string;
}

/**
 * Solves e_i^T U e_i = 1 for symmetric U (K = k(k+1)/2 unknowns, k the length of e_i) on sampled rows,
 * and returns U's leading eigenvector scaled by the root of its eigenvalue, with the fit's conditioning.
 */
function liftedVector(
  e: (i: number, out: Float64Array) => void,
  n: number,
  k: number,
  stop: Stopper,
): { u: Float64Array; determined: boolean } {
  const unknowns = (k * (k + 1)) / 2;
  const sample = sampleRows(n, unknowns);
  const m = sample.length;
  const columns = new Float64Array(m * unknowns);
  const row = new Float64Array(k);
  for (let t = 0; t < m; t++) {
    e(sample[t], row);
    let c = 0;
    for (let p = 0; p < k; p++) {
      for (let q = p; q < k; q++) {
        columns[c * m + t] = (p === q ? 1 : 2) * row[p] * row[q];
        c++;
      }
    }
  }
  stop.tick(2 * m * unknowns * unknowns);
  const determined = m >= unknowns;
  const U = Matrix.zeros(k, k);
  if (determined) {
    const qr = new HouseholderQr(columns, m, unknowns, stop);
    const solution =
      qr.diagonalRatio() > 1e-11 ? qr.solveLeastSquares(new Float64Array(m).fill(1)) : undefined;
    if (solution) {
      let c = 0;
      for (let p = 0; p < k; p++) {
        for (let q = p; q < k; q++) {
          U.set(p, q, solution[c]);
          U.set(q, p, solution[c]);
          c++;
        }
      }
      return { u: leadingVector(U), determined: true };
    }
  }
  // Too few rows, or rows not in general position: U is not determined. The weighted second moment of the
  // e_i leans towards y (the rows with the smallest slacks weigh most), a start the polish improves on.
  for (let i = 0; i < n; i++) {
    e(i, row);
    for (let p = 0; p < k; p++) for (let q = p; q < k; q++) U.set(p, q, U.get(p, q) + row[p] * row[q]);
  }
  for (let p = 0; p < k; p++) for (let q = 0; q < p; q++) U.set(p, q, U.get(q, p));
  return { u: leadingVector(U), determined: false };
}

function leadingVector(U: Matrix): Float64Array {
  const evd = new EigenvalueDecomposition(U, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  let top = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[top]) top = i;
  const scale = Math.sqrt(Math.max(values[top], 0));
  return Float64Array.from(evd.eigenvectorMatrix.getColumn(top), (v) => v * scale);
}

const NOT_DETERMINED =
  'the rows do not determine the cell (n is below the lifting size (d+1)(d+2)/2, or A is not in ' +
  'general position): other cells may fit the scores as well; give signs to settle it';

function lift(
  A: Float64Array,
  b: Float64Array,
  n: number,
  d: number,
  r: Float64Array,
  stop: Stopper,
): Lifted {
  const k = d + 1;
  if (d > MAX_LIFTED_D) return { x: spectralGuess(A, b, n, d, r), ambiguity: liftTooLarge(d) };
  const { u, determined } = liftedVector(
    (i, out) => {
      for (let j = 0; j < d; j++) out[j] = A[i * d + j] / r[i];
      out[d] = -b[i] / r[i];
    },
    n,
    k,
    stop,
  );
  const last = u[d];
  const x = new Float64Array(d);
  if (last !== 0 && Number.isFinite(last)) for (let j = 0; j < d; j++) x[j] = u[j] / last;
  return determined ? { x } : { x, ambiguity: NOT_DETERMINED };
}

const liftTooLarge = (d: number): string =>
  `d = ${d} is above ${MAX_LIFTED_D}, where the lifted system is not solved: the cell comes from a ` +
  'spectral guess and may not be the only one that fits; give signs to settle it';

/** For wide problems: the leading direction of the weighted second moment, as in liftedVector's fallback. */
function spectralGuess(
  A: Float64Array,
  b: Float64Array,
  n: number,
  d: number,
  r: Float64Array,
): Float64Array {
  const k = d + 1;
  const M = Matrix.zeros(k, k);
  const row = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = A[i * d + j] / r[i];
    row[d] = -b[i] / r[i];
    for (let p = 0; p < k; p++) for (let q = p; q < k; q++) M.set(p, q, M.get(p, q) + row[p] * row[q]);
  }
  for (let p = 0; p < k; p++) for (let q = 0; q < p; q++) M.set(p, q, M.get(q, p));
  const u = leadingVector(M);
  const x = new Float64Array(d);
  if (u[d] !== 0) for (let j = 0; j < d; j++) x[j] = u[j] / u[d];
  return x;
}

/** b = 0: e_i = a_i / r_i and U = x x^T / alpha^2 in d dimensions; x is its leading vector (any scale). */
function liftHomogeneous(A: Float64Array, n: number, d: number, r: Float64Array, stop: Stopper): Lifted {
  const { u, determined } = liftedVector(
    (i, out) => {
      for (let j = 0; j < d; j++) out[j] = A[i * d + j] / r[i];
    },
    n,
    d,
    stop,
  );
  return determined ? { x: u } : { x: u, ambiguity: NOT_DETERMINED };
}
