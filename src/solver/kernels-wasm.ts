/**
 * The row loops of kernels-js.ts as WebAssembly with 128-bit SIMD (assembly/kernels.ts, compiled to
 * dist/solver/kernels.wasm by `npm run build`). The module is read and instantiated synchronously, once
 * per thread, the first time a solver asks for it.
 *
 * Memory: the rows stream through the module's memory in blocks (at most 32768 numbers per array, and
 * about POLL_WORK multiply-adds per block, so a stop request is seen between blocks as in the reference),
 * while the accumulators (d x d Gram matrices, the d(d+1)(d+2)/6 third moments, the m x d matrix C) stay
 * there from block to block. So the memory grows with d, never with n: an n = 1e6, d = 100 problem needs
 * about 12 MB of it, and nothing here is n x n.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Kernels, RowTerms } from './kernel-interface.js';
import { jsKernels, mirrorUpper, tripleCount } from './kernels-js.js';
import { NO_STOP, POLL_WORK, type Stopper } from './stop.js';

/** The little of the WebAssembly JS API used here (TypeScript declares it only in its DOM library). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
};

interface Exports {
  memory: WasmMemory;
  heapBase(): number;
  qrStep(a: number, n: number, d: number, k: number, tau: number): void;
  thinQStep(a: number, q: number, n: number, d: number, k: number, tau: number): void;
  toPanels(src: number, rows: number, d: number, a: number, n: number, i0: number): void;
  fromPanels(q: number, n: number, d: number, i0: number, rows: number, dst: number): void;
  gramUpper(a: number, w: number, rows: number, d: number, h: number): void;
  rowSquares(u: number, rows: number, d: number, out: number, uu: number): void;
  quadForms(u: number, g: number, rows: number, d: number, out: number, uu: number): void;
  combineRows(a: number, c: number, rows: number, d: number, g: number): void;
  thirdMoments(u: number, rows: number, d: number, m: number): void;
  pairRows(u: number, c: number, rows: number, d: number, out: number, y: number): void;
  multiplyRows(u: number, s: number, rows: number, d: number, out: number): void;
  hessianRows(
    ax: number,
    p2ax: number,
    lev: number,
    rho: number,
    p2rho: number,
    rows: number,
    d: number,
    bax: number,
    hessian: number,
    h: number,
  ): void;
}

/** Numbers per array in one block of rows. */
const BLOCK_NUMBERS = 1 << 15;
const PAGE = 65536;

/** Rows per block: an even number (some kernels take rows in pairs), at least 2. */
function blockRows(d: number, workPerRow: number): number {
  const rows = Math.max(2, Math.min(Math.floor(BLOCK_NUMBERS / d), Math.floor(POLL_WORK / workPerRow)));
  return rows - (rows % 2);
}

/** Byte offsets of the arrays of one call, each 16-byte aligned (f64x2 loads). */
class Layout {
  bytes = 0;
  f64(count: number): number {
    const at = this.bytes;
    this.bytes += Math.ceil((count * 8) / 16) * 16;
    return at;
  }
}

class WasmKernels implements Kernels {
  readonly name = 'wasm' as const;
  threadsFor(): number {
    return 1;
  }
  private readonly base: number;

  constructor(private readonly x: Exports) {
    this.base = Math.ceil(x.heapBase() / 16) * 16;
  }

  /** Grows the memory to hold `layout`; returns a view maker (views die when the memory grows again). */
  private reserve(layout: Layout): (offset: number, length: number) => Float64Array {
    const view = this.tryReserve(layout);
    if (!view) throw new RangeError(`the WebAssembly kernels cannot have ${layout.bytes} bytes of memory`);
    return view;
  }

  /** reserve(), or null when the memory cannot grow that far (a 32-bit module has at most 4 GiB). */
  private tryReserve(layout: Layout): ((offset: number, length: number) => Float64Array) | null {
    const memory = this.x.memory;
    const need = this.base + layout.bytes - memory.buffer.byteLength;
    if (need > 0) {
      try {
        memory.grow(Math.ceil(need / PAGE));
      } catch {
        return null;
      }
    }
    const buffer = memory.buffer;
    return (offset, length) => new Float64Array(buffer, this.base + offset, length);
  }

  /**
   * The one kernel that holds whole n x d arrays in the module's memory (A_x being factored and Q, in
   * 2-column panels: 16 n d bytes, kept for the thread's next solve), as the reference holds its
   * column-major copies.
   */
  thinQr(
    ax: Float64Array,
    n: number,
    d: number,
    stop: Stopper,
    out?: Float64Array,
  ): { u: Float64Array; r: Float64Array } {
    const size = 2 * n * Math.ceil(d / 2);
    const rows = blockRows(d, d);
    const L = new Layout();
    const ao = L.f64(size);
    const qo = L.f64(size);
    const to = L.f64(d);
    // rows pass through here, row-major, on their way into and out of the panels
    const so = L.f64(rows * d);
    // beyond what the module's memory can hold (n d > ~2.6e8): the reference, which gives the same Q and R
    const view = this.tryReserve(L);
    if (!view) return jsKernels.thinQr(ax, n, d, stop, out);
    const a = view(ao, size);
    view(qo, size).fill(0);
    const staging = view(so, rows * d);
    const b = this.base;
    // element (i, j) at panel j >> 1 (2n numbers each), row i, lane j & 1
    if (d % 2 === 1) a.fill(0, size - 2 * n);
    for (let i0 = 0; i0 < n; i0 += rows) {
      const r = Math.min(rows, n - i0);
      staging.set(ax.subarray(i0 * d, (i0 + r) * d));
      this.x.toPanels(b + so, r, d, b + ao, n, i0);
    }
    for (let k = 0; k < d; k++) {
      stop.tick(2 * (n - k) * (d - k - 1));
      this.x.qrStep(b + ao, n, d, k, b + to);
    }
    for (let k = d - 1; k >= 0; k--) {
      stop.tick(2 * (n - k) * (d - k - 1));
      this.x.thinQStep(b + ao, b + qo, n, d, k, b + to);
    }
    const r = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = i; j < d; j++) r[i * d + j] = a[(j >> 1) * 2 * n + 2 * i + (j & 1)];
    const u = out ?? new Float64Array(n * d);
    for (let i0 = 0; i0 < n; i0 += rows) {
      const count = Math.min(rows, n - i0);
      this.x.fromPanels(b + qo, n, d, i0, count, b + so);
      u.set(staging.subarray(0, count * d), i0 * d);
    }
    return { u, r };
  }

  weightedGram(
    A: Float64Array,
    n: number,
    d: number,
    w: Float64Array,
    stop: Stopper = NO_STOP,
  ): Float64Array {
    const rows = blockRows(d, d * d);
    const L = new Layout();
    const h = L.f64(d * d);
    const a = L.f64(rows * d);
    const wv = L.f64(rows);
    const view = this.reserve(L);
    const H = view(h, d * d).fill(0);
    const av = view(a, rows * d);
    const wvv = view(wv, rows);
    const b = this.base;
    for (let i0 = 0; i0 < n; i0 += rows) {
      const r = Math.min(rows, n - i0);
      stop.tick(r * d * d);
      av.set(A.subarray(i0 * d, (i0 + r) * d));
      wvv.set(w.subarray(i0, i0 + r));
      this.x.gramUpper(b + a, b + wv, r, d, b + h);
    }
    const out = H.slice();
    mirrorUpper(out, d);
    return out;
  }

  rowSquares(u: Float64Array, n: number, d: number): Float64Array {
    const rows = blockRows(d, d);
    const L = new Layout();
    const uo = L.f64(rows * d);
    const oo = L.f64(rows);
    const uuo = L.f64(2 * d);
    const view = this.reserve(L);
    const uv = view(uo, rows * d);
    const ov = view(oo, rows);
    const out = new Float64Array(n);
    const b = this.base;
    for (let i0 = 0; i0 < n; i0 += rows) {
      const r = Math.min(rows, n - i0);
      uv.set(u.subarray(i0 * d, (i0 + r) * d));
      this.x.rowSquares(b + uo, r, d, b + oo, b + uuo);
      out.set(ov.subarray(0, r), i0);
    }
    return out;
  }

  quadForms(u: Float64Array, n: number, d: number, G: Float64Array, stop: Stopper): Float64Array {
    const rows = blockRows(d, d * d);
    const L = new Layout();
    const go = L.f64(d * d);
    const uo = L.f64(rows * d);
    const oo = L.f64(rows);
    const uuo = L.f64(2 * d);
    const view = this.reserve(L);
    view(go, d * d).set(G);
    const uv = view(uo, rows * d);
    const ov = view(oo, rows);
    const out = new Float64Array(n);
    const b = this.base;
    for (let i0 = 0; i0 < n; i0 += rows) {
      const r = Math.min(rows, n - i0);
      stop.tick(r * d * d);
      uv.set(u.subarray(i0 * d, (i0 + r) * d));
      this.x.quadForms(b + uo, b + go, r, d, b + oo, b + uuo);
      out.set(ov.subarray(0, r), i0);
    }
    return out;
  }

  combineRows(a: Float64Array, n: number, d: number, c: Float64Array): Float64Array {
    const rows = blockRows(d, d);
    const L = new Layout();
    const go = L.f64(d);
    const ao = L.f64(rows * d);
    const co = L.f64(rows);
    const view = this.reserve(L);
    const g = view(go, d).fill(0);
    const av = view(ao, rows * d);
    const cv = view(co, rows);
    const b = this.base;
    for (let i0 = 0; i0 < n; i0 += rows) {
      const r = Math.min(rows, n - i0);
      av.set(a.subarray(i0 * d, (i0 + r) * d));
      cv.set(c.subarray(i0, i0 + r));
      this.x.combineRows(b + ao, b + co, r, d, b + go);
    }
    return g.slice();
  }

  thirdMoments(u: Float64Array, n: number, d: number, stop: Stopper): Float64Array {
    const T = tripleCount(d);
    const rows = blockRows(d, T);
    const L = new Layout();
    const mo = L.f64(T);
    const uo = L.f64(rows * d);
    const view = this.reserve(L);
    const M = view(mo, T).fill(0);
    const uv = view(uo, rows * d);
    const b = this.base;
    for (let i0 = 0; i0 < n; i0 += rows) {
      const r = Math.min(rows, n - i0);
      stop.tick(r * T);
      uv.set(u.subarray(i0 * d, (i0 + r) * d));
      this.x.thirdMoments(b + uo, r, d, b + mo);
    }
    return M.slice();
  }

  pairRows(
    u: Float64Array,
    n: number,
    d: number,
    C: Float64Array,
    stop: Stopper,
    given?: Float64Array,
  ): Float64Array {
    const m = (d * (d + 1)) / 2;
    // scratch: the pair products of two rows
    return this.rowsTimes(u, n, d, C, 2 * m, m * d, stop, given, (uo, co, r, oo, yo) =>
      this.x.pairRows(uo, co, r, d, oo, yo),
    );
  }

  multiplyRows(u: Float64Array, n: number, d: number, S: Float64Array, given?: Float64Array): Float64Array {
    return this.rowsTimes(u, n, d, S, 0, d * d, NO_STOP, given, (uo, so, r, oo) =>
      this.x.multiplyRows(uo, so, r, d, oo),
    );
  }

  /**
   * An n x d result whose rows come from the same rows of u and one whole matrix (C, S): the matrix and
   * `scratch` numbers stay in the module, rows stream through in blocks of about `workPerRow` each.
   * Each block is read before it is written: `given` may be `u`.
   */
  private rowsTimes(
    u: Float64Array,
    n: number,
    d: number,
    whole: Float64Array,
    scratch: number,
    workPerRow: number,
    stop: Stopper,
    given: Float64Array | undefined,
    kernel: (uo: number, wo: number, rows: number, oo: number, so: number) => void,
  ): Float64Array {
    const rows = blockRows(d, workPerRow);
    const L = new Layout();
    const wo = L.f64(whole.length);
    const so = L.f64(scratch);
    const uo = L.f64(rows * d);
    const oo = L.f64(rows * d);
    const view = this.reserve(L);
    view(wo, whole.length).set(whole);
    const uv = view(uo, rows * d);
    const ov = view(oo, rows * d);
    const out = given ?? new Float64Array(n * d);
    const b = this.base;
    for (let i0 = 0; i0 < n; i0 += rows) {
      const r = Math.min(rows, n - i0);
      stop.tick(r * workPerRow);
      uv.set(u.subarray(i0 * d, (i0 + r) * d));
      kernel(b + uo, b + wo, r, b + oo, b + so);
      out.set(ov.subarray(0, r * d), i0 * d);
    }
    return out;
  }

  alloc(length: number): Float64Array {
    return new Float64Array(length);
  }

  rowTerms(
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
    const rows = blockRows(d, 2 * d * d);
    const L = new Layout();
    const ho = L.f64(d * d);
    const ao = L.f64(rows * d);
    const qo = L.f64(rows * d);
    const bo = L.f64(rows * d);
    const lo = L.f64(rows);
    const ro = L.f64(rows);
    const po = L.f64(rows);
    const view = this.reserve(L);
    const H = view(ho, d * d).fill(0);
    const av = view(ao, rows * d);
    const qv = view(qo, rows * d);
    const bv = view(bo, rows * d);
    const lv = view(lo, rows);
    const rv = view(ro, rows);
    const pv = view(po, rows);
    const bax = given ?? new Float64Array(n * d);
    const b = this.base;
    for (let i0 = 0; i0 < n; i0 += rows) {
      const r = Math.min(rows, n - i0);
      if (hessian) stop.tick(2 * r * d * d);
      av.set(ax.subarray(i0 * d, (i0 + r) * d));
      qv.set(p2ax.subarray(i0 * d, (i0 + r) * d));
      lv.set(lev.subarray(i0, i0 + r));
      rv.set(rho.subarray(i0, i0 + r));
      pv.set(p2rho.subarray(i0, i0 + r));
      this.x.hessianRows(b + ao, b + qo, b + lo, b + ro, b + po, r, d, b + bo, hessian ? 1 : 0, b + ho);
      bax.set(bv.subarray(0, r * d), i0 * d);
    }
    if (!hessian) return { bax, H: null };
    const out = H.slice();
    mirrorUpper(out, d);
    return { bax, H: out };
  }
}

/** Where the build puts the module: beside this file in dist/solver, or there when this is src (vitest). */
export function wasmFile(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts')
    ? new URL('../../dist/solver/kernels.wasm', here)
    : new URL('./kernels.wasm', here);
}

let loaded: Kernels | null | undefined;
let loadError = '';
/** the compiled module: instantiated once per thread, and handed to the solver's helper threads */
let compiled: object | null = null;

/**
 * The compiled module of this thread's kernels (null before they load, or when they cannot): a helper
 * thread given it (useCompiledModule) shares its code, tier-ups included, so it does not start cold.
 */
export function compiledModule(): object | null {
  return compiled;
}

/** Makes this thread's kernels an instance of `module` (call before they first load). */
export function useCompiledModule(module: object): void {
  if (loaded === undefined) compiled = module;
}

/** The WebAssembly kernels, loaded on first use (synchronously); null when they cannot be (see wasmLoadError). */
export function loadWasmKernels(): Kernels | null {
  if (loaded !== undefined) return loaded;
  try {
    const file = wasmFile();
    if (!existsSync(file)) throw new Error(`${fileURLToPath(file)} does not exist: run 'npm run build'`);
    compiled ??= new WebAssembly.Module(readFileSync(file));
    const instance = new WebAssembly.Instance(compiled, {});
    loaded = new WasmKernels(instance.exports as unknown as Exports);
  } catch (error) {
    loadError = error instanceof Error ? error.message : String(error);
    loaded = null;
    compiled = null;
  }
  return loaded;
}

/** Why loadWasmKernels() returned null ('' when it did not). */
export function wasmLoadError(): string {
  return loadError;
}
