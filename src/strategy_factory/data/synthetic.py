"""Seeded regime-switching random walks, optionally with a planted predictive feature.

The generator is how tests prove power (a planted signal is found) and honesty (a
pure random walk is not), and how benchmarks reach a million bars. Its model, per
bar ``t`` in hidden regime ``k``::

    open_t  = close_{t-1} * exp(sigma_k * sqrt(gap) * e1_t)
    close_t = open_t * exp(mu_k + sigma_k * (rho * planted_{t-1} + sqrt(1 - gap - rho^2) * e2_t))

with ``planted``, ``e1``, ``e2`` independent standard normals — or, with ``tail_df``,
``e1`` and ``e2`` Student-t with that many degrees of freedom scaled to unit variance
(fat tails, as real returns have; ``tail_df=3`` is the classic choice). ``planted_t`` is known
at the close of bar ``t`` and, within a regime, its correlation with the next bar's
open-to-close log return is ``rho / sqrt(1 - gap)`` (``rho`` is the *strength*, close
to an information coefficient; pooled over regimes of different volatility it is a
little lower). With ``rho = 0`` and
zero drift the series is a martingale whose volatility switches between regimes: there
is nothing to find.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError

_YEAR = pd.Timedelta(days=365.25)


@dataclass(frozen=True)
class Regime:
    """One hidden market state: annualized drift and volatility of log returns."""

    drift: float = 0.0
    volatility: float = 0.15


DEFAULT_REGIMES: tuple[Regime, ...] = (Regime(0.0, 0.12), Regime(0.0, 0.35))

# The longest series generated at once: about 95 years of minute bars, 3 GB in memory.
MAX_SYNTHETIC_BARS = 50_000_000


def regime_path(n_bars: int, mean_duration: float, n_regimes: int, seed: int) -> np.ndarray:
    """Hidden regime of every bar: geometric run lengths, each run a different state."""
    if n_regimes == 1:
        return np.zeros(n_bars, dtype=np.int64)
    rng = np.random.default_rng([seed, 1])
    runs = int(n_bars / mean_duration * 1.5) + 16
    lengths = rng.geometric(1.0 / mean_duration, size=runs)
    while lengths.sum() < n_bars:
        lengths = np.concatenate([lengths, rng.geometric(1.0 / mean_duration, size=runs)])
    states = np.cumsum(rng.integers(1, n_regimes, size=lengths.size)) % n_regimes
    return np.repeat(states, lengths)[:n_bars].astype(np.int64)


def synthetic_bars(
    n_bars: int,
    *,
    freq: str = "1min",
    start: str = "2020-01-01",
    seed: int = 0,
    regimes: tuple[Regime, ...] = DEFAULT_REGIMES,
    mean_duration: float = 500.0,
    planted_strength: float = 0.0,
    gap: float = 0.05,
    start_price: float = 100.0,
    tail_df: float | None = None,
) -> pd.DataFrame:
    """Bars in the normalized schema; with ``planted_strength > 0`` a ``planted`` column.

    Example::

        bars = synthetic_bars(1_000_000, freq="1min", seed=7, planted_strength=0.05)
    """
    _check(n_bars, seed, regimes, mean_duration, planted_strength, gap, start_price, tail_df)
    index = _timestamps(n_bars, freq, start)
    step = index[1] - index[0]
    per_year = _YEAR / step
    state = regime_path(n_bars, mean_duration, len(regimes), seed)
    mu = np.array([r.drift for r in regimes])[state] / per_year
    sigma = np.array([r.volatility for r in regimes])[state] / np.sqrt(per_year)

    rng = np.random.default_rng([seed, 2])
    planted = rng.standard_normal(n_bars)
    e_gap, e_body, e_high, e_low = rng.standard_normal((4, n_bars))
    if tail_df is not None:
        e_gap, e_body = _student((e_gap, e_body), tail_df, np.random.default_rng([seed, 3]))
    lagged = np.concatenate([[0.0], planted[:-1]])
    noise = np.sqrt(1.0 - gap - planted_strength**2)
    gap_return = sigma * np.sqrt(gap) * e_gap
    body_return = mu + sigma * (planted_strength * lagged + noise * e_body)
    log_close = np.log(start_price) + np.cumsum(gap_return + body_return)
    close = np.exp(log_close)
    open_ = np.exp(log_close - body_return)
    wick = 0.5 * sigma
    high = np.maximum(open_, close) * np.exp(np.abs(e_high) * wick)
    low = np.minimum(open_, close) * np.exp(-np.abs(e_low) * wick)
    base_volume = 10_000.0 * (sigma / sigma.min()) ** 1.5
    volume = np.round(base_volume * np.exp(0.3 * rng.standard_normal(n_bars)))

    bars = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )
    if planted_strength > 0:
        bars["planted"] = planted
    return bars


def _student(
    normals: tuple[np.ndarray, ...], df: float, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Student-t(``df``) draws of unit variance from standard normals: z / √(χ²/df)."""
    scale = np.sqrt((df - 2) / df)
    return tuple(z / np.sqrt(rng.chisquare(df, size=z.size) / df) * scale for z in normals)


def _timestamps(n_bars: int, freq: str, start: str) -> pd.DatetimeIndex:
    """``n_bars`` UTC timestamps from ``start`` (UTC unless it has an offset), ``freq`` apart."""
    try:
        first = pd.Timestamp(start)
    except ValueError as exc:
        raise FactoryError(f"start {start!r} is not a timestamp: {exc}") from exc
    if first is pd.NaT:
        raise FactoryError(f"start {start!r} is not a timestamp")
    first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
    try:
        spaced = pd.date_range(first, periods=n_bars, freq=freq, name="timestamp")
    except ValueError as exc:
        raise FactoryError(f"cannot build {n_bars} bars of frequency {freq!r}: {exc}") from exc
    if spaced[1] <= spaced[0]:
        raise FactoryError(f"frequency {freq!r} must move forward in time")
    # Stored bars carry no fixed frequency (real calendars have gaps), so neither do these.
    return pd.DatetimeIndex(spaced, freq=None)


def _check(
    n_bars: int,
    seed: int,
    regimes: tuple[Regime, ...],
    mean_duration: float,
    planted_strength: float,
    gap: float,
    start_price: float,
    tail_df: float | None,
) -> None:
    if n_bars < 2:
        raise FactoryError(f"n_bars must be at least 2, got {n_bars}")
    if n_bars > MAX_SYNTHETIC_BARS:
        raise FactoryError(
            f"n_bars is at most {MAX_SYNTHETIC_BARS:,} (about 3 GB of bars), got {n_bars:,}"
        )
    if seed < 0:
        raise FactoryError(f"seed must be >= 0, got {seed}")
    if not regimes:
        raise FactoryError("give at least one regime")
    numbers = {"mean_duration": mean_duration, "start_price": start_price, "tail_df": tail_df}
    for i, regime in enumerate(regimes):
        numbers |= {f"regime {i} drift": regime.drift, f"regime {i} volatility": regime.volatility}
    for name, value in numbers.items():
        if value is not None and not math.isfinite(value):
            raise FactoryError(f"{name} must be a finite number, got {value}")
    if any(r.volatility <= 0 for r in regimes):
        raise FactoryError("every regime needs a positive volatility")
    if tail_df is not None and not tail_df > 2:
        raise FactoryError(f"tail_df (Student-t degrees of freedom) must be above 2, got {tail_df}")
    if mean_duration < 1:
        raise FactoryError(f"mean_duration is in bars and must be >= 1, got {mean_duration}")
    if not 0 <= gap < 1:
        raise FactoryError(f"gap is the share of variance at the open, in [0, 1); got {gap}")
    if not planted_strength >= 0 or planted_strength**2 + gap >= 1:
        raise FactoryError(
            f"planted_strength must be >= 0 with strength^2 + gap < 1; got {planted_strength}"
        )
    if start_price <= 0:
        raise FactoryError(f"start_price must be positive, got {start_price}")


def regime_autocorrelated_bars(
    n_bars: int,
    seed: int,
    phi: tuple[float, float] = (0.25, -0.25),
    volatility: tuple[float, float] = (0.006, 0.02),
    mean_duration: float = 120.0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Business-day bars whose edge depends on a regime that volatility reveals, and the
    true regime of each bar.

    Two regimes switch by a Markov chain (:func:`regime_path`). Daily log returns follow
    an AR(1) whose coefficient is ``phi[s]`` in regime ``s``: with the defaults returns
    continue in the calm regime (momentum pays) and reverse in the volatile one (mean
    reversion pays); ``phi=(0, 0)`` is a regime-switching random walk with no edge. The
    open is the previous close. It is how the workflow's power and honesty are measured.
    """
    if n_bars < 2 or not all(abs(p) < 1 for p in phi) or min(volatility) <= 0:
        raise FactoryError("need n_bars >= 2, |phi| < 1 and positive volatilities")
    state = regime_path(n_bars, mean_duration, 2, seed)
    rng = np.random.default_rng([seed, 7])
    noise = rng.standard_normal(n_bars) * np.asarray(volatility)[state]
    coefficient = np.asarray(phi)[state]
    returns = np.empty(n_bars)
    previous = 0.0
    for t in range(n_bars):  # a recursion: each return feeds the next
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


def fading_edge_bars(
    n_bars: int,
    seed: int,
    *,
    lasting: float = 0.2,
    fading: float = 0.3,
    fade_at: float = 0.7,
    volatility: float = 0.6,
) -> pd.DataFrame:
    """Hourly bars with two planted features, one of which stops working.

    Columns ``lasting`` and ``fading`` (standard normals known at the close of their bar)
    predict the next bar's open-to-close return with strengths ``lasting`` and ``fading``
    (as ``planted_strength`` of :func:`synthetic_bars`), but ``fading`` only before the
    bar at ``fade_at`` of the series: a strategy built on it looks as good as one built on
    ``lasting`` until then, and earns nothing after. It is how the meta-model's tests and
    benchmark plant genome traits that decide out-of-sample fitness.
    """
    if not 0 < fade_at < 1 or lasting**2 + fading**2 + 0.05 >= 1 or min(lasting, fading) < 0:
        raise FactoryError("need 0 < fade_at < 1 and strengths >= 0 with lasting² + fading² < 0.95")
    rng = np.random.default_rng([seed, 11])
    sigma = volatility / np.sqrt(24 * 365.25)
    lasting_x, fading_x, body_noise, gap_noise, high, low, volume = rng.standard_normal((7, n_bars))
    fading_strength = np.where(np.arange(n_bars) < int(n_bars * fade_at), fading, 0.0)
    noise = np.sqrt(1 - 0.05 - lasting**2 - fading_strength**2)
    body = sigma * (
        lasting * np.r_[0, lasting_x[:-1]]
        + fading_strength * np.r_[0, fading_x[:-1]]
        + noise * body_noise
    )
    log_close = np.log(100.0) + np.cumsum(sigma * np.sqrt(0.05) * gap_noise + body)
    close, open_ = np.exp(log_close), np.exp(log_close - body)
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * np.exp(np.abs(high) * 0.5 * sigma),
            "low": np.minimum(open_, close) * np.exp(-np.abs(low) * 0.5 * sigma),
            "close": close,
            "volume": np.round(1e4 * np.exp(0.3 * volume)),
            "lasting": lasting_x,
            "fading": fading_x,
        },
        index=_timestamps(n_bars, "1h", "2020-01-01"),
    )
