"""How many independent trials a search really made: trial counting for the DSR.

The Deflated Sharpe Ratio charges a strategy for every trial behind it, but trials that
trade alike are not independent. Bailey & López de Prado (2014), "The Deflated Sharpe
Ratio", Appendix A.3, eq. 9: N̂ = ρ̄ + (1 - ρ̄)·M independent trials for M trials whose
returns have average pairwise correlation ρ̄. Feed N̂ to
:func:`.sharpe_inference.deflated_sharpe` or :func:`.overfitting.expected_max_sharpe`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from strategy_factory.errors import FactoryError


@dataclass(frozen=True)
class TrialCorrelation:
    """Average pairwise correlation of the trials that varied, and those that never did."""

    average: float  # NaN with fewer than two varying trials
    n_trials: int  # M: trials whose returns vary
    constant_columns: tuple[int, ...]  # trials with constant returns (never traded)


def average_correlation(returns: npt.ArrayLike) -> TrialCorrelation:
    """ρ̄: mean off-diagonal correlation of a (bars x trials) returns matrix.

    A column that never changes (a trial that never traded) has no defined correlation:
    it is excluded from ρ̄ and from M and listed in ``constant_columns``. Computed in
    O(bars x trials) as (‖Σ_j z_j‖²/T - M) / (M(M - 1)) on standardized columns z_j.
    """
    values = _matrix(returns)
    constant = np.ptp(values, axis=0) == 0
    varying = values[:, ~constant]
    m = varying.shape[1]
    if m < 2:
        return TrialCorrelation(math.nan, m, tuple(np.flatnonzero(constant).tolist()))
    z = (varying - varying.mean(axis=0)) / varying.std(axis=0)
    total = z.sum(axis=1)
    average = (total @ total / len(z) - m) / (m * (m - 1))
    return TrialCorrelation(float(average), m, tuple(np.flatnonzero(constant).tolist()))


def effective_trials(correlation: npt.ArrayLike, n_trials: int | None = None) -> float:
    """N̂ = ρ̄ + (1 - ρ̄)·M independent trials (Bailey & LdP 2014, App. A.3, eq. 9).

    ``correlation`` is the M x M correlation matrix of the trials' returns, or their
    average off-diagonal correlation ρ̄ with ``n_trials`` = M. ρ̄ is clipped to [0, 1]
    (negative average correlation adds no trials), so 1 <= N̂ <= M.
    """
    values = np.asarray(correlation, dtype=float)
    if values.ndim == 2:
        m = values.shape[0]
        if values.shape != (m, m) or (n_trials is not None and n_trials != m):
            raise FactoryError(f"correlation must be square, one row per trial: {values.shape}")
        average = (values.sum() - np.trace(values)) / (m * (m - 1)) if m > 1 else 0.0
    elif values.ndim == 0 and n_trials is not None:
        m, average = n_trials, float(values)
    else:
        raise FactoryError("pass a correlation matrix, or an average correlation and n_trials")
    if m < 1:
        raise FactoryError(f"n_trials must be at least 1 (trials that varied), got {m}")
    if m == 1:
        return 1.0
    if not -1 - 1e-9 <= average <= 1 + 1e-9:  # rounding of identical trials
        raise FactoryError(
            f"correlations must lie in [-1, 1], got average {average!r}; for returns with "
            "flat trials use average_correlation, which leaves them out"
        )
    average = min(max(average, 0.0), 1.0)
    return float(average + (1 - average) * m)


def distinct_trials(returns: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Columns of a (bars x trials) returns matrix that are not exact copies of an earlier one.

    Identical return streams are one trial: ``len(distinct_trials(r))`` counts them, and
    ``r[:, distinct_trials(r)]`` keeps the first of each.
    """
    _, first = np.unique(_matrix(returns), axis=1, return_index=True)
    return np.sort(first).astype(np.int64)


def _matrix(returns: npt.ArrayLike) -> npt.NDArray[np.float64]:
    values = np.asarray(returns, dtype=float)
    if values.ndim != 2 or values.shape[0] < 2:
        raise FactoryError(f"returns must be a (bars x trials) matrix, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise FactoryError("returns contain missing or infinite values; fill flat bars with 0")
    return values
