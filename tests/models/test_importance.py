"""The planted feature ranks first by every importance method for every algorithm."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from strategy_factory.models import TrainingConfig, train
from strategy_factory.models.importance import normalize
from tests.models.conftest import Frames

# One small cell per algorithm: the test is about importance, not the search.
ALGORITHMS: dict[str, tuple[Any, dict[str, list[Any]] | None, list[str]]] = {
    "ElasticNet": ("ElasticNet", {"alpha": [0.01], "l1_ratio": [0.5]}, ["coefficient"]),
    "Lasso": ("Lasso", {"alpha": [0.01]}, ["coefficient"]),
    "Ridge": ("Ridge", {"alpha": [1.0]}, ["coefficient"]),
    "RandomForest": (
        "RandomForest",
        {"n_estimators": [30], "max_depth": [3], "min_samples_leaf": [100]},
        ["impurity"],
    ),
    "LightGBM": (
        "LightGBM",
        {"num_leaves": [7], "learning_rate": [0.05], "n_estimators": [50]},
        ["impurity"],
    ),
    # A user's own scikit-learn regressor, passed as an instance: no coef_, no
    # feature_importances_, so only the model-agnostic methods apply.
    "user estimator": (
        HistGradientBoostingRegressor(max_iter=30, max_depth=2, early_stopping=False),
        {},
        [],
    ),
}


@pytest.fixture(autouse=True)
def _allow_the_user_estimator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "FACTORY_ALLOWED_ESTIMATORS", "sklearn.ensemble:HistGradientBoostingRegressor"
    )


CASES = [
    (name, method)
    for name, (_, _, native) in ALGORITHMS.items()
    for method in [*native, "permutation", "shap"]
]


def trained(frames: Frames, name: str, importance: str) -> Any:
    algorithm, grid, _ = ALGORITHMS[name]
    config = TrainingConfig(
        symbol="SYN",
        features=list(frames.features.columns),
        algorithm=algorithm,
        grid=grid,
        regime_configs=[None],
        importance=importance,
        walk_forward={"folds": 3},
    )
    # OpenMP models on a shared 2-core machine: one thread each, or they starve each other.
    with threadpool_limits(limits=1, user_api="openmp"):
        return train(frames.features, frames.target, None, config)


@pytest.mark.parametrize(("name", "method"), CASES)
def test_planted_feature_ranks_first(planted: Frames, name: str, method: str) -> None:
    importance = trained(planted, name, method).importance
    assert importance.method == method
    assert importance.ranked()[0] == "planted", importance.scores
    assert len(importance.scores) == 11
    assert sum(importance.scores.values()) == pytest.approx(1.0)


def test_auto_picks_the_models_own_measure(planted: Frames) -> None:
    assert trained(planted, "Ridge", "auto").importance.method == "coefficient"
    assert trained(planted, "LightGBM", "auto").importance.method == "impurity"
    assert trained(planted, "user estimator", "auto").importance.method == "permutation"


def test_without_shap_it_falls_back_to_permutation_and_says_so(
    planted: Frames, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "shap", None)  # makes `import shap` raise ImportError
    importance = trained(planted, "Lasso", "shap").importance
    assert importance.method == "permutation"
    assert "shap is not installed" in importance.note
    assert importance.ranked()[0] == "planted"


def test_coefficient_importance_is_the_standardized_coefficient(planted: Frames) -> None:
    model = trained(planted, "Ridge", "coefficient")
    coef = np.abs(model.estimator.regressor_.named_steps["model"].coef_)
    expected = dict(zip(model.features, coef / coef.sum(), strict=True))
    assert model.importance.scores == pytest.approx(expected, abs=1e-15)


@given(st.lists(st.floats(-1, 1, allow_nan=False), min_size=1, max_size=12))
def test_scores_are_normalized_and_ranked_deterministically(raw: list[float]) -> None:
    names = [f"f{k:02d}" for k in range(len(raw))]
    found = normalize("x", names, np.array(raw))
    values = list(found.scores.values())
    assert all(v >= 0 for v in values)
    assert sum(values) == pytest.approx(1.0) or sum(values) == 0.0
    assert values == sorted(values, reverse=True)
    ties = [(v, n) for n, v in found.scores.items()]
    assert ties == sorted(ties, key=lambda t: (-t[0], t[1]))
    assert normalize("x", names[::-1], np.array(raw[::-1])).scores == pytest.approx(found.scores)
