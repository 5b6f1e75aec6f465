"""The synthetic generator: seeded, any frequency, regimes, a planted signal of known strength."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import (
    Regime,
    fading_edge_bars,
    infer_frequency,
    normalize_bars,
    regime_path,
    synthetic_bars,
)
from strategy_factory.errors import FactoryError


def test_same_seed_same_bars() -> None:
    a = synthetic_bars(2000, seed=11, planted_strength=0.1)
    b = synthetic_bars(2000, seed=11, planted_strength=0.1)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(synthetic_bars(2000, seed=12, planted_strength=0.1))


@pytest.mark.parametrize("freq", ["1min", "5min", "1h", "1D"])
def test_frequency_and_schema(freq: str) -> None:
    bars = synthetic_bars(500, freq=freq, seed=1)
    assert infer_frequency(bars.index) == freq
    assert "planted" not in bars
    pd.testing.assert_frame_equal(normalize_bars(bars, "synthetic"), bars)


def test_ohlc_is_consistent() -> None:
    bars = synthetic_bars(50_000, seed=3)
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["volume"] > 0).all()


def test_planted_feature_predicts_next_bar_with_its_strength() -> None:
    strength = 0.1
    bars = synthetic_bars(200_000, seed=5, planted_strength=strength, regimes=(Regime(0, 0.2),))
    body = np.log(bars["close"] / bars["open"]).to_numpy()
    ic = np.corrcoef(bars["planted"].to_numpy()[:-1], body[1:])[0, 1]
    assert ic == pytest.approx(strength / np.sqrt(1 - 0.05), abs=0.006)
    same_bar = np.corrcoef(bars["planted"].to_numpy(), body)[0, 1]
    assert abs(same_bar) < 0.006


def test_pure_random_walk_has_no_autocorrelation() -> None:
    bars = synthetic_bars(200_000, seed=9)
    returns = np.diff(np.log(bars["close"].to_numpy()))
    assert abs(np.corrcoef(returns[:-1], returns[1:])[0, 1]) < 0.01


def test_regimes_switch_volatility() -> None:
    n = 100_000
    state = regime_path(n, 400, 2, seed=4)
    bars = synthetic_bars(n, seed=4, mean_duration=400, regimes=(Regime(0, 0.1), Regime(0, 0.4)))
    returns = np.log(bars["close"]).diff().to_numpy()[1:]
    calm, wild = returns[state[1:] == 0].std(), returns[state[1:] == 1].std()
    assert wild / calm == pytest.approx(4, rel=0.05)
    run_lengths = np.diff(np.flatnonzero(np.diff(state) != 0))
    assert run_lengths.mean() == pytest.approx(400, rel=0.25)


def test_million_minute_bars() -> None:
    bars = synthetic_bars(1_000_000, seed=0, planted_strength=0.05)
    assert len(bars) == 1_000_000
    assert bars.index[-1] - bars.index[0] == pd.Timedelta(minutes=999_999)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_bars": 1}, "at least 2"),
        ({"planted_strength": 1.0}, "planted_strength"),
        ({"planted_strength": -0.1}, "planted_strength"),
        ({"regimes": ()}, "at least one regime"),
        ({"regimes": (Regime(0, -1),)}, "positive volatility"),
        ({"freq": "bogus"}, "frequency 'bogus'"),
        ({"freq": "-1h"}, "must move forward in time"),
        ({"start": "not a date"}, "start 'not a date' is not a timestamp"),
        ({"start": ""}, "start '' is not a timestamp"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"regimes": (Regime(float("nan"), 0.2),)}, "regime 0 drift must be a finite number"),
        ({"regimes": (Regime(0, float("inf")),)}, "regime 0 volatility must be a finite number"),
        ({"mean_duration": float("inf")}, "mean_duration must be a finite number"),
        ({"tail_df": float("nan")}, "tail_df must be a finite number"),
        ({"tail_df": 2}, "must be above 2"),
    ],
)
def test_bad_parameters(kwargs: dict, message: str) -> None:
    params = {"n_bars": 100, **kwargs}
    with pytest.raises(FactoryError, match=message):
        synthetic_bars(**params)


def test_a_start_with_an_offset_is_converted_to_utc() -> None:
    bars = synthetic_bars(3, freq="1h", start="2020-01-01T00:00+02:00")
    assert bars.index[0] == pd.Timestamp("2019-12-31 22:00", tz="UTC")


def test_the_fading_feature_stops_predicting_and_the_lasting_one_does_not() -> None:
    bars = fading_edge_bars(200_000, seed=7, lasting=0.1, fading=0.15, fade_at=0.5)
    pd.testing.assert_frame_equal(normalize_bars(bars, "synthetic"), bars)
    body = np.log(bars["close"] / bars["open"]).to_numpy()
    half = len(bars) // 2

    def ic(column: str, rows: slice) -> float:
        return float(np.corrcoef(bars[column].to_numpy()[:-1][rows], body[1:][rows])[0, 1])

    before, after = slice(0, half - 1), slice(half, None)
    # Each strength is a correlation with the next bar's body, as synthetic_bars' planted.
    assert ic("lasting", before) == pytest.approx(0.1 / np.sqrt(1 - 0.05), abs=0.008)
    assert ic("lasting", after) == pytest.approx(0.1 / np.sqrt(1 - 0.05), abs=0.008)
    assert ic("fading", before) == pytest.approx(0.15 / np.sqrt(1 - 0.05), abs=0.008)
    assert abs(ic("fading", after)) < 0.008
    with pytest.raises(FactoryError, match="fade_at"):
        fading_edge_bars(100, seed=1, fade_at=1.5)
