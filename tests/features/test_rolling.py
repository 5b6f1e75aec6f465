"""The Numba rolling kernels against pandas' rolling windows, gaps (NaN) included."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.features.rolling import (
    rolling_beta,
    rolling_corr,
    rolling_mean,
    rolling_skew,
    rolling_std,
    rolling_zscore,
)


@st.composite
def series_with_gaps(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    size = draw(st.integers(2, 300))
    window = draw(st.integers(3, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    level = draw(st.sampled_from([0.0, 1.0, 1_000.0]))
    x = level + rng.standard_normal(size) * draw(st.sampled_from([1e-4, 1.0, 50.0]))
    y = 0.5 * x + rng.standard_normal(size)
    gaps = draw(st.lists(st.integers(0, size - 1), max_size=4))
    x[gaps] = np.nan
    y[draw(st.lists(st.integers(0, size - 1), max_size=2))] = np.nan
    return x, y, window


def _same(ours: np.ndarray, expected: pd.Series, rtol: float = 1e-8, atol: float = 1e-10) -> None:
    np.testing.assert_allclose(ours, expected.to_numpy(), rtol=rtol, atol=atol)


@settings(max_examples=150, deadline=None)
@given(series_with_gaps())
def test_moments_match_pandas(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    x, _, window = case
    magnitude = max(1.0, float(np.nanmax(np.abs(x), initial=1.0)))
    _same(rolling_mean(x, window), pd.Series(x).rolling(window).mean(), atol=1e-12 * magnitude)
    # The reference gets the values centred, where pandas' own rounding is negligible;
    # ours must match it even at a level of 1,000 and a spread of 1e-4.
    centred = pd.Series(x - np.nanmean(x)).rolling(window)
    _same(rolling_std(x, window), centred.std(), atol=1e-11 * magnitude)
    z = (centred.obj - centred.mean()) / centred.std()
    _same(rolling_zscore(x, window), z, rtol=1e-6, atol=1e-6)
    _same(rolling_skew(x, window), centred.skew(), rtol=1e-6, atol=1e-6)


@settings(max_examples=150, deadline=None)
@given(series_with_gaps())
def test_co_moments_match_pandas(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    x, y, window = case
    left, right = pd.Series(x - np.nanmean(x)), pd.Series(y - np.nanmean(y))
    _same(rolling_corr(x, y, window), left.rolling(window).corr(right), rtol=1e-6, atol=1e-7)
    beta = left.rolling(window).cov(right) / right.rolling(window).var()
    both = np.isfinite(x) & np.isfinite(y)
    beta[~pd.Series(both).rolling(window).min().fillna(0).astype(bool)] = np.nan
    _same(rolling_beta(x, y, window), beta, rtol=1e-6, atol=1e-7)


def test_a_gap_blanks_exactly_the_windows_that_hold_it() -> None:
    x = np.arange(30, dtype=np.float64)
    x[12] = np.nan
    mean = rolling_mean(x, 5)
    assert np.isnan(mean[:4]).all() and np.isfinite(mean[4:12]).all()
    assert np.isnan(mean[12:17]).all() and np.isfinite(mean[17:]).all()
    assert mean[17] == np.mean(x[13:18])
