"""Score a whole alpha × l1_ratio grid of one fold along regularization paths.

Exhaustive search fits every cell from scratch on every row. Here one fold's training
rows are standardized once and reduced to their Gram matrix ``X'X`` and ``X'y`` (features
× features), and each ``l1_ratio`` is one warm-started coordinate-descent path over the
alphas in descending order (scikit-learn's ``enet_path`` on the precomputed Gram), so the
cost of a path does not grow with the number of rows. ``l1_ratio = 0`` (Ridge) is solved
exactly for every alpha from one eigendecomposition of the Gram matrix. The validation
rows of all alphas are then predicted with one matrix product.

The objective and standardization are those of :func:`strategy_factory.models.algorithms.
fold_model` (``StandardScaler`` on features and on the target, fitted on the fold's
training rows), which is what makes the choice identical to an exhaustive ``GridSearchCV``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import enet_path

from strategy_factory.models.scoring import COLUMN_SCORES, Score

_EPS = np.finfo(np.float64).eps
# Ridge's "auto" reference penalty, in units of the correlation matrix's largest eigenvalue.
RIDGE_SCALE = 100.0


@dataclass(frozen=True)
class PathGrid:
    """The cells of a linear grid: alphas (descending) × l1_ratios, and how to solve them.

    ``relative``: the alphas are fractions of each fold's ``alpha_max`` (``"auto"``
    grids) rather than absolute penalties.
    """

    alphas: np.ndarray
    l1_ratios: np.ndarray
    tol: float
    max_iter: int
    relative: bool = False


@dataclass(frozen=True)
class _Standardized:
    X: np.ndarray
    y: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    y_mean: float
    y_scale: float


def path_scores(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    validation: np.ndarray,
    grid: PathGrid,
    score: Score,
) -> np.ndarray:
    """Validation scores of every cell (``l1_ratios × alphas``) trained on ``train`` rows."""
    fold = _standardize(X[train], y[train])
    gram = fold.X.T @ fold.X
    xy = fold.X.T @ fold.y
    weights = np.stack(
        [
            _path(fold, gram, xy, l1_ratio, _alphas(grid, gram, xy, l1_ratio, len(train)), grid)
            for l1_ratio in grid.l1_ratios
        ]
    )
    scaled_validation = (X[validation] - fold.mean) / fold.scale
    # weights: l1_ratios × features × alphas → predictions: rows × (l1_ratios · alphas)
    flat = weights.transpose(1, 0, 2).reshape(X.shape[1], -1)
    predictions = fold.y_mean + fold.y_scale * (scaled_validation @ flat)
    scores = COLUMN_SCORES[score](y[validation], predictions)
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
    fold = _standardize(X, y)
    return alpha_max(fold.X.T @ fold.X, fold.X.T @ fold.y, X.shape[0], l1_ratio)


def _alphas(
    grid: PathGrid, gram: np.ndarray, xy: np.ndarray, l1_ratio: float, n: int
) -> np.ndarray:
    """The absolute alphas of one path: as given, or fractions of this fold's alpha_max."""
    return grid.alphas * alpha_max(gram, xy, n, l1_ratio) if grid.relative else grid.alphas


def _path(
    fold: _Standardized,
    gram: np.ndarray,
    xy: np.ndarray,
    l1_ratio: float,
    alphas: np.ndarray,
    grid: PathGrid,
) -> np.ndarray:
    """Coefficients (features × alphas) on standardized data along one path."""
    n = fold.X.shape[0]
    if l1_ratio == 0:
        eigenvalues, vectors = np.linalg.eigh(gram)
        projected = vectors.T @ xy
        return vectors @ (projected[:, None] / (eigenvalues[:, None] + n * alphas[None, :]))
    _, coefs, _ = enet_path(
        fold.X,
        fold.y,
        l1_ratio=float(l1_ratio),
        alphas=alphas,
        precompute=gram,
        Xy=xy,
        check_input=False,
        copy_X=False,
        tol=grid.tol,
        max_iter=grid.max_iter,
    )
    return coefs


def _standardize(X: np.ndarray, y: np.ndarray) -> _Standardized:
    """Center and scale like scikit-learn's ``StandardScaler`` (population std; a constant
    column keeps scale 1 and so stays all zeros)."""
    n = X.shape[0]
    mean = X.mean(axis=0)
    variance = X.var(axis=0)
    constant = variance <= n * _EPS * variance + (n * mean * _EPS) ** 2
    scale = np.where(constant, 1.0, np.sqrt(variance))
    y_mean = float(y.mean())
    y_scale = float(y.std()) or 1.0
    scaled = np.asfortranarray((X - mean) / scale)
    return _Standardized(scaled, (y - y_mean) / y_scale, mean, scale, y_mean, y_scale)
