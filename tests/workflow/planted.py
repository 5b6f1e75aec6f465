"""Bars whose edge depends on a regime that volatility reveals: the workflow's power test.

Two regimes switch by a Markov chain: in the calm one (label 0 of a volatility-sorted
classifier) returns continue (AR(1) coefficient ``phi[0]`` > 0: momentum pays); in the
volatile one they reverse (``phi[1]`` < 0: mean reversion pays). With ``phi = (0, 0)``
it is a regime-switching random walk with no edge anywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategy_factory.data import regime_path


def regime_dependent_bars(
    n_bars: int,
    seed: int,
    phi: tuple[float, float] = (0.25, -0.25),
    volatility: tuple[float, float] = (0.006, 0.02),
    mean_duration: float = 120.0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """(daily bars, the true regime of each bar)."""
    state = regime_path(n_bars, mean_duration, 2, seed)
    rng = np.random.default_rng([seed, 7])
    noise = rng.standard_normal(n_bars) * np.asarray(volatility)[state]
    coefficient = np.asarray(phi)[state]
    returns = np.empty(n_bars)
    previous = 0.0
    for t in range(n_bars):
        previous = coefficient[t] * previous + noise[t]
        returns[t] = previous
    close = 100.0 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[100.0], close[:-1]])
    wick = np.abs(rng.standard_normal(n_bars)) * 0.002
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + wick),
            "low": np.minimum(open_, close) * (1 - wick),
            "close": close,
            "volume": np.full(n_bars, 1e6),
        },
        index=pd.date_range("2000-01-03", periods=n_bars, freq="B", tz="UTC", name="timestamp"),
    )
    return bars, state
