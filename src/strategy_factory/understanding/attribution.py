"""Each feature's contribution to a model's prediction, exactly.

Every model of the factory predicts through :func:`~strategy_factory.models.algorithms.fold_model`:
features standardized, the algorithm fitted on standardized data, the prediction scaled
back to the target's units. So a contribution in the target's units is the algorithm's
contribution on standardized data times the target's scale, and the contributions plus
the base value add up to the prediction:

- linear models (ElasticNet, Lasso, Ridge, anything with ``coef_``): ``coef_j · z_j``;
- LightGBM: its own exact TreeSHAP (``pred_contrib=True``), no extra dependency.

Other algorithms (a random forest, an SVR) have no exact attribution here: the caller
says so instead of approximating.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.models import TrainedModel
from strategy_factory.models.algorithms import inner_model
from strategy_factory.models.artifacts import LinearPredictor

BASE = "base value"


@dataclass(frozen=True)
class _Scaled:
    """A fitted model seen as: standardize features, algorithm, rescale the target."""

    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: float
    y_scale: float
    inner: Any
    method: str | None


def _scaled(estimator: Any) -> _Scaled:
    if isinstance(estimator, LinearPredictor):  # a linear model as stored
        return _Scaled(
            estimator.x_mean, estimator.x_scale, estimator.y_mean, estimator.y_scale,
            estimator, "linear",
        )  # fmt: skip
    inner = inner_model(estimator)
    scaler = estimator.regressor_.named_steps["scale"]
    method = None
    if hasattr(inner, "coef_") and np.ndim(inner.coef_) == 1:
        method = "linear"
    elif type(inner).__module__.startswith("lightgbm"):
        method = "tree_shap"
    return _Scaled(
        scaler.mean_, scaler.scale_, float(estimator.transformer_.mean_[0]),
        float(estimator.transformer_.scale_[0]), inner, method,
    )  # fmt: skip


def attribution_method(model: TrainedModel) -> str | None:
    """``"linear"``, ``"tree_shap"`` or None when the model has no exact attribution."""
    return _scaled(model.estimator).method


def contributions(model: TrainedModel, features: pd.DataFrame) -> pd.DataFrame | None:
    """Per row of ``features``, each model feature's contribution to the prediction (in
    the target's units) and the :data:`BASE` column; rows sum to :meth:`TrainedModel.predict`.

    None when the model's algorithm has no exact attribution (see the module docstring).
    Rows with a missing feature value are NaN, as their prediction is.
    """
    scaled = _scaled(model.estimator)
    if scaled.method is None:
        return None
    X = features.loc[:, list(model.features)].to_numpy(dtype=np.float64)
    complete = np.isfinite(X).all(axis=1)
    out = np.full((X.shape[0], X.shape[1] + 1), np.nan)
    if complete.any():
        z = (X[complete] - scaled.x_mean) / scaled.x_scale
        out[complete] = _standardized(scaled, z) * scaled.y_scale
        out[complete, -1] += scaled.y_mean
    return pd.DataFrame(out, index=features.index, columns=[*model.features, BASE])


def _standardized(scaled: _Scaled, z: np.ndarray) -> np.ndarray:
    """Contributions and base value on the standardized scale, one row per row of ``z``."""
    inner = scaled.inner
    if scaled.method == "linear":
        coef = inner.coef if isinstance(inner, LinearPredictor) else inner.coef_
        intercept = inner.intercept if isinstance(inner, LinearPredictor) else inner.intercept_
        base = np.full((z.shape[0], 1), float(np.ravel(intercept)[0]))
        return np.hstack([z * np.asarray(coef, dtype=np.float64), base])
    return np.asarray(inner.predict(z, pred_contrib=True), dtype=np.float64)
