"""Is there a signal at all? The chosen model's out-of-sample rank IC, tested against zero.

A model chosen from a grid can still say nothing: every candidate may have shrunk to its
intercept (a *constant* model), or the best of them may rank the validation rows no better
than chance. Before a model is pruned, simulated or judged, its validation folds are
tested: the rank IC of each fold is Fisher-transformed, ``z_k = atanh(ic_k)·√((n_k/h − 3)
/ 1.06)`` (1.06/(n − 3) is the variance of Spearman's transformed coefficient, Fieller,
Hartley & Pearson 1957; ``h`` the target horizon, since overlapping targets carry about
``n/h`` independent rows), and the folds are combined by Stouffer's method,
``Z = Σ z_k / √K``, one-sided. A model is *usable* when it is not constant and
``p = 1 − Φ(Z) < alpha`` (default 0.05).

The test screens out the nothing-to-find case cheaply and says so; it is not the gate a
strategy must pass (the chosen model was the best of a grid, so its validation IC is
optimistic). The holdout gate comes later and is charged for everything tried.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from strategy_factory.models.scoring import rank_ic_columns

SIGNAL_ALPHA = 0.05
_SPEARMAN_VARIANCE = 1.06


@dataclass(frozen=True)
class SignalTest:
    """The chosen model's validated rank IC per fold and the combined test against zero."""

    constant: bool
    fold_rank_ics: list[float]
    fold_rows: list[int]
    rank_ic: float
    z: float
    p_value: float
    alpha: float = SIGNAL_ALPHA

    @property
    def usable(self) -> bool:
        """Not constant, and its rank IC significantly above zero across folds."""
        return not self.constant and self.p_value < self.alpha

    def describe(self) -> str:
        """The figures in a sentence, e.g. for a "no signal" generation."""
        if self.constant:
            return (
                "the chosen model predicts a constant (every candidate of the grid shrank to "
                "its intercept): it ranks nothing"
            )
        folds = ", ".join(f"{ic:+.4f}" for ic in self.fold_rank_ics)
        verdict = "significant" if self.usable else "not significantly above zero"
        return (
            f"validated rank IC {self.rank_ic:+.4f} over {len(self.fold_rank_ics)} folds "
            f"({folds}; z = {self.z:.2f}, p = {self.p_value:.3g}): {verdict} at {self.alpha:g}"
        )

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values (``usable`` included)."""
        return {**asdict(self), "usable": self.usable, "description": self.describe()}


def signal_test(
    folds: list[tuple[np.ndarray, np.ndarray]],
    fitted_predictions: np.ndarray,
    horizon: int = 1,
    alpha: float = SIGNAL_ALPHA,
) -> SignalTest:
    """Test ``folds`` of ``(realized target, prediction)`` on validation rows against zero.

    ``fitted_predictions``: the final model's predictions on its training rows (a model
    constant there is constant everywhere it was fitted).
    """
    constant = bool(
        np.ptp(fitted_predictions) <= 1e-12 * np.abs(fitted_predictions).max(initial=0.0)
    )
    ics, sizes, scores = [], [], []
    for y, predicted in folds:
        ic = float(rank_ic_columns(y, np.asarray(predicted)[:, None])[0])
        ic = 0.0 if not math.isfinite(ic) else ic  # a constant fold ranks nothing
        effective = max(len(y) / max(horizon, 1) - 3, 1.0)
        ics.append(ic)
        sizes.append(len(y))
        scores.append(
            math.atanh(min(max(ic, -0.999999), 0.999999))
            * math.sqrt(effective / _SPEARMAN_VARIANCE)
        )
    z = float(sum(scores) / math.sqrt(len(scores))) if scores else 0.0
    return SignalTest(
        constant=constant,
        fold_rank_ics=ics,
        fold_rows=sizes,
        rank_ic=float(np.mean(ics)) if ics else math.nan,
        z=z,
        p_value=float(stats.norm.sf(z)),
        alpha=alpha,
    )
