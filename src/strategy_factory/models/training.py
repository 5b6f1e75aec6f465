"""``train``: one coarse unit of work from feature frame to a :class:`TrainedModel`.

Steps: check the inputs and cut them to the training range (nothing at or after
``min(selection_start, holdout_start)`` is read, and the last ``horizon`` bars before it
are purged) → purged walk-forward folds → score every grid cell × regime config on
validation only → refit the best configuration on every usable row of its regime →
feature importance. Inputs and output pickle, so the unit can run in a worker process.
"""

from __future__ import annotations

import platform
import uuid
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from strategy_factory.models.algorithms import (
    Algorithm,
    fold_model,
    resolve_algorithm,
    with_seed,
)
from strategy_factory.models.config import TrainingConfig
from strategy_factory.models.importance import (
    Importance,
    native_importance,
    permutation,
    resolve_method,
    shap_importance,
)
from strategy_factory.models.inputs import TrainingData, prepare
from strategy_factory.models.registry import TrainedModel
from strategy_factory.models.scoring import rank_ic_columns
from strategy_factory.models.search import GridScores, resolve_params, score_grid
from strategy_factory.models.signal import signal_test
from strategy_factory.models.splits import Fold, walk_forward_folds

_LIBRARIES = ("strategy-factory", "numpy", "pandas", "scikit-learn", "lightgbm", "joblib", "shap")


def train(
    features: pd.DataFrame,
    target: pd.Series,
    regimes: pd.DataFrame | None,
    config: TrainingConfig,
    n_jobs: int = 1,
) -> TrainedModel:
    """Search ``config``'s grid with purged walk-forward validation and refit the best.

    ``features``: one column per name in ``config.features`` (more are ignored), indexed
    by bar timestamp; ``target``: the value to predict at each bar (e.g. the next bar's
    log return), same timestamps; ``regimes``: integer ``regime_*`` label columns (-1 =
    undefined), needed when a regime config names them. ``n_jobs``: parallel fits.

    Example::

        model = train(features, target, regimes, TrainingConfig(symbol="SP500",
                      features=list(features.columns), data={"holdout_start": "2016-01-01"}))
    """
    # Parallelism comes from n_jobs and from running trains in worker processes; BLAS
    # threads on top of that oversubscribe the cores and spin (10× slower under load).
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ConvergenceWarning)
        model = _train(features, target, regimes, config, n_jobs)
    # A path that stops a hair short of the tolerance is counted on the model, not printed
    # at the user once per grid cell; any other warning is passed on as it came.
    unconverged = 0
    for caught in seen:
        if issubclass(caught.category, ConvergenceWarning):
            unconverged += 1
        else:
            warnings.warn_explicit(caught.message, caught.category, caught.filename, caught.lineno)
    return replace(model, metadata={**model.metadata, "unconverged_fits": unconverged})


def _train(
    features: pd.DataFrame,
    target: pd.Series,
    regimes: pd.DataFrame | None,
    config: TrainingConfig,
    n_jobs: int,
) -> TrainedModel:
    algorithm = resolve_algorithm(config.algorithm)
    data = prepare(features, target, regimes, config)
    folds = walk_forward_folds(data.index, config.walk_forward, config.target.horizon)
    grid = score_grid(data, folds, config, algorithm, n_jobs)
    best = grid.candidates[grid.best()]
    best_scores = grid.fold_scores[grid.best()]
    search_params = with_seed(algorithm, {**config.params, **best.params}, config.seed)

    def fit(rows: np.ndarray) -> Any:
        params = resolve_params(search_params, algorithm, data.X[rows], data.y[rows])
        return fold_model(algorithm.build(params)).fit(data.X[rows], data.y[rows])

    mask = data.regime_masks[best.regime]
    rows = np.flatnonzero(mask)
    final = fit(rows)
    params = resolve_params(search_params, algorithm, data.X[rows], data.y[rows])
    pairs = [(f.train[mask[f.train]], f.validation[mask[f.validation]]) for f in folds]
    fold_fits = [(fit(t), data.X[v], data.y[v]) for t, v in pairs]
    signal = signal_test(
        [(y, fitted.predict(X)) for fitted, X, y in fold_fits],
        final.predict(data.X[rows]),
        config.target.horizon,
    )
    importance = _importance(config, algorithm, final, data, pairs, fold_fits)
    validation = _validation(config, grid, best_scores, data, pairs)
    validation["signal"] = signal.as_json()
    validation["feature_rank_ic"] = feature_rank_ic(list(config.features), data, rows)
    return TrainedModel(
        estimator=final,
        features=tuple(config.features),
        config=config,
        chosen={
            "regime_config": config.regime_configs[best.regime],
            "params": _chosen_params(best.params, params),
            "score": float(grid.means()[grid.best()]),
            "selectable": grid.selectable(),
        },
        validation=validation,
        importance=importance,
        metadata=_metadata(config, algorithm, params, data, rows),
    )


def _chosen_params(searched: dict[str, Any], fitted: dict[str, Any]) -> dict[str, Any]:
    """The grid cell that won, with the absolute alpha it was refitted at (``auto`` grids)."""
    if "alpha_fraction" in searched:
        return {**searched, "alpha": float(fitted["alpha"])}
    return dict(searched)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def feature_rank_ic(features: list[str], data: TrainingData, rows: np.ndarray) -> dict[str, float]:
    """Each feature's own rank IC with the target on ``rows`` (0 where it is constant).

    Breaks ties between features a model gives the same importance (e.g. several that a
    lasso zeroed): the one with more univariate signal is kept.
    """
    ics = rank_ic_columns(data.y[rows], data.X[rows])
    return {name: float(np.nan_to_num(ic)) for name, ic in zip(features, ics, strict=True)}


def _importance(
    config: TrainingConfig,
    algorithm: Algorithm,
    final: Any,
    data: TrainingData,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    fold_fits: list[tuple[Any, np.ndarray, np.ndarray]],
) -> Importance:
    features = list(config.features)
    method = resolve_method(config.importance, algorithm, final)
    if method in ("coefficient", "impurity"):
        return native_importance(method, features, final)

    def by_permutation() -> Importance:
        return permutation(features, fold_fits, config.score, config.seed)

    if method == "permutation":
        return by_permutation()
    train_rows = np.concatenate([t for t, _ in pairs] + [v for _, v in pairs])
    validation_rows = np.concatenate([v for _, v in pairs])
    return shap_importance(
        features, final, data.X[train_rows], data.X[validation_rows], config.seed, by_permutation
    )


def _validation(
    config: TrainingConfig,
    grid: GridScores,
    scores: np.ndarray,
    data: TrainingData,
    pairs: list[tuple[np.ndarray, np.ndarray]],
) -> dict[str, Any]:
    folds = [
        {**Fold(train, validation).describe(data.index), "score": _finite(score)}
        for (train, validation), score in zip(pairs, scores, strict=True)
    ]
    return {
        "score": config.score,
        "mean": float(np.nan_to_num(scores).mean()),
        "folds": folds,
        "configurations_tried": len(grid.candidates),
        "skipped": [
            {"regime_config": config.regime_configs[k], "reason": why}
            for k, why in grid.skipped.items()
        ],
        "grid": [
            {
                "regime_config": config.regime_configs[c.regime],
                "params": c.params,
                "mean": _finite(m),
                "folds": [_finite(v) for v in s],
            }
            for c, s, m in zip(grid.candidates, grid.fold_scores, grid.means(), strict=True)
        ],
    }


def _metadata(
    config: TrainingConfig,
    algorithm: Algorithm,
    params: dict[str, Any],
    data: TrainingData,
    rows: np.ndarray,
) -> dict[str, Any]:
    cutoff = config.data.cutoff
    return {
        "id": uuid.uuid4().hex,
        "created_at": datetime.now(UTC).isoformat(),
        "fingerprint": config.fingerprint(),
        "symbol": config.symbol,
        "algorithm": algorithm.name,
        "features": list(config.features),
        "target": config.target.model_dump(),
        "hyperparameters": params,
        "grid": config.grid,
        "regime_configs": config.regime_configs,
        "data_range": {
            "train_start": data.index[rows[0]].isoformat(),
            "train_end": data.index[rows[-1]].isoformat(),
            "train_rows": int(rows.size),
            "cutoff": None if cutoff is None else cutoff.isoformat(),
        },
        "config": config.model_dump(mode="json"),
        "library_versions": _versions(),
    }


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            found[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            continue
    return found
