import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/main/config.js';
import { workerOptionsFromConfig } from '../../src/main/service-options.js';
import { generateProblem } from '../../src/problem/generate.js';
import { parseProblem } from '../../src/problem/parse.js';
import { createRng } from '../../src/problem/random.js';
import { defaultSolverThreads, type Problem, solve, useSolverThreads } from '../../src/solver/index.js';
import { currentKernels, type Kernels, kernelsNamed, solverThreads } from '../../src/solver/kernels.js';
import { PARALLEL_WORK, ParallelKernels } from '../../src/solver/kernels-parallel.js';
import { LeverageModel } from '../../src/solver/leverage-model.js';
import { NO_STOP, Stopper, StopRequested } from '../../src/solver/stop.js';
import { ThreadTeam } from '../../src/solver/thread-team.js';
import { randomProblem } from '../helpers/random-problem.js';
import { relErr } from '../helpers/testdata.js';

/** The bound: any thread count gives the one-thread result to 1e-12 relative. */
const TOL = 1e-12;

const random = (n: number, seed: number): Float64Array => {
  const rng = createRng(seed);
  return new Float64Array(n).map(() => rng.normal());
};

function base(): Kernels {
  const k = kernelsNamed('wasm');
  if (!k) throw new Error('the WebAssembly kernels did not load: run npm run build');
  return k;
}

afterEach(() => {
  useSolverThreads(1);
});

describe('SOLVER_THREADS: the row loops on several threads', () => {
  // n d^2 above PARALLEL_WORK, so every call splits; n not a multiple of the thread counts
  const n = 6001;
  const d = 12;
  const u = random(n * d, 1);
  const a = random(n * d, 2);
  const rho = random(n, 3);
  const lev = random(n, 4).map(Math.abs);
  const p2rho = random(n, 5);
  const p2ax = random(n * d, 6);
  const C = random(((d * (d + 1)) / 2) * d, 7);
  const S = random(d * d, 8);
  const one = base();

  it.each([2, 3, 4])('%i threads: every kernel agrees with one thread to 1e-12', (threads) => {
    expect(n * d * d).toBeGreaterThan(PARALLEL_WORK);
    const team = new ThreadTeam(threads - 1, one.name);
    const k = new ParallelKernels(one, team);
    try {
      const G = one.weightedGram(u, n, d, rho, NO_STOP);
      expect(relErr(k.weightedGram(u, n, d, rho, NO_STOP), G)).toBeLessThan(TOL);
      expect(relErr(k.rowSquares(u, n, d), one.rowSquares(u, n, d))).toBeLessThan(TOL);
      expect(relErr(k.quadForms(u, n, d, G, NO_STOP), one.quadForms(u, n, d, G, NO_STOP))).toBeLessThan(TOL);
      expect(relErr(k.combineRows(a, n, d, rho), one.combineRows(a, n, d, rho))).toBeLessThan(TOL);
      expect(relErr(k.thirdMoments(u, n, d, NO_STOP), one.thirdMoments(u, n, d, NO_STOP))).toBeLessThan(TOL);
      expect(relErr(k.pairRows(u, n, d, C, NO_STOP), one.pairRows(u, n, d, C, NO_STOP))).toBeLessThan(TOL);
      expect(relErr(k.multiplyRows(u, n, d, S), one.multiplyRows(u, n, d, S))).toBeLessThan(TOL);
      for (const hessian of [true, false]) {
        const ours = k.rowTerms(a, p2ax, lev, rho, p2rho, n, d, hessian, NO_STOP);
        const ref = one.rowTerms(a, p2ax, lev, rho, p2rho, n, d, hessian, NO_STOP);
        expect(relErr(ours.bax, ref.bax)).toBeLessThan(TOL);
        if (hessian) expect(relErr(ours.H!, ref.H!)).toBeLessThan(TOL);
        else expect(ours.H).toBeNull();
      }
    } finally {
      void team.close();
    }
  });

  it.each([2, 3])(
    '%i threads: the tall-skinny QR gives Q R = A_x with orthonormal Q and the same scores',
    (threads) => {
      const team = new ThreadTeam(threads - 1, one.name);
      const k = new ParallelKernels(one, team);
      try {
        const { u: q, r } = k.thinQr(a, n, d, NO_STOP);
        const ref = one.thinQr(a, n, d, NO_STOP);
        // Q is unique up to the signs of its columns: the scores (row norms) and |R| are not
        expect(relErr(one.rowSquares(q, n, d), one.rowSquares(ref.u, n, d))).toBeLessThan(TOL);
        expect(relErr(r.map(Math.abs), ref.r.map(Math.abs))).toBeLessThan(TOL);
        const qr = new Float64Array(n * d);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < d; j++)
            for (let l = 0; l <= j; l++) qr[i * d + j] += q[i * d + l] * r[l * d + j];
        expect(relErr(qr, a)).toBeLessThan(1e-13);
        const gram = one.weightedGram(q, n, d, new Float64Array(n).fill(1), NO_STOP);
        for (let i = 0; i < d; i++) gram[i * d + i] -= 1;
        expect(Math.max(...gram.map(Math.abs))).toBeLessThan(1e-13);
      } finally {
        void team.close();
      }
    },
  );

  it('n x d results go to a given array, shared or not, and multiplyRows may overwrite its input', () => {
    const team = new ThreadTeam(1, one.name);
    const k = new ParallelKernels(one, team);
    try {
      const expected = k.pairRows(u, n, d, C, NO_STOP);
      for (const into of [new Float64Array(n * d), k.alloc(n * d)]) {
        expect(k.pairRows(u, n, d, C, NO_STOP, into)).toBe(into);
        expect(into).toEqual(expected);
      }
      const product = one.multiplyRows(u, n, d, S);
      for (const copy of [u.slice(), k.alloc(n * d)]) {
        copy.set(u);
        expect(k.multiplyRows(copy, n, d, S, copy)).toBe(copy);
        expect(relErr(copy, product)).toBeLessThan(TOL);
      }
      const q = k.alloc(n * d);
      expect(k.thinQr(a, n, d, NO_STOP, q).u).toBe(q);
      expect(q).toEqual(k.thinQr(a, n, d, NO_STOP).u);
      const bax = new Float64Array(n * d);
      expect(k.rowTerms(a, p2ax, lev, rho, p2rho, n, d, true, NO_STOP, bax).bax).toBe(bax);
      expect(bax).toEqual(k.rowTerms(a, p2ax, lev, rho, p2rho, n, d, true, NO_STOP).bax);
    } finally {
      void team.close();
    }
  });

  it('a thread count always gives the same bits', () => {
    const team = new ThreadTeam(1, one.name);
    const k = new ParallelKernels(one, team);
    try {
      expect(k.thirdMoments(u, n, d, NO_STOP)).toEqual(k.thirdMoments(u, n, d, NO_STOP));
      expect(k.thinQr(a, n, d, NO_STOP).u).toEqual(k.thinQr(a, n, d, NO_STOP).u);
    } finally {
      void team.close();
    }
  });

  it('small calls stay on the calling thread: the one-thread bits exactly', () => {
    const small = 200;
    expect(small * 8 * 8).toBeLessThan(PARALLEL_WORK);
    const team = new ThreadTeam(1, one.name);
    const k = new ParallelKernels(one, team);
    try {
      const us = u.subarray(0, small * 8);
      expect(k.thirdMoments(us, small, 8, NO_STOP)).toEqual(one.thirdMoments(us, small, 8, NO_STOP));
      expect(k.thinQr(us, small, 8, NO_STOP).u).toEqual(one.thinQr(us, small, 8, NO_STOP).u);
    } finally {
      void team.close();
    }
  });

  it('a helper that dies mid-run costs time, not the result: its share is computed here, and it is replaced', async () => {
    const team = new ThreadTeam(1, one.name);
    const k = new ParallelKernels(one, team);
    try {
      const M = one.thirdMoments(u, n, d, NO_STOP);
      expect(relErr(k.thirdMoments(u, n, d, NO_STOP), M)).toBeLessThan(TOL);
      await team.crashHelperForTest(0);
      expect(relErr(k.thirdMoments(u, n, d, NO_STOP), M)).toBeLessThan(TOL);
      // and the replacement helper works
      expect(relErr(k.pairRows(u, n, d, C, NO_STOP), one.pairRows(u, n, d, C, NO_STOP))).toBeLessThan(TOL);
    } finally {
      void team.close();
    }
  });

  it('a stop in the calling thread share is thrown once the helpers are done, and the team goes on', () => {
    const team = new ThreadTeam(1, one.name);
    const k = new ParallelKernels(one, team);
    try {
      const signal = { aborted: true };
      expect(() => k.thirdMoments(u, n, d, new Stopper(signal, () => 0, Infinity))).toThrow(StopRequested);
      expect(relErr(k.thirdMoments(u, n, d, NO_STOP), one.thirdMoments(u, n, d, NO_STOP))).toBeLessThan(TOL);
    } finally {
      void team.close();
    }
  });
});

describe('a whole solve on 1, 2 and 3 threads', () => {
  const solveWith = (problem: Problem, threads: number, method: 'newton' | 'gauss-newton') => {
    useSolverThreads(threads);
    return solve(problem, { method, maxIterations: 50 });
  };

  it.each(['newton', 'gauss-newton'] as const)('%s: the same x to 1e-12, the same iterations', (method) => {
    const { problem, xStar } = parseProblem(generateProblem({ n: 8000, d: 10, seed: 11 }));
    const runs = [1, 2, 3].map((t) => solveWith(problem, t, method));
    expect(runs.map((r) => r.timings.threads)).toEqual([1, 2, 3]);
    for (const run of runs) {
      expect(run.converged).toBe(true);
      expect(run.iterations).toBe(runs[0].iterations);
      expect(relErr(run.x, runs[0].x)).toBeLessThan(TOL);
      expect(relErr(run.x, xStar!)).toBeLessThan(1e-8);
    }
  });

  it('mixed signs and a per-row regularizer: derivatives at a point off the solution agree to 1e-12', () => {
    const { problem, near } = randomProblem({ n: 5000, d: 14, seed: 21, negative: 0.3 });
    const withReg: Problem = { ...problem, regularization: random(5000, 22).map((v) => Math.abs(v) * 1e-3) };
    const at = (threads: number) => {
      useSolverThreads(threads);
      const model = new LeverageModel(withReg, NO_STOP, currentKernels());
      const point = model.at(near);
      return { point, ...model.derivatives(point, { hessian: true, jacobian: true }) };
    };
    const one = at(1);
    for (const threads of [2, 3]) {
      const many = at(threads);
      expect(relErr(many.point.lev, one.point.lev)).toBeLessThan(TOL);
      expect(Math.abs(many.point.loss - one.point.loss) / one.point.loss).toBeLessThan(TOL);
      expect(relErr(many.gradient, one.gradient)).toBeLessThan(TOL);
      expect(relErr(many.hessian!, one.hessian!)).toBeLessThan(TOL);
      expect(relErr(many.jacobian!, one.jacobian!)).toBeLessThan(TOL);
    }
  });

  it('a small problem stays on one thread whatever the setting (timings.threads says so)', () => {
    const { problem } = parseProblem(generateProblem({ n: 200, d: 8, seed: 3 }));
    expect(solveWith(problem, 4, 'newton').timings.threads).toBe(1);
  });
});

describe('the setting', () => {
  it('useSolverThreads takes whole numbers from 1 to 64', () => {
    for (const bad of [0, -1, 1.5, 65, Number.NaN]) expect(() => useSolverThreads(bad)).toThrow(RangeError);
    expect(useSolverThreads(3)).toBe(3);
    expect(solverThreads()).toBe(3);
    expect(currentKernels()).toBeInstanceOf(ParallelKernels);
    useSolverThreads(1);
    expect(currentKernels()).not.toBeInstanceOf(ParallelKernels);
  });

  it('SOLVER_THREADS: unset shares the cores among the concurrent solves; bad values name the variable', () => {
    expect(defaultSolverThreads(1)).toBeGreaterThanOrEqual(1);
    expect(workerOptionsFromConfig(loadConfig({ WORKER_CONCURRENCY: '1' })).solverThreads).toBe(
      defaultSolverThreads(1),
    );
    expect(workerOptionsFromConfig(loadConfig({ WORKER_CONCURRENCY: '64' })).solverThreads).toBe(1);
    expect(workerOptionsFromConfig(loadConfig({ SOLVER_THREADS: '3' })).solverThreads).toBe(3);
    expect(() => loadConfig({ SOLVER_THREADS: '0' })).toThrow(/SOLVER_THREADS/);
    expect(() => loadConfig({ SOLVER_THREADS: '65' })).toThrow(/SOLVER_THREADS.*64/);
    expect(() => loadConfig({ SOLVER_THREADS: 'two' })).toThrow(/SOLVER_THREADS/);
  });
});
