"""Score a whole alpha × l1_ratio grid of one fold along regularization paths.

Exhaustive search fits every cell from scratch on every row. Here a fold's training rows
arrive already reduced to their standardized Gram matrix ``X'X`` and ``X'y`` (features ×
features, from :mod:`strategy_factory.models.moments`), and each ``l1_ratio`` is one
warm-started coordinate-descent path over the alphas in descending order, each alpha
solved to its exact optimum (:mod:`strategy_factory.models.descent`), so the cost of a
path does not grow with the number of rows. ``l1_ratio = 0`` (Ridge) is solved exactly
for every alpha from one eigendecomposition of the Gram matrix. The validation rows of
all alphas are then predicted with one matrix product.

The objective and standardization are those of :func:`strategy_factory.models.algorithms.
fold_model` (``StandardScaler`` on features and on the target, fitted on the fold's
training rows), which is what makes the choice identical to an exhaustive ``GridSearchCV``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from strategy_factory.models.descent import enet_gram_path
from strategy_factory.models.moments import Standardized, moments_of
from strategy_factory.models.scoring import COLUMN_SCORES, Score

# Ridge's "auto" reference penalty, in units of the correlation matrix's largest eigenvalue.
RIDGE_SCALE = 100.0


@dataclass(frozen=True)
class PathGrid:
    """The cells of a linear grid: alphas (descending) × l1_ratios, and how to solve them.

    ``relative``: the alphas are fractions of each fold's ``alpha_max`` (``"auto"``
    grids) rather than absolute penalties. ``tol``: the duality gap (× ``||y||²``) descent
    reaches before each alpha's active set is solved exactly (see ``models.descent``).
    """

    alphas: np.ndarray
    l1_ratios: np.ndarray
    tol: float
    max_iter: int
    relative: bool = False


def path_scores(
    fold: Standardized,
    X_validation: np.ndarray,
    y_validation: np.ndarray,
    grid: PathGrid,
    score: Score,
) -> np.ndarray:
    """Validation scores of every cell (``l1_ratios × alphas``) trained on ``fold``."""
    weights = np.stack(
        [_path(fold, l1_ratio, _alphas(grid, fold, l1_ratio), grid) for l1_ratio in grid.l1_ratios]
    )
    # weights (standardized units): l1_ratios × features × alphas → coefficients in
    # target units per raw feature, and their intercepts: one product predicts every cell.
    flat = weights.transpose(1, 0, 2).reshape(fold.gram.shape[0], -1)
    coefs = flat * (fold.y_scale / fold.scale)[:, None]
    intercepts = fold.y_mean - fold.mean @ coefs
    # Computed candidate by candidate (column-major): each candidate's rows are then
    # contiguous for the sort that ranks them.
    predictions = (coefs.T @ X_validation.T + intercepts[:, None]).T
    scores = COLUMN_SCORES[score](y_validation, predictions)
    return scores.reshape(grid.l1_ratios.size, grid.alphas.size)


def alpha_max(gram: np.ndarray, xy: np.ndarray, n: int, l1_ratio: float) -> float:
    """The reference penalty of ``"auto"`` grids on standardized data of ``n`` rows.

    With ``l1_ratio > 0`` it is the smallest alpha that zeroes every coefficient,
    ``max|X'y| / (n·l1_ratio)`` (as scikit-learn's ``enet_path``). Ridge never zeroes a
    coefficient; its reference is ``RIDGE_SCALE`` × the largest eigenvalue of the
    correlation matrix ``X'X/n``, where the fit is shrunk to a small multiple of ``X'y``
    (a correlation-weighted sum of the features).
    """
    if l1_ratio == 0:
        return RIDGE_SCALE * float(np.linalg.eigvalsh(gram)[-1]) / n
    return float(np.abs(xy).max()) / (n * l1_ratio) or 1.0


def fold_alpha_max(X: np.ndarray, y: np.ndarray, l1_ratio: float) -> float:
    """:func:`alpha_max` of raw rows (standardized here, as every fit standardizes)."""
    fold = moments_of(X, y).standardized()
    return alpha_max(fold.gram, fold.xy, fold.count, l1_ratio)


def _alphas(grid: PathGrid, fold: Standardized, l1_ratio: float) -> np.ndarray:
    """The absolute alphas of one path: as given, or fractions of this fold's alpha_max."""
    if not grid.relative:
        return grid.alphas
    return grid.alphas * alpha_max(fold.gram, fold.xy, fold.count, l1_ratio)


def _path(fold: Standardized, l1_ratio: float, alphas: np.ndarray, grid: PathGrid) -> np.ndarray:
    """Coefficients (features × alphas) on standardized data along one path."""
    n = fold.count
    if l1_ratio == 0:
        eigenvalues, vectors = np.linalg.eigh(fold.gram)
        projected = vectors.T @ fold.xy
        return vectors @ (projected[:, None] / (eigenvalues[:, None] + n * alphas[None, :]))
    coefs, unconverged = enet_gram_path(
        fold.gram, fold.xy, fold.y_norm2, n, float(l1_ratio), alphas, grid.tol, grid.max_iter
    )
    if unconverged:
        warnings.warn(
            f"{unconverged} of {alphas.size} alphas of the l1_ratio={l1_ratio:g} path did not "
            f"converge in {grid.max_iter} sweeps",
            ConvergenceWarning,
            stacklevel=2,
        )
    return coefs
