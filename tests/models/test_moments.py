"""Fold × regime moments combined from blocks equal the moments of the rows themselves.

The reference is computed directly on each selected set of rows (NumPy's two-pass
covariance, scikit-learn's ``StandardScaler``), independently of the block combination.
Features far from zero relative to their spread (prices, volumes) are where raw sums of
squares would lose every digit; the combination must not.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import StandardScaler

from strategy_factory.models.moments import moments_of, range_moments


@st.composite
def blocks(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], list]:
    rows = draw(st.integers(30, 400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    level = draw(st.sampled_from([0.0, 1e3, 1e6]))
    X = level + rng.standard_normal((rows, 4)) * rng.uniform(1e-3, 10, 4)
    y = rng.standard_normal(rows) * 1e-3
    masks = tuple(
        rng.random(rows) < draw(st.sampled_from([0.2, 0.5, 1.0]))
        for _ in range(draw(st.integers(1, 5)))
    )
    cuts = sorted(draw(st.lists(st.integers(1, rows), min_size=2, max_size=6)))
    ranges = [(draw(st.integers(0, stop - 1)), stop) for stop in cuts]
    return X, y, masks, ranges


@settings(max_examples=60, deadline=None)
@given(blocks())
def test_range_moments_equal_the_rows_own(case: tuple) -> None:
    X, y, masks, ranges = case
    found = range_moments(X, y, masks, ranges)
    for position, mask in enumerate(masks):
        for number, (start, stop) in enumerate(ranges):
            rows = np.arange(start, stop)[mask[start:stop]]
            if rows.size == 0:
                assert (position, number) not in found
                continue
            got = found[(position, number)]
            together = np.column_stack([X[rows], y[rows]])
            assert got.count == rows.size
            # A mean that cancels to near zero is judged against the size of its terms.
            magnitude = np.abs(together).max(axis=0)
            error = np.abs(got.mean - together.mean(axis=0))
            assert (error <= 1e-13 * magnitude).all(), (got.mean, together.mean(axis=0))
            expected = np.cov(together, rowvar=False, bias=True).reshape(5, 5) * rows.size
            spread = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
            scale = np.where(spread > 0, spread, 1.0)  # one row: nothing varies
            # Values stored as level + deviation carry rounding of eps × level: relative to
            # a column's spread, no method (nor the reference) is closer than that.
            spreads = np.sqrt(np.maximum(np.diag(expected) / rows.size, 1e-300))
            noise = np.finfo(np.float64).eps * magnitude / spreads
            bound = 1e-10 + 10 * (noise[:, None] + noise[None, :])
            error = np.abs(got.comoment / scale - expected / scale)
            assert (error <= bound).all(), error.max()


def test_standardized_gram_is_that_of_standard_scaler() -> None:
    rng = np.random.default_rng(0)
    X = 1e4 + rng.standard_normal((500, 6)) * [1e-2, 1, 3, 50, 0.1, 7]
    y = rng.standard_normal(500) * 1e-4 + 3e-5
    fold = moments_of(X, y).standardized()
    scaled = StandardScaler().fit_transform(X)
    target = StandardScaler().fit_transform(y[:, None])[:, 0]
    np.testing.assert_allclose(fold.gram, scaled.T @ scaled, rtol=1e-10)
    np.testing.assert_allclose(fold.xy, scaled.T @ target, rtol=1e-9, atol=1e-9)
    assert abs(fold.y_norm2 - 500) < 1e-9  # ||y||² of a standardized target is n
