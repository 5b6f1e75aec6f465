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
        ic[columns] = ic_columns(
            average_ranks(y[:, None])[:, 0], average_ranks(predictions[:, columns])
        )
    return ic


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks (from 1) within each column of ``values``, ties sharing their average rank.

    What ``scipy.stats.rankdata(values, axis=0)`` returns, several times faster: ties
    are averaged after the sort, so the sort need not be stable (SIMD quicksort).
    """
    rows, columns = values.shape
    by_column = np.ascontiguousarray(values.T)
    order = np.argsort(by_column, axis=1)
    ordered = np.take_along_axis(by_column, order, axis=1)
    starts = np.ones(by_column.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    flat = starts.ravel()
    first = np.flatnonzero(flat)
    length = np.diff(np.append(first, flat.size))
    # A run of equal values at positions a..a+k-1 (from 0) shares rank a + (k + 1) / 2.
    average = (first % rows) + (length + 1) / 2.0
    ranked = np.empty(by_column.shape)
    np.put_along_axis(ranked, order, average[np.cumsum(flat) - 1].reshape(columns, rows), axis=1)
    return ranked.T


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
