"""Is the challenger better than the champion on bars neither was selected on?

Both strategies' per-bar returns over the same bars are paired; their differences
``challenger − champion`` are tested one-sided (H1: the mean difference is positive) with
a t statistic whose standard error is the equal-weighted cosine (EWC) estimate of the
long-run variance, judged against Student's t with as many degrees of freedom as cosines
(Lazarus, Lewis, Stock & Watson 2018, "HAR inference: recommendations for practice";
Sun 2013's fixed-smoothing asymptotics).

Why not Newey–West with the usual ``⌊4 (n/100)^(2/9)⌋`` lags and normal critical values,
as before: strategy returns that hold positions over several bars are autocorrelated,
its few lags miss most of that autocorrelation, and the estimate's own noise is ignored,
so an equal-mean challenger passed 8.2% of the time at 5% with AR(1) returns of φ = 0.6
and 22% at φ = 0.9 (``benchmarks/bench_test_sizes.py``). With EWC the t reference is exact
for Gaussian data and accounts for that noise (no simulated fixed-b tables, no bootstrap
draws), and the p-value is closed-form. Why not a block bootstrap: its variance of the mean
is a kernel estimate too, with the same bias, and its draws make p random.

The number of cosines ``K`` is chosen from the data: at most ``⌈0.4 n^(2/3)⌉`` (the rule
of Lazarus et al.), fewer when the differences are persistent: an AR(1) coefficient is
estimated (bias-adjusted, plus one standard error, so that it errs high) and ``K`` is the
largest whose expected estimate, for that AR(1), is at least :data:`MAX_BIAS` short of
the true variance of the mean; that remaining shortfall is divided out. Measured (500
bars, one-sided 5%): equal-mean AR(1) pairs pass 4.3–5.7% of the time over 2,000 pairs
for each φ of 0, 0.3, 0.6, 0.9, and 5.2% over 10,000 at φ = 0 and at 0.9 (the README has
the figures and the power). The result says how many bars were
compared, the power the test had to detect a difference of ``min_effect`` standard
deviations per bar, and how many bars 80% power would need.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import fft, signal, stats

from strategy_factory.json_values import plain

TARGET_POWER = 0.8
# The largest shortfall of the long-run variance estimate, for the estimated AR(1), that
# a choice of cosines may leave before it is divided out.
MAX_BIAS = 0.1
# Fewest cosines (degrees of freedom) however persistent the differences: below this the
# t critical values grow so fast that the test could hardly ever pass.
MIN_COSINES = 4
# The estimated AR(1) coefficient is capped here: beyond it the mean of a few hundred bars
# says almost nothing, and the test is anyway judged on MIN_COSINES.
MAX_PERSISTENCE = 0.98
_CHUNK = 32


@dataclass(frozen=True)
class PairedResult:
    """The paired test of a challenger against a champion on their common bars."""

    bars: int
    first_bar: str | None
    last_bar: str | None
    mean_difference: float | None
    std_difference: float | None
    standard_error: float | None
    persistence: float | None
    degrees_of_freedom: int | None
    t_statistic: float | None
    p_value: float | None
    alpha: float
    min_effect: float
    power: float | None
    bars_for_target_power: int | None
    degenerate: str | None
    min_bars: int = 60

    @property
    def too_few_bars(self) -> bool:
        """Not judged for want of common bars: more forward bars may let it be judged."""
        return self.degenerate is not None and self.bars < self.min_bars

    @property
    def passed(self) -> bool:
        """The challenger is significantly better at level ``alpha``."""
        return self.degenerate is None and self.p_value is not None and self.p_value < self.alpha

    def to_json(self) -> dict[str, Any]:
        """The result as JSON values (non-finite numbers become null)."""
        return plain({**asdict(self), "passed": self.passed, "target_power": TARGET_POWER})

    def sentence(self) -> str:
        """The result in one sentence, from its numbers."""
        if self.degenerate is not None:
            return self.degenerate
        verdict = "better" if self.passed else "not significantly better"
        return (
            f"challenger {verdict} over {self.bars} common forward bars: mean difference "
            f"{self.mean_difference:.3g} per bar, t = {self.t_statistic:.2f} (EWC, "
            f"{self.degrees_of_freedom} degrees of freedom, AR(1) persistence "
            f"{self.persistence:.2f}), one-sided p = {self.p_value:.3g} (alpha "
            f"{self.alpha:g}); power {self.power:.0%} to detect {self.min_effect:g} sd per "
            "bar" + _bars_needed(self)
        )


def _bars_needed(result: PairedResult) -> str:
    if result.power is None or result.power >= TARGET_POWER:
        return ""
    return f" ({result.bars_for_target_power} bars would give {TARGET_POWER:.0%})"


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
    middles = np.arange(n) + 0.5
    ones = np.ones(n)
    variance_of_mean = float(ones @ _autocovariance_times(rho, ones)) / n
    squares = []
    for first in range(1, most + 1, _CHUNK):
        orders = np.arange(first, min(first + _CHUNK, most + 1))
        cosines = math.sqrt(2 / n) * np.cos(np.pi * orders[:, None] * middles / n)
        squares.append(np.sum(cosines * _autocovariance_times(rho, cosines), axis=1))
    expected = np.concatenate(squares)
    return np.cumsum(expected) / np.arange(1, most + 1) / variance_of_mean


def _autocovariance_times(rho: float, vectors: np.ndarray) -> np.ndarray:
    """``Γ v`` for the AR(1) autocorrelation matrix ``Γ[s, t] = ρ^|s−t|``, along the last
    axis: the sums over earlier and later bars as two recursive filters."""
    ahead = signal.lfilter([1.0], [1.0, -rho], vectors, axis=-1)
    behind = signal.lfilter([1.0], [1.0, -rho], vectors[..., ::-1], axis=-1)[..., ::-1]
    return ahead + behind - vectors


def paired_test(
    challenger: npt.ArrayLike,
    champion: npt.ArrayLike,
    *,
    alpha: float = 0.05,
    min_effect: float = 0.1,
    min_bars: int = 60,
    span: tuple[str, str] | None = None,
) -> PairedResult:
    """One-sided HAR t-test that ``challenger`` returns exceed ``champion`` returns, bar
    for bar (the arrays are aligned: the same bars, in order).

    ``min_effect`` is the mean difference, in standard deviations of the differences per
    bar, whose detection power is reported; fewer than ``min_bars`` bars, or identical
    returns, give a result that says why it cannot judge (and does not pass).
    """
    differences = np.asarray(challenger, dtype=np.float64) - np.asarray(champion, dtype=np.float64)
    n = differences.size
    first, last = span if span is not None else (None, None)
    blank = {"bars": n, "first_bar": first, "last_bar": last, "alpha": alpha, "min_bars": min_bars}
    why = _why_not_judged(differences, min_bars)
    if why is not None:
        return PairedResult(
            **blank,
            mean_difference=float(differences.mean()) if n else None,
            std_difference=float(differences.std(ddof=1)) if n > 1 else None,
            standard_error=None,
            persistence=None,
            degrees_of_freedom=None,
            t_statistic=None,
            p_value=None,
            min_effect=min_effect,
            power=None,
            bars_for_target_power=None,
            degenerate=why,
        )
    mean = float(differences.mean())
    std = float(differences.std(ddof=1))
    variance = long_run_variance(differences)
    standard_error = math.sqrt(variance.value / n)
    t = mean / standard_error
    df = variance.cosines
    # Under H1 with mean min_effect·std the statistic is a noncentral t centred near
    # min_effect·std / SE; the bars for the target power scale that shift with √n.
    shift = min_effect * std / standard_error
    critical = float(stats.t.ppf(1 - alpha, df))
    needed = math.ceil(n * ((critical + stats.norm.ppf(TARGET_POWER)) / shift) ** 2)
    return PairedResult(
        **blank,
        mean_difference=mean,
        std_difference=std,
        standard_error=standard_error,
        persistence=variance.persistence,
        degrees_of_freedom=df,
        t_statistic=t,
        p_value=float(stats.t.sf(t, df)),
        min_effect=min_effect,
        power=float(stats.nct.sf(critical, df, shift)),
        bars_for_target_power=needed,
        degenerate=None,
    )


def _why_not_judged(differences: np.ndarray, min_bars: int) -> str | None:
    n = differences.size
    if n < min_bars:
        return (
            f"only {n} common forward bars (at least {min_bars} needed): let forward "
            "tracking run longer before challenging"
        )
    if not np.all(np.isfinite(differences)):
        return "the forward returns hold non-finite values: check the forward tracking"
    # Constant up to rounding (e.g. a challenger that is the champion shifted by a fee).
    if differences.std() <= 1e-9 * np.abs(differences).max():
        return (
            f"the two strategies' returns differ by the same amount ({differences[0]:.3g}) on "
            f"all {n} common bars, so there is no variation to test: identical strategies "
            "cannot be told apart, and the champion stays"
        )
    return None
