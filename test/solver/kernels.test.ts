import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { generateProblem } from '../../src/problem/generate.js';
import { parseProblem } from '../../src/problem/parse.js';
import { createRng } from '../../src/problem/random.js';
import { type Problem, solve } from '../../src/solver/index.js';
import {
  currentKernels,
  type Kernels,
  kernelsNamed,
  parseKernelChoice,
  useKernels,
} from '../../src/solver/kernels.js';
import { jsKernels, tripleCount } from '../../src/solver/kernels-js.js';
import { loadWasmKernels, wasmLoadError } from '../../src/solver/kernels-wasm.js';
import { LeverageModel, pairMomentsTimes, tripleIndex } from '../../src/solver/leverage-model.js';
import { NO_STOP } from '../../src/solver/stop.js';
import { randomProblem } from '../helpers/random-problem.js';
import { loadVector, relErr, testVectorNames, vectorProblem } from '../helpers/testdata.js';

const TOL = 1e-12;

/** The WebAssembly kernels, which `npm run build` (pretest) must have produced. */
function wasm(): Kernels {
  const k = loadWasmKernels();
  if (!k) throw new Error(`the WebAssembly kernels did not load: ${wasmLoadError()}`);
  return k;
}

const random = (n: number, seed: number): Float64Array => {
  const rng = createRng(seed);
  return new Float64Array(n).map(() => rng.normal());
};

afterEach(() => {
  useKernels('auto');
});

describe('kernel choice', () => {
  it('the WebAssembly kernels load (built by npm run build) and are the default', () => {
    expect(wasm().name).toBe('wasm');
    expect(currentKernels().name).toBe('wasm');
    expect(new LeverageModel(randomProblem({ n: 10, d: 2, seed: 1 }).problem).kernels.name).toBe('wasm');
  });

  it('useKernels("js") forces the TypeScript reference for models made afterwards', () => {
    expect(useKernels('js')).toBe('js');
    expect(new LeverageModel(randomProblem({ n: 10, d: 2, seed: 1 }).problem).kernels.name).toBe('js');
    expect(useKernels('wasm')).toBe('wasm');
    expect(kernelsNamed('js')).toBe(jsKernels);
  });

  it('parseKernelChoice reads LEVINV_KERNELS: unset or empty is auto', () => {
    expect(parseKernelChoice(undefined)).toBe('auto');
    expect(parseKernelChoice('')).toBe('auto');
    expect(parseKernelChoice('js')).toBe('js');
    expect(() => parseKernelChoice('JS')).toThrow('expected one of auto, wasm, js, got "JS"');
  });

  it('load in a worker thread (each thread instantiates its own module)', async () => {
    const url = new URL('../../dist/solver/kernels.js', import.meta.url).href;
    const thread = new Worker(
      `const { parentPort } = require('node:worker_threads');
       import(${JSON.stringify(url)}).then((k) => parentPort.postMessage(k.useKernels('wasm')));`,
      { eval: true },
    );
    const [name] = await once(thread, 'message');
    await thread.terminate();
    expect(name).toBe('wasm');
  });

  it('the solve thread makes its choice from LEVINV_KERNELS as it starts', async () => {
    const file = new URL('../../dist/jobs/solve-thread.js', import.meta.url);
    const bad = new Worker(file, {
      workerData: { flag: new SharedArrayBuffer(4) },
      env: { LEVINV_KERNELS: 'gpu' },
    });
    const [error] = await once(bad, 'error');
    expect((error as Error).message).toMatch(/expected one of auto, wasm, js, got "gpu"/);
  });

  it('rejects an unknown choice', () => {
    expect(() => useKernels('gpu' as 'js')).toThrow(/kernels must be one of auto, wasm, js, got gpu/);
  });
});

// Shapes: odd and even d (the f64x2 loops' tails), odd n (the two-row moments), d = 1, and n large
// enough for several blocks of rows.
const shapes: Array<[number, number]> = [
  [1, 1],
  [7, 1],
  [9, 2],
  [40, 3],
  [101, 8],
  [333, 11],
  [5001, 7],
  [12001, 20],
  [300, 33],
];

describe.each(shapes)('WebAssembly and TypeScript kernels agree to 1e-12 at n = %i, d = %i', (n, d) => {
  const w = wasm();
  const js = jsKernels;
  const u = random(n * d, n + d);
  const a = random(n * d, 7 * n + d);
  const rho = random(n, 3 * n);
  // some zero weights: the Gram matrices skip those rows
  rho[0] = 0;
  const lev = random(n, 5 * n).map(Math.abs);
  const p2rho = random(n, 11 * n);
  const G = js.weightedGram(u, n, d, rho);
  const m = (d * (d + 1)) / 2;
  const C = random(m * d, 13 * n + d);

  it('weightedGram, rowSquares, quadForms, combineRows', () => {
    expect(relErr(w.weightedGram(u, n, d, rho, NO_STOP), G)).toBeLessThan(TOL);
    expect(relErr(w.rowSquares(u, n, d), js.rowSquares(u, n, d))).toBeLessThan(TOL);
    expect(relErr(w.quadForms(u, n, d, G, NO_STOP), js.quadForms(u, n, d, G, NO_STOP))).toBeLessThan(TOL);
    expect(relErr(w.combineRows(a, n, d, rho), js.combineRows(a, n, d, rho))).toBeLessThan(TOL);
  });

  it('thinQr: the same Q and R, and Q R = A', () => {
    const ours = w.thinQr(a, n, d, NO_STOP);
    const ref = js.thinQr(a, n, d, NO_STOP);
    expect(relErr(ours.u, ref.u)).toBeLessThan(TOL);
    expect(relErr(ours.r, ref.r)).toBeLessThan(TOL);
    const qr = new Float64Array(n * d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++)
        for (let k = 0; k <= j; k++) qr[i * d + j] += ours.u[i * d + k] * ours.r[k * d + j];
    expect(relErr(qr, a)).toBeLessThan(1e-13);
  });

  it('multiplyRows is U S', () => {
    const S = random(d * d, 23 * n + d);
    const ref = new Float64Array(n * d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) ref[i * d + j] += u[i * d + k] * S[k * d + j];
    expect(relErr(js.multiplyRows(u, n, d, S), ref)).toBeLessThan(TOL);
    expect(relErr(w.multiplyRows(u, n, d, S), ref)).toBeLessThan(TOL);
  });

  it('the n x d results written into a given array are the same numbers (and multiplyRows may overwrite u)', () => {
    const S = random(d * d, 29 * n + d);
    const p2ax = random(n * d, 31 * n);
    for (const k of [w, js]) {
      const into = new Float64Array(n * d).fill(Number.NaN);
      expect(k.pairRows(u, n, d, C, NO_STOP, into)).toBe(into);
      expect(into).toEqual(k.pairRows(u, n, d, C, NO_STOP));
      const expected = k.multiplyRows(u, n, d, S);
      const copy = u.slice();
      expect(k.multiplyRows(copy, n, d, S, copy)).toBe(copy);
      expect(copy).toEqual(expected);
      const bax = new Float64Array(n * d).fill(Number.NaN);
      expect(k.rowTerms(a, p2ax, lev, rho, p2rho, n, d, true, NO_STOP, bax).bax).toBe(bax);
      expect(bax).toEqual(k.rowTerms(a, p2ax, lev, rho, p2rho, n, d, true, NO_STOP).bax);
      const q = new Float64Array(n * d).fill(Number.NaN);
      expect(k.thinQr(a, n, d, NO_STOP, q).u).toBe(q);
      expect(q).toEqual(k.thinQr(a, n, d, NO_STOP).u);
    }
  });

  it('thirdMoments and pairRows', () => {
    expect(relErr(w.thirdMoments(u, n, d, NO_STOP), js.thirdMoments(u, n, d, NO_STOP))).toBeLessThan(TOL);
    expect(relErr(w.pairRows(u, n, d, C, NO_STOP), js.pairRows(u, n, d, C, NO_STOP))).toBeLessThan(TOL);
  });

  it('give the same numbers bit for bit (same products, same order of every sum)', () => {
    const qrs = [w.thinQr(a, n, d, NO_STOP), js.thinQr(a, n, d, NO_STOP)];
    expect(qrs[0].u).toEqual(qrs[1].u);
    expect(qrs[0].r).toEqual(qrs[1].r);
    expect(w.weightedGram(u, n, d, rho, NO_STOP)).toEqual(G);
    expect(w.rowSquares(u, n, d)).toEqual(js.rowSquares(u, n, d));
    expect(w.quadForms(u, n, d, G, NO_STOP)).toEqual(js.quadForms(u, n, d, G, NO_STOP));
    expect(w.combineRows(a, n, d, rho)).toEqual(js.combineRows(a, n, d, rho));
    expect(w.thirdMoments(u, n, d, NO_STOP)).toEqual(js.thirdMoments(u, n, d, NO_STOP));
    expect(w.pairRows(u, n, d, C, NO_STOP)).toEqual(js.pairRows(u, n, d, C, NO_STOP));
    const S = C.subarray(0, d * d);
    expect(w.multiplyRows(u, n, d, S)).toEqual(js.multiplyRows(u, n, d, S));
    const p2ax = random(n * d, 19 * n);
    const ours = w.rowTerms(a, p2ax, lev, rho, p2rho, n, d, true, NO_STOP);
    const ref = js.rowTerms(a, p2ax, lev, rho, p2rho, n, d, true, NO_STOP);
    expect(ours.bax).toEqual(ref.bax);
    expect(ours.H).toEqual(ref.H);
  });

  it.each([true, false])('rowTerms (hessian: %s)', (hessian) => {
    const p2ax = random(n * d, 17 * n);
    const ours = w.rowTerms(a, p2ax, lev, rho, p2rho, n, d, hessian, NO_STOP);
    const ref = js.rowTerms(a, p2ax, lev, rho, p2rho, n, d, hessian, NO_STOP);
    expect(relErr(ours.bax, ref.bax)).toBeLessThan(TOL);
    if (hessian) expect(relErr(ours.H!, ref.H!)).toBeLessThan(TOL);
    else expect(ours.H).toBeNull();
  });
});

describe('third moments', () => {
  it('tripleIndex numbers the triples k <= l <= m in lexicographic order', () => {
    for (const d of [1, 2, 5, 9]) {
      let t = 0;
      for (let a = 0; a < d; a++)
        for (let b = a; b < d; b++) for (let c = b; c < d; c++) expect(tripleIndex(a, b, c, d)).toBe(t++);
      expect(t).toBe(tripleCount(d));
    }
  });

  // C = Y^T A_x from the symmetric moments times T equals the direct sum over rows of y_i a_i^T.
  it.each([
    [50, 1],
    [60, 4],
    [300, 9],
  ])('M T equals Y^T A_x accumulated directly (n = %i, d = %i) for both kernels', (n, d) => {
    const { problem, near } = randomProblem({ n, d, seed: n + d });
    const point = new LeverageModel(problem, NO_STOP, jsKernels).at(near);
    const { u, ax } = point;
    const m = (d * (d + 1)) / 2;
    const direct = new Float64Array(m * d);
    for (let i = 0; i < n; i++) {
      let p = 0;
      for (let k = 0; k < d; k++) {
        for (let l = k; l < d; l++, p++) {
          const y = u[i * d + k] * u[i * d + l];
          for (let j = 0; j < d; j++) direct[p * d + j] += y * ax[i * d + j];
        }
      }
    }
    for (const k of [jsKernels, wasm()]) {
      const C = pairMomentsTimes(k.thirdMoments(u, n, d, NO_STOP), point.t, d);
      expect(relErr(C, direct)).toBeLessThan(TOL);
    }
  });
});

/** Gradient, Hessian and Jacobian with each kernel set at x. */
function derivativesBoth(problem: Problem, x: Float64Array) {
  return [jsKernels, wasm()].map((k) => {
    const model = new LeverageModel(problem, NO_STOP, k);
    const point = model.at(x);
    return { point, der: model.derivatives(point, { hessian: true, jacobian: true }, 'factored') };
  });
}

describe.each(testVectorNames())('shared vector %s: both kernels', (name) => {
  const v = loadVector(name);
  const problem = vectorProblem(v);

  it('scores, gradient, Hessian and Jacobian at at.x agree to 1e-12 (and match the vector to 1e-8)', () => {
    const [js, w] = derivativesBoth(problem, Float64Array.from(v.at.x));
    expect(relErr(w.point.lev, js.point.lev)).toBeLessThan(TOL);
    expect(relErr(w.der.gradient, js.der.gradient)).toBeLessThan(TOL);
    expect(relErr(w.der.hessian!, js.der.hessian!)).toBeLessThan(TOL);
    expect(relErr(w.der.jacobian!, js.der.jacobian!)).toBeLessThan(TOL);
    expect(relErr(w.der.hessian!, v.at.hessian.flat())).toBeLessThan(1e-8);
    expect(relErr(w.der.gradient, v.at.gradient)).toBeLessThan(1e-8);
  });

  it.each(['newton', 'gauss-newton', 'gd'] as const)('%s gives the same x to 1e-12 either way', (method) => {
    useKernels('js');
    const js = solve(problem, { method, maxIterations: method === 'gd' ? 300 : 100 });
    useKernels('wasm');
    const w = solve(problem, { method, maxIterations: method === 'gd' ? 300 : 100 });
    expect(w.iterations).toBe(js.iterations);
    expect(relErr(w.x, js.x)).toBeLessThan(TOL);
  });
});

describe('a whole solve with either kernels', () => {
  it.each([
    ['newton', 3000, 12],
    ['gauss-newton', 3000, 12],
    ['newton', 1500, 7],
  ] as const)('%s at %i x %i: the same x to 1e-12', (method, n, d) => {
    const { problem } = parseProblem(generateProblem({ n, d, seed: 5 }));
    useKernels('js');
    const js = solve(problem, { method });
    useKernels('wasm');
    const w = solve(problem, { method });
    expect(js.converged).toBe(true);
    expect(w.converged).toBe(true);
    expect(w.iterations).toBe(js.iterations);
    expect(relErr(w.x, js.x)).toBeLessThan(TOL);
  });

  it('random derivatives off the solution agree to 1e-12 (mixed signs, per-row regularizer)', () => {
    const { problem, near } = randomProblem({
      n: 400,
      d: 9,
      seed: 3,
      negative: 0.3,
      regularization: 'per-row',
    });
    const [js, w] = derivativesBoth(problem, near);
    expect(relErr(w.der.gradient, js.der.gradient)).toBeLessThan(TOL);
    expect(relErr(w.der.hessian!, js.der.hessian!)).toBeLessThan(TOL);
    expect(relErr(w.der.jacobian!, js.der.jacobian!)).toBeLessThan(TOL);
  });
});
