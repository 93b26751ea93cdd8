/**
 * Runs scripts/numpy_newton.py (the numpy/OpenBLAS reference of levinv's Newton method) on a problem from
 * a given start, as a child process (python3) of this one. The problem travels as raw float64 files in a
 * temporary folder, so that neither side spends its measured time on JSON; the script times only its
 * iterations.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Problem } from '../solver/index.js';

/** src/bench/ and dist/bench/ are both two levels below the repository root. */
export const NUMPY_SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/numpy_newton.py');

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

/** Newton from x0 by the numpy reference. Throws when the script fails. */
export function runNumpyNewton(
  problem: Problem,
  x0: ArrayLike<number>,
  options: NumpyRunOptions,
): NumpyResult {
  const dir = mkdtempSync(join(tmpdir(), 'levinv-numpy-'));
  try {
    const write = (name: string, values: Float64Array): string => {
      // Float64Array bytes are the platform's order; every platform Node supports is little-endian.
      writeFileSync(join(dir, name), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      return name;
    };
    const spec: Record<string, unknown> = {
      n: problem.n,
      d: problem.d,
      A: write('A.f64', problem.A),
      b: write('b.f64', problem.b),
      sigma: write('sigma.f64', problem.sigma),
      x0: write('x0.f64', Float64Array.from(x0)),
      maxIterations: options.maxIterations,
      tolerance: options.tolerance,
    };
    const w = problem.regularization;
    if (w !== undefined) {
      spec.w = write('w.f64', typeof w === 'number' ? new Float64Array(problem.n).fill(w) : w);
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
    const out = execFileSync(options.python ?? 'python3', [NUMPY_SCRIPT, specPath], {
      encoding: 'utf8',
      env,
      maxBuffer: 64 << 20,
    });
    return JSON.parse(out) as NumpyResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
