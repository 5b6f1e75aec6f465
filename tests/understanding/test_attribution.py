"""Contributions add up to the prediction; LightGBM's agree with the shap package's
TreeSHAP (an independent implementation), linear ones with coefficient × standardized
feature computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
from lightgbm import LGBMRegressor
from sklearn.ensemble import RandomForestRegressor

from strategy_factory.models import TrainedModel
from strategy_factory.models.algorithms import PenalizedRegression, fold_model
from strategy_factory.understanding.attribution import BASE, attribution_method, contributions

FEATURES = ("momentum", "value", "noise")


def frame(seed: int, rows: int = 600) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal([0.5, -2, 10], [1, 3, 0.1], (rows, 3)), columns=FEATURES)
    y = 1e-3 * (0.8 * X["momentum"] - 0.2 * X["value"] ** 2) + 1e-3 * rng.normal(size=rows)
    return X, y.to_numpy()


def trained(estimator: object, seed: int = 0) -> TrainedModel:
    X, y = frame(seed)
    fitted = fold_model(estimator).fit(X.to_numpy(), y)
    return TrainedModel(fitted, FEATURES, None, {}, {}, None, {"id": "m"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "estimator",
    [PenalizedRegression(alpha=0.01, l1_ratio=0.5), LGBMRegressor(n_estimators=30, verbose=-1)],
)
def test_contributions_add_up_to_the_prediction(estimator: object) -> None:
    model = trained(estimator)
    X, _ = frame(1, 200)
    X.iloc[3, 1] = np.nan
    parts = contributions(model, X)
    assert parts is not None
    assert list(parts.columns) == [*FEATURES, BASE]
    assert parts.iloc[3].isna().all()
    np.testing.assert_allclose(parts.sum(axis=1, skipna=False), model.predict(X), rtol=1e-9)


def test_linear_contribution_is_coefficient_times_standardized_feature() -> None:
    model = trained(PenalizedRegression(alpha=0.01, l1_ratio=0.5))
    X_train, y_train = frame(0)
    X, _ = frame(2, 50)
    fitted = model.estimator.regressor_.named_steps["model"]
    z = (X - X_train.mean()) / X_train.std(ddof=0)
    expected = z * fitted.coef_ * y_train.std()
    parts = contributions(model, X)
    assert parts is not None
    np.testing.assert_allclose(parts[list(FEATURES)], expected, rtol=1e-9, atol=1e-15)
    assert attribution_method(model) == "linear"


def test_lightgbm_contributions_match_shap_tree_explainer() -> None:
    model = trained(LGBMRegressor(n_estimators=30, verbose=-1))
    X, _ = frame(3, 100)
    parts = contributions(model, X)
    assert parts is not None
    scaler = model.estimator.regressor_.named_steps["scale"]
    booster = model.estimator.regressor_.named_steps["model"]
    explained = shap.TreeExplainer(booster).shap_values(scaler.transform(X.to_numpy()))
    scale = model.estimator.transformer_.scale_[0]
    np.testing.assert_allclose(parts[list(FEATURES)], explained * scale, rtol=1e-6, atol=1e-12)
    assert attribution_method(model) == "tree_shap"


def test_other_algorithms_have_no_attribution() -> None:
    model = trained(RandomForestRegressor(n_estimators=5, random_state=0))
    assert attribution_method(model) is None
    assert contributions(model, frame(1, 10)[0]) is None
