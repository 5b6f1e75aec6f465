"""Out-of-sample scores of predictions, for many candidate models at once.

``r2`` is the coefficient of determination on the validation rows (scikit-learn's
``r2_score``); ``ic`` is the information coefficient, the Pearson correlation of
prediction and realized target (0 for a constant prediction, which carries no
information). A configuration's score is the mean over the walk-forward folds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from sklearn.metrics import make_scorer

Score = Literal["r2", "ic"]


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
    return np.where(spread > 1e-12 * np.abs(predictions).max(axis=0, initial=0.0), ic, 0.0)


COLUMN_SCORES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "r2": r2_columns,
    "ic": ic_columns,
}


def score_predictions(score: Score, y: np.ndarray, predictions: np.ndarray) -> float:
    """The ``score`` of one prediction vector."""
    return float(COLUMN_SCORES[score](y, np.asarray(predictions)[:, None])[0])


def scorer(score: Score) -> Callable[..., float]:
    """A scikit-learn scorer (``estimator, X, y -> float``) for ``score``."""
    return make_scorer(lambda y, p: score_predictions(score, np.asarray(y), p))
