/**
 * The solver's row loops in plain TypeScript: the reference for the WebAssembly kernels
 * (kernels-wasm.ts, from assembly/kernels.ts) and the fallback when they cannot load or LEVINV_KERNELS=js.
 * Each is a sum over the rows of n x d row-major arrays, with stop.tick per row.
 */
import { HouseholderQr, toColumnMajor } from './householder-qr.js';
import type { Kernels, RowTerms } from './kernel-interface.js';
import { NO_STOP, type Stopper } from './stop.js';

/** A^T diag(weights) A, d x d row-major (full). */
export function weightedGram(
  A: Float64Array,
  n: number,
  d: number,
  weights: Float64Array,
  stop: Stopper = NO_STOP,
): Float64Array {
  const H = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    stop.tick(d * d);
    const w = weights[i];
    if (w === 0) continue;
    const ri = i * d;
    for (let k = 0; k < d; k++) {
      const f = w * A[ri + k];
      for (let l = k; l < d; l++) H[k * d + l] += f * A[ri + l];
    }
  }
  mirrorUpper(H, d);
  return H;
}

/** ||u_i||^2 per row. */
export function rowSquares(u: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 0; k < d; k++) v += u[i * d + k] * u[i * d + k];
    out[i] = v;
  }
  return out;
}

/** u_i^T G u_i per row, G symmetric d x d. */
function quadForms(u: Float64Array, n: number, d: number, G: Float64Array, stop: Stopper): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    stop.tick(d * d);
    const ui = i * d;
    let v = 0;
    for (let k = 0; k < d; k++) {
      let t = 0;
      for (let l = 0; l < d; l++) t += G[k * d + l] * u[ui + l];
      v += u[ui + k] * t;
    }
    out[i] = v;
  }
  return out;
}

/** sum_i c_i a_i (a d-vector). */
function combineRows(a: Float64Array, n: number, d: number, c: Float64Array): Float64Array {
  const out = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const ci = c[i];
    const ai = i * d;
    for (let j = 0; j < d; j++) out[j] += ci * a[ai + j];
  }
  return out;
}

/** The number of distinct third moments (k <= l <= m) of d columns. */
export const tripleCount = (d: number): number => (d * (d + 1) * (d + 2)) / 6;

/**
 * M_klm = sum_i u_ik u_il u_im over k <= l <= m, in lexicographic order: the tensor is fully symmetric,
 * so d(d+1)(d+2)/6 products per row instead of the d * d(d+1)/2 of C = Y^T A_x accumulated directly.
 */
function thirdMoments(u: Float64Array, n: number, d: number, stop: Stopper): Float64Array {
  const T = tripleCount(d);
  const M = new Float64Array(T);
  for (let i = 0; i < n; i++) {
    stop.tick(T);
    const ui = i * d;
    let t = 0;
    for (let k = 0; k < d; k++) {
      const uk = u[ui + k];
      for (let l = k; l < d; l++) {
        const y = uk * u[ui + l];
        for (let m = l; m < d; m++) M[t++] += y * u[ui + m];
      }
    }
  }
  return M;
}

/** Y C: row i is sum over pairs p = (k <= l) of w_p u_ik u_il C[p, :] (w_p = 1 if k = l, else 2). */
function pairRows(
  u: Float64Array,
  n: number,
  d: number,
  C: Float64Array,
  stop: Stopper,
  given?: Float64Array,
): Float64Array {
  const m = (d * (d + 1)) / 2;
  const y = new Float64Array(m);
  const out = given ? given.fill(0) : new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    stop.tick(m * d);
    const ui = i * d;
    let p = 0;
    for (let k = 0; k < d; k++) {
      const uk = u[ui + k];
      y[p++] = uk * uk;
      for (let l = k + 1; l < d; l++) y[p++] = 2 * uk * u[ui + l];
    }
    const ri = i * d;
    for (p = 0; p < m; p++) {
      const yp = y[p];
      const cp = p * d;
      for (let j = 0; j < d; j++) out[ri + j] += yp * C[cp + j];
    }
  }
  return out;
}

/** U S (S d x d, full), n x d. */
function multiplyRows(
  u: Float64Array,
  n: number,
  d: number,
  S: Float64Array,
  given?: Float64Array,
): Float64Array {
  const out = given ?? new Float64Array(n * d);
  // a row at a time through `row`, so that `out` may be `u`
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const ri = i * d;
    row.fill(0);
    for (let k = 0; k < d; k++) {
      const f = u[ri + k];
      const sk = k * d;
      for (let j = 0; j < d; j++) row[j] += f * S[sk + j];
    }
    out.set(row, ri);
  }
  return out;
}

/**
 * B A_x = Sigma A_x - P2 A_x, and (when asked) the Hessian's row terms
 * 4 (B A_x)^T (B A_x) + A_x^T diag(6 rho o sigma - 6 P2 rho) A_x - 4 [(R A_x)^T (P2 A_x) + (P2 A_x)^T (R A_x)].
 */
function rowTerms(
  ax: Float64Array,
  p2ax: Float64Array,
  lev: Float64Array,
  rho: Float64Array,
  p2rho: Float64Array,
  n: number,
  d: number,
  hessian: boolean,
  stop: Stopper,
  given?: Float64Array,
): RowTerms {
  const bax = given ?? new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) bax[i] = lev[(i / d) | 0] * ax[i] - p2ax[i];
  if (!hessian) return { bax, H: null };
  const H = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    stop.tick(2 * d * d);
    const ri = i * d;
    const v = 6 * (rho[i] * lev[i] - p2rho[i]);
    const r4 = 4 * rho[i];
    for (let k = 0; k < d; k++) {
      const bk = 4 * bax[ri + k];
      const ak = ax[ri + k];
      const vk = v * ak;
      const pk = r4 * p2ax[ri + k];
      const rk = r4 * ak;
      for (let l = k; l < d; l++) {
        H[k * d + l] += bk * bax[ri + l] + vk * ax[ri + l] - rk * p2ax[ri + l] - pk * ax[ri + l];
      }
    }
  }
  mirrorUpper(H, d);
  return { bax, H };
}

export function mirrorUpper(H: Float64Array, d: number): void {
  for (let k = 0; k < d; k++) for (let l = 0; l < k; l++) H[k * d + l] = H[l * d + k];
}

/** HouseholderQr on the columns of A_x. */
function thinQr(
  ax: Float64Array,
  n: number,
  d: number,
  stop: Stopper,
  out?: Float64Array,
): { u: Float64Array; r: Float64Array } {
  const qr = new HouseholderQr(toColumnMajor(ax, n, d), n, d, stop);
  const u = qr.thinQRowMajor();
  out?.set(u);
  return { u: out ?? u, r: qr.r() };
}

export const jsKernels: Kernels = {
  name: 'js',
  threadsFor: () => 1,
  thinQr,
  weightedGram,
  rowSquares,
  quadForms,
  combineRows,
  thirdMoments,
  pairRows,
  multiplyRows,
  rowTerms,
  alloc: (length) => new Float64Array(length),
};
