"""Selection-honesty statistics: PSR, expected maximum Sharpe, DSR and MinTRL.

Every Sharpe ratio here is **per period** (per bar of the return series), never
annualized: divide an annual figure by ``sqrt(periods_per_year)`` first. Kurtosis is
**Pearson** kurtosis (a normal distribution has 3), not excess kurtosis. The Sharpe
ratio of a series uses the sample standard deviation (``ddof=1``); skew and kurtosis
are the biased moment estimates — the conventions of ``skfolio.measures``, which
this module wraps where it is exact (PSR and DSR of a return series) and cross-checks
against elsewhere (expected maximum Sharpe, the summary-statistics forms).

References: Bailey & López de Prado, "The Sharpe Ratio Efficient Frontier" (2012);
"The Deflated Sharpe Ratio" (2014). PBO by CSCV lives in :mod:`.pbo`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from strategy_factory.errors import FactoryError

FloatOrArray = float | npt.NDArray[np.float64]


@dataclass(frozen=True)
class SharpeStats:
    """Per-period Sharpe ratio of a return series with the moments that set its precision."""

    sharpe: float
    n_observations: int
    skew: float
    kurtosis: float  # Pearson: 3 for normal returns


def sharpe_stats(returns: npt.ArrayLike) -> SharpeStats:
    """Per-period Sharpe ratio (ddof=1), length, skew and Pearson kurtosis of ``returns``.

    A series with no variation (a strategy that never traded) has NaN Sharpe and moments.
    """
    values = _returns(returns)
    std = values.std(ddof=1)
    if std == 0:
        return SharpeStats(math.nan, values.size, math.nan, math.nan)
    return SharpeStats(
        sharpe=float(values.mean() / std),
        n_observations=int(values.size),
        skew=float(stats.skew(values, bias=True)),
        kurtosis=float(stats.kurtosis(values, fisher=False, bias=True)),
    )


def probabilistic_sharpe_ratio(returns: npt.ArrayLike, benchmark_sharpe: float = 0.0) -> float:
    """Probability that the true Sharpe ratio of ``returns`` exceeds ``benchmark_sharpe``.

    ``benchmark_sharpe`` is per period. NaN for a series with no variation.
    Example: ``probabilistic_sharpe_ratio(daily_returns)`` is PSR(0).
    """
    from skfolio import measures  # skfolio (with cvxpy, plotly) only when asked

    return float(measures.probabilistic_sharpe_ratio(_returns(returns), benchmark_sharpe))


def probabilistic_sharpe_ratio_from_stats(
    sharpe: npt.ArrayLike,
    n_observations: npt.ArrayLike,
    skew: npt.ArrayLike = 0.0,
    kurtosis: npt.ArrayLike = 3.0,
    benchmark_sharpe: npt.ArrayLike = 0.0,
) -> FloatOrArray:
    """PSR from summary statistics; broadcasts over arrays (one value per grid cell).

    ``sharpe`` and ``benchmark_sharpe`` are per period; ``kurtosis`` is Pearson (normal = 3).
    PSR = Z[(SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4 SR^2)].
    """
    sharpe, n_observations, skew, kurtosis, benchmark_sharpe = np.broadcast_arrays(
        *(
            np.asarray(v, dtype=float)
            for v in (sharpe, n_observations, skew, kurtosis, benchmark_sharpe)
        )
    )
    if np.any(n_observations < 2):
        raise FactoryError("n_observations must be at least 2 (the number of returns)")
    _check_kurtosis(skew, kurtosis)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.sqrt(1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2)
        value = stats.norm.cdf((sharpe - benchmark_sharpe) * np.sqrt(n_observations - 1) / spread)
    return _scalar_or_array(value)


def expected_max_sharpe(
    n_trials: float, trial_sharpe_variance: float, trial_sharpe_mean: float = 0.0
) -> float:
    """Expected maximum per-period Sharpe ratio of ``n_trials`` independent trials.

    ``trial_sharpe_variance`` is the variance of the trials' per-period Sharpe ratios
    (an annualized variance divided by periods per year). With one trial, or no
    dispersion, it is ``trial_sharpe_mean``: there was no selection to correct for.
    """
    if not (math.isfinite(n_trials) and n_trials >= 1):
        raise FactoryError(f"n_trials must be a number of at least 1, got {n_trials!r}")
    if not (math.isfinite(trial_sharpe_variance) and trial_sharpe_variance >= 0):
        raise FactoryError(
            "trial_sharpe_variance must be a finite variance (>= 0) of per-period Sharpe "
            f"ratios, got {trial_sharpe_variance!r}"
        )
    # skfolio.measures.expected_max_sharpe_ratio, term for term (the tests hold them equal):
    # importing skfolio (cvxpy, plotly) would cost every run a fifth of a second.
    spread = math.sqrt(trial_sharpe_variance)
    if n_trials == 1 or spread == 0:
        return float(trial_sharpe_mean)
    return float(
        trial_sharpe_mean
        + spread
        * (
            (1 - np.euler_gamma) * stats.norm.ppf(1 - 1 / n_trials)
            + np.euler_gamma * stats.norm.ppf(1 - 1 / (n_trials * np.e))
        )
    )


def deflated_sharpe_ratio(returns: npt.ArrayLike, trial_sharpes: npt.ArrayLike) -> float:
    """DSR of the selected strategy's ``returns`` given every trial's per-period Sharpe.

    ``trial_sharpes`` holds the Sharpe ratio of every configuration tried to find this
    one (including it); their count and variance (ddof=1) set the benchmark.
    """
    trials = np.asarray(trial_sharpes, dtype=float)
    if trials.ndim != 1 or trials.size == 0 or not np.isfinite(trials).all():
        raise FactoryError(
            "trial_sharpes must be a non-empty 1-D array of finite per-period Sharpe ratios, "
            "one per configuration tried (drop configurations that never traded)"
        )
    from skfolio import measures

    return float(measures.deflated_sharpe_ratio(_returns(returns), trials))


def deflated_sharpe_ratio_from_stats(
    sharpe: npt.ArrayLike,
    n_observations: npt.ArrayLike,
    n_trials: float,
    trial_sharpe_variance: float,
    skew: npt.ArrayLike = 0.0,
    kurtosis: npt.ArrayLike = 3.0,
) -> FloatOrArray:
    """DSR from summary statistics: PSR benchmarked at the expected maximum Sharpe.

    Per-period Sharpe and trial variance; Pearson kurtosis. Example (the paper's)::

        deflated_sharpe_ratio_from_stats(2.5 / 250**0.5, 1250, 100, 0.5 / 250, -3, 10)  # 0.9004
    """
    benchmark = expected_max_sharpe(n_trials, trial_sharpe_variance)
    return probabilistic_sharpe_ratio_from_stats(
        sharpe, n_observations, skew, kurtosis, benchmark_sharpe=benchmark
    )


def minimum_track_record_length(
    sharpe: npt.ArrayLike,
    skew: npt.ArrayLike = 0.0,
    kurtosis: npt.ArrayLike = 3.0,
    benchmark_sharpe: npt.ArrayLike = 0.0,
    confidence: float = 0.95,
) -> FloatOrArray:
    """Observations needed for PSR(``benchmark_sharpe``) to reach ``confidence``.

    Infinite when the observed per-period ``sharpe`` does not exceed the benchmark.
    """
    if not 0 < confidence < 1:
        raise FactoryError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    sharpe, skew, kurtosis, benchmark_sharpe = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (sharpe, skew, kurtosis, benchmark_sharpe))
    )
    _check_kurtosis(skew, kurtosis)
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    edge = sharpe - benchmark_sharpe
    with np.errstate(divide="ignore", invalid="ignore"):
        length = 1.0 + spread * (stats.norm.ppf(confidence) / edge) ** 2
    return _scalar_or_array(np.where(edge > 0, length, np.inf))


def _returns(returns: npt.ArrayLike) -> npt.NDArray[np.float64]:
    values = np.asarray(returns, dtype=float)
    if values.ndim != 1:
        raise FactoryError(f"returns must be one series (1-D), got shape {values.shape}")
    if values.size < 3:
        raise FactoryError(f"returns need at least 3 observations, got {values.size}")
    if not np.isfinite(values).all():
        first = int(np.flatnonzero(~np.isfinite(values))[0])
        raise FactoryError(
            f"returns contain a missing or infinite value at position {first}; "
            "fill flat periods with 0"
        )
    return values


def _check_kurtosis(skew: np.ndarray, kurtosis: np.ndarray) -> None:
    # Pearson kurtosis is never below skew² + 1; a smaller value is usually excess kurtosis.
    if np.any(kurtosis < skew**2 + 1):
        raise FactoryError(
            "kurtosis must be Pearson kurtosis (normal = 3), at least skew² + 1; "
            "if you have excess kurtosis, add 3"
        )


def _scalar_or_array(value: npt.ArrayLike) -> FloatOrArray:
    array = np.asarray(value, dtype=float)
    return float(array) if array.ndim == 0 else array
