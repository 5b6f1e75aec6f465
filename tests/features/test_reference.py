"""Reference alignment (as-of, never the future) and the reference features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.features import align_reference, build_feature_matrix


def _bars(stamps: pd.DatetimeIndex, close: np.ndarray) -> pd.DataFrame:
    close = np.asarray(close, dtype=np.float64)
    frame = {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close}
    return pd.DataFrame({**frame, "volume": 1_000.0}, index=stamps.rename("timestamp"))


def test_daily_reference_on_daily_bars_is_an_as_of_join(
    sp500: pd.DataFrame, vix: pd.DataFrame
) -> None:
    # Calendars differ: drop some VIX days as if the CBOE had kept other holidays.
    holidays = vix.index[100:1200:97]
    reference = vix.drop(holidays)
    aligned = align_reference(reference, sp500.index)
    expected = pd.merge_asof(
        sp500[[]].reset_index(),
        reference[["close"]].reset_index(),
        on="timestamp",
        direction="backward",
    )["close"]
    np.testing.assert_array_equal(aligned, expected.to_numpy())
    assert np.isnan(aligned[sp500.index < vix.index[0]]).all()
    for day in holidays:
        previous = reference["close"].loc[:day].iloc[-1]
        assert aligned[sp500.index.get_loc(day)] == previous != vix["close"].loc[day]


def test_intraday_bars_use_the_previous_days_daily_reference() -> None:
    days = pd.date_range("2024-01-01", periods=5, freq="1D", tz="UTC")
    daily = _bars(days, np.arange(1.0, 6.0))
    minutes = pd.date_range("2024-01-02 14:30", periods=600, freq="1min", tz="UTC")
    aligned = align_reference(daily, minutes)
    # The 2024-01-02 daily bar closes at that day's (unknown) close, so intraday bars
    # closing that day see only 2024-01-01's close (1.0); the 23:59 bar closes at midnight.
    same_day = (minutes + pd.Timedelta(minutes=1)) < pd.Timestamp("2024-01-03", tz="UTC")
    np.testing.assert_array_equal(aligned[same_day], 1.0)
    np.testing.assert_array_equal(aligned[~same_day], 2.0)


def test_daily_bars_use_intraday_reference_bars_of_earlier_days_only() -> None:
    hours = pd.date_range("2024-01-01 00:00", periods=72, freq="1h", tz="UTC")
    hourly = _bars(hours, np.arange(1.0, 73.0))
    days = pd.date_range("2024-01-01", periods=4, freq="1D", tz="UTC")
    aligned = align_reference(hourly, days)
    # Day 2's bar closes at an unknown time of day 2: only bars that closed by its start count.
    np.testing.assert_array_equal(aligned, [np.nan, 24.0, 48.0, 72.0])


def test_intraday_widths_align_on_bar_closes() -> None:
    ones = pd.date_range("2024-01-01 10:00", periods=30, freq="1min", tz="UTC")
    fives = pd.date_range("2024-01-01 10:00", periods=6, freq="5min", tz="UTC")
    minute_ref = _bars(ones, np.arange(30.0) + 1)
    five_ref = _bars(fives, np.arange(6.0) + 1)
    # A five-minute bar 10:00-10:05 sees the one-minute bar 10:04 (value 5).
    np.testing.assert_array_equal(align_reference(minute_ref, fives), [5, 10, 15, 20, 25, 30])
    # The one-minute bar 10:07 (closing 10:08) sees the five-minute bar 10:00-10:05 only.
    assert align_reference(five_ref, ones)[7] == 1.0
    assert align_reference(five_ref, ones)[9] == 2.0


@settings(max_examples=60, deadline=None)
@given(
    symbol_minutes=st.sampled_from([1, 5, 60, 1440]),
    reference_minutes=st.sampled_from([1, 5, 60, 1440]),
    seed=st.integers(0, 2**16),
)
def test_aligned_value_is_the_last_reference_bar_closed_in_time(
    symbol_minutes: int, reference_minutes: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC")

    def stamps(minutes: int, count: int) -> pd.DatetimeIndex:
        steps = minutes * np.cumsum(1 + (rng.random(count) < 0.1) * rng.integers(1, 5, count))
        return start + pd.to_timedelta(steps, unit="min")

    symbol = stamps(symbol_minutes, 200)
    reference = _bars(stamps(reference_minutes, 200), np.arange(1.0, 201.0))
    aligned = align_reference(reference, symbol)
    reference_close = reference.index + pd.Timedelta(minutes=reference_minutes)
    for stamp, value in zip(symbol, aligned, strict=True):
        known_by = stamp + pd.Timedelta(minutes=symbol_minutes)
        if symbol_minutes >= 1440 > reference_minutes:
            known_by -= pd.Timedelta(days=1)
        closed = np.flatnonzero(reference_close <= known_by)
        expected = float(closed[-1] + 1) if closed.size else np.nan
        np.testing.assert_equal(value, expected)


def test_reference_features_against_pandas(sp500: pd.DataFrame, nasdaq: pd.DataFrame) -> None:
    matrix = build_feature_matrix(sp500, {"nasdaq": nasdaq})
    assert {"ref_NASDAQ_corr_60", "ref_NASDAQ_beta_60", "ref_NASDAQ_ret_1"} <= set(matrix)
    assert "ref_NASDAQ_level" not in matrix  # a price level is no feature
    # The bundled SP500 and NASDAQ share their trading days, so plain returns line up.
    assert sp500.index.equals(nasdaq.index)
    ours, theirs = np.log(sp500["close"]), np.log(nasdaq["close"])
    returns, reference = ours.diff(), theirs.diff()
    expected = {
        "ref_NASDAQ_ret_1": reference,
        "ref_NASDAQ_rs_5": ours.diff(5) - theirs.diff(5),
        "ref_NASDAQ_rs_20": ours.diff(20) - theirs.diff(20),
        "ref_NASDAQ_corr_20": returns.rolling(20).corr(reference),
        "ref_NASDAQ_corr_60": returns.rolling(60).corr(reference),
        "ref_NASDAQ_beta_60": returns.rolling(60).cov(reference) / reference.rolling(60).var(),
    }
    for name, values in expected.items():
        np.testing.assert_allclose(matrix[name], values, rtol=0, atol=1e-9, err_msg=name)


def test_close_only_reference_gives_level_and_changes(
    sp500: pd.DataFrame, vix: pd.DataFrame
) -> None:
    matrix = build_feature_matrix(
        sp500, {"VIX": vix}, ["ref_VIX_level", "ref_VIX_change_1", "ref_VIX_change_5"]
    )
    level = pd.Series(align_reference(vix, sp500.index), index=sp500.index)
    np.testing.assert_array_equal(matrix["ref_VIX_level"], level)
    np.testing.assert_allclose(matrix["ref_VIX_change_1"], np.log(level).diff(), atol=1e-12)
    np.testing.assert_allclose(matrix["ref_VIX_change_5"], np.log(level).diff(5), atol=1e-12)
    first = sp500.index.searchsorted(vix.index[0])
    assert matrix["ref_VIX_level"].iloc[first] == vix["close"].iloc[0]


@pytest.mark.parametrize("name", ["ref_VIX_ret_1", "ref_NASDAQ_level"])
def test_kinds_follow_the_reference(
    sp500: pd.DataFrame, nasdaq: pd.DataFrame, vix: pd.DataFrame, name: str
) -> None:
    from strategy_factory.features import available_features

    assert name not in available_features(sp500, {"VIX": vix, "NASDAQ": nasdaq})
