#!/usr/bin/env python3
"""
A plain numpy/OpenBLAS implementation of levinv's global start (src/solver/leverage-weights.ts and
src/solver/global-start.ts, MATH.md "The global start"), the reference that `npm run bench` times levinv's
against. The same method step for step:

1. weights w = e^v with the target scores: the multiplicative step v <- v + log(sigma / sigma(w)), one
   thin QR of diag(sqrt w) A a pass (sigma(w) = row norms of Q, F = 2 sum log|R_jj| - sigma^T v),
   Anderson-accelerated (memory 8, least squares by QR, refused when min|R_jj| / max|R_jj| <= 1e-12), an
   accelerated step kept only when F does not rise beyond 1e-11 (1 + |F|), else the plain step and a new
   history; v kept at mean 0; noisy targets rescaled to sum d (capped at 1) for this step;
2. r = w^-1/2. With signs: s_i (a_i^T x - b_i) = alpha r_i in least squares relative to r_i (one QR of
   n x (d+1)), kept when alpha > 0 and x lies strictly in the cell. Without: e_i = (a_i, -b_i) / r_i
   (a_i / r_i when b = 0), |e_i^T u| = 1 by alternating projections (one QR of E, then O(n k) a round, at
   most 200 rounds, until the signs settle) from the spectral start (the leading eigenvector of
   sum r_i^4 e_i e_i^T, scaled by the root of its eigenvalue), then, when its misfit is above 1e-9, from
   the orthogonality-promoting start (the least eigenvector of sum e_i e_i^T / ||e_i||^2 over the
   max(k, n/6) longest e_i), then (k - 1 <= 40) from the lifted system e_i^T U e_i = 1 on the same
   xorshift32 row sample (m = 2K + 20), then (rows that do not determine it) from 32 xorshift32 random
   starts. x = u_1..d / u_d+1.

Usage: python3 scripts/numpy_global_start.py SPEC.json
SPEC.json: {"n", "d", "A", "b", "sigma", ["signs"], ["repeat"]} where A, b, sigma (and signs, as float64 +-1) name raw
little-endian float64 files (A row-major n x d) relative to SPEC.json's folder. Prints one JSON object:
x, negative (rows with a negative slack at x), weightPasses, weightResidual, misfit, route (which start
gave the answer), seconds (the global start only: loading and imports excluded; with "repeat", the
median of that many runs), weightSeconds,
threads, numpy.

Not part of the service (.dockerignore is an allow-list that leaves scripts/ out).
"""
import json
import sys
import time

import numpy as np
from numpy_spec import blas_threads, read_spec

TOLERANCE = 1e-13
MAX_PASSES = 1000
MEMORY = 8
MAX_ROUNDS = 200
EXACT = 1e-9
MAX_LIFTED_D = 40
RANDOM_STARTS = 32
MASK = 0xFFFFFFFF


def evaluate(A, v, sigma):
    q, r = np.linalg.qr(A * np.exp(v / 2)[:, None], mode="reduced")
    log_det = 2.0 * float(np.sum(np.log(np.abs(np.diag(r)))))
    return log_det - float(sigma @ v), np.einsum("ij,ij->i", q, q)


def diagonal_ratio(r):
    diag = np.abs(np.diag(r))
    hi = diag.max() if diag.size else 0.0
    return 0.0 if hi == 0 else float(diag.min() / hi)


def anderson(v, g, past_v, past_g):
    m = len(past_g) - 1
    if v.size < m:
        return None
    dG = np.diff(np.array(past_g), axis=0).T  # n x m
    dV = np.diff(np.array(past_v), axis=0).T
    q, r = np.linalg.qr(dG, mode="reduced")
    if not diagonal_ratio(r) > 1e-12:
        return None
    gamma = np.linalg.solve(r, q.T @ g)
    out = v + g - (dV + dG) @ gamma
    if not np.all(np.isfinite(out)):
        return None
    return out - out.mean()


def leverage_weights(A, sigma):
    n = A.shape[0]
    v = np.zeros(n)
    f, lev = evaluate(A, v, sigma)
    past_v, past_g = [], []
    passes = 0
    rel = np.inf
    while passes < MAX_PASSES:
        g = np.log(sigma / lev)
        rel = float(np.max(np.abs(lev - sigma) / sigma))
        if not rel > TOLERANCE:
            break
        past_v.append(v)
        past_g.append(g)
        if len(past_g) > MEMORY + 1:
            past_v = past_v[-MEMORY - 1 :]
            past_g = past_g[-MEMORY - 1 :]
        plain = v + g
        plain -= plain.mean()
        accelerated = anderson(v, g, past_v, past_g) if len(past_g) > 1 else None
        nxt = evaluate(A, accelerated, sigma) if accelerated is not None else None
        next_v = accelerated
        if nxt is None or not nxt[0] <= f + 1e-11 * (1 + abs(f)):
            if accelerated is not None:
                past_v, past_g = [], []
            next_v = plain
            nxt = evaluate(A, plain, sigma)
        v = next_v
        f, lev = nxt
        passes += 1
    return np.exp(v), passes, rel


def fit_with_signs(A, b, r, signs):
    n, d = A.shape
    rows = np.empty((n, d + 1))
    rows[:, :d] = A / r[:, None]
    rows[:, d] = -signs
    q, R = np.linalg.qr(rows, mode="reduced")
    if not diagonal_ratio(R) > 1e-12:
        return None
    sol = np.linalg.solve(R, q.T @ (b / r))
    if not sol[d] > 0:
        return None
    x = sol[:d]
    return x if np.all(signs * (A @ x - b) > 0) else None


def sign_of(t):
    return np.where(t < 0, -1.0, 1.0)


class SignFree:
    def __init__(self, E):
        self.E = E
        self.n, self.k = E.shape
        self.q, self.r = np.linalg.qr(E, mode="reduced")

    def alternate(self, start):
        u = start
        c = sign_of(self.E @ u)
        for _ in range(MAX_ROUNDS):
            u = np.linalg.solve(self.r, self.q.T @ c)
            nxt = sign_of(self.E @ u)
            if np.array_equal(nxt, c):
                break
            c = nxt
        misfit = float(np.max(np.abs(np.abs(self.E @ u) - 1)))
        return u, (misfit if np.isfinite(misfit) else np.inf)


def leading_vector(U):
    values, vectors = np.linalg.eigh(U)
    top = int(np.argmax(values))
    return vectors[:, top] * np.sqrt(max(values[top], 0.0))


def xorshift(state):
    state ^= (state << 13) & MASK
    state ^= state >> 17
    state ^= (state << 5) & MASK
    return state


def sample_rows(n, unknowns):
    m = min(n, 2 * unknowns + 20)
    order = np.arange(n)
    state = 0x9E3779B9
    for i in range(m):
        state = xorshift(state)
        j = i + state % (n - i)
        order[i], order[j] = order[j], order[i]
    return np.sort(order[:m])


def lifted_vector(system):
    E, n, k = system.E, system.n, system.k
    unknowns = k * (k + 1) // 2
    sample = sample_rows(n, unknowns)
    m = sample.size
    p, q = np.triu_indices(k)
    if m >= unknowns:
        rows = E[sample]
        columns = np.where(p == q, 1.0, 2.0) * rows[:, p] * rows[:, q]  # m x K
        qq, rr = np.linalg.qr(columns, mode="reduced")
        if diagonal_ratio(rr) > 1e-11:
            solution = np.linalg.solve(rr, qq.T @ np.ones(m))
            U = np.zeros((k, k))
            U[p, q] = solution
            U[q, p] = solution
            return leading_vector(U), True
    return leading_vector(E.T @ E), False


def solve_sign_free(system, r):
    E, n, k = system.E, system.n, system.k
    under = n < k * (k + 1) / 2
    best = system.alternate(leading_vector(E.T @ ((r**4)[:, None] * E)))
    route = "spectral"
    if best[1] <= EXACT:
        return best[0], route, best[1], under
    norms = np.einsum("ij,ij->i", E, E)
    chosen = max(k, n // 6)
    threshold = np.sort(norms)[n - chosen]
    keep = (norms >= threshold) & (norms > 0)
    M = E[keep].T @ (E[keep] / norms[keep][:, None])
    values, vectors = np.linalg.eigh(M)
    orthogonal = system.alternate(vectors[:, int(np.argmin(values))])
    if orthogonal[1] < best[1]:
        best, route = orthogonal, "orthogonal"
    if best[1] <= EXACT:
        return best[0], route, best[1], under
    if k - 1 > MAX_LIFTED_D:
        return best[0], route, best[1], True
    lifted, determined = lifted_vector(system)
    polished = system.alternate(lifted)
    if polished[1] <= best[1]:
        best, route = polished, "lifted"
    if determined:
        return best[0], route, best[1], False
    state = 0x2545F491
    for _ in range(RANDOM_STARTS):
        if best[1] <= EXACT:
            break
        start = np.empty(k)
        for j in range(k):
            state = xorshift(state)
            start[j] = state / 2**32 - 0.5
        tried = system.alternate(start)
        if tried[1] < best[1]:
            best, route = tried, "random"
    return best[0], route, best[1], True


def global_start(A, b, sigma, signs=None):
    """x (or None when the targets define no weights, or with signs, no point in that cell) and figures."""
    n, d = A.shape
    began = time.perf_counter()
    target = np.minimum(1.0, sigma * d / sigma.sum())
    if not np.all(target > 0):
        return None, {}
    w, passes, residual = leverage_weights(A, target)
    weight_seconds = time.perf_counter() - began
    r = 1 / np.sqrt(w)
    if not np.all(np.isfinite(r) & (r > 0)):
        return None, {}
    figures = {"weightPasses": passes, "weightResidual": residual, "weightSeconds": weight_seconds}
    if signs is not None:
        x = fit_with_signs(A, b, r, signs)
        figures.update(route="signs", misfit=0.0, ambiguous=False)
    elif not b.any():
        u, route, misfit, ambiguous = solve_sign_free(SignFree(A / r[:, None]), r)
        x = u
        figures.update(route=route, misfit=misfit, ambiguous=True)
    else:
        E = np.empty((n, d + 1))
        E[:, :d] = A / r[:, None]
        E[:, d] = -b / r
        u, route, misfit, ambiguous = solve_sign_free(SignFree(E), r)
        x = u[:d] / u[d] if u[d] != 0 and np.isfinite(u[d]) else np.zeros(d)
        figures.update(route=route, misfit=misfit, ambiguous=ambiguous)
    figures["seconds"] = time.perf_counter() - began
    return x, figures


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: numpy_global_start.py SPEC.json\n")
        return 64
    spec, n, d, load = read_spec(argv[1])
    A = load("A", (n, d))
    b = load("b", (n,))
    sigma = load("sigma", (n,))
    signs = load("signs", (n,)) if spec.get("signs") else None
    # "repeat": the global start that many times on the same arrays, seconds their median (the first run
    # also pays for first touches of memory, as levinv's does)
    seconds = []
    for _ in range(max(1, int(spec.get("repeat", 1)))):
        x, figures = global_start(A, b, sigma, signs)
        seconds.append(figures.get("seconds"))
    if x is not None:
        figures["seconds"] = float(np.median(seconds))
        figures["repeats"] = len(seconds)
    out = {"x": None if x is None else x.tolist(), **figures}
    if x is not None:
        out["negative"] = int(np.sum(A @ x - b < 0))
    out["threads"] = blas_threads()
    out["numpy"] = np.__version__
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
