"""Score every cell of a training grid on every fold and pick the best on validation only.

A regime config restricts both the training rows and the validation rows it is scored
on to its allowed labels: a model meant to trade only in calm markets is judged only on
calm bars. A config that leaves fewer than ``min_train_rows`` training or
``min_validation_rows`` validation rows in any fold is skipped, with the reason recorded.

The best configuration has the highest mean fold score. Exact ties (typically several
alphas that all shrink every coefficient to zero) go to the candidate listed first:
regime configs in the order given, then for linear models the strongest penalty (largest
alpha, then largest l1_ratio), for other algorithms the grid order of scikit-learn's
``ParameterGrid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import ParameterGrid

from strategy_factory.errors import FactoryError
from strategy_factory.models.algorithms import Algorithm, fold_model, with_seed
from strategy_factory.models.config import TrainingConfig
from strategy_factory.models.inputs import TrainingData
from strategy_factory.models.paths import PathGrid, path_scores
from strategy_factory.models.scoring import score_predictions
from strategy_factory.models.splits import Fold

RowPairs = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Candidate:
    """One grid cell: a regime config (its position in the config's list) and parameters."""

    regime: int
    params: dict[str, Any]


@dataclass(frozen=True)
class GridScores:
    """Fold scores of every candidate (candidates × folds) and the configs skipped."""

    candidates: list[Candidate]
    fold_scores: np.ndarray
    skipped: dict[int, str]

    def best(self) -> int:
        """Position of the candidate with the highest mean fold score (first on ties)."""
        return int(np.argmax(self.fold_scores.mean(axis=1)))


def regime_rows(
    data: TrainingData, folds: list[Fold], config: TrainingConfig
) -> tuple[dict[int, RowPairs], dict[int, str]]:
    """Per regime config (by position): its rows in every fold, or why it was skipped."""
    usable: dict[int, RowPairs] = {}
    skipped: dict[int, str] = {}
    for position, mask in enumerate(data.regime_masks):
        pairs = [(f.train[mask[f.train]], f.validation[mask[f.validation]]) for f in folds]
        short = [
            f"fold {k}: {train.size} training / {validation.size} validation rows"
            for k, (train, validation) in enumerate(pairs, 1)
            if train.size < config.min_train_rows or validation.size < config.min_validation_rows
        ]
        if short:
            skipped[position] = (
                f"too few rows (need {config.min_train_rows} training and "
                f"{config.min_validation_rows} validation per fold): {'; '.join(short)}"
            )
        else:
            usable[position] = pairs
    if not usable:
        raise FactoryError(
            "every regime config selects too few rows: "
            + "; ".join(f"{config.regime_configs[k]}: {why}" for k, why in skipped.items())
        )
    return usable, skipped


def score_grid(
    data: TrainingData,
    folds: list[Fold],
    config: TrainingConfig,
    algorithm: Algorithm,
    n_jobs: int = 1,
) -> GridScores:
    """Fold scores of every candidate of ``config``'s grid × regime configs."""
    rows, skipped = regime_rows(data, folds, config)
    if algorithm.family == "linear":
        candidates, scores = _linear(data, rows, config, algorithm, n_jobs)
    else:
        candidates, scores = _exhaustive(data, rows, config, algorithm, n_jobs)
    return GridScores(candidates, scores, skipped)


def linear_grid(config: TrainingConfig, algorithm: Algorithm) -> PathGrid:
    """The alphas (descending) and l1_ratios of a linear config, with its solver settings."""
    grid = config.grid or {}
    l1_ratios = grid.get("l1_ratio", [algorithm.fixed.get("l1_ratio")])
    return PathGrid(
        alphas=np.sort(np.asarray(grid["alpha"], dtype=np.float64))[::-1].copy(),
        l1_ratios=np.sort(np.asarray(l1_ratios, dtype=np.float64))[::-1].copy(),
        tol=float(config.params["tol"]),
        max_iter=int(config.params["max_iter"]),
    )


def _linear(
    data: TrainingData,
    rows: dict[int, RowPairs],
    config: TrainingConfig,
    algorithm: Algorithm,
    n_jobs: int,
) -> tuple[list[Candidate], np.ndarray]:
    grid = linear_grid(config, algorithm)
    units = [(regime, pair) for regime, pairs in rows.items() for pair in pairs]
    # Threads: the Gram products and coordinate descent release the GIL, and the
    # arrays are shared instead of copied to worker processes.
    results = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(path_scores)(data.X, data.y, train, validation, grid, config.score)
        for _, (train, validation) in units
    )
    folds = len(next(iter(rows.values())))
    # per regime: folds × l1_ratios × alphas → candidates (alpha desc, l1 desc) × folds
    per_regime = np.asarray(results).reshape(len(rows), folds, grid.l1_ratios.size, -1)
    scores = per_regime.transpose(0, 3, 2, 1).reshape(-1, folds)
    candidates = [
        Candidate(regime, {"alpha": float(alpha), "l1_ratio": float(l1_ratio)})
        for regime in rows
        for alpha, l1_ratio in product(grid.alphas, grid.l1_ratios)
    ]
    return candidates, scores


def _exhaustive(
    data: TrainingData,
    rows: dict[int, RowPairs],
    config: TrainingConfig,
    algorithm: Algorithm,
    n_jobs: int,
) -> tuple[list[Candidate], np.ndarray]:
    cells = list(ParameterGrid(config.grid or {}))
    candidates = [Candidate(regime, cell) for regime in rows for cell in cells]
    base = with_seed(algorithm, config.params, config.seed)
    units = [
        (candidate, train, validation)
        for candidate in candidates
        for train, validation in rows[candidate.regime]
    ]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_score)(
            algorithm, {**base, **c.params}, data.X, data.y, train, validation, config.score
        )
        for c, train, validation in units
    )
    return candidates, np.asarray(results).reshape(len(candidates), -1)


def _fit_and_score(
    algorithm: Algorithm,
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    validation: np.ndarray,
    score: str,
) -> float:
    model = fold_model(algorithm.build(params)).fit(X[train], y[train])
    return score_predictions(score, y[validation], model.predict(X[validation]))  # type: ignore[arg-type]
