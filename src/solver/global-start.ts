/**
 * The global start (docs/MATH.md, "The global start"): x and its cell from A, b and sigma alone.
 *
 * 1. Weights with the target scores (leverage-weights.ts): w_i = 1 / s_i^2 up to one common factor, so
 *    the slacks' sizes r_i = w_i^(-1/2) are known up to a factor alpha > 0: |a_i^T x - b_i| = alpha r_i.
 * 2. With the signs known this is linear in (x, alpha): s_i (a_i^T x - b_i) = alpha r_i, solved in least
 *    squares relative to r_i over all rows (one thin QR, O(n d^2)). With the signs unknown, write
 *    y = (x, 1), e_i = (a_i, -b_i) / r_i and u = y / alpha: |e_i^T u| = 1 for every row, a real phase
 *    retrieval problem. Alternating projections (the signs of E u, then u from them in least squares: one
 *    QR of E, then O(n d) a round) from the spectral start (the leading eigenvector of
 *    sum_i r_i^2 (a_i, -b_i)(a_i, -b_i)^T) solve it on most problems, up to d = 100. Heavy-tailed rows
 *    can mislead the spectral start; then the lifted system does not need one: squared, e_i^T U e_i = 1
 *    with U = u u^T is linear in the (d+1)(d+2)/2 entries of the symmetric U, a sample of rows twice
 *    that many determines U (exactly, for exact scores and rows in general position; the dense sample is
 *    m x K, never n x K), and its leading eigenvector starts the alternation again. y's last entry fixes
 *    u's sign and scale: x = u_1..d / u_d+1, and the signs of A x - b are the cell.
 *
 * The answer may not be unique: b = 0 makes every c x (c != 0) score the same, and n below the lifting
 * size or rows not in general position may leave several cells that fit; `ambiguity` says so.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { HouseholderQr, toColumnMajor } from './householder-qr.js';
import type { Kernels } from './kernels.js';
import { leverageWeights } from './leverage-weights.js';
import type { Stopper } from './stop.js';
import { solveUpper } from './triangular.js';
import type { Problem } from './types.js';
import { signsAt } from './validate.js';

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
  const recovered = homogeneous
    ? recoverHomogeneous(A, n, d, r, kernels, stop)
    : recover(A, b, n, d, r, kernels, stop);
  const { x } = recovered;
  const cell = signsAt(problem, x);
  if (homogeneous)
    return { x, signs: cell, ...found, ambiguity: HOMOGENEOUS, alternatives: [x.map((v) => -v)] };
  return {
    x,
    signs: cell,
    ...found,
    ...(recovered.ambiguity ? { ambiguity: recovered.ambiguity } : {}),
    alternatives: [],
  };
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

/** xorshift32 from a fixed seed, as unsigned 32-bit numbers: the same problem always gives the same start. */
function xorshift32(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

/** Rows sampled for the lifted system: about twice its unknowns, spread evenly by a fixed-seed shuffle. */
function sampleRows(n: number, unknowns: number): Int32Array {
  const m = Math.min(n, 2 * unknowns + 20);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const next = xorshift32(0x9e3779b9);
  for (let i = 0; i < m; i++) {
    const j = i + (next() % (n - i));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order.slice(0, m).sort();
}

/**
 * Rows e_i (length k) of the sign-free system |e_i^T u| = 1, row-major, with their thin QR (Q row-major
 * n x k, R k x k) by the kernels: WebAssembly on the solver's threads, where the plain Householder loops
 * took most of the recovery's time. The rows live in the kernels' memory so the threads read them in place.
 */
interface SignFree {
  n: number;
  k: number;
  rows: Float64Array;
  q: Float64Array;
  r: Float64Array;
  kernels: Kernels;
}

function signFree(
  n: number,
  k: number,
  fill: (i: number, out: Float64Array) => void,
  kernels: Kernels,
  stop: Stopper,
): SignFree {
  const rows = kernels.alloc(n * k);
  const row = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    fill(i, row);
    rows.set(row, i * k);
  }
  const scratch = kernels.alloc(n * k);
  scratch.set(rows);
  const { u: q, r } = kernels.thinQr(scratch, n, k, stop, scratch);
  return { n, k, rows, q, r, kernels };
}

/** argmin_u ||E u - c||: R u = Q^T c, O(n k). */
function leastSquares({ n, k, q, r, kernels }: SignFree, c: Float64Array): Float64Array {
  return solveUpper(r, k, kernels.combineRows(q, n, k, c));
}

/** E u. */
function times({ n, k, rows }: SignFree, u: Float64Array): Float64Array {
  const out = new Float64Array(n);
  let i = 0;
  // four rows at a time: four independent chains of adds (one chain waits on each add's latency)
  for (; i + 3 < n; i += 4) {
    const o = i * k;
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (let j = 0; j < k; j++) {
      const uj = u[j];
      t0 += rows[o + j] * uj;
      t1 += rows[o + k + j] * uj;
      t2 += rows[o + 2 * k + j] * uj;
      t3 += rows[o + 3 * k + j] * uj;
    }
    out[i] = t0;
    out[i + 1] = t1;
    out[i + 2] = t2;
    out[i + 3] = t3;
  }
  for (; i < n; i++) {
    let t = 0;
    for (let j = 0; j < k; j++) t += rows[i * k + j] * u[j];
    out[i] = t;
  }
  return out;
}

/** The signs of E u (+1 for 0), in place of E u. */
function signsOfRows(system: SignFree, u: Float64Array): Float64Array {
  const out = times(system, u);
  for (let i = 0; i < out.length; i++) out[i] = out[i] < 0 ? -1 : 1;
  return out;
}

/**
 * Alternating projections for |e_i^T u| = 1: the signs c of E u, then u = argmin ||E u - c|| (one QR for
 * all rounds: O(n k) a round), until the signs settle. Returns u and the misfit max_i ||e_i^T u| - 1|.
 */
function alternate(
  system: SignFree,
  start: Float64Array,
  stop: Stopper,
): { u: Float64Array; misfit: number } {
  let u = start;
  let c = signsOfRows(system, u);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    stop.tick(4 * system.n * system.k);
    u = leastSquares(system, c);
    const next = signsOfRows(system, u);
    if (next.every((v, i) => v === c[i])) break;
    c = next;
  }
  let misfit = 0;
  for (const t of times(system, u)) misfit = Math.max(misfit, Math.abs(Math.abs(t) - 1));
  return { u, misfit: Number.isFinite(misfit) ? misfit : Number.POSITIVE_INFINITY };
}

/** Rounds of alternating projections at most (they settled in 4 to 76 on generated problems). */
const MAX_ROUNDS = 200;
/** A misfit this small means the scores are fitted exactly: no second method is tried. */
const EXACT = 1e-9;

/**
 * The leading eigenvector of sum_i r_i^4 e_i e_i^T = sum_i r_i^2 (a~_i a~_i^T) (the spectral start of phase
 * retrieval, the measured sizes as weights): it leans towards u, since rows with large slacks weigh most.
 */
function spectralStart({ n, k, rows, kernels }: SignFree, r: Float64Array): Float64Array {
  const w = kernels.alloc(n);
  for (let i = 0; i < n; i++) w[i] = r[i] ** 4;
  return leadingVector(gram(kernels, rows, n, k, w));
}

/** sum_i w_i e_i e_i^T as a k x k Matrix, by the kernels (a Matrix's get and set per term cost 10x). */
function gram(kernels: Kernels, rows: Float64Array, n: number, k: number, w: Float64Array): Matrix {
  const G = kernels.weightedGram(rows, n, k, w);
  const M = Matrix.zeros(k, k);
  for (let p = 0; p < k; p++) for (let q = 0; q < k; q++) M.set(p, q, G[p * k + q]);
  return M;
}

interface Recovered {
  x: Float64Array;
  ambiguity?: string;
}

const NOT_DETERMINED =
  'the rows do not determine the cell (n is below the lifting size (d+1)(d+2)/2, or A is not in ' +
  'general position): other cells may fit the scores as well; give signs to settle it';

const liftTooLarge = (d: number): string =>
  `the scores are not fitted exactly from the spectral starts, and d = ${d} is above ${MAX_LIFTED_D}, where ` +
  'the lifted system is not solved: other cells may fit them better; give signs to settle it';

/**
 * The orthogonality-promoting start of phase retrieval (Wang, Giannakis and Eldar): the rows with the
 * smallest measurement relative to their length, here the largest ||e_i||, are nearly orthogonal to u, so
 * u is near the least eigenvector of their normalised second moment. It found (5000, 100) Gaussian
 * problems the spectral start missed (10 of 10 against 8 of 10 in a numpy prototype).
 */
function orthogonalStart({ n, k, rows, kernels }: SignFree): Float64Array {
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < k; j++) ss += rows[i * k + j] ** 2;
    norms[i] = ss;
  }
  const chosen = Math.max(k, Math.floor(n / 6));
  const threshold = Float64Array.from(norms)
    .sort()
    .at(n - chosen) as number;
  const w = kernels.alloc(n);
  for (let i = 0; i < n; i++) w[i] = norms[i] < threshold || !(norms[i] > 0) ? 0 : 1 / norms[i];
  return eigenvector(gram(kernels, rows, n, k, w), 'least').vector;
}

/**
 * u (with |e_i^T u| = 1) by alternating projections from the spectral and the orthogonality-promoting
 * starts, and when neither fits exactly (heavy-tailed rows mislead both), from the lifted system's answer
 * too (d at most MAX_LIFTED_D); the best fit wins.
 */
function solveSignFree(
  system: SignFree,
  r: Float64Array,
  stop: Stopper,
): { u: Float64Array; ambiguity?: string } {
  const k = system.k;
  // Below the lifting size even an exact fit may not be the only one (and often is not).
  const settled = (u: Float64Array) =>
    system.n < (k * (k + 1)) / 2 ? { u, ambiguity: NOT_DETERMINED } : { u };
  let best = alternate(system, spectralStart(system, r), stop);
  if (best.misfit <= EXACT) return settled(best.u);
  const orthogonal = alternate(system, orthogonalStart(system), stop);
  if (orthogonal.misfit < best.misfit) best = orthogonal;
  if (best.misfit <= EXACT) return settled(best.u);
  if (k - 1 > MAX_LIFTED_D) return { u: best.u, ambiguity: liftTooLarge(k - 1) };
  const lifted = liftedVector(system, stop);
  const polished = alternate(system, lifted.u, stop);
  if (polished.misfit <= best.misfit) best = polished;
  if (lifted.determined) return { u: best.u };
  // Not determined (too few rows): random starts, cheap at O(n d) a round, until one fits exactly.
  const next = xorshift32(0x2545f491);
  const random = (): number => next() / 2 ** 32 - 0.5;
  for (let attempt = 0; attempt < RANDOM_STARTS && best.misfit > EXACT; attempt++) {
    const tried = alternate(system, Float64Array.from({ length: k }, random), stop);
    if (tried.misfit < best.misfit) best = tried;
  }
  return { u: best.u, ambiguity: NOT_DETERMINED };
}

/** Random starts tried when the rows do not determine the lifted system. */
const RANDOM_STARTS = 32;

/** e_i = (a_i, -b_i) / r_i and u = (x, 1) / alpha: x = u_1..d / u_d+1 (the sign of u cancels). */
function recover(
  A: Float64Array,
  b: Float64Array,
  n: number,
  d: number,
  r: Float64Array,
  kernels: Kernels,
  stop: Stopper,
): Recovered {
  const system = signFree(
    n,
    d + 1,
    (i, out) => {
      for (let j = 0; j < d; j++) out[j] = A[i * d + j] / r[i];
      out[d] = -b[i] / r[i];
    },
    kernels,
    stop,
  );
  const { u, ambiguity } = solveSignFree(system, r, stop);
  const x = new Float64Array(d);
  if (u[d] !== 0 && Number.isFinite(u[d])) for (let j = 0; j < d; j++) x[j] = u[j] / u[d];
  return ambiguity ? { x, ambiguity } : { x };
}

/** b = 0: e_i = a_i / r_i and u = x / alpha, any multiple of which scores the same. */
function recoverHomogeneous(
  A: Float64Array,
  n: number,
  d: number,
  r: Float64Array,
  kernels: Kernels,
  stop: Stopper,
): Recovered {
  const system = signFree(
    n,
    d,
    (i, out) => {
      for (let j = 0; j < d; j++) out[j] = A[i * d + j] / r[i];
    },
    kernels,
    stop,
  );
  const { u, ambiguity } = solveSignFree(system, r, stop);
  return ambiguity ? { x: u, ambiguity } : { x: u };
}

/**
 * Solves e_i^T U e_i = 1 for symmetric U (K = k(k+1)/2 unknowns) on sampled rows (m about 2K: the dense
 * system is m x K, never n x K) and returns U's leading eigenvector scaled by the root of its eigenvalue;
 * `determined` is false when the rows cannot determine U (too few, or not in general position).
 */
function liftedVector(
  { n, k, rows, kernels }: SignFree,
  stop: Stopper,
): { u: Float64Array; determined: boolean } {
  const unknowns = (k * (k + 1)) / 2;
  const sample = sampleRows(n, unknowns);
  const m = sample.length;
  let U = Matrix.zeros(k, k);
  if (m >= unknowns) {
    const columns = new Float64Array(m * unknowns);
    for (let t = 0; t < m; t++) {
      const at = sample[t] * k;
      let c = 0;
      for (let p = 0; p < k; p++) {
        for (let q = p; q < k; q++) {
          columns[c * m + t] = (p === q ? 1 : 2) * rows[at + p] * rows[at + q];
          c++;
        }
      }
    }
    stop.tick(2 * m * unknowns * unknowns);
    const qr = new HouseholderQr(columns, m, unknowns, stop);
    if (qr.diagonalRatio() > 1e-11) {
      const solution = qr.solveLeastSquares(new Float64Array(m).fill(1));
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
  // not determined: the plain second moment of the e_i, a start the alternation improves on
  U = gram(kernels, rows, n, k, kernels.alloc(n).fill(1));
  return { u: leadingVector(U), determined: false };
}

/** A unit eigenvector of the symmetric M for its largest or least eigenvalue, with that eigenvalue. */
function eigenvector(M: Matrix, which: 'largest' | 'least'): { vector: Float64Array; value: number } {
  const evd = new EigenvalueDecomposition(M, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  let at = 0;
  for (let i = 1; i < values.length; i++) {
    if (which === 'largest' ? values[i] > values[at] : values[i] < values[at]) at = i;
  }
  return { vector: Float64Array.from(evd.eigenvectorMatrix.getColumn(at)), value: values[at] };
}

/** The leading eigenvector scaled by the root of its eigenvalue (u from U = u u^T). */
function leadingVector(U: Matrix): Float64Array {
  const { vector, value } = eigenvector(U, 'largest');
  const scale = Math.sqrt(Math.max(value, 0));
  return vector.map((v) => v * scale);
}
