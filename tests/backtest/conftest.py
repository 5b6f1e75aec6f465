"""Markets built from real and synthetic bars, with z-scores and two regime columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy_factory.backtest import Market, momentum
from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.features import volatility_zscore


def regime_labels(bars: pd.DataFrame, zscore: np.ndarray) -> pd.DataFrame:
    """Two causal label columns: trend (close above its 100-bar SMA) and volatility bucket."""
    close = bars["close"]
    sma = close.rolling(100).mean()
    trend = np.where(sma.isna(), -1, (close > sma).astype(np.int64))
    with np.errstate(invalid="ignore"):
        bucket = np.where(np.isnan(zscore), -1, np.digitize(zscore, [0.0, 1.0]))
    return pd.DataFrame(
        {"regime_trend": trend.astype(np.int64), "regime_vol": bucket.astype(np.int64)},
        index=bars.index,
    )


def make_market(ticker: str, bars: pd.DataFrame, predictions: pd.Series | None = None) -> Market:
    """A market with momentum predictions (unless given), z-scores and two regime columns."""
    zscore = volatility_zscore(bars["close"].to_numpy(), 20, 100)
    if predictions is None:
        predictions = momentum(bars["close"], 10)
    return Market(ticker, bars, predictions, zscore=zscore, regimes=regime_labels(bars, zscore))


@pytest.fixture(scope="session")
def sp500(shared_bars: BarCatalog) -> Market:
    return make_market("SP500", shared_bars.load("SP500"))


@pytest.fixture(scope="session")
def msft(shared_bars: BarCatalog) -> Market:
    return make_market("MSFT", shared_bars.load("MSFT"))


@pytest.fixture(scope="session")
def synthetic() -> Market:
    bars = synthetic_bars(4000, freq="1h", seed=11, planted_strength=0.1)
    return make_market("SYN", bars, bars["planted"].rename("prediction") * 0.01)
