"""No look-ahead: changing what comes after bar t changes no feature or label at or before t.

Prices after ``t`` are rescaled bar by bar (open, high, low and close by the same factor,
so every bar stays consistent), volumes and exogenous columns redrawn, and every
reference bar not yet closed when bar ``t`` closes is changed the same way. Then the
whole feature matrix (every feature in the registry that the data can feed) and every
regime labeler are recomputed and compared up to ``t``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.data import PRICE_COLUMNS, synthetic_bars
from strategy_factory.features import (
    GMMRegimes,
    HMMRegimes,
    TrendVolRegimes,
    VIXRegimes,
    available_features,
    build_feature_matrix,
    label_regimes,
)
from strategy_factory.features.reference import bar_width

EXACT = 1e-12


def _perturb(bars: pd.DataFrame, changed: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    out = bars.copy()
    count = int(changed.sum())
    if count == 0:
        return out
    factor = rng.uniform(0.5, 2.0) * np.exp(rng.normal(0.0, 0.03, count).cumsum())
    for column in PRICE_COLUMNS:
        out.loc[changed, column] = bars.loc[changed, column].to_numpy() * factor
    out.loc[changed, "volume"] = bars.loc[changed, "volume"].to_numpy() * rng.uniform(0.2, 5, count)
    for column in bars.columns.difference(["volume", *PRICE_COLUMNS]):
        out.loc[changed, column] = rng.standard_normal(count)
    return out


def _not_closed_by(reference: pd.DataFrame, bars: pd.DataFrame, cut: int) -> np.ndarray:
    """Reference bars that close after bar ``cut`` of ``bars`` does (the documented rule)."""
    symbol_width, reference_width = bar_width(bars.index), bar_width(reference.index)
    known_by = bars.index[cut] + symbol_width
    if symbol_width >= pd.Timedelta(days=1) > reference_width:
        known_by -= pd.Timedelta(days=1)
    return np.asarray(reference.index + reference_width > known_by)


def _future_changed(bars, references, cut, seed):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    after = np.arange(len(bars)) > cut
    changed_refs = {
        name: _perturb(frame, _not_closed_by(frame, bars, cut), rng)
        for name, frame in references.items()
    }
    return _perturb(bars, after, rng), changed_refs


def _assert_same_up_to(before: np.ndarray, after: np.ndarray, cut: int, what: str) -> None:
    np.testing.assert_allclose(
        after[: cut + 1], before[: cut + 1], rtol=0, atol=EXACT, equal_nan=True, err_msg=what
    )


def _close_only(stamps: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    level = 15 * np.exp(np.random.default_rng(seed).normal(0, 0.08, len(stamps)).cumsum())
    frame = dict.fromkeys(PRICE_COLUMNS, level)
    return pd.DataFrame({**frame, "volume": np.nan}, index=stamps.rename("timestamp"))


@pytest.fixture(scope="module")
def intraday_case() -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Five-minute bars with a planted column, a five-minute peer and a daily close-only index."""
    bars = synthetic_bars(1_500, freq="5min", seed=21, planted_strength=0.1)
    days = pd.date_range("2019-12-20", "2020-01-10", freq="1D", tz="UTC")
    return bars, {"PEER": synthetic_bars(1_500, freq="5min", seed=22), "IDX": _close_only(days, 3)}


@pytest.fixture(scope="module")
def real_case(
    sp500: pd.DataFrame, nasdaq: pd.DataFrame, vix: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    return sp500.loc["2013-06":"2017-12"], {"NASDAQ": nasdaq, "VIX": vix}


def _check_every_feature(bars, references, cut, seed) -> None:  # type: ignore[no-untyped-def]
    names = available_features(bars, references)
    assert any(n.startswith("ref_") for n in names)
    before = build_feature_matrix(bars, references)
    changed_bars, changed_refs = _future_changed(bars, references, cut, seed)
    after = build_feature_matrix(changed_bars, changed_refs)
    assert list(after.columns) == names
    for name in names:
        _assert_same_up_to(before[name].to_numpy(), after[name].to_numpy(), cut, name)


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(0, 1_498), seed=st.integers(0, 2**32 - 1))
def test_every_feature_on_intraday_bars(intraday_case, cut: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    _check_every_feature(*intraday_case, cut, seed)


@settings(max_examples=25, deadline=None)
@given(fraction=st.floats(0.0, 0.999), seed=st.integers(0, 2**32 - 1))
def test_every_feature_on_real_sp500_with_nasdaq_and_vix(
    real_case, fraction: float, seed: int
) -> None:  # type: ignore[no-untyped-def]
    bars, references = real_case
    _check_every_feature(bars, references, int(fraction * (len(bars) - 1)), seed)


def _labelers() -> dict[str, object]:
    return {
        "regime_gmm": GMMRegimes(n_regimes=3),
        "regime_hmm": HMMRegimes(n_regimes=2),
        "regime_hmm3": HMMRegimes(n_regimes=3),
        "regime_trend": TrendVolRegimes(trend_window=50, z_window=100),
        "regime_vix": VIXRegimes(),
    }


@settings(max_examples=15, deadline=None)
@given(fraction=st.floats(0.0, 0.999), seed=st.integers(0, 2**32 - 1))
def test_every_labeler_fitted_before_t(real_case, fraction: float, seed: int) -> None:  # type: ignore[no-untyped-def]
    bars, references = real_case
    train_end = 500
    cut = train_end + int(fraction * (len(bars) - train_end - 1))
    changed_bars, changed_refs = _future_changed(bars, references, cut, seed)
    before = label_regimes(bars, references, bars.index[train_end], _labelers())
    after = label_regimes(changed_bars, changed_refs, bars.index[train_end], _labelers())
    for name in before:
        _assert_same_up_to(before[name].to_numpy(), after[name].to_numpy(), cut, name)


def test_the_check_catches_a_leak(real_case) -> None:  # type: ignore[no-untyped-def]
    """A centred moving average peeks ahead; the comparison above must see it."""
    bars, references = real_case
    changed, _ = _future_changed(bars, references, 400, seed=1)
    leaky = bars["close"].rolling(21, center=True).mean().to_numpy()
    leaky_after = changed["close"].rolling(21, center=True).mean().to_numpy()
    with pytest.raises(AssertionError):
        _assert_same_up_to(leaky, leaky_after, 400, "centred mean")
