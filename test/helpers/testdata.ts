/**
 * Loads the shared test vectors (../shared/testdata, fields in its README) as solver problems. A checkout
 * without shared/ beside it (a clone anywhere else) reads the copy in test/fixtures/testdata, which
 * test/solver/testdata.test.ts holds byte-identical to shared/ wherever both exist.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Problem } from '../../src/solver/index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const SHARED_TESTDATA_DIR = resolve(here, '../../../shared/testdata');
export const VENDORED_TESTDATA_DIR = resolve(here, '../fixtures/testdata');
export const TESTDATA_DIR =
  process.env.LEVINV_TESTDATA ??
  (existsSync(SHARED_TESTDATA_DIR) ? SHARED_TESTDATA_DIR : VENDORED_TESTDATA_DIR);

export interface TestVector {
  name: string;
  n: number;
  d: number;
  A: number[][];
  b: number[];
  sigma: number[];
  xStar: number[];
  signs: number[];
  regularization: number[] | null;
  at: { x: number[]; leverage: number[]; loss: number; gradient: number[]; hessian: number[][] };
  start: number[];
  solution: { x: number[]; loss: number };
}

export function testVectorNames(): string[] {
  return readdirSync(TESTDATA_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''))
    .sort();
}

export function loadVector(name: string): TestVector {
  return JSON.parse(readFileSync(join(TESTDATA_DIR, `${name}.json`), 'utf8')) as TestVector;
}

export function vectorProblem(v: TestVector): Problem {
  return {
    n: v.n,
    d: v.d,
    A: Float64Array.from(v.A.flat()),
    b: Float64Array.from(v.b),
    sigma: Float64Array.from(v.sigma),
    signs: Int8Array.from(v.signs),
    regularization: v.regularization ? Float64Array.from(v.regularization) : undefined,
  };
}

/** max_i |a_i - b_i| / max(max_i |b_i|, floor): a relative error on the vector's scale. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-300): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = floor;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}
