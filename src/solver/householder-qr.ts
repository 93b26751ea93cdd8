import { NO_STOP, type Stopper } from './stop.js';
import { solveUpper } from './triangular.js';

/**
 * Thin Householder QR of a tall n x d matrix (n >= d), factor once, use many times.
 *
 * Written on Float64Array instead of ml-matrix's QrDecomposition because the solver factors an n x d
 * matrix with n up to 1e5 several times per iteration: working on contiguous columns (column-major input)
 * is faster than ml-matrix's get/set on a Matrix of row arrays: 2.7x at 20000 x 20 and 8x at 100000 x 20
 * with the same scores to 1e-16 (bench/qr-bench.ts). ml-matrix stays the reference in the tests.
 */
export class HouseholderQr {
  readonly n: number;
  readonly d: number;
  /** column-major n x d: R above the diagonal, the Householder vectors (implicit leading 1) below */
  private readonly qr: Float64Array;
  private readonly tau: Float64Array;
  private readonly rDiag: Float64Array;
  private readonly stop: Stopper;

  /**
   * `columns` is column-major (column j at [j*n, (j+1)*n)) and is overwritten. `stop` is polled while
   * factoring and forming Q (it throws StopRequested).
   */
  constructor(columns: Float64Array, n: number, d: number, stop: Stopper = NO_STOP) {
    if (columns.length !== n * d) {
      throw new RangeError(`HouseholderQr: buffer of length ${columns.length} is not ${n} x ${d}`);
    }
    if (n < d) throw new RangeError(`HouseholderQr: needs n >= d, got ${n} x ${d}`);
    this.n = n;
    this.d = d;
    this.qr = columns;
    this.tau = new Float64Array(d);
    this.rDiag = new Float64Array(d);
    this.stop = stop;
    this.factor();
  }

  private factor(): void {
    const { n, d, qr, tau, rDiag, stop } = this;
    for (let k = 0; k < d; k++) {
      const ck = k * n;
      // Norm with scaling so that huge or tiny columns neither overflow nor underflow.
      let scale = 0;
      for (let i = k; i < n; i++) scale = Math.max(scale, Math.abs(qr[ck + i]));
      if (scale === 0) {
        tau[k] = 0;
        rDiag[k] = 0;
        continue;
      }
      let ss = 0;
      for (let i = k; i < n; i++) {
        const v = qr[ck + i] / scale;
        ss += v * v;
      }
      const norm = scale * Math.sqrt(ss);
      const alpha = qr[ck + k];
      const beta = alpha >= 0 ? -norm : norm;
      const v0 = alpha - beta;
      tau[k] = (beta - alpha) / beta;
      rDiag[k] = beta;
      const inv = 1 / v0;
      for (let i = k + 1; i < n; i++) qr[ck + i] *= inv;
      qr[ck + k] = beta;
      // Apply H_k = I - tau v v^T (v_k = 1) to the remaining columns, two at a time: one pass over v for
      // both dot products, one for both updates. Each column's sums keep their order, so the numbers are
      // those of one column at a time bit for bit (which the wasm kernels reproduce).
      const t = tau[k];
      let j = k + 1;
      for (; j + 1 < d; j += 2) {
        stop.tick(2 * (n - k));
        const c1 = j * n;
        const c2 = c1 + n;
        let w1 = qr[c1 + k];
        let w2 = qr[c2 + k];
        for (let i = k + 1; i < n; i++) {
          const v = qr[ck + i];
          w1 += v * qr[c1 + i];
          w2 += v * qr[c2 + i];
        }
        w1 *= t;
        w2 *= t;
        if (w1 !== 0 && w2 !== 0) {
          qr[c1 + k] -= w1;
          qr[c2 + k] -= w2;
          for (let i = k + 1; i < n; i++) {
            const v = qr[ck + i];
            qr[c1 + i] -= w1 * v;
            qr[c2 + i] -= w2 * v;
          }
        } else {
          this.reflect(ck, c1, k, w1);
          this.reflect(ck, c2, k, w2);
        }
      }
      if (j < d) {
        stop.tick(n - k);
        const cj = j * n;
        let w = qr[cj + k];
        for (let i = k + 1; i < n; i++) w += qr[ck + i] * qr[cj + i];
        this.reflect(ck, cj, k, w * t);
      }
    }
  }

  /** Column at cj minus w times the Householder vector at ck (implicit 1 at row k); nothing when w = 0. */
  private reflect(ck: number, cj: number, k: number, w: number): void {
    if (w === 0) return;
    const { n, qr } = this;
    qr[cj + k] -= w;
    for (let i = k + 1; i < n; i++) qr[cj + i] -= w * qr[ck + i];
  }

  /** min |R_kk| / max |R_kk|: near machine epsilon (or 0) means the matrix has no full column rank. */
  diagonalRatio(): number {
    let lo = Infinity;
    let hi = 0;
    for (const r of this.rDiag) {
      lo = Math.min(lo, Math.abs(r));
      hi = Math.max(hi, Math.abs(r));
    }
    return hi === 0 ? 0 : lo / hi;
  }

  /** R, d x d upper triangular, row-major. */
  r(): Float64Array {
    const { n, d, qr } = this;
    const r = new Float64Array(d * d);
    for (let j = 0; j < d; j++) for (let i = 0; i <= j; i++) r[i * d + j] = qr[j * n + i];
    return r;
  }

  /** The thin Q (n x d, orthonormal columns), row-major: row i is u_i, so sigma_i = ||u_i||^2. */
  thinQRowMajor(): Float64Array {
    const { n, d, qr, tau, stop } = this;
    // Accumulate Q = H_0 ... H_{d-1} [I; 0] backwards, on contiguous columns, then transpose once.
    const q = new Float64Array(n * d);
    for (let k = d - 1; k >= 0; k--) {
      const ck = k * n;
      const t = tau[k];
      q[ck + k] = 1 - t;
      for (let i = k + 1; i < n; i++) q[ck + i] = -t * qr[ck + i];
      for (let j = k + 1; j < d; j++) {
        stop.tick(n - k);
        const cj = j * n;
        let w = q[cj + k];
        for (let i = k + 1; i < n; i++) w += qr[ck + i] * q[cj + i];
        w *= t;
        if (w === 0) continue;
        q[cj + k] -= w;
        for (let i = k + 1; i < n; i++) q[cj + i] -= w * qr[ck + i];
      }
    }
    const rows = new Float64Array(n * d);
    for (let j = 0; j < d; j++) {
      const cj = j * n;
      for (let i = 0; i < n; i++) rows[i * d + j] = q[cj + i];
    }
    return rows;
  }

  /**
   * The first d entries of Q^T rhs: with R they give the least-squares solution (R x = head) and its
   * fitted part's squared norm (||head||^2 = ||M x||^2), which the analytic centre's Newton step needs.
   */
  qtHead(rhs: Float64Array): Float64Array {
    const { n, d, qr, tau } = this;
    if (rhs.length !== n) throw new RangeError(`qtHead: rhs has length ${rhs.length}, expected ${n}`);
    const y = Float64Array.from(rhs);
    for (let k = 0; k < d; k++) {
      const ck = k * n;
      let w = y[k];
      for (let i = k + 1; i < n; i++) w += qr[ck + i] * y[i];
      w *= tau[k];
      y[k] -= w;
      for (let i = k + 1; i < n; i++) y[i] -= w * qr[ck + i];
    }
    return y.slice(0, d);
  }

  /** x minimising ||M x - rhs||_2 for the factored M (full column rank assumed). */
  solveLeastSquares(rhs: Float64Array): Float64Array {
    const { n, d } = this;
    if (rhs.length !== n)
      throw new RangeError(`solveLeastSquares: rhs has length ${rhs.length}, expected ${n}`);
    return solveUpper(this.r(), d, this.qtHead(rhs));
  }
}

/** Copies a row-major n x d matrix into a new column-major buffer, each row i scaled by rowScale[i]. */
export function toColumnMajor(
  rows: Float64Array,
  n: number,
  d: number,
  rowScale?: Float64Array,
): Float64Array {
  const cols = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const f = rowScale ? rowScale[i] : 1;
    const ri = i * d;
    for (let j = 0; j < d; j++) cols[j * n + i] = rows[ri + j] * f;
  }
  return cols;
}
