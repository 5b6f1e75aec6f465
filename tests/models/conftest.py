"""Inputs for training tests: planted synthetic frames and lagged returns of real SP500."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import BarCatalog, regime_path, synthetic_bars


@dataclass(frozen=True)
class Frames:
    """What ``train`` takes: features, next-bar log-return target, regime labels."""

    features: pd.DataFrame
    target: pd.Series
    regimes: pd.DataFrame
    bars: pd.DataFrame


def lagged_frames(bars: pd.DataFrame, seed: int, noise: int = 5, lags: int = 5) -> Frames:
    """Lagged log returns (+ ``planted`` if present, + Gaussian noise) → next-bar log return."""
    log_return = np.log(bars["close"]).diff()
    columns = {"planted": bars["planted"]} if "planted" in bars else {}
    columns |= {f"ret_lag_{k}": log_return.shift(k - 1) for k in range(1, lags + 1)}
    rng = np.random.default_rng(seed)
    columns |= {
        f"noise_{k}": pd.Series(rng.standard_normal(len(bars)), bars.index) for k in range(noise)
    }
    features = pd.DataFrame(columns).iloc[lags:]
    target = np.log(bars["close"].shift(-1) / bars["close"]).iloc[lags:]
    n = len(bars)
    regimes = pd.DataFrame(
        {
            "regime_gmm": regime_path(n, 120, 3, seed + 1),
            "regime_hmm": regime_path(n, 200, 2, seed + 2),
            "regime_trend": regime_path(n, 60, 4, seed + 3),
            "regime_vix": regime_path(n, 90, 4, seed + 4),
        },
        index=bars.index,
    ).iloc[lags:]
    return Frames(features, target, regimes, bars)


def planted_frames(n_bars: int = 8000, seed: int = 1, strength: float = 0.1) -> Frames:
    """Hourly synthetic bars with a planted feature of IC ≈ ``strength`` among ten others."""
    bars = synthetic_bars(n_bars, freq="1h", seed=seed, planted_strength=strength)
    return lagged_frames(bars, seed)


@pytest.fixture(scope="session")
def planted() -> Frames:
    return planted_frames()


@pytest.fixture(scope="session")
def sp500(shared_bars: BarCatalog) -> Frames:
    """Real S&P 500 daily bars with lagged-return and noise features."""
    return lagged_frames(shared_bars.load("SP500"), seed=11)
