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

from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.models import TrainedModel
from strategy_factory.models.algorithms import inner_model

BASE = "base value"


def attribution_method(model: TrainedModel) -> str | None:
    """``"linear"``, ``"tree_shap"`` or None when the model has no exact attribution."""
    inner = inner_model(model.estimator)
    if hasattr(inner, "coef_") and np.ndim(inner.coef_) == 1:
        return "linear"
    if type(inner).__module__.startswith("lightgbm"):
        return "tree_shap"
    return None


def contributions(model: TrainedModel, features: pd.DataFrame) -> pd.DataFrame | None:
    """Per row of ``features``, each model feature's contribution to the prediction (in
    the target's units) and the :data:`BASE` column; rows sum to :meth:`TrainedModel.predict`.

    None when the model's algorithm has no exact attribution (see the module docstring).
    Rows with a missing feature value are NaN, as their prediction is.
    """
    method = attribution_method(model)
    if method is None:
        return None
    fitted = model.estimator
    scaler = fitted.regressor_.named_steps["scale"]
    target_mean, target_scale = (
        float(fitted.transformer_.mean_[0]),
        float(fitted.transformer_.scale_[0]),
    )
    X = features.loc[:, list(model.features)].to_numpy(dtype=np.float64)
    complete = np.isfinite(X).all(axis=1)
    out = np.full((X.shape[0], X.shape[1] + 1), np.nan)
    if complete.any():
        z = scaler.transform(X[complete])
        out[complete] = _standardized(inner_model(fitted), z, method) * target_scale
        out[complete, -1] += target_mean
    return pd.DataFrame(out, index=features.index, columns=[*model.features, BASE])


def _standardized(inner: Any, z: np.ndarray, method: str) -> np.ndarray:
    """Contributions and base value on the standardized scale, one row per row of ``z``."""
    if method == "linear":
        base = np.full((z.shape[0], 1), float(np.ravel(inner.intercept_)[0]))
        return np.hstack([z * np.asarray(inner.coef_, dtype=np.float64), base])
    return np.asarray(inner.predict(z, pred_contrib=True), dtype=np.float64)
