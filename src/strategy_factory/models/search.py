"""Score every cell of a training grid on every fold and pick the best on validation only.

A regime config restricts both the training rows and the validation rows it is scored
on to its allowed labels: a model meant to trade only in calm markets is judged only on
calm bars. A config that leaves fewer than ``min_train_rows`` training or
``min_validation_rows`` validation rows in any fold is skipped, with the reason recorded.

The best configuration has the highest mean fold score. A fold where a candidate's
predictions are constant scores NaN under ``ic``/``rank_ic`` (it carries no information)
and counts as 0 in the mean; a candidate constant in every fold is never chosen. Exact
ties go to the candidate listed first: regime configs in the order given, then for linear
models the strongest penalty (largest alpha, then largest l1_ratio), for other
algorithms the grid order of scikit-learn's ``ParameterGrid``.

Linear grids may give ``alpha`` as ``"auto"``: alphas relative to each fold's
``alpha_max`` (the smallest penalty that zeroes every coefficient), as scikit-learn's
``enet_path`` does, so the grid spans the same range of shrinkage on any data. The
candidates then carry ``alpha_fraction``; :func:`resolve_params` turns it into the
absolute ``alpha`` of the rows a model is fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import ParameterGrid

from strategy_factory.errors import FactoryError
from strategy_factory.models.algorithms import (
    AUTO,
    AUTO_ALPHA_FRACTIONS,
    Algorithm,
    fold_model,
    with_seed,
)
from strategy_factory.models.config import TrainingConfig
from strategy_factory.models.descent import DESCENT_TOL
from strategy_factory.models.inputs import TrainingData
from strategy_factory.models.moments import Moments, range_moments
from strategy_factory.models.paths import PathGrid, fold_alpha_max, path_scores
from strategy_factory.models.scoring import Score, score_predictions
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

    def means(self) -> np.ndarray:
        """Mean fold score of each candidate; NaN for one that was constant in every fold."""
        informative = np.isfinite(self.fold_scores).any(axis=1)
        means = np.nan_to_num(self.fold_scores, nan=0.0).mean(axis=1)
        return np.where(informative, means, np.nan)

    def selectable(self) -> bool:
        """Whether any candidate's predictions varied (else every one is constant)."""
        return bool(np.isfinite(self.means()).any())

    def best(self) -> int:
        """Position of the candidate with the highest mean fold score (first on ties).

        When every candidate is constant, the first (the most regularized) is returned
        and :meth:`selectable` says so.
        """
        means = self.means()
        return int(np.nanargmax(means)) if np.isfinite(means).any() else 0


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
        candidates, scores = _linear(data, folds, rows, config, algorithm, n_jobs)
    else:
        candidates, scores = _exhaustive(data, rows, config, algorithm, n_jobs)
    return GridScores(candidates, scores, skipped)


def linear_grid(config: TrainingConfig, algorithm: Algorithm) -> PathGrid:
    """The alphas (descending) and l1_ratios of a linear config, with its solver settings.

    An ``"auto"`` alpha grid gives fractions of each fold's alpha_max (``relative``).
    Descent runs to ``DESCENT_TOL`` (or the config's ``tol`` if looser) before each alpha
    is solved exactly: a tighter ``tol`` could only cost time, not change an answer.
    """
    grid = config.grid or {}
    l1_ratios = grid.get("l1_ratio", [algorithm.fixed.get("l1_ratio")])
    relative = grid["alpha"] == AUTO
    alphas = AUTO_ALPHA_FRACTIONS if relative else grid["alpha"]
    return PathGrid(
        alphas=np.sort(np.asarray(alphas, dtype=np.float64))[::-1].copy(),
        l1_ratios=np.sort(np.asarray(l1_ratios, dtype=np.float64))[::-1].copy(),
        tol=max(float(config.params["tol"]), DESCENT_TOL),
        max_iter=int(config.params["max_iter"]),
        relative=relative,
    )


def resolve_params(
    params: dict[str, Any], algorithm: Algorithm, X: np.ndarray, y: np.ndarray
) -> dict[str, Any]:
    """``params`` with an ``alpha_fraction`` turned into the absolute ``alpha`` of these rows.

    The fraction is of the rows' own alpha_max, exactly as the fold scores were computed.
    """
    if "alpha_fraction" not in params:
        return params
    resolved = {k: v for k, v in params.items() if k != "alpha_fraction"}
    l1_ratio = float({**resolved, **algorithm.fixed}.get("l1_ratio", 0.5))
    resolved["alpha"] = params["alpha_fraction"] * fold_alpha_max(X, y, l1_ratio)
    return resolved


def _linear(
    data: TrainingData,
    folds: list[Fold],
    rows: dict[int, RowPairs],
    config: TrainingConfig,
    algorithm: Algorithm,
    n_jobs: int,
) -> tuple[list[Candidate], np.ndarray]:
    grid = linear_grid(config, algorithm)
    regimes = list(rows)
    # Fold training rows are contiguous ranges (before a regime's mask): one pass gives
    # every fold × regime its standardized Gram; only validation rows are read again.
    ranges = [(int(fold.train[0]), int(fold.train[-1]) + 1) for fold in folds]
    moments = range_moments(data.X, data.y, tuple(data.regime_masks[k] for k in regimes), ranges)
    units = [
        (moments[(position, number)], validation)
        for position, regime in enumerate(regimes)
        for number, (_, validation) in enumerate(rows[regime])
    ]
    # Threads: descent and the validation products release the GIL, and the arrays are
    # shared instead of copied to worker processes.
    results = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_unit_scores)(fold, data, validation, grid, config.score)
        for fold, validation in units
    )
    # per regime: folds × l1_ratios × alphas → candidates (alpha desc, l1 desc) × folds
    per_regime = np.asarray(results).reshape(len(rows), len(folds), grid.l1_ratios.size, -1)
    scores = per_regime.transpose(0, 3, 2, 1).reshape(-1, len(folds))
    name = "alpha_fraction" if grid.relative else "alpha"
    candidates = [
        Candidate(regime, {name: float(alpha), "l1_ratio": float(l1_ratio)})
        for regime in rows
        for alpha, l1_ratio in product(grid.alphas, grid.l1_ratios)
    ]
    return candidates, scores


def _unit_scores(
    fold: Moments, data: TrainingData, validation: np.ndarray, grid: PathGrid, score: Score
) -> np.ndarray:
    return path_scores(fold.standardized(), data.X[validation], data.y[validation], grid, score)


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
