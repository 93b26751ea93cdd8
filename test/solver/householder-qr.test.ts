import { Matrix, solve as mlSolve, QrDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/problem/random.js';
import { HouseholderQr, toColumnMajor } from '../../src/solver/householder-qr.js';
import { relErr } from '../helpers/testdata.js';

function randomRows(n: number, d: number, seed: number): Float64Array {
  const rng = createRng(seed);
  return new Float64Array(n * d).map(() => rng.normal());
}

describe('HouseholderQr', () => {
  const n = 50;
  const d = 6;
  const rows = randomRows(n, d, 3);
  const qr = new HouseholderQr(toColumnMajor(rows, n, d), n, d);
  const Q = qr.thinQRowMajor();
  const R = qr.r();

  it('Q has orthonormal columns (1e-14)', () => {
    for (let a = 0; a < d; a++) {
      for (let c = 0; c < d; c++) {
        let v = 0;
        for (let i = 0; i < n; i++) v += Q[i * d + a] * Q[i * d + c];
        expect(Math.abs(v - (a === c ? 1 : 0))).toBeLessThan(1e-14);
      }
    }
  });

  it('Q R reproduces A (1e-14) with R upper triangular', () => {
    const product = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        let v = 0;
        for (let k = 0; k < d; k++) v += Q[i * d + k] * R[k * d + j];
        product[i * d + j] = v;
      }
    }
    expect(relErr(product, rows)).toBeLessThan(1e-14);
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) expect(R[i * d + j]).toBe(0);
  });

  it('R agrees with ml-matrix QrDecomposition up to row signs', () => {
    const reference = new QrDecomposition(
      new Matrix(Array.from({ length: n }, (_, i) => Array.from(rows.subarray(i * d, (i + 1) * d)))),
    );
    const refR = reference.upperTriangularMatrix;
    for (let i = 0; i < d; i++) {
      const sign = Math.sign(R[i * d + i]) * Math.sign(refR.get(i, i));
      for (let j = i; j < d; j++) expect(R[i * d + j]).toBeCloseTo(sign * refR.get(i, j), 12);
    }
  });

  it('least squares matches ml-matrix', () => {
    const rng = createRng(4);
    const rhs = new Float64Array(n).map(() => rng.normal());
    const x = qr.solveLeastSquares(rhs);
    const A = new Matrix(Array.from({ length: n }, (_, i) => Array.from(rows.subarray(i * d, (i + 1) * d))));
    const ref = mlSolve(A, Matrix.columnVector(Array.from(rhs))).getColumn(0);
    expect(relErr(x, ref)).toBeLessThan(1e-12);
  });

  it('reports rank deficiency through the diagonal ratio', () => {
    expect(qr.diagonalRatio()).toBeGreaterThan(1e-3);
    const dependent = Float64Array.from(rows);
    for (let i = 0; i < n; i++) dependent[i * d + 5] = 2 * dependent[i * d + 1] - dependent[i * d + 2];
    expect(new HouseholderQr(toColumnMajor(dependent, n, d), n, d).diagonalRatio()).toBeLessThan(1e-14);
  });

  it('rejects wrong shapes with a RangeError naming them', () => {
    expect(() => new HouseholderQr(new Float64Array(10), 4, 3)).toThrow(/buffer of length 10 is not 4 x 3/);
    expect(() => new HouseholderQr(new Float64Array(6), 2, 3)).toThrow(/needs n >= d, got 2 x 3/);
    expect(() => qr.solveLeastSquares(new Float64Array(3))).toThrow(/rhs has length 3, expected 50/);
  });
});
