/** Small d x d triangular solves on R factors stored row-major (the kernels' thinQr gives R so). */

/** x with R x = y, R upper triangular. */
export function solveUpper(R: Float64Array, d: number, y: Float64Array): Float64Array {
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let v = y[i];
    for (let j = i + 1; j < d; j++) v -= R[i * d + j] * x[j];
    x[i] = v / R[i * d + i];
  }
  return x;
}

/** R^-T g for R upper triangular, in place in g. */
export function solveUpperTransposed(R: Float64Array, d: number, g: Float64Array): Float64Array {
  for (let i = 0; i < d; i++) {
    let v = g[i];
    for (let j = 0; j < i; j++) v -= R[j * d + i] * g[j];
    g[i] = v / R[i * d + i];
  }
  return g;
}

/** min |R_kk| / max |R_kk| (0 for R = 0): below ~1e-12 the factored matrix counts as rank-deficient. */
export function diagonalRatio(R: Float64Array, d: number): number {
  let lo = Infinity;
  let hi = 0;
  for (let k = 0; k < d; k++) {
    const v = Math.abs(R[k * d + k]);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return hi === 0 ? 0 : lo / hi;
}
