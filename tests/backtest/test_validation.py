"""Bad inputs fail at the boundary with a FactoryError that says what to fix."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from strategy_factory.backtest import (
    Execution,
    Market,
    StrategyConfig,
    StrategyGrid,
    simulate_config,
    simulate_grid,
)
from strategy_factory.data import synthetic_bars
from strategy_factory.errors import FactoryError


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return synthetic_bars(50, freq="1D", seed=1)


@pytest.fixture(scope="module")
def market(bars: pd.DataFrame) -> Market:
    regimes = pd.DataFrame({"regime_gmm": np.tile([0, 1, -1, 2, 1], 10)}, index=bars.index)
    zscore = np.linspace(-2, 2, len(bars))
    return Market("SYN", bars, pd.Series(0.01, index=bars.index), zscore=zscore, regimes=regimes)


def test_predictions_off_by_one_bar_name_the_first_mismatch(bars: pd.DataFrame) -> None:
    shifted = pd.Series(0.0, index=bars.index.shift(1, freq="D"))
    with pytest.raises(FactoryError, match=r"not aligned.*bar 0 is 2020-01-01.*has 2020-01-02"):
        Market("SYN", bars, shifted)


def test_predictions_that_stop_early_say_where(bars: pd.DataFrame) -> None:
    with pytest.raises(FactoryError, match=r"not aligned.*ends before bar 40 \(2020-02-10"):
        Market("SYN", bars, pd.Series(0.0, index=bars.index[:40]))


def test_nan_prediction_names_the_first_one(bars: pd.DataFrame) -> None:
    predictions = pd.Series(0.0, index=bars.index)
    predictions.iloc[[7, 9]] = np.nan
    with pytest.raises(FactoryError, match=r"2 NaN/infinite value\(s\), the first at 2020-01-08"):
        Market("SYN", bars, predictions)


def test_fewer_than_two_bars(bars: pd.DataFrame) -> None:
    one = bars.iloc[:1]
    with pytest.raises(FactoryError, match="at least 2 bars, got 1"):
        Market("SYN", one, pd.Series(0.0, index=one.index))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"thresholds": []}, "at least one threshold"),
        ({"thresholds": [0.0], "z_limits": []}, "at least one z_limit"),
        ({"thresholds": [0.0], "regime_filters": []}, "at least one regime filter"),
        ({"thresholds": [0.0], "modes": []}, "at least one mode"),
        ({"thresholds": [-0.1]}, "minimum |prediction| >= 0"),
        ({"thresholds": [0.0], "modes": ["short_only"]}, "unknown mode 'short_only'"),
        ({"thresholds": [0.0], "z_limits": [float("nan")]}, "finite number or None"),
        ({"thresholds": [0.0], "regime_filters": [{"regime_gmm": [-1]}]}, "label -1 means"),
        ({"thresholds": [0.0], "regime_filters": [{"regime_gmm": []}]}, "non-empty list"),
        ({"thresholds": [0.0], "regime_filters": [{}]}, "must map regime columns"),
    ],
)
def test_bad_grids(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(FactoryError, match=re.escape(message)):
        StrategyGrid(**arguments)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"fee_bps": -1.0}, "fee_bps must be a finite number >= 0"),
        ({"slippage_bps": -0.5}, "slippage_bps must be a finite number >= 0"),
        ({"fill": "next_vwap"}, "unknown fill mode 'next_vwap'; use one of next_open, next_close"),
    ],
)
def test_bad_execution(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(FactoryError, match=re.escape(message)):
        Execution(**arguments)


def test_unknown_regime_column_lists_the_known_ones(market: Market) -> None:
    grid = StrategyGrid(thresholds=[0.0], regime_filters=[{"regime_hmm": [0]}])
    with pytest.raises(FactoryError, match=r"column 'regime_hmm'.*known: regime_gmm"):
        simulate_grid(market, grid)


def test_unknown_regime_label_lists_the_labels_seen(market: Market) -> None:
    grid = StrategyGrid(thresholds=[0.0], regime_filters=[{"regime_gmm": [1, 5]}])
    with pytest.raises(
        FactoryError, match=r"label 5 is not a label of regime_gmm.*\(labels: 0, 1, 2\)"
    ):
        simulate_grid(market, grid)


def test_declared_labels_allow_a_label_not_seen(market: Market) -> None:
    declared = Market(
        "SYN", market.bars, market.predictions, regimes=market.regimes,
        regime_labels={"regime_gmm": [0, 1, 2, 3]},
    )  # fmt: skip
    grid = StrategyGrid(thresholds=[0.0], regime_filters=[{"regime_gmm": [3]}])
    assert simulate_grid(declared, grid).stats["trades"].iloc[0] == 0


def test_z_limit_without_a_zscore(bars: pd.DataFrame) -> None:
    plain = Market("SYN", bars, pd.Series(0.0, index=bars.index))
    with pytest.raises(FactoryError, match=r"z_limit 1\.0 needs a volatility z-score for SYN"):
        simulate_grid(plain, StrategyGrid(thresholds=[0.0], z_limits=[1.0]))


def test_regime_filter_without_regimes(bars: pd.DataFrame) -> None:
    plain = Market("SYN", bars, pd.Series(0.0, index=bars.index))
    with pytest.raises(FactoryError, match="needs regime labels for SYN"):
        simulate_grid(plain, StrategyGrid(thresholds=[0.0], regime_filters=[{"regime_gmm": [1]}]))


def test_zscore_of_the_wrong_length(bars: pd.DataFrame) -> None:
    with pytest.raises(FactoryError, match=r"needs one value per bar \(50\), got shape \(49,\)"):
        Market("SYN", bars, pd.Series(0.0, index=bars.index), zscore=np.zeros(49))


def test_float_regime_labels_are_rejected(bars: pd.DataFrame) -> None:
    regimes = pd.DataFrame({"regime_gmm": np.zeros(50)}, index=bars.index)
    with pytest.raises(FactoryError, match=r"must hold integer labels.*regime_gmm"):
        Market("SYN", bars, pd.Series(0.0, index=bars.index), regimes=regimes)


def test_non_positive_prices(bars: pd.DataFrame) -> None:
    broken = bars.copy()
    broken.iloc[3, broken.columns.get_loc("open")] = 0.0
    with pytest.raises(FactoryError, match="first bad bar 2020-01-04"):
        Market("SYN", broken, pd.Series(0.0, index=bars.index))


def test_duplicate_tickers_and_unknown_ticker(market: Market) -> None:
    with pytest.raises(FactoryError, match="ticker\\(s\\) SYN given more than once"):
        simulate_grid([market, market], StrategyGrid(thresholds=[0.0]))
    with pytest.raises(FactoryError, match="no market for ticker 'NASDAQ'; have SYN"):
        simulate_config(market, StrategyConfig("NASDAQ", 0.0))
