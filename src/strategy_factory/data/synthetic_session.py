"""Hourly bars whose planted edge lives in one hidden regime and one trading session.

How the diagnostics prove they find where an edge lives: a feature ``planted`` (a
standard normal known at the close of its bar) predicts the next bar's open-to-close log
return with strength ``strength`` (as in :func:`~strategy_factory.data.synthetic_bars`),
but only when the bar it is known at is in regime ``edge_regime`` of the hidden two-state
path and its hour (UTC) is one of ``session_hours``. Elsewhere the series is a random
walk; both regimes have the same volatility, so no volatility labeler can see them.
With ``strength=0`` there is no edge anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategy_factory.data.synthetic import regime_path
from strategy_factory.errors import FactoryError

_HOURS_PER_YEAR = 24 * 365.25
_GAP = 0.05


@dataclass(frozen=True)
class SessionEdge:
    """Where the edge of :func:`session_edge_bars` lives."""

    edge_regime: int = 1
    session_hours: tuple[int, ...] = (13, 14, 15)
    strength: float = 0.4


def session_edge_bars(
    n_bars: int, seed: int, edge: SessionEdge = SessionEdge(), volatility: float = 0.5
) -> tuple[pd.DataFrame, np.ndarray]:
    """Hourly bars (24/7, from 2020-01-01 UTC) with a ``planted`` column, and the hidden
    regime (0 or 1) of every bar.

    Example::

        bars, regime = session_edge_bars(80_000, seed=3)
    """
    if n_bars < 2 or not 0 <= edge.strength < np.sqrt(1 - _GAP):
        raise FactoryError("need n_bars >= 2 and 0 <= strength < 0.97")
    if any(not 0 <= h < 24 for h in edge.session_hours) or edge.edge_regime not in (0, 1):
        raise FactoryError("session hours are 0-23 and the edge regime is 0 or 1")
    index = pd.date_range("2020-01-01", periods=n_bars, freq="1h", tz="UTC", name="timestamp")
    state = regime_path(n_bars, 200.0, 2, seed)
    rng = np.random.default_rng([seed, 13])
    planted, body_noise, gap_noise, high, low, volume = rng.standard_normal((6, n_bars))
    active = (state == edge.edge_regime) & np.isin(index.hour, edge.session_hours)
    # The edge of bar t comes from what was known at the close of bar t-1.
    strength = np.r_[0.0, np.where(active, edge.strength, 0.0)[:-1]]
    lagged = np.r_[0.0, planted[:-1]]
    sigma = volatility / np.sqrt(_HOURS_PER_YEAR)
    body = sigma * (strength * lagged + np.sqrt(1 - _GAP - strength**2) * body_noise)
    log_close = np.log(100.0) + np.cumsum(sigma * np.sqrt(_GAP) * gap_noise + body)
    close, open_ = np.exp(log_close), np.exp(log_close - body)
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * np.exp(np.abs(high) * 0.5 * sigma),
            "low": np.minimum(open_, close) * np.exp(-np.abs(low) * 0.5 * sigma),
            "close": close,
            "volume": np.round(1e4 * np.exp(0.3 * volume)),
            "planted": planted,
        },
        index=index,
    )
    return bars, state
