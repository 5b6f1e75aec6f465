"""Elastic-net paths on a Gram matrix, solved to the exact optimum of each alpha.

Coordinate descent with covariance updates (the algorithm of scikit-learn's
``enet_coordinate_descent_gram``, same objective and duality gap) runs to a loose gap,
``tol · ||y||²``; that is enough to find which coefficients are non-zero and their signs.
The active set is then solved exactly,

    (G_AA + n·alpha·(1 − l1_ratio)·I) w_A = X'y_A − n·alpha·l1_ratio·sign(w_A),

and accepted only when the optimality (KKT) conditions hold: every solved coefficient
keeps its sign and every other one has ``|X'y_j − G_j·w| ≤ n·alpha·l1_ratio``. The
objective is strictly convex for ``l1_ratio < 1``, so an accepted solution is *the*
optimum to rounding, whatever ``tol`` was: the tolerance decides the speed, never the
answer. When the check fails, descent continues at a hundredth of the gap and tries
again; a path that reaches ``max_iter`` keeps its descent iterate and is counted.

Objective (``n`` rows, standardized data, as scikit-learn's ``ElasticNet``)::

    1/(2n)·||y − Xw||² + alpha·l1_ratio·||w||₁ + alpha·(1 − l1_ratio)/2·||w||²
"""

from __future__ import annotations

import numba
import numpy as np

# The duality gap (× ||y||²) descent reaches before the active set is solved exactly,
# chosen by measurement (benchmarks/bench_training.py, CPU s per grid, medians of 7):
# on SP500 / MSFT daily features 0.16 / 0.20 s at 1e-2, 0.18 / 0.24 at 1e-4, 0.59 / 0.65
# at 1e-8; the same on minute data (0.29 s) — and the same answer at every tolerance.
DESCENT_TOL = 1e-2
# Slack of the KKT check, relative to the penalty and the correlation it bounds: far
# below any change a score could see, far above the rounding of a p×p solve.
_KKT_SLACK = 1e-9
_TIGHTEN = 1e-2
_SMALLEST_GAP = 1e-12


@numba.njit(cache=True, nogil=True, error_model="numpy")
def enet_gram_path(
    gram: np.ndarray,
    xy: np.ndarray,
    y_norm2: float,
    n: int,
    l1_ratio: float,
    alphas: np.ndarray,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int]:
    """Coefficients (features × alphas) along ``alphas`` (descending), warm-started.

    Returns them and how many alphas ended without an exact solution (at ``max_iter``).
    """
    p = xy.size
    coefs = np.zeros((p, alphas.size))
    w = np.zeros(p)
    gw = np.zeros(p)
    unconverged = 0
    for k in range(alphas.size):
        l1 = alphas[k] * l1_ratio * n
        l2 = alphas[k] * (1.0 - l1_ratio) * n
        if not _solve(gram, xy, y_norm2, l1, l2, tol, max_iter, w, gw):
            unconverged += 1
        coefs[:, k] = w
    return coefs, unconverged


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _solve(
    gram: np.ndarray,
    xy: np.ndarray,
    y_norm2: float,
    l1: float,
    l2: float,
    tol: float,
    max_iter: int,
    w: np.ndarray,
    gw: np.ndarray,
) -> bool:
    """Descend from ``w`` (``gw = G·w``) and polish, both in place; False at ``max_iter``.

    An active set that never passes the check (a pure lasso on duplicated features has
    no unique optimum) keeps descent's iterate at the smallest gap.
    """
    gap_tol = tol
    sweeps = 0
    while sweeps < max_iter:
        sweeps += _descend(gram, xy, y_norm2, l1, l2, gap_tol * y_norm2, max_iter - sweeps, w, gw)
        if _polish(gram, xy, l1, l2, w, gw):
            return True
        if gap_tol <= _SMALLEST_GAP:
            return sweeps < max_iter
        gap_tol = max(gap_tol * _TIGHTEN, _SMALLEST_GAP)
    return False


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _descend(
    gram: np.ndarray,
    xy: np.ndarray,
    y_norm2: float,
    l1: float,
    l2: float,
    gap_tol: float,
    max_iter: int,
    w: np.ndarray,
    gw: np.ndarray,
) -> int:
    """Cyclic coordinate descent until the duality gap is at most ``gap_tol``; sweeps done."""
    p = xy.size
    if _gap(xy, y_norm2, l1, l2, w, gw) <= gap_tol:
        return 0
    for sweep in range(1, max_iter + 1):
        for j in range(p):
            diagonal = gram[j, j]
            if diagonal == 0.0:
                continue
            old = w[j]
            partial = xy[j] - gw[j] + old * diagonal
            new = np.sign(partial) * max(abs(partial) - l1, 0.0) / (diagonal + l2)
            if new != old:
                step = new - old
                for i in range(p):
                    gw[i] += step * gram[j, i]
                w[j] = new
        if _gap(xy, y_norm2, l1, l2, w, gw) <= gap_tol:
            return sweep
    return max_iter


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _gap(
    xy: np.ndarray, y_norm2: float, l1: float, l2: float, w: np.ndarray, gw: np.ndarray
) -> float:
    """The duality gap of scikit-learn's Gram solver (its formulation A)."""
    xy_w = 0.0
    w_gw = 0.0
    l1_norm = 0.0
    l2_norm2 = 0.0
    dual_norm = 0.0
    for j in range(xy.size):
        xy_w += xy[j] * w[j]
        w_gw += w[j] * gw[j]
        l1_norm += abs(w[j])
        l2_norm2 += w[j] * w[j]
        dual_norm = max(dual_norm, abs(xy[j] - gw[j] - l2 * w[j]))
    residual2 = y_norm2 + w_gw - 2.0 * xy_w
    residual_y = y_norm2 - xy_w
    primal = 0.5 * (residual2 + l2 * l2_norm2) + l1 * l1_norm
    scale = l1 / dual_norm if dual_norm > l1 else 1.0
    dual = -0.5 * scale * scale * (residual2 + l2 * l2_norm2) + scale * residual_y
    return primal - dual


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _polish(
    gram: np.ndarray, xy: np.ndarray, l1: float, l2: float, w: np.ndarray, gw: np.ndarray
) -> bool:
    """Solve the active set exactly; keep it (and say so) only if it is optimal."""
    active = np.flatnonzero(w)
    size = active.size
    if size == 0:
        return _inactive_optimal(xy, gw, w, l1)
    system = np.empty((size, size))
    right = np.empty(size)
    for a in range(size):
        j = active[a]
        right[a] = xy[j] - l1 * np.sign(w[j])
        for b in range(size):
            system[a, b] = gram[j, active[b]]
        system[a, a] += l2
    if not _cholesky_solve(system, right):
        return False
    for a in range(size):
        if np.sign(right[a]) != np.sign(w[active[a]]):
            return False
    exact = np.zeros_like(w)
    for a in range(size):
        exact[active[a]] = right[a]
    exact_gw = gram @ exact
    if not _inactive_optimal(xy, exact_gw, exact, l1):
        return False
    w[:] = exact
    gw[:] = exact_gw
    return True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _inactive_optimal(xy: np.ndarray, gw: np.ndarray, w: np.ndarray, l1: float) -> bool:
    """Every zero coefficient's correlation with the residual is within the L1 penalty."""
    for j in range(xy.size):
        if w[j] == 0.0:
            correlation = abs(xy[j] - gw[j])
            if correlation > l1 + _KKT_SLACK * (l1 + abs(xy[j])):
                return False
    return True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _cholesky_solve(system: np.ndarray, right: np.ndarray) -> bool:
    """Solve ``system · x = right`` in place (``x`` into ``right``); False if not positive
    definite (a singular active set of a pure lasso: descent's iterate is kept)."""
    size = right.size
    for j in range(size):
        pivot = system[j, j]
        for k in range(j):
            pivot -= system[j, k] * system[j, k]
        if pivot <= 0.0:
            return False
        system[j, j] = np.sqrt(pivot)
        for i in range(j + 1, size):
            value = system[i, j]
            for k in range(j):
                value -= system[i, k] * system[j, k]
            system[i, j] = value / system[j, j]
    for i in range(size):
        value = right[i]
        for k in range(i):
            value -= system[i, k] * right[k]
        right[i] = value / system[i, i]
    for i in range(size - 1, -1, -1):
        value = right[i]
        for k in range(i + 1, size):
            value -= system[k, i] * right[k]
        right[i] = value / system[i, i]
    return True
