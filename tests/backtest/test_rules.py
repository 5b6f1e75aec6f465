"""Rule predictions against their definitions, and saved prediction files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategy_factory.backtest import (
    Market,
    load_predictions,
    mean_reversion,
    momentum,
    rule_predictions,
)
from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError


@pytest.fixture(scope="module")
def close(shared_bars: BarCatalog) -> pd.Series:
    return shared_bars.load("SP500")["close"]


def test_momentum_is_the_lookback_return(close: pd.Series) -> None:
    values = close.to_numpy()
    prediction = momentum(close, 20).to_numpy()
    assert (prediction[:20] == 0).all()
    np.testing.assert_allclose(prediction[20:], values[20:] / values[:-20] - 1, rtol=1e-12)


def test_mean_reversion_is_minus_the_zscore_against_the_sma(close: pd.Series) -> None:
    window = np.lib.stride_tricks.sliding_window_view(close.to_numpy(), 30)
    expected = -(window[:, -1] - window.mean(axis=1)) / window.std(axis=1, ddof=1)
    prediction = mean_reversion(close, 30).to_numpy()
    assert (prediction[:29] == 0).all()
    np.testing.assert_allclose(prediction[29:], expected, rtol=1e-8)


def test_rules_are_causal(close: pd.Series) -> None:
    changed = close.copy()
    changed.iloc[3000:] *= 1.5
    for rule in ("momentum", "mean_reversion"):
        before = rule_predictions(close, rule, 25).iloc[:3000]
        after = rule_predictions(changed, rule, 25).iloc[:3000]
        pd.testing.assert_series_equal(before, after)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: momentum(c, 0), "lookback is a number of bars >= 1, got 0"),
        (lambda c: mean_reversion(c, 1), "window needs at least 2 bars"),
        (lambda c: rule_predictions(c, "breakout"), "unknown rule 'breakout'"),
    ],
)
def test_bad_rule_arguments(
    close: pd.Series, call: Callable[[pd.Series], pd.Series], message: str
) -> None:
    with pytest.raises(FactoryError, match=message):
        call(close)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_saved_predictions_align_with_their_bars(
    shared_bars: BarCatalog, tmp_path: Path, suffix: str
) -> None:
    bars = shared_bars.load("MSFT").iloc[-300:]
    saved = pd.DataFrame(
        {"timestamp": bars.index, "prediction": np.linspace(-1, 1, 300), "MSFT": 0.5}
    )
    path = tmp_path / f"predictions{suffix}"
    if suffix == ".csv":
        saved.to_csv(path, index=False)
    else:
        saved.to_parquet(path)
    loaded = load_predictions(path)
    assert list(loaded.columns) == ["prediction", "MSFT"]
    assert loaded.index.equals(bars.index)
    Market("MSFT", bars, loaded["prediction"])


def test_bad_prediction_files(tmp_path: Path) -> None:
    no_time = tmp_path / "a.csv"
    no_time.write_text("when,prediction\n2020-01-01,1\n")
    with pytest.raises(FactoryError, match=r"a\.csv: no timestamp column"):
        load_predictions(no_time)
    bad_time = tmp_path / "b.csv"
    bad_time.write_text("timestamp,prediction\n2020-01-01,1\nyesterday,2\n")
    with pytest.raises(FactoryError, match=r"b\.csv row 2: cannot read timestamp 'yesterday'"):
        load_predictions(bad_time)
    unsorted = tmp_path / "c.csv"
    unsorted.write_text("timestamp,prediction\n2020-01-02,1\n2020-01-01,2\n")
    with pytest.raises(FactoryError, match="strictly increasing"):
        load_predictions(unsorted)
    with pytest.raises(FactoryError, match="no such predictions file"):
        load_predictions(tmp_path / "missing.csv")
