/**
 * Runs scripts/numpy_newton.py (the numpy/OpenBLAS reference of levinv's Newton method) on a problem from
 * a given start, and scripts/numpy_global_start.py (the reference of its global start) on a problem, as a
 * child process (python3) of this one. The problem travels as raw float64 files in a temporary folder, so
 * that neither side spends its measured time on JSON; the scripts time only the method.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Problem } from '#levinv/solver/index.js';
import { SCRIPTS } from './repo-paths.js';

export const NUMPY_SCRIPT = join(SCRIPTS, 'numpy_newton.py');
export const NUMPY_GLOBAL_START_SCRIPT = join(SCRIPTS, 'numpy_global_start.py');

export interface NumpyIterate {
  iteration: number;
  loss: number;
  gradNorm: number;
  step: number;
  shift: number;
  /** ms this iteration took (0 for the start) */
  ms: number;
}

export interface NumpyResult {
  x: number[];
  iterations: number;
  reason: string;
  converged: boolean;
  loss: number;
  gradNorm: number;
  /** the iterations alone, from x0 (no loading, no imports) */
  solveSeconds: number;
  msPerIteration: number;
  /** BLAS threads the script ran with */
  threads: number;
  numpy: string;
  iterates: NumpyIterate[];
}

/** Why the numpy reference cannot run here (python3 or numpy missing), or null when it can. */
export function numpyUnavailable(python = 'python3'): string | null {
  try {
    execFileSync(python, ['-c', 'import numpy'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    return null;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') return `${python} not found`;
    const last = e.stderr?.toString().trim().split('\n').pop();
    return `${python} cannot import numpy${last ? ` (${last})` : ''}`;
  }
}

export interface NumpyRunOptions {
  maxIterations: number;
  tolerance: number;
  /** BLAS threads (OPENBLAS_NUM_THREADS and friends); undefined leaves numpy's default (all cores) */
  threads?: number;
  python?: string;
}

/**
 * Writes the spec (arrays as raw float64 files beside it) to a temporary folder, runs `script` on it with
 * the BLAS threads asked for, and parses the one JSON line it prints. Throws when the script fails.
 */
function runScript<T>(
  script: string,
  arrays: Record<string, Float64Array>,
  fields: Record<string, unknown>,
  options: { threads?: number; python?: string },
): T {
  const dir = mkdtempSync(join(tmpdir(), 'levinv-numpy-'));
  try {
    const spec: Record<string, unknown> = { ...fields };
    for (const [name, values] of Object.entries(arrays)) {
      // Float64Array bytes are the platform's order; every platform Node supports is little-endian.
      const file = `${name}.f64`;
      writeFileSync(join(dir, file), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      spec[name] = file;
    }
    const specPath = join(dir, 'spec.json');
    writeFileSync(specPath, JSON.stringify(spec));
    const env = { ...process.env };
    if (options.threads !== undefined) {
      const t = String(options.threads);
      Object.assign(env, { OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t });
    } else {
      for (const key of ['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS']) delete env[key];
    }
    const out = execFileSync(options.python ?? 'python3', [script, specPath], {
      encoding: 'utf8',
      env,
      maxBuffer: 64 << 20,
    });
    return JSON.parse(out) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Newton from x0 by the numpy reference. Throws when the script fails. */
export function runNumpyNewton(
  problem: Problem,
  x0: ArrayLike<number>,
  options: NumpyRunOptions,
): NumpyResult {
  const arrays: Record<string, Float64Array> = {
    A: problem.A,
    b: problem.b,
    sigma: problem.sigma,
    x0: Float64Array.from(x0),
  };
  const w = problem.regularization;
  if (w !== undefined) arrays.w = typeof w === 'number' ? new Float64Array(problem.n).fill(w) : w;
  return runScript<NumpyResult>(
    NUMPY_SCRIPT,
    arrays,
    { n: problem.n, d: problem.d, maxIterations: options.maxIterations, tolerance: options.tolerance },
    options,
  );
}

export interface NumpyGlobalStart {
  /** null when the reference found no start (a target of 0; with signs, no point in that cell) */
  x: number[] | null;
  /** rows with a negative slack at x */
  negative?: number;
  weightPasses?: number;
  weightResidual?: number;
  /** max_i ||e_i^T u| - 1| of the sign-free fit (0 with signs) */
  misfit?: number;
  /** which start gave x: spectral, orthogonal, lifted, random, or signs */
  route?: string;
  ambiguous?: boolean;
  /** the global start alone (weights and recovery), no loading or imports */
  seconds?: number;
  /** the weights' part of it */
  weightSeconds?: number;
  threads: number;
  numpy: string;
}

/**
 * The global start by the numpy reference, with the problem's signs when `withSigns` (problem.signs, or
 * all +1 when it has none) and without them otherwise. Throws when the script fails.
 */
export function runNumpyGlobalStart(
  problem: Problem,
  options: { withSigns?: boolean; threads?: number; python?: string; repeat?: number } = {},
): NumpyGlobalStart {
  const arrays: Record<string, Float64Array> = { A: problem.A, b: problem.b, sigma: problem.sigma };
  if (options.withSigns) {
    arrays.signs = problem.signs ? Float64Array.from(problem.signs) : new Float64Array(problem.n).fill(1);
  }
  return runScript<NumpyGlobalStart>(
    NUMPY_GLOBAL_START_SCRIPT,
    arrays,
    { n: problem.n, d: problem.d, repeat: options.repeat ?? 1 },
    options,
  );
}

/** ||a - b|| / ||a|| (||a - b|| when a = 0). */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let j = 0; j < a.length; j++) {
    num += (a[j] - b[j]) ** 2;
    den += a[j] ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}
