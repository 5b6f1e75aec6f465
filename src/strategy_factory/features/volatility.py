"""Rolling volatility of log returns and its z-score, the backtest's calm-market filter."""

from __future__ import annotations

import numpy as np

from strategy_factory.errors import FactoryError
from strategy_factory.features.rolling import rolling_mean, rolling_std


def log_returns(close: np.ndarray, periods: int = 1) -> np.ndarray:
    """``log(close_t / close_{t-periods})``, NaN for the first ``periods`` bars."""
    log_close = np.log(np.asarray(close, dtype=np.float64))
    out = np.full(log_close.size, np.nan)
    out[periods:] = log_close[periods:] - log_close[:-periods]
    return out


def rolling_volatility(close: np.ndarray, window: int = 20) -> np.ndarray:
    """Sample std (ddof=1) of the last ``window`` one-bar log returns ending at each bar."""
    return rolling_std(log_returns(close), window)


def volatility_zscore(close: np.ndarray, vol_window: int = 20, z_window: int = 250) -> np.ndarray:
    """Causal z-score of rolling volatility: (vol_t - mean(vol, z_window)) / std(vol, z_window).

    ``vol_t`` is the sample std of the ``vol_window`` log returns ending at ``t``; the
    mean and sample std are over the ``z_window`` values ``vol_{t-z_window+1} … vol_t``.
    The first ``vol_window + z_window - 1`` bars are NaN (warm-up), and so is a bar
    whose volatility window has no spread.

    Example::

        calm = volatility_zscore(bars["close"].to_numpy()) <= 1.5
    """
    if vol_window < 2 or z_window < 2:
        raise FactoryError(
            f"vol_window and z_window need at least 2 bars, got {vol_window} and {z_window}"
        )
    volatility = rolling_volatility(close, vol_window)
    mean = rolling_mean(volatility, z_window)
    std = rolling_std(volatility, z_window)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0.0, (volatility - mean) / std, np.nan)
