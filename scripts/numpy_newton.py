#!/usr/bin/env python3
"""
A plain numpy/OpenBLAS implementation of levinv's Newton method, the reference that `npm run bench`
(bench/solver-bench.ts) times levinv against. It is the same method as src/solver (docs/MATH.md):

- the same loss, gradient and exact Hessian, by the factored O(n d^3 + d^4) formulas (thin QR of
  A_x = diag(s)^-1 A by numpy.linalg.qr, Y = the distinct entries of u_i (x) u_i, processed in blocks of
  rows: no n x n array, and no n x d^2 array either);
- the same start point (given: x0), the same shift policy (the smallest lambda in {0, t, 2t, 4t, ...},
  t = 1e-8 max|H_ii|, for which Cholesky of H + lambda I succeeds and the full step stays inside the cell),
  the same step rule (fraction-to-boundary 0.99, then Armijo c = 1e-4 with halving, at most 60 halvings);
- the same stopping rules: ||g|| <= tolerance; an unshifted Newton step that would move every slack by at
  most STEP_ROUNDING_FACTOR times its rounding error (src/solver/settled.ts), reason `step-rounding`;
  or maxIterations.

Usage: python3 scripts/numpy_newton.py SPEC.json
SPEC.json: {"n", "d", "A", "b", "sigma", "x0", ["w"], "maxIterations", "tolerance"} where A, b, sigma, x0
and w (optional, per-row regularizer weights) name raw little-endian float64 files (A row-major n x d),
relative to SPEC.json's folder. Prints one JSON object: x, iterations, reason, converged, loss, gradNorm,
solveSeconds (the iterations only: loading and imports excluded), msPerIteration, threads, iterates.

Not part of the service (.dockerignore is an allow-list that leaves scripts/ out).
"""
import json
import sys
import time

import numpy as np
from numpy_spec import blas_threads, read_spec

ARMIJO_C = 1e-4
FRACTION_TO_BOUNDARY = 0.99
MAX_HALVINGS = 60
MAX_DOUBLINGS = 200
# Must equal STEP_ROUNDING_FACTOR in src/solver/settled.ts.
STEP_ROUNDING_FACTOR = 64.0
EPS = np.finfo(np.float64).eps
# Rows per block when accumulating over Y: 2048 x 210 doubles (d = 20) is 3.4 MB, about the L2/L3 size.
BLOCK_ROWS = 2048


class Model:
    def __init__(self, A, b, sigma, w2):
        self.A = A
        self.b = b
        self.abs_A = np.abs(A)
        self.abs_b = np.abs(b)
        self.sigma = sigma
        self.n, self.d = A.shape
        self.w2 = w2
        self.reg_hessian = None if w2 is None else A.T @ (w2[:, None] * A)
        d = self.d
        self.kk, self.ll = np.triu_indices(d)
        self.pair_weight = np.where(self.kk == self.ll, 1.0, 2.0)
        index = np.zeros((d, d), dtype=np.intp)
        index[self.kk, self.ll] = np.arange(self.kk.size)
        index[self.ll, self.kk] = np.arange(self.kk.size)
        self.pair_index = index

    def at(self, x, s=None):
        if s is None:
            s = self.A @ x - self.b
        ax = self.A / s[:, None]
        u = np.linalg.qr(ax, mode="reduced")[0]
        lev = np.einsum("ij,ij->i", u, u)
        rho = lev - self.sigma
        loss = 0.5 * float(rho @ rho)
        if self.w2 is not None:
            r = self.A @ x
            loss += 0.5 * float(self.w2 @ (r * r))
        return {"x": x, "s": s, "ax": ax, "u": u, "lev": lev, "rho": rho, "loss": loss}

    def derivatives(self, pt, hessian):
        u, ax, lev, rho = pt["u"], pt["ax"], pt["lev"], pt["rho"]
        n, d = self.n, self.d
        G = u.T @ (rho[:, None] * u)
        p2rho = np.einsum("ij,ij->i", u @ G, u)
        g = -2.0 * (ax.T @ (lev * rho - p2rho))
        if self.reg_hessian is not None:
            g += self.reg_hessian @ pt["x"]
        if not hessian:
            return g, None
        kk, ll, wt = self.kk, self.ll, self.pair_weight
        # C = Y^T A_x over the distinct pairs (m x d), accumulated block by block.
        C = np.zeros((kk.size, d))
        for lo in range(0, n, BLOCK_ROWS):
            ub = u[lo : lo + BLOCK_ROWS]
            C += (ub[:, kk] * ub[:, ll]).T @ ax[lo : lo + BLOCK_ROWS]
        Cw = wt[:, None] * C
        H = np.zeros((d, d))
        for lo in range(0, n, BLOCK_ROWS):
            hi = min(lo + BLOCK_ROWS, n)
            ub, ab = u[lo:hi], ax[lo:hi]
            p2ax = (ub[:, kk] * ub[:, ll]) @ Cw  # P2 A_x, this block's rows
            bax = lev[lo:hi, None] * ab - p2ax  # B A_x
            v = 6.0 * (rho[lo:hi] * lev[lo:hi] - p2rho[lo:hi])
            rax = (4.0 * rho[lo:hi])[:, None] * ab
            cross = rax.T @ p2ax
            H += 4.0 * (bax.T @ bax) + ab.T @ (v[:, None] * ab) - cross - cross.T
        # 8 A_x^T (P o (P R P)) A_x = 8 sum_k C_k^T G C_k, C_k[l, :] = C[(k, l), :]
        Cf = C[self.pair_index]  # d x d x d
        GC = np.matmul(G[None, :, :], Cf)
        H += 8.0 * (Cf.reshape(d * d, d).T @ GC.reshape(d * d, d))
        H = 0.5 * (H + H.T)
        if self.reg_hessian is not None:
            H += self.reg_hessian
        return g, H


def wall_limit(s, ap):
    m = s * ap < 0
    if not m.any():
        return np.inf
    return float(np.min(-s[m] / ap[m]))


def newton_direction(H, g, s, A):
    d = H.shape[0]
    rhs = -g
    max_diag = float(np.max(np.abs(np.diag(H))))
    if not np.isfinite(max_diag):
        return None
    base = 1e-8 * (max_diag if max_diag > 0 else 1.0)
    shift = 0.0
    eye = np.eye(d)
    for _ in range(MAX_DOUBLINGS + 1):
        try:
            L = np.linalg.cholesky(H + shift * eye)
        except np.linalg.LinAlgError:
            L = None
        if L is not None:
            p = np.linalg.solve(L.T, np.linalg.solve(L, rhs))
            ap = A @ p
            if np.all(np.isfinite(p)) and wall_limit(s, ap) > 1:
                return p, shift, ap
        shift = base if shift == 0 else 2 * shift
    return None


def step_below_rounding(model, pt, ap):
    """|(A p)_i| <= STEP_ROUNDING_FACTOR eps (|A||x| + |b|)_i for every row i."""
    scale = model.abs_A @ np.abs(pt["x"]) + model.abs_b
    return bool(np.all(np.abs(ap) <= STEP_ROUNDING_FACTOR * EPS * scale))


def search_step(model, cur, g, p, ap):
    wall = wall_limit(cur["s"], ap)
    alpha = FRACTION_TO_BOUNDARY * wall if wall <= 1 else 1.0
    slope = float(g @ p)
    if not slope < 0:
        return None
    for _ in range(MAX_HALVINGS + 1):
        x = cur["x"] + alpha * p
        s = model.A @ x - model.b
        if np.all(cur["s"] * s > 0):
            pt = model.at(x, s)
            if pt["loss"] <= cur["loss"] + ARMIJO_C * alpha * slope:
                return pt, alpha
        alpha /= 2
    return None


def newton(model, x0, max_iterations, tolerance):
    began = time.perf_counter()
    pt = model.at(x0)
    g, _ = model.derivatives(pt, False)
    grad_norm = float(np.linalg.norm(g))
    iterates = [{"iteration": 0, "loss": pt["loss"], "gradNorm": grad_norm, "step": 0.0, "shift": 0.0, "ms": 0.0}]
    iteration = 0
    reason = "max-iterations"
    while True:
        if grad_norm <= tolerance:
            reason = "gradient-tolerance"
            break
        if iteration >= max_iterations:
            reason = "max-iterations"
            break
        t0 = time.perf_counter()
        g, H = model.derivatives(pt, True)
        found = newton_direction(H, g, pt["s"], model.A)
        if found is None:
            reason = "breakdown"
            break
        p, shift, ap = found
        if shift == 0 and step_below_rounding(model, pt, ap):
            reason = "step-rounding"
            break
        step = search_step(model, pt, g, p, ap)
        if step is None:
            reason = "line-search-failed"
            break
        pt, alpha = step
        g, _ = model.derivatives(pt, False)
        grad_norm = float(np.linalg.norm(g))
        iteration += 1
        iterates.append(
            {
                "iteration": iteration,
                "loss": pt["loss"],
                "gradNorm": grad_norm,
                "step": alpha,
                "shift": shift,
                "ms": 1000 * (time.perf_counter() - t0),
            }
        )
    seconds = time.perf_counter() - began
    return {
        "x": pt["x"].tolist(),
        "iterations": iteration,
        "reason": reason,
        "converged": reason in ("gradient-tolerance", "step-rounding"),
        "loss": pt["loss"],
        "gradNorm": grad_norm,
        "solveSeconds": seconds,
        "msPerIteration": 1000 * seconds / max(iteration, 1),
        "iterates": iterates,
    }


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: numpy_newton.py SPEC.json\n")
        return 64
    spec, n, d, load = read_spec(argv[1])
    A = load("A", (n, d))
    b = load("b", (n,))
    sigma = load("sigma", (n,))
    x0 = load("x0", (d,))
    w2 = load("w", (n,)) ** 2 if spec.get("w") else None
    if w2 is not None and not w2.any():
        w2 = None
    model = Model(A, b, sigma, w2)
    out = newton(model, x0, int(spec.get("maxIterations", 100)), float(spec.get("tolerance", 1e-10)))
    out["threads"] = blas_threads()
    out["numpy"] = np.__version__
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
