"""The long-run variance of a serially dependent series, for tests of its mean.

Strategy returns per bar are not independent: a position held over several bars makes
neighbours alike, and a test that assumes independence then finds differences that are
not there. :func:`long_run_variance` is the equal-weighted cosine (EWC) estimate of ``n`` ×
the variance of a series' mean, whose t statistic follows Student's t with as many
degrees of freedom as cosines (Lazarus, Lewis, Stock & Watson 2018, "HAR inference:
recommendations for practice"; Sun 2013's fixed-smoothing asymptotics): exact for Gaussian
data, with the estimate's own noise accounted for, closed-form p-values (no fixed-b tables,
no bootstrap draws).

The number of cosines ``K`` is chosen from the data: at most ``⌈0.4 n^(2/3)⌉`` (the rule
of Lazarus et al.), fewer when the series is persistent: an AR(1) coefficient is estimated
(bias-adjusted, plus one standard error, so that it errs high) and ``K`` is the largest
whose expected estimate, for that AR(1), falls at most :data:`MAX_BIAS` short of the true
variance of the mean; that shortfall is divided out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft

# The largest shortfall of the long-run variance estimate, for the estimated AR(1), that
# a choice of cosines may leave before it is divided out.
MAX_BIAS = 0.1
# Fewest cosines (degrees of freedom) however persistent the series: below this the t
# critical values grow so fast that a test could hardly ever pass.
MIN_COSINES = 4
# The estimated AR(1) coefficient is capped here: beyond it the mean of a few hundred bars
# says almost nothing, and the test is anyway judged on MIN_COSINES.
MAX_PERSISTENCE = 0.98
# Autocorrelations ρ^k below this are left out of the expected estimate.
_NEGLIGIBLE = 1e-15


@dataclass(frozen=True)
class LongRunVariance:
    """An EWC estimate of the long-run variance of a series (``n`` × variance of its mean)."""

    value: float
    cosines: int
    persistence: float


def long_run_variance(values: np.ndarray) -> LongRunVariance:
    """Equal-weighted cosine estimate of the long-run variance of ``values``, with the
    number of cosines chosen from their persistence (see the module docstring).

    Example::

        lrv = long_run_variance(differences)
        t = differences.mean() / math.sqrt(lrv.value / differences.size)  # ~ t(lrv.cosines)
    """
    n = values.size
    most = min(n - 1, max(MIN_COSINES, math.ceil(0.4 * n ** (2 / 3))))
    rho = _persistence(values)
    shortfall = _expected_ratios(rho, most, n)
    enough = np.nonzero(shortfall >= 1 - MAX_BIAS)[0]
    cosines = max(min(MIN_COSINES, most), int(enough[-1]) + 1 if enough.size else 0)
    # The orthonormal DCT-II: coefficient j ≥ 1 is the projection on cos(πj(t + ½)/n),
    # orthogonal to the constant, so the mean needs no subtracting.
    projections = fft.dct(values, type=2, norm="ortho")[1 : cosines + 1]
    ratio = min(1.0, float(shortfall[cosines - 1]))
    return LongRunVariance(float(np.mean(projections**2)) / ratio, cosines, rho)


def _persistence(values: np.ndarray) -> float:
    """The lag-one autocorrelation, bias-adjusted (Kendall's ``(1 + 3ρ)/n``) plus one
    standard error, in [0, :data:`MAX_PERSISTENCE`]: it errs towards more persistence,
    which only costs degrees of freedom."""
    n = values.size
    centred = values - values.mean()
    rho = float(np.dot(centred[1:], centred[:-1]) / np.dot(centred, centred))
    rho += (1 + 3 * rho) / n + math.sqrt(max(1 - rho**2, 0.0) / n)
    return min(max(rho, 0.0), MAX_PERSISTENCE)


def _expected_ratios(rho: float, most: int, n: int) -> np.ndarray:
    """For a Gaussian AR(1) of coefficient ``rho`` over ``n`` bars: the expected EWC
    estimate with 1, 2, … ``most`` cosines, as a share of ``n`` × the variance of the mean
    (exact in finite samples, not the spectral approximation)."""
    if rho == 0.0:
        return np.ones(most)
    lags = np.arange(1, min(n, math.ceil(math.log(_NEGLIGIBLE) / math.log(rho)) + 1))
    weights = rho**lags
    variance_of_mean = 1 + 2 * float(np.sum((1 - lags / n) * weights))
    # Σ_t c_j(t) c_j(t + k) for the orthonormal cosine c_j(t) = √(2/n) cos(πj(t + ½)/n),
    # in closed form: ((n − k) cos(a k) − sin(a k) / sin(a)) / n with a = πj/n.
    a = np.pi * np.arange(1, most + 1)[:, None] / n
    products = ((n - lags) * np.cos(a * lags) - np.sin(a * lags) / np.sin(a)) / n
    expected = 1 + 2 * products @ weights
    return np.cumsum(expected) / np.arange(1, most + 1) / variance_of_mean
