"""Exact elastic-net paths on a Gram matrix, against scikit-learn converged to 1e-14.

The reference is scikit-learn's ``enet_path`` on the standardized rows themselves, run
to a duality gap of 1e-14; ours must agree on collinear features (lagged returns and
their moving averages, as indicator sets are), for every l1_ratio, and must not depend
on the tolerance its descent stops at before solving the active set.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import enet_path

from strategy_factory.models.descent import enet_gram_path
from strategy_factory.models.moments import moments_of
from strategy_factory.models.paths import alpha_max


def collinear(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Lagged noise and its running means (strongly correlated columns), and a weak target."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(rows + 30)
    lags = np.column_stack([base[30 - k : 30 - k + rows] for k in range(1, 9)])
    means = np.column_stack([lags[:, :k].mean(axis=1) for k in (2, 3, 5, 8)])
    X = np.column_stack([lags, means, rng.standard_normal((rows, 4))])
    y = 0.05 * lags[:, 0] - 0.03 * means[:, 1] + rng.standard_normal(rows)
    return X, y


def reference(X: np.ndarray, y: np.ndarray, l1_ratio: float, alphas: np.ndarray) -> np.ndarray:
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    target = (y - y.mean()) / y.std()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # l1_ratio=1 on collinear columns converges slowly
        _, coefs, _ = enet_path(
            standardized, target, l1_ratio=l1_ratio, alphas=alphas, tol=1e-14, max_iter=10**6
        )
    return coefs


@pytest.mark.parametrize("l1_ratio", [0.1, 0.5, 0.95])
def test_path_equals_scikit_learn_converged(l1_ratio: float) -> None:
    X, y = collinear(1500, seed=3)
    fold = moments_of(X, y).standardized()
    alphas = np.geomspace(1.0, 1e-3, 10) * alpha_max(fold.gram, fold.xy, fold.count, l1_ratio)
    ours, unconverged = enet_gram_path(
        fold.gram, fold.xy, fold.y_norm2, fold.count, l1_ratio, alphas, 1e-3, 100_000
    )
    assert unconverged == 0
    np.testing.assert_allclose(ours, reference(X, y, l1_ratio, alphas), rtol=0, atol=1e-9)
    assert not ours[:, 0].any()  # alpha_max zeroes every coefficient


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    l1_ratio=st.sampled_from([0.1, 0.3, 0.7, 0.95]),
    loose=st.sampled_from([1e-1, 1e-2, 1e-3]),
)
def test_the_tolerance_never_changes_the_solution(seed: int, l1_ratio: float, loose: float) -> None:
    X, y = collinear(400, seed)
    fold = moments_of(X, y).standardized()
    alphas = np.geomspace(1.0, 1e-2, 8) * alpha_max(fold.gram, fold.xy, fold.count, l1_ratio)
    args = (fold.gram, fold.xy, fold.y_norm2, fold.count, l1_ratio, alphas)
    fast, _ = enet_gram_path(*args, loose, 100_000)
    tight, _ = enet_gram_path(*args, 1e-10, 100_000)
    np.testing.assert_allclose(fast, tight, rtol=0, atol=1e-12)
    # And the solution is optimal: stationary on the active set, bounded off it.
    n = fold.count
    for k, alpha in enumerate(alphas):
        w = fast[:, k]
        residual = fold.xy - fold.gram @ w - n * alpha * (1 - l1_ratio) * w
        active = w != 0
        np.testing.assert_allclose(
            residual[active], n * alpha * l1_ratio * np.sign(w[active]), rtol=1e-9, atol=1e-9
        )
        assert (np.abs(residual[~active]) <= n * alpha * l1_ratio * (1 + 1e-8)).all()


def test_a_lasso_on_duplicated_features_still_reaches_the_optimum() -> None:
    X, y = collinear(800, seed=5)
    X = np.column_stack([X, X[:, :2]])  # no unique lasso solution: the exact solve fails
    fold = moments_of(X, y).standardized()
    alphas = np.geomspace(1.0, 1e-2, 6) * alpha_max(fold.gram, fold.xy, fold.count, 1.0)
    ours, unconverged = enet_gram_path(
        fold.gram, fold.xy, fold.y_norm2, fold.count, 1.0, alphas, 1e-4, 100_000
    )
    assert unconverged == 0
    expected = reference(X, y, 1.0, alphas)
    # Coefficients of duplicates may split differently; predictions may not.
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    np.testing.assert_allclose(standardized @ ours, standardized @ expected, atol=1e-6)
