"""The path-based grid chooses what an exhaustive scikit-learn GridSearchCV chooses.

The reference is built independently of our grid code: a scikit-learn Pipeline
(StandardScaler → ElasticNet) inside a TransformedTargetRegressor (StandardScaler on the
target, predictions in target units), one GridSearchCV per regime config on the rows
of that config, with the same purged walk-forward folds passed as an explicit CV
iterable, the same scorer and the same solver tolerance (tol=1e-8, max_iter=100,000).
Fold scores must agree to 1e-9 and refitted predictions to 1e-6 (in return units).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import ElasticNet, Ridge
from sklearn.model_selection import GridSearchCV

from strategy_factory.data import synthetic_bars
from strategy_factory.models import TrainingConfig, fold_model, train, walk_forward_folds
from strategy_factory.models.algorithms import AUTO_ALPHA_FRACTIONS, LINEAR_SOLVER
from strategy_factory.models.moments import moments_of
from strategy_factory.models.paths import PathGrid, fold_alpha_max, path_scores
from strategy_factory.models.scoring import scorer
from tests.models.conftest import Frames, lagged_frames

PREFIX = "regressor__model__"


def training_rows(frames: Frames, config: TrainingConfig) -> pd.DatetimeIndex:
    """Bars before the cutoff, less the last ``horizon`` (their targets cross it)."""
    index = frames.features.index
    if config.data.start is not None:
        index = index[index >= config.data.start]
    cutoff = config.data.cutoff
    kept = index[index < cutoff] if cutoff is not None else index
    return kept[: len(kept) - config.target.horizon]


def reference_search(frames: Frames, config: TrainingConfig) -> list[dict[str, Any]]:
    """One fitted GridSearchCV per regime config, with its rows and fold scores."""
    index = training_rows(frames, config)
    X = frames.features.loc[index, config.features].to_numpy()
    y = frames.target.loc[index].to_numpy()
    folds = walk_forward_folds(index, config.walk_forward, config.target.horizon)
    grid = {f"{PREFIX}{name}": values for name, values in (config.grid or {}).items()}
    results = []
    for regime_config in config.regime_configs:
        mask = np.ones(len(index), dtype=bool)
        for column, labels in (regime_config or {}).items():
            mask &= frames.regimes.loc[index, column].isin(labels).to_numpy()
        rows = np.flatnonzero(mask)
        position = np.full(len(index), -1)
        position[rows] = np.arange(rows.size)
        cv = [
            (position[f.train[mask[f.train]]], position[f.validation[mask[f.validation]]])
            for f in folds
        ]
        if any(
            t.size < config.min_train_rows or v.size < config.min_validation_rows for t, v in cv
        ):
            results.append({"regime_config": regime_config, "search": None})
            continue
        estimator = fold_model(ElasticNet(**LINEAR_SOLVER))
        search = GridSearchCV(estimator, grid, cv=cv, scoring=scorer(config.score), refit=True)
        search.fit(X[rows], y[rows])
        results.append({"regime_config": regime_config, "search": search})
    return results


def fold_scores(search: GridSearchCV) -> dict[tuple[float, float], np.ndarray]:
    table = search.cv_results_
    splits = sum(1 for key in table if key.startswith("split") and key.endswith("_test_score"))
    return {
        (p[f"{PREFIX}alpha"], p[f"{PREFIX}l1_ratio"]): np.array(
            [table[f"split{k}_test_score"][i] for k in range(splits)]
        )
        for i, p in enumerate(table["params"])
    }


def assert_same_choice(frames: Frames, config: TrainingConfig) -> int:
    """Assert the choice and refit match GridSearchCV's; returns how many cells tie for best."""
    model = train(frames.features, frames.target, frames.regimes, config)
    reference = reference_search(frames, config)
    skipped = [r["regime_config"] for r in reference if r["search"] is None]
    assert [s["regime_config"] for s in model.validation["skipped"]] == skipped
    reference = [r for r in reference if r["search"] is not None]

    # A constant prediction has no rank: NaN (None) for us, 0 for the scikit-learn scorer.
    ours = {
        (str(row["regime_config"]), row["params"]["alpha"], row["params"]["l1_ratio"]): [
            0.0 if v is None else v for v in row["folds"]
        ]
        for row in model.validation["grid"]
    }
    theirs = {
        (str(r["regime_config"]), alpha, l1): scores
        for r in reference
        for (alpha, l1), scores in fold_scores(r["search"]).items()
    }
    assert ours.keys() == theirs.keys()
    for cell, scores in theirs.items():
        np.testing.assert_allclose(ours[cell], scores, rtol=0, atol=1e-9, err_msg=str(cell))

    best = max(reference, key=lambda r: r["search"].best_score_)
    best_score = best["search"].best_score_
    tied = {cell for cell, s in theirs.items() if s.mean() >= best_score - 1e-9}
    chosen = model.chosen
    cell = (str(chosen["regime_config"]), chosen["params"]["alpha"], chosen["params"]["l1_ratio"])
    assert cell in tied
    if len(tied) == 1:
        assert chosen["regime_config"] == best["regime_config"]
        assert chosen["params"] == {
            "alpha": best["search"].best_params_[f"{PREFIX}alpha"],
            "l1_ratio": best["search"].best_params_[f"{PREFIX}l1_ratio"],
        }
    assert chosen["score"] == pytest.approx(best_score, abs=1e-9)

    everything = frames.features[config.features]
    np.testing.assert_allclose(
        model.predict(everything), best["search"].predict(everything.to_numpy()), rtol=0, atol=1e-6
    )
    return len(tied)


# The absolute grid of earlier versions (the default is now "auto", relative to each
# fold's alpha_max, which GridSearchCV has no way to express).
ABSOLUTE_ALPHAS = [0.001, 0.01, 0.1, 1.0, 10.0, 50.0, 100.0]


@pytest.mark.parametrize("score", ["r2", "ic"])
def test_same_choice_as_gridsearchcv_on_sp500(sp500: Frames, score: str) -> None:
    config = TrainingConfig(
        symbol="SP500",
        features=list(sp500.features.columns),
        grid={"alpha": ABSOLUTE_ALPHAS, "l1_ratio": [0.1, 0.3, 0.5, 0.7, 0.9, 0.95]},
        data={"start": "2006-01-01", "holdout_start": "2016-01-01"},
        score=score,
    )
    assert (
        len(config.regime_configs) * len(config.grid["alpha"]) * len(config.grid["l1_ratio"]) == 294
    )
    assert assert_same_choice(sp500, config) == 1  # one cell wins outright: a strict comparison


def test_exact_ties_go_to_the_strongest_penalty() -> None:
    # A driftless random walk: nothing predicts it, the best models are those shrunk to
    # the intercept, and they tie exactly.
    frames = lagged_frames(synthetic_bars(3000, freq="1h", seed=4), seed=4, noise=2, lags=2)
    config = TrainingConfig(
        symbol="RW",
        features=list(frames.features.columns),
        grid={"alpha": [0.001, 1.0, 10.0, 100.0], "l1_ratio": [0.5, 1.0]},
        regime_configs=[None],
        walk_forward={"folds": 3},
        score="r2",
    )
    assert assert_same_choice(frames, config) > 1
    model = train(frames.features, frames.target, None, config)
    assert model.chosen["params"] == {"alpha": 100.0, "l1_ratio": 1.0}
    assert not np.any(model.estimator.regressor_.named_steps["model"].coef_)
    # Chosen by R², the intercept-only model wins; the signal test says it ranks nothing.
    assert model.validation["signal"]["constant"] and not model.validation["signal"]["usable"]


def test_by_rank_ic_a_constant_model_is_never_chosen() -> None:
    frames = lagged_frames(synthetic_bars(3000, freq="1h", seed=4), seed=4, noise=2, lags=2)
    config = TrainingConfig(
        symbol="RW",
        features=list(frames.features.columns),
        grid={"alpha": [0.001, 1.0, 10.0, 100.0], "l1_ratio": [0.5, 1.0]},
        regime_configs=[None],
        walk_forward={"folds": 3},
    )
    assert config.score == "rank_ic"
    model = train(frames.features, frames.target, None, config)
    constant = [row for row in model.validation["grid"] if row["mean"] is None]
    assert constant  # the strong penalties zero every coefficient: they score NaN ...
    assert model.chosen["params"]["alpha"] == 0.001  # ... and the ordering model is chosen
    assert model.chosen["selectable"] and not model.validation["signal"]["constant"]
    # A random walk: whatever ordering it found is not significantly above zero.
    assert not model.validation["signal"]["usable"], model.validation["signal"]


@pytest.mark.parametrize("score", ["ic", "rank_ic"])
def test_same_choice_as_gridsearchcv_on_planted_data(planted: Frames, score: str) -> None:
    config = TrainingConfig(
        symbol="SYN",
        features=list(planted.features.columns),
        grid={"alpha": [0.001, 0.003, 0.01, 0.03, 0.1], "l1_ratio": [0.2, 0.6, 1.0]},
        regime_configs=[None, {"regime_gmm": [0]}, {"regime_trend": [1, 3], "regime_hmm": [0]}],
        walk_forward={"folds": 3, "test_window": 1500, "scheme": "rolling", "train_window": 3000},
        target={"horizon": 2},
        data={"selection_start": planted.features.index[-500]},
        score=score,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning either
        tied = assert_same_choice(planted, config)
    assert tied == 1  # the planted signal makes one cell the clear winner: a strict comparison


def one_fold_scores(
    X: np.ndarray,
    y: np.ndarray,
    train_rows: np.ndarray,
    validation: np.ndarray,
    grid: PathGrid,
    score: str,
) -> np.ndarray:
    """:func:`path_scores` of one fold trained on ``train_rows``."""
    fold = moments_of(X[train_rows], y[train_rows]).standardized()
    return path_scores(fold, X[validation], y[validation], grid, score)  # type: ignore[arg-type]


def test_auto_alphas_are_fractions_of_each_folds_alpha_max(planted: Frames) -> None:
    X = planted.features.to_numpy()[:4000]
    y = planted.target.to_numpy()[:4000]
    train_rows, validation = np.arange(3000), np.arange(3000, 4000)
    fractions = np.array(AUTO_ALPHA_FRACTIONS)
    l1_ratios = np.array([0.9, 0.5, 0.0])
    relative = PathGrid(fractions, l1_ratios, **LINEAR_SOLVER, relative=True)
    scores = one_fold_scores(X, y, train_rows, validation, relative, "rank_ic")
    for row, l1_ratio in enumerate(l1_ratios):
        top = fold_alpha_max(X[train_rows], y[train_rows], l1_ratio)
        absolute = PathGrid(fractions * top, np.array([l1_ratio]), **LINEAR_SOLVER)
        expected = one_fold_scores(X, y, train_rows, validation, absolute, "rank_ic")[0]
        np.testing.assert_allclose(scores[row], expected, rtol=0, atol=1e-12)
    # At fraction 1 every lasso-type coefficient is zero: a constant, unrankable model.
    assert np.isnan(scores[0, 0]) and np.isnan(scores[1, 0])
    assert np.isfinite(scores[:, 1:]).all() and np.isfinite(scores[2]).all()  # ridge never


def test_the_default_auto_grid_refits_at_the_fraction_of_the_final_rows(planted: Frames) -> None:
    config = TrainingConfig(
        symbol="SYN",
        features=list(planted.features.columns),
        regime_configs=[None],
        data={"selection_start": planted.features.index[-500]},
    )
    assert config.grid == {"alpha": "auto", "l1_ratio": [0.1, 0.3, 0.5, 0.7, 0.9, 0.95]}
    model = train(planted.features, planted.target, None, config)
    params = model.chosen["params"]
    rows = training_rows(planted, config)
    top = fold_alpha_max(
        planted.features.loc[rows].to_numpy(), planted.target.loc[rows].to_numpy(),
        params["l1_ratio"],
    )  # fmt: skip
    assert params["alpha"] == pytest.approx(params["alpha_fraction"] * top, rel=1e-12)
    assert model.validation["signal"]["usable"]
    assert model.importance.ranked()[0] == "planted"


def test_ridge_path_equals_sklearn_ridge_and_elasticnet(planted: Frames) -> None:
    X = planted.features.to_numpy()[:3000]
    y = planted.target.to_numpy()[:3000]
    train_rows, validation = np.arange(2000), np.arange(2000, 3000)
    alphas = np.array([1.0, 0.1, 0.01])
    grid = PathGrid(alphas, np.array([0.0]), **LINEAR_SOLVER)
    scores = one_fold_scores(X, y, train_rows, validation, grid, "r2")[0]
    n = train_rows.size
    for alpha, score in zip(alphas, scores, strict=True):
        ridge = fold_model(Ridge(alpha=alpha * n)).fit(X[train_rows], y[train_rows])
        expected = ridge.score(X[validation], y[validation])
        assert score == pytest.approx(expected, abs=1e-10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn discourages l1_ratio=0: it is slow, not wrong
            enet = fold_model(ElasticNet(alpha=alpha, l1_ratio=0.0, tol=1e-12, max_iter=10**6))
            enet.fit(X[train_rows], y[train_rows])
        assert score == pytest.approx(enet.score(X[validation], y[validation]), abs=1e-7)
