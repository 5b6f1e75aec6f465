"""Is the challenger better than the champion on bars neither was selected on?

Both strategies' per-bar returns over the same bars are paired; their differences
``challenger − champion`` are tested one-sided (H1: the mean difference is positive) with
a t statistic whose standard error is Newey–West's HAC estimate (Bartlett kernel, the
usual ``⌊4 (n/100)^(2/9)⌋`` lags), so the autocorrelation of strategy returns that hold
positions over several bars does not make the test too eager. The result says how many
bars were compared, the power the test had to detect a difference of ``min_effect``
standard deviations per bar, and how many bars 80% power would need.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats
from statsmodels.regression.linear_model import OLS

from strategy_factory.json_values import plain

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
    lags: int
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
            f"{self.mean_difference:.3g} per bar, HAC t = {self.t_statistic:.2f} ({self.lags} "
            f"lags), one-sided p = {self.p_value:.3g} (alpha {self.alpha:g}); power "
            f"{self.power:.0%} to detect {self.min_effect:g} sd per bar" + _bars_needed(self)
        )


def _bars_needed(result: PairedResult) -> str:
    if result.power is None or result.power >= TARGET_POWER:
        return ""
    return f" ({result.bars_for_target_power} bars would give {TARGET_POWER:.0%})"


def newey_west_lags(bars: int) -> int:
    """The usual automatic lag count ``⌊4 (n/100)^(2/9)⌋`` (at least 1)."""
    return max(1, int(4 * (bars / 100) ** (2 / 9)))


def paired_test(
    challenger: npt.ArrayLike,
    champion: npt.ArrayLike,
    *,
    alpha: float = 0.05,
    min_effect: float = 0.1,
    min_bars: int = 60,
    span: tuple[str, str] | None = None,
) -> PairedResult:
    """One-sided HAC t-test that ``challenger`` returns exceed ``champion`` returns, bar
    for bar (the arrays are aligned: the same bars, in order).

    ``min_effect`` is the mean difference, in standard deviations of the differences per
    bar, whose detection power is reported; fewer than ``min_bars`` bars, or identical
    returns, give a result that says why it cannot judge (and does not pass).
    """
    differences = np.asarray(challenger, dtype=np.float64) - np.asarray(champion, dtype=np.float64)
    n = differences.size
    lags = newey_west_lags(max(n, 1))
    first, last = span if span is not None else (None, None)
    blank = {
        "bars": n,
        "first_bar": first,
        "last_bar": last,
        "lags": lags,
        "alpha": alpha,
        "min_bars": min_bars,
    }
    why = _why_not_judged(differences, min_bars)
    if why is not None:
        return PairedResult(
            **blank,
            mean_difference=float(differences.mean()) if n else None,
            std_difference=float(differences.std(ddof=1)) if n > 1 else None,
            standard_error=None,
            t_statistic=None,
            p_value=None,
            min_effect=min_effect,
            power=None,
            bars_for_target_power=None,
            degenerate=why,
        )
    mean = float(differences.mean())
    std = float(differences.std(ddof=1))
    standard_error = _hac_standard_error(differences, lags)
    t = mean / standard_error
    p = float(stats.t.sf(t, df=n - 1))
    # Under H1 with mean min_effect·std the statistic is centred on min_effect·std / SE.
    shift = min_effect * std / standard_error
    critical = float(stats.norm.ppf(1 - alpha))
    power = float(stats.norm.cdf(shift - critical))
    needed = math.ceil(n * ((critical + stats.norm.ppf(TARGET_POWER)) / shift) ** 2)
    return PairedResult(
        **blank,
        mean_difference=mean,
        std_difference=std,
        standard_error=standard_error,
        t_statistic=t,
        p_value=p,
        min_effect=min_effect,
        power=power,
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


def _hac_standard_error(differences: np.ndarray, lags: int) -> float:
    """Newey–West standard error of the mean of ``differences`` (an intercept-only OLS)."""
    fitted = OLS(differences, np.ones_like(differences)).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False}
    )
    return float(fitted.bse[0])
