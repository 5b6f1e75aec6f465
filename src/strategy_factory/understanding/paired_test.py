"""Is the challenger better than the champion on bars neither was selected on?

Both strategies' per-bar returns over the same bars are paired; their differences
``challenger − champion`` are tested one-sided (H1: the mean difference is positive) with
a t statistic on the equal-weighted cosine (EWC) estimate of their long-run variance,
judged against Student's t with as many degrees of freedom as cosines, chosen from the
differences' persistence (:mod:`.long_run` says how and why).

Why not Newey–West with the usual ``⌊4 (n/100)^(2/9)⌋`` lags and a normal reference, as
before: strategy returns that hold positions over several bars are autocorrelated, its
few lags miss most of that autocorrelation, and the estimate's own noise is ignored, so
an equal-mean challenger passed 8.2% of the time at 5% with AR(1) returns of φ = 0.6 and
22% at φ = 0.9 (``benchmarks/bench_test_sizes.py``). Why not a stationary block bootstrap:
its variance of the mean is a kernel estimate too, with the same bias at a data-driven
block length, and its draws make p random. Measured (500 bars, one-sided 5%): equal-mean
AR(1) pairs pass 4.3–5.7% of the time over 2,000 pairs for each φ of 0, 0.3, 0.6, 0.9,
and 5.2% over 10,000 at φ = 0 and at 0.9 (the README has the figures and the power).

The result says how many bars were compared, the power the test had to detect a
difference of ``min_effect`` standard deviations per bar, and how many bars 80% power
would need.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from strategy_factory.json_values import plain
from strategy_factory.understanding.long_run import long_run_variance

TARGET_POWER = 0.8


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
