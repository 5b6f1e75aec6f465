"""Causal rolling-window statistics as Numba kernels over float64 arrays.

Every kernel reads a window of the last ``window`` values ending at ``t`` and writes
NaN until the window is full of finite values, so a NaN in the input (a warm-up, a
missing reference bar) makes exactly the windows that contain it NaN. The running
sums are updated as values enter and leave (Welford's update, as pandas does), so a
window costs O(1) and the value at ``t`` depends on inputs up to ``t`` only (the sums are
kept relative to the series' first value, which comes before every defined window).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _first_finite(values: np.ndarray) -> float:
    for x in values:
        if np.isfinite(x):
            return x
    return 0.0


@numba.njit(cache=True)
def _moments(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling mean and sum of squared deviations (``M2``), NaN while the window has a gap."""
    # Running sums of values far from zero lose digits (a price of 1,000 moving by 1e-4):
    # work relative to the first value, which every defined window comes after.
    origin = _first_finite(values)
    n = values.size
    means = np.full(n, np.nan)
    m2s = np.full(n, np.nan)
    count = 0
    mean = 0.0
    m2 = 0.0
    for t in range(n):
        x = values[t] - origin
        if np.isfinite(x):
            count += 1
            delta = x - mean
            mean += delta / count
            m2 += delta * (x - mean)
        if t >= window:
            old = values[t - window] - origin
            if np.isfinite(old):
                count -= 1
                if count == 0:
                    mean = 0.0
                    m2 = 0.0
                else:
                    delta = old - mean
                    mean -= delta / count
                    m2 -= delta * (old - mean)
        if count == window:
            means[t] = mean + origin
            m2s[t] = max(m2, 0.0)
    return means, m2s


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values, NaN until ``window`` finite values are seen."""
    return _moments(np.asarray(values, dtype=np.float64), window)[0]


def rolling_std(values: np.ndarray, window: int) -> np.ndarray:
    """Sample standard deviation (ddof=1) of the last ``window`` values."""
    _, m2 = _moments(np.asarray(values, dtype=np.float64), window)
    return np.sqrt(m2 / (window - 1))


def rolling_zscore(values: np.ndarray, window: int) -> np.ndarray:
    """``(x_t - mean) / std`` over the last ``window`` values including ``x_t`` (ddof=1).

    A window with zero spread has no z-score (NaN), not an infinite one.
    """
    x = np.asarray(values, dtype=np.float64)
    mean, m2 = _moments(x, window)
    std = np.sqrt(m2 / (window - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0.0, (x - mean) / std, np.nan)


@numba.njit(cache=True)
def _skew(values: np.ndarray, window: int) -> np.ndarray:
    # Two passes per window: sums of cubes cancel badly, and a window of 60 is cheap.
    n = values.size
    out = np.full(n, np.nan)
    gap_until = -1
    for t in range(n):
        if not np.isfinite(values[t]):
            gap_until = t + window - 1
            continue
        if t < window - 1 or t <= gap_until:
            continue
        mean = 0.0
        for i in range(t - window + 1, t + 1):
            mean += values[i]
        mean /= window
        m2 = 0.0
        m3 = 0.0
        for i in range(t - window + 1, t + 1):
            deviation = values[i] - mean
            m2 += deviation * deviation
            m3 += deviation * deviation * deviation
        m2 /= window
        m3 /= window
        if m2 > 0.0:
            # Adjusted Fisher-Pearson coefficient, the convention of pandas and Excel.
            out[t] = np.sqrt(window * (window - 1.0)) / (window - 2.0) * m3 / m2**1.5
    return out


def rolling_skew(values: np.ndarray, window: int) -> np.ndarray:
    """Sample skewness (bias-adjusted, as ``pandas.Series.rolling().skew()``) of the window."""
    return _skew(np.asarray(values, dtype=np.float64), window)


@numba.njit(cache=True)
def _comoments(x: np.ndarray, y: np.ndarray, window: int) -> tuple[np.ndarray, ...]:
    """Rolling co-moments of pairs where both values are finite: var(x), var(y), cov(x, y)."""
    n = x.size
    var_x = np.full(n, np.nan)
    var_y = np.full(n, np.nan)
    cov = np.full(n, np.nan)
    count = 0
    mean_x = 0.0
    mean_y = 0.0
    m2_x = 0.0
    m2_y = 0.0
    c_xy = 0.0
    for t in range(n):
        if np.isfinite(x[t]) and np.isfinite(y[t]):
            count += 1
            dx = x[t] - mean_x
            mean_x += dx / count
            dy = y[t] - mean_y
            mean_y += dy / count
            m2_x += dx * (x[t] - mean_x)
            m2_y += dy * (y[t] - mean_y)
            c_xy += dx * (y[t] - mean_y)
        if t >= window:
            old_x = x[t - window]
            old_y = y[t - window]
            if np.isfinite(old_x) and np.isfinite(old_y):
                count -= 1
                if count == 0:
                    mean_x = mean_y = m2_x = m2_y = c_xy = 0.0
                else:
                    dx = old_x - mean_x
                    mean_x -= dx / count
                    dy = old_y - mean_y
                    mean_y -= dy / count
                    m2_x -= dx * (old_x - mean_x)
                    m2_y -= dy * (old_y - mean_y)
                    c_xy -= dx * (old_y - mean_y)
        if count == window:
            var_x[t] = max(m2_x, 0.0)
            var_y[t] = max(m2_y, 0.0)
            cov[t] = c_xy
    return var_x, var_y, cov


def rolling_corr(x: np.ndarray, y: np.ndarray, window: int) -> np.ndarray:
    """Pearson correlation of ``x`` and ``y`` over the last ``window`` bars."""
    var_x, var_y, cov = _comoments(_centred(x), _centred(y), window)
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = np.sqrt(var_x * var_y)
        return np.where(denominator > 0.0, np.clip(cov / denominator, -1.0, 1.0), np.nan)


def rolling_beta(x: np.ndarray, reference: np.ndarray, window: int) -> np.ndarray:
    """OLS slope of ``x`` on ``reference`` over the last ``window`` bars: cov / var(reference)."""
    _, var_reference, cov = _comoments(_centred(x), _centred(reference), window)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var_reference > 0.0, cov / var_reference, np.nan)


def _centred(values: np.ndarray) -> np.ndarray:
    """``values`` less their first finite value (see :func:`_moments`); co-moments ignore it."""
    values = np.asarray(values, dtype=np.float64)
    return values - _first_finite(values)
