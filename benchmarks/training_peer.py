"""The peer of ``bench_training.py --per-core``: the grid scoring training did before.

One ``enet_path`` loop per fold × regime config: copy the fold's training rows,
standardize them, form the Gram matrix ``X'X`` and ``X'y``, run scikit-learn's
``enet_path`` on the precomputed Gram for each l1_ratio (tol 1e-8), predict the
standardized validation rows and rank them with ``scipy.stats.rankdata``. Kept here
as it was, so that the benchmark measures against it rather than a straw man.
"""

from __future__ import annotations

from itertools import product

import numpy as np
from scipy.stats import rankdata
from sklearn.linear_model import enet_path

from strategy_factory.models.algorithms import Algorithm
from strategy_factory.models.config import TrainingConfig
from strategy_factory.models.inputs import TrainingData
from strategy_factory.models.paths import PathGrid, alpha_max
from strategy_factory.models.scoring import ic_columns, r2_columns
from strategy_factory.models.search import Candidate, GridScores, linear_grid, regime_rows
from strategy_factory.models.splits import Fold

_EPS = np.finfo(np.float64).eps


def rank_ic_columns(y: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Spearman correlation of every column with ``y``, by ``scipy.stats.rankdata``."""
    varies = np.ptp(predictions, axis=0) > 1e-12 * np.abs(predictions).max(axis=0, initial=0.0)
    ic = ic_columns(rankdata(y), rankdata(predictions, axis=0))
    return np.where(varies, ic, np.nan)


SCORES = {"r2": r2_columns, "ic": ic_columns, "rank_ic": rank_ic_columns}


def score_grid(
    data: TrainingData, folds: list[Fold], config: TrainingConfig, algorithm: Algorithm, tol: float
) -> GridScores:
    """Every candidate's fold scores, one Gram matrix and ``enet_path`` loop per unit."""
    rows, skipped = regime_rows(data, folds, config)
    grid = linear_grid(config, algorithm)
    grid = PathGrid(grid.alphas, grid.l1_ratios, tol, grid.max_iter, grid.relative)
    results = [
        path_scores(data.X, data.y, train, validation, grid, config.score)
        for pairs in rows.values()
        for train, validation in pairs
    ]
    per_regime = np.asarray(results).reshape(len(rows), len(folds), grid.l1_ratios.size, -1)
    scores = per_regime.transpose(0, 3, 2, 1).reshape(-1, len(folds))
    name = "alpha_fraction" if grid.relative else "alpha"
    candidates = [
        Candidate(regime, {name: float(alpha), "l1_ratio": float(l1_ratio)})
        for regime in rows
        for alpha, l1_ratio in product(grid.alphas, grid.l1_ratios)
    ]
    return GridScores(candidates, scores, skipped)


def path_scores(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    validation: np.ndarray,
    grid: PathGrid,
    score: str,
) -> np.ndarray:
    """Validation scores of every cell (``l1_ratios × alphas``) trained on ``train`` rows."""
    n = train.size
    X_train, y_train = X[train], y[train]
    mean = X_train.mean(axis=0)
    variance = X_train.var(axis=0)
    constant = variance <= n * _EPS * variance + (n * mean * _EPS) ** 2
    scale = np.where(constant, 1.0, np.sqrt(variance))
    y_mean = float(y_train.mean())
    y_scale = float(y_train.std()) or 1.0
    scaled = np.asfortranarray((X_train - mean) / scale)
    y_scaled = (y_train - y_mean) / y_scale
    gram = scaled.T @ scaled
    xy = scaled.T @ y_scaled
    paths = []
    for l1_ratio in grid.l1_ratios:
        top = alpha_max(gram, xy, n, l1_ratio)
        alphas = grid.alphas * top if grid.relative else grid.alphas
        if l1_ratio == 0:
            eigenvalues, vectors = np.linalg.eigh(gram)
            projected = vectors.T @ xy
            paths.append(vectors @ (projected[:, None] / (eigenvalues[:, None] + n * alphas)))
            continue
        _, coefs, _ = enet_path(
            scaled,
            y_scaled,
            l1_ratio=float(l1_ratio),
            alphas=alphas,
            precompute=gram,
            Xy=xy,
            check_input=False,
            copy_X=False,
            tol=grid.tol,
            max_iter=grid.max_iter,
        )
        paths.append(coefs)
    weights = np.stack(paths)
    scaled_validation = (X[validation] - mean) / scale
    flat = weights.transpose(1, 0, 2).reshape(X.shape[1], -1)
    predictions = y_mean + y_scale * (scaled_validation @ flat)
    scores = SCORES[score](y[validation], predictions)
    return scores.reshape(grid.l1_ratios.size, grid.alphas.size)
