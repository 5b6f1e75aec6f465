"""Sharpe ratio inference under non-normal, autocorrelated returns, and trial counting.

López de Prado, Lipton & Zoonekynd (2026), "How to Use the Sharpe Ratio", SSRN 5520741
(LLZ below): standard error, PSR, MinTRL, power, false discovery rate and DSR, with the
paper's choices — the standard error is taken **under the null** (at SR0) and divides by
T, not T - 1. :mod:`.overfitting` keeps the 2012/2014 forms (at the observed SR, T - 1,
no autocorrelation) that promotion uses. Every Sharpe ratio here is **per period** (per
bar, never annualized); kurtosis is **Pearson** (normal = 3); ``autocorrelation`` is the
lag-1 autocorrelation of returns, modelled as AR(1). ``expected_max_sharpe`` (False
Strategy Theorem) is the one of :mod:`.overfitting`; the number of trials to feed it and
:func:`deflated_sharpe` comes from :mod:`.trial_counting`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from strategy_factory.errors import FactoryError
from strategy_factory.evaluate.overfitting import expected_max_sharpe, sharpe_stats

FloatOrArray = float | npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike
# A grid fine enough for the max of up to ~1e12 standard normals (its std is then ~0.15).
_GRID = np.linspace(-12.0, 12.0, 4801)


def sharpe_std(
    sharpe: ArrayLike,
    skew: ArrayLike,
    kurtosis: ArrayLike,
    autocorrelation: ArrayLike,
    n: ArrayLike,
) -> FloatOrArray:
    """Standard error σ[SR] of a per-period Sharpe ratio estimated from ``n`` returns.

    σ²[SR] = [a - b·γ3·SR + c·(γ4 - 1)/4·SR²] / n with a = (1+ρ)/(1-ρ),
    b = (1+ρ+ρ²)/(1-ρ²), c = (1+ρ²)/(1-ρ²) (LLZ; ρ = 0 gives Mertens 2002 / Bailey & LdP).

    Derivation (delta method): with x_t = (r_t - μ)/σ, SR^ - SR ≈ mean(u_t) where
    u_t = x_t - SR/2·(x_t² - 1), so n·Var[SR^] is the long-run variance of u. For AR(1)
    x_{t+h} = ρ^h·x_t + η (η independent of x_t, mean 0): Cov(x_t, x_{t+h}) = ρ^h,
    Cov(x_t², x_{t+h}) = ρ^h·γ3, Cov(x_t, x_{t+h}²) = ρ^{2h}·γ3 and
    Cov(x_t², x_{t+h}²) = ρ^{2h}·(γ4 - 1). Summing over all lags h gives a, b·γ3 and
    c·(γ4 - 1). Check (LLZ): SR = 0.036/0.079, γ3 = -2.448, γ4 = 10.164, ρ = 0.2,
    n = 24 gives 0.379. NaN where the bracket is negative (impossible moments).
    """
    n = np.asarray(n, dtype=float)
    if np.any(n < 2):
        raise FactoryError("n must be at least 2 (the number of returns behind the Sharpe ratio)")
    with np.errstate(invalid="ignore"):
        return _out(np.sqrt(_unit_variance(sharpe, skew, kurtosis, autocorrelation) / n))


def probabilistic_sharpe(
    sharpe: ArrayLike, sharpe0: ArrayLike, sigma_sr: ArrayLike
) -> FloatOrArray:
    """PSR = Φ((SR - SR0) / σ[SR]): confidence that the true Sharpe exceeds ``sharpe0``.

    LLZ take σ[SR] under the null: pass ``sharpe_std(sharpe0, ...)`` (this gives the
    paper's PSR(0) = 0.966); ``sharpe_std(sharpe, ...)`` gives the 2012 Wald form.
    NaN when ``sigma_sr`` is 0 or NaN. 1 - PSR is the one-sided p-value.
    """
    sharpe, sharpe0, sigma = _arrays(sharpe, sharpe0, sigma_sr)
    if np.any(sigma < 0):
        raise FactoryError("sigma_sr must be a standard error (>= 0), e.g. from sharpe_std")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sigma > 0, (sharpe - sharpe0) / sigma, np.nan)
    return _out(stats.norm.cdf(z))


@dataclass(frozen=True)
class ReturnMoments:
    """What sets the precision of a per-period Sharpe ratio (NaN for a flat series)."""

    sharpe: float  # mean / std (ddof=1)
    skew: float
    kurtosis: float  # Pearson
    autocorrelation: float  # lag 1
    n: int


def return_moments(returns: ArrayLike) -> ReturnMoments:
    """Sharpe, skew, Pearson kurtosis (as :func:`.sharpe_stats`) and lag-1 autocorrelation."""
    basic = sharpe_stats(returns)
    values = np.asarray(returns, dtype=float)
    centred = values - values.mean()
    denominator = float(centred @ centred)
    rho = float(centred[1:] @ centred[:-1]) / denominator if denominator > 0 else math.nan
    return ReturnMoments(basic.sharpe, basic.skew, basic.kurtosis, rho, basic.n_observations)


def probabilistic_sharpe_of_returns(returns: ArrayLike, sharpe0: float = 0.0) -> float:
    """PSR of a return series against per-period ``sharpe0``, σ[SR] at SR0 from its moments."""
    m = return_moments(returns)
    if math.isnan(m.sharpe):
        return math.nan
    sigma = sharpe_std(sharpe0, m.skew, m.kurtosis, m.autocorrelation, m.n)
    return float(probabilistic_sharpe(m.sharpe, sharpe0, sigma))


def min_track_record_length(
    sharpe: ArrayLike,
    sharpe0: ArrayLike,
    skew: ArrayLike,
    kurtosis: ArrayLike,
    autocorrelation: ArrayLike,
    alpha: float = 0.05,
) -> FloatOrArray:
    """Returns needed for PSR(``sharpe0``) to reach 1 - ``alpha`` (LLZ's MinTRL).

    MinTRL = n·σ²[SR0] · (Φ⁻¹(1 - α) / (SR - SR0))², σ² as in :func:`sharpe_std` at SR0,
    so PSR at n = MinTRL is exactly 1 - α. Infinite when SR <= SR0. Check (LLZ): the
    :func:`sharpe_std` example against SR0 = 0 at α = 0.05 needs 19.543 returns.
    """
    _check_probability("alpha", alpha)
    sharpe, sharpe0 = _arrays(sharpe, sharpe0)
    edge = sharpe - sharpe0
    unit = _unit_variance(sharpe0, skew, kurtosis, autocorrelation)
    with np.errstate(divide="ignore", invalid="ignore"):
        length = np.where(unit >= 0, unit, np.nan) * (stats.norm.ppf(1 - alpha) / edge) ** 2
    return _out(np.where(edge > 0, length, np.inf))


def additional_bars_needed(
    n: int,
    sharpe: float,
    sharpe0: float,
    skew: float,
    kurtosis: float,
    autocorrelation: float,
    alpha: float = 0.05,
) -> float:
    """How many more returns (bars) beyond the ``n`` held reach MinTRL: 0 if there already."""
    length = float(min_track_record_length(sharpe, sharpe0, skew, kurtosis, autocorrelation, alpha))
    return max(0.0, math.ceil(length) - n) if math.isfinite(length) else length


def deflated_sharpe(sharpe: ArrayLike, n_trials: float, variance: float) -> FloatOrArray:
    """DSR: PSR of the best of ``n_trials`` against the best that luck alone would give.

    Under the null the trials' per-period Sharpe ratios are N(0, V) (False Strategy
    Theorem), so their maximum is √V·M_K with M_K the max of K standard normals:
    DSR = Φ((SR - SR0) / (√V·sd[M_K])), SR0 = :func:`expected_max_sharpe` (K, V) =
    √V·((1-γ)Φ⁻¹(1-1/K) + γΦ⁻¹(1-1/(K·e))), floored at 0 (the approximation dips below
    the true E[M_K] >= 0 for K < 1.28). Check (LLZ): the :func:`sharpe_std` example with
    K = 10, V = 0.1 gives 0.410; a spread of σ[SR](SR0)·sd[M_K] instead would give 0.427.
    Pass an effective K from :func:`.trial_counting.effective_trials`.
    """
    benchmark = max(expected_max_sharpe(n_trials, variance), 0.0)
    return probabilistic_sharpe(sharpe, benchmark, math.sqrt(variance) * _max_std(n_trials))


@dataclass(frozen=True, eq=False)
class HoldoutTest:
    """Holdout Sharpe ratios tested against 0, charged for ``looks`` holdout looks."""

    p_values: npt.NDArray[np.float64]  # one-sided, uncorrected
    sidak_p_values: npt.NDArray[np.float64]  # 1 - (1 - p)^K
    deflated: npt.NDArray[np.float64]  # DSR of each against the E[max] of K looks
    rejected: npt.NDArray[np.bool_]  # true edge at level alpha, by ``method``
    looks: int
    alpha: float
    method: Literal["sidak", "deflated"]


def holdout_test(
    sharpes: ArrayLike,
    sigma_srs: ArrayLike,
    looks: int | None = None,
    alpha: float = 0.05,
    method: Literal["sidak", "deflated"] = "sidak",
) -> HoldoutTest:
    """Test each looked-at configuration's holdout Sharpe against 0, for K = ``looks``.

    ``sigma_srs`` are standard errors under the null, ``sharpe_std(0, ..., n_holdout)``;
    ``looks`` defaults to the number of Sharpe ratios and counts every holdout look ever
    taken. Šidák (default) rejects when 1 - (1 - p)^K <= α: the family-wise false-positive
    rate is exactly α for independent looks and at most α for positively correlated ones
    (one shared holdout period). "deflated" rejects when DSR (V = σ²) >= 1 - α; it centres
    on E[max] and treats the max as normal, so its family-wise rate drifts above α as K
    grows (simulated at α = 5%: 5.3% for K = 10, 5.8% for 100, 6.6% for 1000).
    """
    sharpes, sigmas = (np.atleast_1d(v).astype(float) for v in _arrays(sharpes, sigma_srs))
    k = sharpes.size if looks is None else looks
    _check_probability("alpha", alpha)
    if sharpes.ndim != 1 or sharpes.size == 0 or int(k) != k or k < sharpes.size:
        raise FactoryError(
            f"looks ({k}) must be a whole number counting every configuration tested "
            f"({sharpes.size}); sharpes and sigma_srs must be non-empty 1-D arrays"
        )
    if method not in ("sidak", "deflated"):
        raise FactoryError(f"method must be 'sidak' or 'deflated', got {method!r}")
    p = 1 - np.asarray(probabilistic_sharpe(sharpes, 0.0, sigmas))
    sidak = -np.expm1(k * np.log1p(-p))  # 1 - (1 - p)^K without cancellation for small p
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sigmas > 0, sharpes / sigmas, np.nan)
    deflated = np.atleast_1d(deflated_sharpe(z, k, 1.0))
    rejected = sidak <= alpha if method == "sidak" else deflated >= 1 - alpha
    return HoldoutTest(p, sidak, deflated, rejected, k, alpha, method)


def power(
    sharpe_alternative: ArrayLike,
    sharpe0: ArrayLike,
    n: ArrayLike,
    skew: ArrayLike,
    kurtosis: ArrayLike,
    autocorrelation: ArrayLike,
    alpha: float = 0.05,
) -> FloatOrArray:
    """Probability that PSR rejects SR0 at level α when the true Sharpe is SR1 (LLZ).

    Reject when SR^ > SR_c = SR0 + Φ⁻¹(1 - α)·σ[SR0]; power = Φ((SR1 - SR_c)/σ[SR1]),
    both σ from :func:`sharpe_std`. Power at SR1 = SR0 is α. It rises with n when
    SR1 > SR0; with positive skew it can dip slightly for SR1 far above SR_c.
    """
    _check_probability("alpha", alpha)
    critical = np.asarray(sharpe0, dtype=float) + stats.norm.ppf(1 - alpha) * np.asarray(
        sharpe_std(sharpe0, skew, kurtosis, autocorrelation, n)
    )
    sigma1 = sharpe_std(sharpe_alternative, skew, kurtosis, autocorrelation, n)
    return probabilistic_sharpe(sharpe_alternative, critical, sigma1)


def false_discovery_rate(alpha: ArrayLike, power: ArrayLike, prior: float = 0.05) -> FloatOrArray:
    """P(H0 | reject) = α(1 - p) / (α(1 - p) + power·p), p = ``prior`` P(true strategy).

    The default p = 0.05 (one strategy in twenty is real) is the lower of the two priors
    in LLZ's companion examples (0.05 and 0.10): a search over many configurations is
    mostly noise, and a lower prior never understates the FDR.
    """
    alpha, power = _arrays(alpha, power)
    _check_probability("prior", prior)
    if np.any((alpha <= 0) | (alpha >= 1)) or np.any((power < 0) | (power > 1)):
        raise FactoryError("alpha must lie in (0, 1) and power in [0, 1]")
    false = alpha * (1 - prior)
    return _out(false / (false + power * prior))


def _unit_variance(
    sharpe: ArrayLike, skew: ArrayLike, kurtosis: ArrayLike, autocorrelation: ArrayLike
) -> npt.NDArray[np.float64]:
    """n·σ²[SR]: a - b·γ3·SR + c·(γ4 - 1)/4·SR² (see :func:`sharpe_std`)."""
    sharpe, skew, kurtosis, rho = _arrays(sharpe, skew, kurtosis, autocorrelation)
    _check_moments(skew, kurtosis, rho)
    a, b, c = (1 + rho) / (1 - rho), (1 + rho + rho**2) / (1 - rho**2), (1 + rho**2) / (1 - rho**2)
    return a - b * skew * sharpe + c * (kurtosis - 1) / 4 * sharpe**2


def _max_std(n_trials: float) -> float:
    """Standard deviation of the max of K iid standard normals (density K·φ·Φ^(K-1))."""
    density = np.exp(
        math.log(n_trials) + stats.norm.logpdf(_GRID) + (n_trials - 1) * special.log_ndtr(_GRID)
    )
    mass = np.trapezoid(density, _GRID)
    mean = np.trapezoid(density * _GRID, _GRID) / mass
    return float(math.sqrt(np.trapezoid(density * (_GRID - mean) ** 2, _GRID) / mass))


def _arrays(*values: ArrayLike) -> list[npt.NDArray[np.float64]]:
    try:
        return list(np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values)))
    except ValueError as error:
        raise FactoryError(f"arguments must be numbers or arrays of one shape: {error}") from None


def _out(value: ArrayLike) -> FloatOrArray:
    array = np.asarray(value, dtype=float)
    return float(array) if array.ndim == 0 else array


def _check_moments(skew: np.ndarray, kurtosis: np.ndarray, rho: np.ndarray) -> None:
    if np.any(kurtosis < skew**2 + 1):
        raise FactoryError("kurtosis must be Pearson (normal = 3), at least skew² + 1; add 3")
    if np.any(np.abs(rho) >= 1):
        raise FactoryError("autocorrelation must lie strictly between -1 and 1 (lag-1, AR(1))")


def _check_probability(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise FactoryError(f"{name} must lie strictly between 0 and 1, got {value!r}")
