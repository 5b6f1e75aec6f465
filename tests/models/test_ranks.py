"""Rank IC by sorted-order sums equals SciPy's ``rankdata`` + Pearson, ties included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata, spearmanr

from strategy_factory.models.ranks import average_ranks, spearman_columns
from strategy_factory.models.scoring import rank_ic_columns


@st.composite
def columns(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    rows = draw(st.integers(2, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Few distinct values make ties (day-of-week features, a lasso's sparse predictions).
    distinct = draw(st.sampled_from([2, 5, 1_000_000]))
    y = rng.integers(0, draw(st.sampled_from([3, 1_000_000])), rows).astype(np.float64)
    predictions = rng.integers(0, distinct, (rows, draw(st.integers(1, 6)))) * 0.1
    return y, predictions


@settings(max_examples=150, deadline=None)
@given(columns())
def test_equals_scipy(case: tuple[np.ndarray, np.ndarray]) -> None:
    y, predictions = case
    assert np.array_equal(average_ranks(y), rankdata(y))
    got = rank_ic_columns(y, predictions)
    for column, value in zip(predictions.T, got, strict=True):
        if np.ptp(column) == 0:
            assert np.isnan(value)
        elif np.ptp(y) == 0:
            assert not np.isfinite(value)
        else:
            assert abs(value - spearmanr(y, column).statistic) < 1e-12


def test_many_columns_of_one_grid() -> None:
    rng = np.random.default_rng(4)
    y = rng.standard_normal(5_000)
    predictions = rng.standard_normal((5_000, 48)) + 0.1 * y[:, None]
    expected = [spearmanr(y, column).statistic for column in predictions.T]
    np.testing.assert_allclose(spearman_columns(y, predictions), expected, rtol=0, atol=1e-12)
