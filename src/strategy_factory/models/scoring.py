"""Out-of-sample scores of predictions, for many candidate models at once.

- ``rank_ic`` (the default): the rank information coefficient, Spearman's correlation of
  prediction and realized target on the validation rows. Strategies trade on the ranking
  and sign of the predictions, not on their calibration, so this is what a model should
  be chosen by: on returns, R² rewards the intercept-only model whenever nothing beats
  the mean, while a weak but real ordering has a positive rank IC.
- ``ic``: the Pearson correlation of prediction and realized target.
- ``r2``: the coefficient of determination (scikit-learn's ``r2_score``).

A constant prediction carries no information: its ``ic`` and ``rank_ic`` are NaN, and a
candidate that is constant in every fold is never selected (see ``search.GridScores``).
A configuration's score is the mean over the walk-forward folds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from sklearn.metrics import make_scorer

from strategy_factory.models.ranks import spearman_columns

Score = Literal["r2", "ic", "rank_ic"]


def r2_columns(y: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """R² of every column of ``predictions`` (rows × candidates) against ``y``."""
    residual = ((y[:, None] - predictions) ** 2).sum(axis=0)
    total = ((y - y.mean()) ** 2).sum()
    return 1.0 - residual / total


def ic_columns(y: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of ``predictions`` with ``y``."""
    centered = predictions - predictions.mean(axis=0)
    spread = np.sqrt((centered**2).sum(axis=0))
    y_centered = y - y.mean()
    covariance = y_centered @ centered
    with np.errstate(invalid="ignore", divide="ignore"):
        ic = covariance / (spread * np.sqrt((y_centered**2).sum()))
    # A prediction that does not vary (or barely: rounding) says nothing.
    return np.where(spread > 1e-12 * np.abs(predictions).max(axis=0, initial=0.0), ic, np.nan)


def rank_ic_columns(y: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Spearman correlation of every column of ``predictions`` with ``y`` (NaN if constant).

    Ties get their average rank, as in ``scipy.stats.spearmanr``.
    """
    varies = np.ptp(predictions, axis=0) > 1e-12 * np.abs(predictions).max(axis=0, initial=0.0)
    ic = np.full(predictions.shape[1], np.nan)
    columns = np.flatnonzero(varies)
    if columns.size:
        # Selected as rows of the transpose: a column-major grid of predictions stays so.
        ic[columns] = spearman_columns(y, predictions.T[columns].T)
    return ic


COLUMN_SCORES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "r2": r2_columns,
    "ic": ic_columns,
    "rank_ic": rank_ic_columns,
}


def score_predictions(score: Score, y: np.ndarray, predictions: np.ndarray) -> float:
    """The ``score`` of one prediction vector."""
    return float(COLUMN_SCORES[score](y, np.asarray(predictions)[:, None])[0])


def scorer(score: Score) -> Callable[..., float]:
    """A scikit-learn scorer (``estimator, X, y -> float``) for ``score``.

    A constant prediction scores 0 here (no information), so that importance by
    permutation measures a drop rather than a NaN.
    """

    def finite(y: np.ndarray, p: np.ndarray) -> float:
        value = score_predictions(score, np.asarray(y), p)
        return value if np.isfinite(value) else 0.0

    return make_scorer(finite)
