"""Resampling bars to a coarser timeframe against a plain-Python aggregation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.data.resample import resample_bars
from strategy_factory.errors import FactoryError


def test_minutes_to_hours_matches_manual_aggregation() -> None:
    bars = synthetic_bars(600, seed=2, planted_strength=0.1, start="2024-01-01 00:30")
    hourly = resample_bars(bars, "1h")
    assert hourly.index[0] == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    for stamp, row in hourly.iterrows():
        inside = bars[(bars.index >= stamp) & (bars.index < stamp + pd.Timedelta("1h"))]
        assert row["open"] == inside["open"].iloc[0]
        assert row["high"] == inside["high"].max()
        assert row["low"] == inside["low"].min()
        assert row["close"] == inside["close"].iloc[-1]
        assert row["volume"] == pytest.approx(inside["volume"].sum())
        assert row["planted"] == inside["planted"].iloc[-1]


def test_daily_to_weekly_drops_empty_weeks_and_starts_monday(shared_bars: BarCatalog) -> None:
    daily = shared_bars.load("SP500", end="2001-12-31")
    weekly = resample_bars(daily, "1W")
    assert (weekly.index.day_of_week == 0).all()
    assert weekly["volume"].sum() == pytest.approx(daily["volume"].sum())
    assert len(weekly) == daily.index.tz_localize(None).to_period("W-SUN").nunique()


def test_close_only_source_keeps_missing_volume(shared_bars: BarCatalog) -> None:
    weekly = resample_bars(shared_bars.load("VIX"), "1W")
    assert weekly["volume"].isna().all()
    assert np.isfinite(weekly["close"]).all()


@pytest.mark.parametrize(
    ("timeframe", "message"),
    [("1s", "finer than"), ("soon", "fixed bar width"), ("1M", "fixed bar width")],
)
def test_bad_timeframes(timeframe: str, message: str) -> None:
    with pytest.raises(FactoryError, match=message):
        resample_bars(synthetic_bars(100, freq="1min"), timeframe)
