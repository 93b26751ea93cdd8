// The solver's hot row loops as WebAssembly with 128-bit SIMD (f64x2), compiled by AssemblyScript
// (`npm run build:wasm` -> dist/solver/kernels.wasm). src/solver/kernels-wasm.ts owns the memory: it
// copies a block of rows in above heapBase(), calls one of these on it, and copies the results out, so
// the accumulators (Gram matrices, moments) carry over from one block to the next. Every matrix is
// row-major f64; every pointer is a byte offset; nothing here allocates.
//
// src/solver/kernels-js.ts is the reference: the same sums in plain TypeScript. Every sum here is
// taken in the reference's order, with the same products (no fused multiply-add), so that the results
// are the same bit for bit (the tests ask for 1e-12 relative): f64x2 lanes hold either two independent
// entries of one row (j, j + 1) or the same entry of two rows (i, i + 1), never two halves of one sum.
// Near a minimum the line search compares losses that differ in the last bits, so a kernel that only
// agrees to rounding could send a run elsewhere.

/** Where the caller's memory may start. */
export function heapBase(): usize {
  return __heap_base;
}

// @ts-ignore: decorator
@inline
function at(p: usize, i: i32): usize {
  return p + (<usize>i << 3);
}

/** H (d x d, upper triangle) += sum over rows of w_i a_i a_i^T. */
export function gramUpper(a: usize, w: usize, rows: i32, d: i32, h: usize): void {
  let i = 0;
  // Four rows a pass: each f64x2 of H is loaded and stored once for four rows, the adds in row order.
  // The reference skips rows of weight 0; adding their +-0 products instead changes no bit, because H
  // never holds -0 (it starts at +0, and a sum of non-zero terms that cancels is +0).
  for (; i + 3 < rows; i += 4) {
    const r0 = at(a, i * d);
    const r1 = at(a, (i + 1) * d);
    const r2 = at(a, (i + 2) * d);
    const r3 = at(a, (i + 3) * d);
    const w0 = load<f64>(at(w, i));
    const w1 = load<f64>(at(w, i + 1));
    const w2 = load<f64>(at(w, i + 2));
    const w3 = load<f64>(at(w, i + 3));
    for (let k = 0; k < d; k++) {
      const f0 = w0 * load<f64>(at(r0, k));
      const f1 = w1 * load<f64>(at(r1, k));
      const f2 = w2 * load<f64>(at(r2, k));
      const f3 = w3 * load<f64>(at(r3, k));
      const v0 = f64x2.splat(f0);
      const v1 = f64x2.splat(f1);
      const v2 = f64x2.splat(f2);
      const v3 = f64x2.splat(f3);
      const hk = at(h, k * d);
      let l = k;
      for (; l + 1 < d; l += 2) {
        const p = at(hk, l);
        let acc = f64x2.add(v128.load(p), f64x2.mul(v0, v128.load(at(r0, l))));
        acc = f64x2.add(acc, f64x2.mul(v1, v128.load(at(r1, l))));
        acc = f64x2.add(acc, f64x2.mul(v2, v128.load(at(r2, l))));
        v128.store(p, f64x2.add(acc, f64x2.mul(v3, v128.load(at(r3, l)))));
      }
      if (l < d) {
        const p = at(hk, l);
        let acc = load<f64>(p) + f0 * load<f64>(at(r0, l));
        acc += f1 * load<f64>(at(r1, l));
        acc += f2 * load<f64>(at(r2, l));
        store<f64>(p, acc + f3 * load<f64>(at(r3, l)));
      }
    }
  }
  for (; i < rows; i++) {
    const wi = load<f64>(at(w, i));
    if (wi == 0) continue;
    const ri = at(a, i * d);
    for (let k = 0; k < d; k++) {
      const f = wi * load<f64>(at(ri, k));
      const fv = f64x2.splat(f);
      const hk = at(h, k * d);
      let l = k;
      for (; l + 1 < d; l += 2) {
        const p = at(hk, l);
        v128.store(p, f64x2.add(v128.load(p), f64x2.mul(fv, v128.load(at(ri, l)))));
      }
      if (l < d) store<f64>(at(hk, l), load<f64>(at(hk, l)) + f * load<f64>(at(ri, l)));
    }
  }
}

/** Interleaves rows i and i + 1 of u (or row i and zeros) into uu: d f64x2. */
// @ts-ignore: decorator
@inline
function interleave(u: usize, i: i32, rows: i32, d: i32, uu: usize): void {
  const r0 = at(u, i * d);
  const two = i + 1 < rows;
  const r1 = at(u, (i + 1) * d);
  for (let k = 0; k < d; k++) {
    const v0 = load<f64>(at(r0, k));
    const v1 = two ? load<f64>(at(r1, k)) : 0;
    v128.store(uu + (<usize>k << 4), f64x2(v0, v1));
  }
}

/** out_i = ||u_i||^2, two rows at once. `uu` is scratch for d f64x2. */
export function rowSquares(u: usize, rows: i32, d: i32, out: usize, uu: usize): void {
  for (let i = 0; i < rows; i += 2) {
    interleave(u, i, rows, d, uu);
    let acc = f64x2.splat(0);
    for (let k = 0; k < d; k++) {
      const v = v128.load(uu + (<usize>k << 4));
      acc = f64x2.add(acc, f64x2.mul(v, v));
    }
    store<f64>(at(out, i), f64x2.extract_lane(acc, 0));
    if (i + 1 < rows) store<f64>(at(out, i + 1), f64x2.extract_lane(acc, 1));
  }
}

/** out_i = u_i^T G u_i (G symmetric d x d, full), two rows at once. `uu` is scratch for d f64x2. */
export function quadForms(u: usize, g: usize, rows: i32, d: i32, out: usize, uu: usize): void {
  for (let i = 0; i < rows; i += 2) {
    interleave(u, i, rows, d, uu);
    let v = f64x2.splat(0);
    for (let k = 0; k < d; k++) {
      const gk = at(g, k * d);
      let t = f64x2.splat(0);
      for (let l = 0; l < d; l++) {
        t = f64x2.add(t, f64x2.mul(v128.load64_splat(at(gk, l)), v128.load(uu + (<usize>l << 4))));
      }
      v = f64x2.add(v, f64x2.mul(v128.load(uu + (<usize>k << 4)), t));
    }
    store<f64>(at(out, i), f64x2.extract_lane(v, 0));
    if (i + 1 < rows) store<f64>(at(out, i + 1), f64x2.extract_lane(v, 1));
  }
}

/** g (d) += sum over rows of c_i a_i. */
export function combineRows(a: usize, c: usize, rows: i32, d: i32, g: usize): void {
  for (let i = 0; i < rows; i++) {
    const ci = load<f64>(at(c, i));
    const cv = f64x2.splat(ci);
    const ri = at(a, i * d);
    let j = 0;
    for (; j + 1 < d; j += 2) {
      const p = at(g, j);
      v128.store(p, f64x2.add(v128.load(p), f64x2.mul(cv, v128.load(at(ri, j)))));
    }
    if (j < d) store<f64>(at(g, j), load<f64>(at(g, j)) + ci * load<f64>(at(ri, j)));
  }
}

/**
 * m (one f64 per triple) += the third moments of the rows of U over distinct triples k <= l <= m, in
 * that (lexicographic) order: for each pair (k, l) the triples (k, l, l..d-1) are contiguous, as are
 * u_il..u_i,d-1, so the innermost loop takes two m at a time.
 */
export function thirdMoments(u: usize, rows: i32, d: i32, m: usize): void {
  let i = 0;
  // Four rows a pass: each f64x2 of m is loaded and stored once for four rows' products instead of once
  // for each, and the adds stay in row order ((m + row i) + row i + 1 ...), as the reference's.
  for (; i + 3 < rows; i += 4) {
    const r0 = at(u, i * d);
    const r1 = at(u, (i + 1) * d);
    const r2 = at(u, (i + 2) * d);
    const r3 = at(u, (i + 3) * d);
    let t = m;
    for (let k = 0; k < d; k++) {
      const k0 = load<f64>(at(r0, k));
      const k1 = load<f64>(at(r1, k));
      const k2 = load<f64>(at(r2, k));
      const k3 = load<f64>(at(r3, k));
      for (let l = k; l < d; l++) {
        const y0 = k0 * load<f64>(at(r0, l));
        const y1 = k1 * load<f64>(at(r1, l));
        const y2 = k2 * load<f64>(at(r2, l));
        const y3 = k3 * load<f64>(at(r3, l));
        const v0 = f64x2.splat(y0);
        const v1 = f64x2.splat(y1);
        const v2 = f64x2.splat(y2);
        const v3 = f64x2.splat(y3);
        let q = l;
        for (; q + 1 < d; q += 2) {
          let acc = f64x2.add(v128.load(t), f64x2.mul(v0, v128.load(at(r0, q))));
          acc = f64x2.add(acc, f64x2.mul(v1, v128.load(at(r1, q))));
          acc = f64x2.add(acc, f64x2.mul(v2, v128.load(at(r2, q))));
          v128.store(t, f64x2.add(acc, f64x2.mul(v3, v128.load(at(r3, q)))));
          t += 16;
        }
        if (q < d) {
          let acc = load<f64>(t) + y0 * load<f64>(at(r0, q));
          acc += y1 * load<f64>(at(r1, q));
          acc += y2 * load<f64>(at(r2, q));
          store<f64>(t, acc + y3 * load<f64>(at(r3, q)));
          t += 8;
        }
      }
    }
  }
  for (; i < rows; i++) {
    const ri = at(u, i * d);
    let t = m;
    for (let k = 0; k < d; k++) {
      const uk = load<f64>(at(ri, k));
      for (let l = k; l < d; l++) {
        const y = uk * load<f64>(at(ri, l));
        const yv = f64x2.splat(y);
        let q = l;
        for (; q + 1 < d; q += 2) {
          v128.store(t, f64x2.add(v128.load(t), f64x2.mul(yv, v128.load(at(ri, q)))));
          t += 16;
        }
        if (q < d) {
          store<f64>(t, load<f64>(t) + y * load<f64>(at(ri, q)));
          t += 8;
        }
      }
    }
  }
}

/**
 * Y C: out_i = sum over pairs p = (k <= l) of w_p u_ik u_il C[p, :], w_p = 1 on the diagonal and 2 off it;
 * C is m x d (m = d(d+1)/2 pairs in the order (0,0), (0,1), ..., (d-1,d-1)). `y` is scratch for 2 m f64.
 * Blocks of 8 columns keep their four f64x2 sums per row in registers over all pairs.
 */
export function pairRows(u: usize, c: usize, rows: i32, d: i32, out: usize, y: usize): void {
  const m = (d * (d + 1)) >> 1;
  const y1 = y + (<usize>m << 3);
  let i = 0;
  // Two rows a pass: each f64x2 of C is loaded once for both rows' sums (which stay separate, in the
  // reference's order). `y` holds 2 m f64: the pair products of both rows.
  for (; i + 1 < rows; i += 2) {
    pairProducts(at(u, i * d), d, y);
    pairProducts(at(u, (i + 1) * d), d, y1);
    const o0 = at(out, i * d);
    const o1 = at(out, (i + 1) * d);
    let j = 0;
    for (; j + 7 < d; j += 8) {
      let a0 = f64x2.splat(0);
      let a1 = f64x2.splat(0);
      let a2 = f64x2.splat(0);
      let a3 = f64x2.splat(0);
      let b0 = f64x2.splat(0);
      let b1 = f64x2.splat(0);
      let b2 = f64x2.splat(0);
      let b3 = f64x2.splat(0);
      let cp = at(c, j);
      for (let q = 0; q < m; q++) {
        const ya = v128.load64_splat(at(y, q));
        const yb = v128.load64_splat(at(y1, q));
        const c0 = v128.load(cp);
        const c1 = v128.load(cp, 16);
        const c2 = v128.load(cp, 32);
        const c3 = v128.load(cp, 48);
        a0 = f64x2.add(a0, f64x2.mul(ya, c0));
        a1 = f64x2.add(a1, f64x2.mul(ya, c1));
        a2 = f64x2.add(a2, f64x2.mul(ya, c2));
        a3 = f64x2.add(a3, f64x2.mul(ya, c3));
        b0 = f64x2.add(b0, f64x2.mul(yb, c0));
        b1 = f64x2.add(b1, f64x2.mul(yb, c1));
        b2 = f64x2.add(b2, f64x2.mul(yb, c2));
        b3 = f64x2.add(b3, f64x2.mul(yb, c3));
        cp += <usize>d << 3;
      }
      v128.store(at(o0, j), a0);
      v128.store(at(o0, j), a1, 16);
      v128.store(at(o0, j), a2, 32);
      v128.store(at(o0, j), a3, 48);
      v128.store(at(o1, j), b0);
      v128.store(at(o1, j), b1, 16);
      v128.store(at(o1, j), b2, 32);
      v128.store(at(o1, j), b3, 48);
    }
    for (; j + 1 < d; j += 2) {
      let a0 = f64x2.splat(0);
      let b0 = f64x2.splat(0);
      let cp = at(c, j);
      for (let q = 0; q < m; q++) {
        const c0 = v128.load(cp);
        a0 = f64x2.add(a0, f64x2.mul(v128.load64_splat(at(y, q)), c0));
        b0 = f64x2.add(b0, f64x2.mul(v128.load64_splat(at(y1, q)), c0));
        cp += <usize>d << 3;
      }
      v128.store(at(o0, j), a0);
      v128.store(at(o1, j), b0);
    }
    if (j < d) {
      let s0: f64 = 0;
      let s1: f64 = 0;
      let cp = at(c, j);
      for (let q = 0; q < m; q++) {
        const cq = load<f64>(cp);
        s0 += load<f64>(at(y, q)) * cq;
        s1 += load<f64>(at(y1, q)) * cq;
        cp += <usize>d << 3;
      }
      store<f64>(at(o0, j), s0);
      store<f64>(at(o1, j), s1);
    }
  }
  if (i < rows) pairRowsOne(at(u, i * d), c, m, d, at(out, i * d), y);
}

/** y = the pair products of row r: u_k u_k, then 2 u_k u_l for l > k, pairs in order. */
// @ts-ignore: decorator
@inline
function pairProducts(r: usize, d: i32, y: usize): void {
  let p = 0;
  for (let k = 0; k < d; k++) {
    const uk = load<f64>(at(r, k));
    store<f64>(at(y, p++), uk * uk);
    const uk2 = 2 * uk;
    for (let l = k + 1; l < d; l++) store<f64>(at(y, p++), uk2 * load<f64>(at(r, l)));
  }
}

/** pairRows for one row r (the last of an odd count). */
function pairRowsOne(r: usize, c: usize, m: i32, d: i32, oi: usize, y: usize): void {
  pairProducts(r, d, y);
  let j = 0;
  for (; j + 1 < d; j += 2) {
    let a0 = f64x2.splat(0);
    let cp = at(c, j);
    for (let q = 0; q < m; q++) {
      a0 = f64x2.add(a0, f64x2.mul(v128.load64_splat(at(y, q)), v128.load(cp)));
      cp += <usize>d << 3;
    }
    v128.store(at(oi, j), a0);
  }
  if (j < d) {
    let s: f64 = 0;
    let cp = at(c, j);
    for (let q = 0; q < m; q++) {
      s += load<f64>(at(y, q)) * load<f64>(cp);
      cp += <usize>d << 3;
    }
    store<f64>(at(oi, j), s);
  }
}

/**
 * out_i = u_i^T S (S d x d, full): the rows of U S. The threads' QR (kernels-parallel.ts) uses it to
 * turn each block's Q into its block of the whole Q. Sums over k in order, as the reference.
 */
export function multiplyRows(u: usize, s: usize, rows: i32, d: i32, out: usize): void {
  for (let i = 0; i < rows; i++) {
    const ri = at(u, i * d);
    const oi = at(out, i * d);
    let j = 0;
    for (; j + 3 < d; j += 4) {
      let a0 = f64x2.splat(0);
      let a1 = f64x2.splat(0);
      let sp = at(s, j);
      for (let k = 0; k < d; k++) {
        const uk = v128.load64_splat(at(ri, k));
        a0 = f64x2.add(a0, f64x2.mul(uk, v128.load(sp)));
        a1 = f64x2.add(a1, f64x2.mul(uk, v128.load(sp, 16)));
        sp += <usize>d << 3;
      }
      v128.store(at(oi, j), a0);
      v128.store(at(oi, j), a1, 16);
    }
    for (; j + 1 < d; j += 2) {
      let a0 = f64x2.splat(0);
      let sp = at(s, j);
      for (let k = 0; k < d; k++) {
        a0 = f64x2.add(a0, f64x2.mul(v128.load64_splat(at(ri, k)), v128.load(sp)));
        sp += <usize>d << 3;
      }
      v128.store(at(oi, j), a0);
    }
    if (j < d) {
      let t: f64 = 0;
      let sp = at(s, j);
      for (let k = 0; k < d; k++) {
        t += load<f64>(at(ri, k)) * load<f64>(sp);
        sp += <usize>d << 3;
      }
      store<f64>(at(oi, j), t);
    }
  }
}

/**
 * B A_x = Sigma A_x - P2 A_x into bax, and (when hessian != 0) the Hessian's row terms into H's upper
 * triangle: sum over rows of 4 bax_i bax_i^T + v_i a_i a_i^T - 4 rho_i (a_i q_i^T + q_i a_i^T), with
 * a_i the rows of A_x, q_i those of P2 A_x and v_i = 6 (rho_i sigma_i - (P2 rho)_i).
 */
export function hessianRows(
  ax: usize,
  p2ax: usize,
  lev: usize,
  rho: usize,
  p2rho: usize,
  rows: i32,
  d: i32,
  bax: usize,
  hessian: i32,
  h: usize,
): void {
  for (let i = 0; i < rows; i++) {
    const ri = at(ax, i * d);
    const qi = at(p2ax, i * d);
    const bi = at(bax, i * d);
    const li = load<f64>(at(lev, i));
    const lv = f64x2.splat(li);
    let j = 0;
    for (; j + 1 < d; j += 2) {
      v128.store(at(bi, j), f64x2.sub(f64x2.mul(lv, v128.load(at(ri, j))), v128.load(at(qi, j))));
    }
    if (j < d) store<f64>(at(bi, j), li * load<f64>(at(ri, j)) - load<f64>(at(qi, j)));
    if (hessian == 0) continue;
    const r = load<f64>(at(rho, i));
    const v = 6 * (r * li - load<f64>(at(p2rho, i)));
    const r4 = 4 * r;
    for (let k = 0; k < d; k++) {
      const ak = load<f64>(at(ri, k));
      const bk = 4 * load<f64>(at(bi, k));
      const vk = v * ak;
      const pk = r4 * load<f64>(at(qi, k));
      const rk = r4 * ak;
      const bkv = f64x2.splat(bk);
      const vkv = f64x2.splat(vk);
      const pkv = f64x2.splat(pk);
      const rkv = f64x2.splat(rk);
      const hk = at(h, k * d);
      let l = k;
      for (; l + 1 < d; l += 2) {
        const p = at(hk, l);
        const al = v128.load(at(ri, l));
        // ((bk b_l + vk a_l) - rk q_l) - pk a_l, as the reference
        const t = f64x2.sub(
          f64x2.sub(
            f64x2.add(f64x2.mul(bkv, v128.load(at(bi, l))), f64x2.mul(vkv, al)),
            f64x2.mul(rkv, v128.load(at(qi, l))),
          ),
          f64x2.mul(pkv, al),
        );
        v128.store(p, f64x2.add(v128.load(p), t));
      }
      if (l < d) {
        const al = load<f64>(at(ri, l));
        const t = bk * load<f64>(at(bi, l)) + vk * al - rk * load<f64>(at(qi, l)) - pk * al;
        store<f64>(at(hk, l), load<f64>(at(hk, l)) + t);
      }
    }
  }
}

// The QR works on n x d matrices in 2-column panels: panel p holds columns 2p and 2p + 1 interleaved
// (row i at 16 i bytes into the panel), a zero column padding the last panel when d is odd. A reflector
// then meets two columns at a time with contiguous f64x2 loads, each column's dot product summed over
// the rows in the reference's order, and a pass touches two panels (like the reference's two columns,
// which a row-major layout could not: it streamed the whole trailing matrix twice per reflector).

/** Byte offset of element (i, j) in the panel layout. */
// @ts-ignore: decorator
@inline
function pat(a: usize, n: i32, i: i32, j: i32): usize {
  return a + ((<usize>(j >> 1) * (<usize>n << 1) + (<usize>i << 1) + <usize>(j & 1)) << 3);
}

/** Rows i0 .. i0 + rows - 1 of a (n x d in panels) = the row-major block src (rows x d). */
export function toPanels(src: usize, rows: i32, d: i32, a: usize, n: i32, i0: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = at(src, r * d);
    let j = 0;
    // columns 2p and 2p + 1 of a row are adjacent in panel p: one f64x2 each
    for (; j + 1 < d; j += 2) v128.store(pat(a, n, i0 + r, j), v128.load(at(s, j)));
    if (j < d) store<f64>(pat(a, n, i0 + r, j), load<f64>(at(s, j)));
  }
}

/** The row-major block dst (rows x d) = rows i0 .. i0 + rows - 1 of q (n x d in panels). */
export function fromPanels(q: usize, n: i32, d: i32, i0: i32, rows: i32, dst: usize): void {
  for (let r = 0; r < rows; r++) {
    const o = at(dst, r * d);
    let j = 0;
    for (; j + 1 < d; j += 2) v128.store(at(o, j), v128.load(pat(q, n, i0 + r, j)));
    if (j < d) store<f64>(at(o, j), load<f64>(pat(q, n, i0 + r, j)));
  }
}

/**
 * Step k of the Householder QR of a (n x d in panels, in place), as HouseholderQr.factor does it: the
 * reflector of column k (v below the diagonal, beta on it, tau[k]), then applied to the columns j > k.
 */
export function qrStep(a: usize, n: i32, d: i32, k: i32, tau: usize): void {
  let scale: f64 = 0;
  for (let i = k; i < n; i++) scale = max(scale, abs(load<f64>(pat(a, n, i, k))));
  if (scale == 0) {
    store<f64>(at(tau, k), 0);
    return;
  }
  let ss: f64 = 0;
  for (let i = k; i < n; i++) {
    const v = load<f64>(pat(a, n, i, k)) / scale;
    ss += v * v;
  }
  const norm = scale * sqrt(ss);
  const alpha = load<f64>(pat(a, n, k, k));
  const beta = alpha >= 0 ? -norm : norm;
  const v0 = alpha - beta;
  const t = (beta - alpha) / beta;
  store<f64>(at(tau, k), t);
  const inv = 1 / v0;
  for (let i = k + 1; i < n; i++) {
    const p = pat(a, n, i, k);
    store<f64>(p, load<f64>(p) * inv);
  }
  store<f64>(pat(a, n, k, k), beta);
  reflect(a, a, n, d, k, t);
}

/**
 * x[:, j] -= t v v^T x[:, j] for the columns j > k of x (panels), v = (1, v[k+1..n)) the reflector in
 * column k of a below the diagonal: w_j = x_kj + sum_{i>k} v_i x_ij, w_j *= t, then (when w_j != 0)
 * x_kj -= w_j and x_ij -= w_j v_i. The panels go four, then two, then one at a time: each panel's sum is
 * its own chain of adds in row order (the reference's), and one chain was bound by the latency of its
 * adds; four chains side by side overlap, and v_i is loaded once for eight columns.
 */
// @ts-ignore: decorator
@inline
function reflect(a: usize, x: usize, n: i32, d: i32, k: i32, t: f64): void {
  let j = k + 1;
  if (j >= d) return;
  const tv = f64x2.splat(t);
  // bytes from one panel to the next, and from one row to the next within a panel
  const ps = <usize>n << 4;
  const v1 = pat(a, n, k + 1, k);
  if (j & 1) {
    // column k + 1 shares column k's panel: its sum rides along with the first four panels' (alone, it
    // was one more chain of dependent adds), else it goes alone
    if (j + 8 < d) {
      reflectWithSingle(a, x, n, k, t, tv, ps, v1);
      j += 9;
    } else {
      let w = load<f64>(pat(x, n, k, j));
      for (let i = k + 1; i < n; i++) w += load<f64>(pat(a, n, i, k)) * load<f64>(pat(x, n, i, j));
      w *= t;
      if (w != 0) {
        store<f64>(pat(x, n, k, j), load<f64>(pat(x, n, k, j)) - w);
        for (let i = k + 1; i < n; i++) {
          const p = pat(x, n, i, j);
          store<f64>(p, load<f64>(p) - w * load<f64>(pat(a, n, i, k)));
        }
      }
      j++;
    }
  }
  for (; j + 7 < d; j += 8) {
    const xk = pat(x, n, k, j);
    let w0 = v128.load(xk);
    let w1 = v128.load(xk + ps);
    let w2 = v128.load(xk + 2 * ps);
    let w3 = v128.load(xk + 3 * ps);
    let pv = v1;
    let px = xk + 16;
    for (let i = k + 1; i < n; i++) {
      const vi = v128.load64_splat(pv);
      w0 = f64x2.add(w0, f64x2.mul(vi, v128.load(px)));
      w1 = f64x2.add(w1, f64x2.mul(vi, v128.load(px + ps)));
      w2 = f64x2.add(w2, f64x2.mul(vi, v128.load(px + 2 * ps)));
      w3 = f64x2.add(w3, f64x2.mul(vi, v128.load(px + 3 * ps)));
      pv += 16;
      px += 16;
    }
    w0 = f64x2.mul(w0, tv);
    w1 = f64x2.mul(w1, tv);
    w2 = f64x2.mul(w2, tv);
    w3 = f64x2.mul(w3, tv);
    if (noZero(w0) && noZero(w1) && noZero(w2) && noZero(w3)) {
      v128.store(xk, f64x2.sub(v128.load(xk), w0));
      v128.store(xk + ps, f64x2.sub(v128.load(xk + ps), w1));
      v128.store(xk + 2 * ps, f64x2.sub(v128.load(xk + 2 * ps), w2));
      v128.store(xk + 3 * ps, f64x2.sub(v128.load(xk + 3 * ps), w3));
      pv = v1;
      px = xk + 16;
      for (let i = k + 1; i < n; i++) {
        const vi = v128.load64_splat(pv);
        v128.store(px, f64x2.sub(v128.load(px), f64x2.mul(w0, vi)));
        v128.store(px + ps, f64x2.sub(v128.load(px + ps), f64x2.mul(w1, vi)));
        v128.store(px + 2 * ps, f64x2.sub(v128.load(px + 2 * ps), f64x2.mul(w2, vi)));
        v128.store(px + 3 * ps, f64x2.sub(v128.load(px + 3 * ps), f64x2.mul(w3, vi)));
        pv += 16;
        px += 16;
      }
    } else {
      subtractPanel(v1, xk, n, k, w0);
      subtractPanel(v1, xk + ps, n, k, w1);
      subtractPanel(v1, xk + 2 * ps, n, k, w2);
      subtractPanel(v1, xk + 3 * ps, n, k, w3);
    }
  }
  for (; j + 3 < d; j += 4) {
    const xk = pat(x, n, k, j);
    let w0 = v128.load(xk);
    let w1 = v128.load(xk + ps);
    let pv = v1;
    let px = xk + 16;
    for (let i = k + 1; i < n; i++) {
      const vi = v128.load64_splat(pv);
      w0 = f64x2.add(w0, f64x2.mul(vi, v128.load(px)));
      w1 = f64x2.add(w1, f64x2.mul(vi, v128.load(px + ps)));
      pv += 16;
      px += 16;
    }
    subtractPanel(v1, xk, n, k, f64x2.mul(w0, tv));
    subtractPanel(v1, xk + ps, n, k, f64x2.mul(w1, tv));
  }
  for (; j < d; j += 2) {
    const xk = pat(x, n, k, j);
    let w = v128.load(xk);
    let pv = v1;
    let px = xk + 16;
    for (let i = k + 1; i < n; i++) {
      w = f64x2.add(w, f64x2.mul(v128.load64_splat(pv), v128.load(px)));
      pv += 16;
      px += 16;
    }
    subtractPanel(v1, xk, n, k, f64x2.mul(w, tv));
  }
}

/**
 * reflect()'s first step when column k + 1 shares column k's panel (k even): column k + 1 (lane 1 of x's
 * panel k / 2; lane 0 is column k, whose products are computed and dropped) and the four panels after it
 * (columns k + 2 .. k + 9), each sum in row order as alone.
 */
// @ts-ignore: decorator
@inline
function reflectWithSingle(
  a: usize,
  x: usize,
  n: i32,
  k: i32,
  t: f64,
  tv: v128,
  ps: usize,
  v1: usize,
): void {
  const sk = pat(x, n, k, k);
  const xk = sk + ps;
  let ws = v128.load(sk);
  let w0 = v128.load(xk);
  let w1 = v128.load(xk + ps);
  let w2 = v128.load(xk + 2 * ps);
  let w3 = v128.load(xk + 3 * ps);
  let pv = v1;
  let px = xk + 16;
  for (let i = k + 1; i < n; i++) {
    const vi = v128.load64_splat(pv);
    ws = f64x2.add(ws, f64x2.mul(vi, v128.load(px - ps)));
    w0 = f64x2.add(w0, f64x2.mul(vi, v128.load(px)));
    w1 = f64x2.add(w1, f64x2.mul(vi, v128.load(px + ps)));
    w2 = f64x2.add(w2, f64x2.mul(vi, v128.load(px + 2 * ps)));
    w3 = f64x2.add(w3, f64x2.mul(vi, v128.load(px + 3 * ps)));
    pv += 16;
    px += 16;
  }
  const w = f64x2.extract_lane(ws, 1) * t;
  w0 = f64x2.mul(w0, tv);
  w1 = f64x2.mul(w1, tv);
  w2 = f64x2.mul(w2, tv);
  w3 = f64x2.mul(w3, tv);
  if (w != 0 && noZero(w0) && noZero(w1) && noZero(w2) && noZero(w3)) {
    store<f64>(sk + 8, load<f64>(sk + 8) - w);
    v128.store(xk, f64x2.sub(v128.load(xk), w0));
    v128.store(xk + ps, f64x2.sub(v128.load(xk + ps), w1));
    v128.store(xk + 2 * ps, f64x2.sub(v128.load(xk + 2 * ps), w2));
    v128.store(xk + 3 * ps, f64x2.sub(v128.load(xk + 3 * ps), w3));
    pv = v1;
    px = xk + 16;
    for (let i = k + 1; i < n; i++) {
      const v = load<f64>(pv);
      const vi = f64x2.splat(v);
      store<f64>(px - ps + 8, load<f64>(px - ps + 8) - w * v);
      v128.store(px, f64x2.sub(v128.load(px), f64x2.mul(w0, vi)));
      v128.store(px + ps, f64x2.sub(v128.load(px + ps), f64x2.mul(w1, vi)));
      v128.store(px + 2 * ps, f64x2.sub(v128.load(px + 2 * ps), f64x2.mul(w2, vi)));
      v128.store(px + 3 * ps, f64x2.sub(v128.load(px + 3 * ps), f64x2.mul(w3, vi)));
      pv += 16;
      px += 16;
    }
    return;
  }
  if (w != 0) {
    store<f64>(sk + 8, load<f64>(sk + 8) - w);
    pv = v1;
    px = sk + 16 + 8;
    for (let i = k + 1; i < n; i++) {
      store<f64>(px, load<f64>(px) - w * load<f64>(pv));
      pv += 16;
      px += 16;
    }
  }
  subtractPanel(v1, xk, n, k, w0);
  subtractPanel(v1, xk + ps, n, k, w1);
  subtractPanel(v1, xk + 2 * ps, n, k, w2);
  subtractPanel(v1, xk + 3 * ps, n, k, w3);
}

// @ts-ignore: decorator
@inline
function noZero(w: v128): bool {
  return f64x2.extract_lane(w, 0) != 0 && f64x2.extract_lane(w, 1) != 0;
}

/**
 * One panel's update, its row k at xk and v_(k+1) at v1: nothing for a column with w_j = 0 (as the
 * reference); a pair with one such column gets x_ij -= 0 * v_i, the same number (finite v) up to the
 * sign of a zero.
 */
// @ts-ignore: decorator
@inline
function subtractPanel(v1: usize, xk: usize, n: i32, k: i32, w: v128): void {
  const w0 = f64x2.extract_lane(w, 0);
  const w1 = f64x2.extract_lane(w, 1);
  if (w0 == 0 && w1 == 0) return;
  if (w0 != 0) store<f64>(xk, load<f64>(xk) - w0);
  if (w1 != 0) store<f64>(xk + 8, load<f64>(xk + 8) - w1);
  let pv = v1;
  let px = xk + 16;
  for (let i = k + 1; i < n; i++) {
    v128.store(px, f64x2.sub(v128.load(px), f64x2.mul(w, v128.load64_splat(pv))));
    pv += 16;
    px += 16;
  }
}

/**
 * Step k (from d - 1 down to 0) of forming the thin Q (n x d, panels) from the reflectors in a and tau,
 * as HouseholderQr.thinQRowMajor does it: column k of H_k [e_k], then H_k applied to the columns j > k.
 * q starts as zeros.
 */
export function thinQStep(a: usize, q: usize, n: i32, d: i32, k: i32, tau: usize): void {
  const t = load<f64>(at(tau, k));
  store<f64>(pat(q, n, k, k), 1 - t);
  for (let i = k + 1; i < n; i++) store<f64>(pat(q, n, i, k), -t * load<f64>(pat(a, n, i, k)));
  reflect(a, q, n, d, k, t);
}
