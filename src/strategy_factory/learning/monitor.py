"""Overfitting monitor: flags a promoted strategy whose forward returns fall short of its promise.

**The promise** is what the holdout showed: the mean ``μ₀`` and standard deviation
``σ₀`` of the strategy's per-bar holdout returns (:class:`Promise`), i.e. a per-bar
Sharpe ratio ``SR₀ = μ₀/σ₀``.

**The test** is Page's one-sided CUSUM (1954) on the standardised shortfalls of the
forward returns, ``z_t = (μ₀ − r_t)/σ₀``::

    S_0 = 0,   S_t = max(0, S_{t−1} + z_t − k),   k = decay · SR₀ / 2,

and the flag goes up once ``S_t > h`` for ``confirm_bars`` bars in a row ("decay beyond
a threshold for N bars").

Why this test. The question is sequential — bars arrive one by one and we look after
each — so a fixed-sample test (a t-test of the forward mean, a forward PSR) run again at
every bar would raise false alarms far more often than its level says. The CUSUM is the
sequential probability ratio test (Wald) of "the edge is as promised" (mean ``μ₀``)
against "the edge has decayed by ``decay``" (mean ``(1 − decay)·μ₀``), restarted each
time it would accept the promise: for normal returns its log-likelihood ratio per bar is
proportional to ``z_t − k``, with ``k`` midway between the two means. Among all
procedures with the same in-control average run length it minimises the worst-case
detection delay (Lorden 1971; Moustakides 1986). Because it restarts at zero, years of
good forward returns do not bank credit against a later decay, which a cumulative
forward Sharpe would. Settings: ``decay`` = 1 tunes it to an edge that is gone, 0.5 to
an edge halved, 2 to an edge reversed.

The threshold ``h`` is set for a target in-control average run length (ARL, ``arl_years``
× ``periods_per_year`` bars: a strategy that keeps its promise is flagged falsely about
once per ``arl_years`` years) by Siegmund's (1985) approximation for normal increments,
``ARL(Δ, h) = (e^{−2Δb} + 2Δb − 1) / (2Δ²)`` with ``b = h + 1.166`` and drift
``Δ = −k`` in control (:func:`cusum_threshold`). The same formula at the decayed drift
``Δ = decay·SR₀ − k`` gives the expected detection delay, reported as evidence.
``confirm_bars`` > 1 only removes alarms (a run above ``h`` starts with a crossing), so
the in-control run length can only grow, and the delay grows by ``confirm_bars − 1``.

What the figures assume, and what the benchmark measures instead
(``benchmarks/bench_monitor.py``): ``μ₀`` and ``σ₀`` are estimates from a finite holdout,
not the truth. An over-promising holdout raises the reference and also widens ``k``
(half of the estimated ``SR₀``), so the two errors partly cancel; the benchmark measures
the false-alarm rate with this estimation noise included, on normal and fat-tailed
returns. Returns are taken as independent; positively autocorrelated returns shorten
the in-control run length. Detection cannot be quicker than the data allow: an edge of
annual Sharpe 1.5 on daily bars is 0.09 standard deviations a bar, and telling it from
nothing takes hundreds of bars.

Not enough data is said, not guessed: fewer than ``min_holdout_bars`` holdout bars, a
holdout with no spread, a holdout that promised no edge (mean ≤ 0: nothing to decay), or
fewer than ``min_forward_bars`` forward bars give the state ``not_judged`` and the reason.

Example::

    promise = Promise.from_holdout(holdout_returns)
    result = monitor(promise, forward_returns, MonitorSettings(arl_years=10), 252)
    result.state, result.statistic, result.threshold, result.crossed_at, result.evidence
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from strategy_factory.errors import FactoryError
from strategy_factory.json_values import plain

State = Literal["flagged", "ok", "not_judged"]
SIEGMUND_CORRECTION = 1.166  # ≈ 2·0.583: the overshoot of a normal random walk over h


class MonitorSettings(BaseModel):
    """How the overfitting monitor judges forward returns against a promise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decay: float = Field(
        1.0,
        gt=0,
        le=3,
        allow_inf_nan=False,
        description="Loss of the promised edge the test is tuned to catch: 1 = edge gone, "
        "0.5 = halved, 2 = reversed.",
    )
    arl_years: float = Field(
        10.0,
        ge=0.1,
        le=1_000,
        allow_inf_nan=False,
        description="In-control average run length in years: a strategy that keeps its "
        "promise is flagged falsely about once per this many years.",
    )
    confirm_bars: int = Field(
        1,
        ge=1,
        le=10_000,
        description="Bars in a row the statistic must stay above its threshold to flag.",
    )
    min_forward_bars: int = Field(
        20, ge=1, le=1_000_000, description="Forward bars needed before a strategy is judged."
    )
    min_holdout_bars: int = Field(
        30, ge=2, le=1_000_000, description="Holdout bars a promise needs to be judged against."
    )


@dataclass(frozen=True)
class Promise:
    """What a strategy's holdout showed, per bar: mean and standard deviation of returns."""

    mean: float
    std: float
    bars: int

    @classmethod
    def from_holdout(cls, returns: npt.ArrayLike | pd.Series) -> Promise:
        """The promise of per-bar holdout returns (no NaN: a holdout bar always has one)."""
        values = _finite_returns(returns, "holdout returns")
        std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        return cls(float(values.mean()) if len(values) else math.nan, std, len(values))

    @property
    def sharpe(self) -> float:
        """Per-bar Sharpe ratio promised (NaN without spread)."""
        return self.mean / self.std if self.std > 0 else math.nan


@dataclass(frozen=True, eq=False)
class MonitorResult:
    """A monitor's verdict on one strategy, with the statistic and the evidence behind it.

    ``crossed_at`` is the bar where the statistic went above the threshold in the run that
    raised the flag, ``flagged_at`` the bar that completed ``confirm_bars`` (labels of the
    forward returns' index, or positions). ``path`` is the statistic after every bar.
    """

    state: State
    reason: str
    statistic: float
    threshold: float
    allowance: float
    crossed_at: Hashable | None
    flagged_at: Hashable | None
    bars_seen: int
    evidence: dict[str, Any]
    path: pd.Series

    @property
    def flagged(self) -> bool:
        """Whether the strategy is flagged as decaying."""
        return self.state == "flagged"

    def to_json(self, path: bool = False) -> dict[str, Any]:
        """Plain JSON values; ``path=True`` adds the statistic after every bar."""
        result = {
            "state": self.state,
            "flagged": self.flagged,
            "reason": self.reason,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "allowance": self.allowance,
            "crossed_at": self.crossed_at,
            "flagged_at": self.flagged_at,
            "bars_seen": self.bars_seen,
            "evidence": self.evidence,
        }
        if path:
            result["path"] = {"bars": list(self.path.index), "statistic": self.path.to_numpy()}
        return plain(result)


def monitor(
    promise: Promise,
    forward: npt.ArrayLike | pd.Series,
    settings: MonitorSettings | None = None,
    periods_per_year: float = 252.0,
) -> MonitorResult:
    """Judge per-bar ``forward`` returns (oldest first) against ``promise``.

    ``periods_per_year`` converts ``arl_years`` to bars and annualises the Sharpe ratios
    of the evidence.
    """
    settings = settings or MonitorSettings()
    if not math.isfinite(periods_per_year) or periods_per_year <= 0:
        raise FactoryError(f"periods_per_year must be a positive number, got {periods_per_year}")
    values = _finite_returns(forward, "forward returns")
    index = forward.index if isinstance(forward, pd.Series) else pd.RangeIndex(len(values))
    arl_bars = settings.arl_years * periods_per_year
    evidence = _evidence(promise, values, settings, periods_per_year)
    unjudged = _why_not_judged(promise, len(values), settings)
    if unjudged:
        nan = math.nan
        path = pd.Series(np.full(len(values), nan), index=index, dtype=float)
        return MonitorResult(
            "not_judged", unjudged, nan, nan, nan, None, None, len(values), evidence, path
        )
    allowance = settings.decay * promise.sharpe / 2
    threshold = cusum_threshold(allowance, arl_bars)
    statistic = lower_cusum((promise.mean - values) / promise.std - allowance)
    path = pd.Series(statistic, index=index)
    crossed, flagged = _first_flag(statistic > threshold, settings.confirm_bars)
    evidence["expected_delay_bars"] = average_run_length(
        settings.decay * promise.sharpe - allowance, threshold
    )
    evidence["arl_bars"] = arl_bars
    crossed_at = None if crossed is None else index[crossed]
    return MonitorResult(
        state="flagged" if flagged is not None else "ok",
        reason=_reason(statistic, threshold, crossed_at, evidence, settings),
        statistic=float(statistic[-1]),
        threshold=threshold,
        allowance=allowance,
        crossed_at=crossed_at,
        flagged_at=None if flagged is None else index[flagged],
        bars_seen=len(values),
        evidence=evidence,
        path=path,
    )


def lower_cusum(increments: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``S_t = max(0, S_{t−1} + x_t)`` from ``S_0 = 0``, along the last axis, without a loop.

    The recursion's closed form (Lindley): ``S_t = C_t − min(0, min_{s≤t} C_s)`` with
    ``C`` the cumulative sum of the increments.
    """
    cumulative = np.cumsum(np.asarray(increments, dtype=float), axis=-1)
    return cumulative - np.minimum(np.minimum.accumulate(cumulative, axis=-1), 0.0)


def average_run_length(drift: float, threshold: float) -> float:
    """Siegmund's approximate ARL of a CUSUM whose increments are N(drift, 1), threshold h."""
    b = threshold + SIEGMUND_CORRECTION
    if abs(drift) < 1e-12:
        return b * b
    exponent = -2 * drift * b
    if exponent > 700:  # beyond float range: no alarm in any practical time
        return math.inf
    return (math.exp(exponent) + 2 * drift * b - 1) / (2 * drift * drift)


def cusum_threshold(allowance: float, arl: float) -> float:
    """The threshold h giving an in-control ARL of ``arl`` bars to N(0, 1) shortfalls.

    In control the increments ``z − k`` drift at ``−allowance``; h ≥ 0.
    """
    from scipy.optimize import brentq

    if average_run_length(-allowance, 0.0) >= arl:
        return 0.0
    high = 1.0
    while average_run_length(-allowance, high) < arl:
        high *= 2
    return float(brentq(lambda h: average_run_length(-allowance, h) - arl, 0.0, high, xtol=1e-10))


def _first_flag(above: npt.NDArray[np.bool_], confirm: int) -> tuple[int | None, int | None]:
    """(first bar of the run, bar completing it) of the first run of ``confirm`` bars above."""
    positions = np.arange(len(above))
    last_below = np.maximum.accumulate(np.where(above, -1, positions))
    run_length = positions - last_below
    done = np.flatnonzero(run_length >= confirm)
    if not len(done):
        return None, None
    flagged = int(done[0])
    return flagged - confirm + 1, flagged


def _why_not_judged(promise: Promise, bars: int, settings: MonitorSettings) -> str | None:
    if promise.bars < settings.min_holdout_bars:
        return (
            f"not judged: the promise rests on {promise.bars} holdout bars "
            f"(min_holdout_bars {settings.min_holdout_bars})"
        )
    if not promise.std > 0:
        return "not judged: the holdout returns never vary, so there is no scale to judge by"
    if not promise.mean > 0:
        return (
            f"not judged: the holdout promised no edge (mean return {promise.mean:.3g} per "
            "bar), so there is nothing to decay"
        )
    if bars < settings.min_forward_bars:
        return (
            f"not judged: {bars} forward bars so far, {settings.min_forward_bars} needed "
            "(min_forward_bars)"
        )
    return None


def _reason(
    statistic: np.ndarray,
    threshold: float,
    crossed_at: Hashable | None,
    evidence: dict[str, Any],
    settings: MonitorSettings,
) -> str:
    forward, promised = evidence["forward_sharpe"], evidence["promised_sharpe"]
    sharpes = f"forward Sharpe {forward:.2f} against {promised:.2f} promised"
    bars = len(statistic)
    if crossed_at is not None:
        run = f" and stayed there {settings.confirm_bars} bars" if settings.confirm_bars > 1 else ""
        return (
            f"decaying: the shortfall statistic rose above its threshold {threshold:.2f} at "
            f"{crossed_at}{run}; {sharpes} over {bars} bars"
        )
    if statistic[-1] > threshold:
        return (
            f"watch: the shortfall statistic {statistic[-1]:.2f} is above its threshold "
            f"{threshold:.2f}, not yet for {settings.confirm_bars} bars in a row; {sharpes}"
        )
    return (
        f"keeping its promise: statistic {statistic[-1]:.2f} below its threshold "
        f"{threshold:.2f} after {bars} bars; {sharpes}"
    )


def _evidence(
    promise: Promise, values: np.ndarray, settings: MonitorSettings, periods_per_year: float
) -> dict[str, Any]:
    root = math.sqrt(periods_per_year)
    spread = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    forward_mean = float(values.mean()) if len(values) else math.nan
    return {
        "promised_sharpe": promise.sharpe * root,
        "forward_sharpe": forward_mean / spread * root if spread > 0 else math.nan,
        "promised_mean": promise.mean,
        "forward_mean": forward_mean,
        "forward_total_return": float(np.prod(1 + values) - 1),
        "holdout_bars": promise.bars,
        "forward_bars": len(values),
        "decay": settings.decay,
        "confirm_bars": settings.confirm_bars,
    }


def _finite_returns(returns: npt.ArrayLike | pd.Series, what: str) -> np.ndarray:
    try:
        values = np.asarray(returns, dtype=float)
    except (TypeError, ValueError) as exc:
        raise FactoryError(f"{what} must be numbers: {exc}") from exc
    if values.ndim != 1:
        raise FactoryError(
            f"{what} must be one series of per-bar returns, got shape {values.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        where = returns.index[bad[0]] if isinstance(returns, pd.Series) else int(bad[0])
        raise FactoryError(
            f"{what} hold {len(bad)} missing or infinite values (first at {where}): every "
            "bar needs a return (0 when flat)"
        )
    return values
