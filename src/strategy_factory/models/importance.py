"""How much each feature matters to a trained model, by a named method.

- ``coefficient``: |coefficient| of a linear model on standardized features and target.
- ``impurity``: a tree ensemble's own importance (random forest impurity decrease,
  LightGBM total gain).
- ``permutation``: for any model, the drop in validation score when a feature is
  shuffled, measured out of sample: the chosen configuration is refitted on each fold's
  training rows and scored on that fold's validation rows, and the drops are averaged.
- ``shap``: mean |SHAP value| of the final model over the validation rows (``shap`` is
  an optional dependency; without it the permutation method is used and said so).

Scores are clipped at zero and normalized to sum to 1 (all zeros when the model uses no
feature at all, e.g. a linear model shrunk to its intercept); features are ranked by
score, ties by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from strategy_factory.errors import FactoryError
from strategy_factory.models.algorithms import Algorithm, inner_model
from strategy_factory.models.scoring import Score, scorer

METHODS = ("coefficient", "impurity", "permutation", "shap")
_SHAP_ROWS = 1000
_BACKGROUND_ROWS = 200
_GENERIC_ROWS = 64
_GENERIC_BACKGROUND_ROWS = 32
_KERNEL_COALITIONS = 512


@dataclass(frozen=True)
class Importance:
    """Normalized importance ``scores`` by feature, best first, and the ``method`` used."""

    method: str
    scores: dict[str, float]
    note: str = ""

    def ranked(self) -> list[str]:
        """Feature names, most important first."""
        return list(self.scores)

    def top(self, count: int) -> dict[str, float]:
        """The ``count`` most important features with their scores."""
        return dict(list(self.scores.items())[:count])


def normalize(method: str, features: list[str], raw: np.ndarray, note: str = "") -> Importance:
    """An :class:`Importance` from raw per-feature values (clipped at 0, summing to 1)."""
    values = np.clip(np.nan_to_num(np.asarray(raw, dtype=np.float64)), 0.0, None)
    total = values.sum()
    shares = values / total if total > 0 else values
    order = sorted(range(len(features)), key=lambda i: (-shares[i], features[i]))
    return Importance(method, {features[i]: float(shares[i]) for i in order}, note)


def resolve_method(method: str, algorithm: Algorithm, fitted: Any) -> str:
    """The concrete method for ``method`` (``auto`` picks the model's own measure)."""
    model = inner_model(fitted)
    native = {
        "coefficient": hasattr(model, "coef_"),
        "impurity": hasattr(model, "feature_importances_"),
    }
    if method == "auto":
        if algorithm.family == "linear" or native["coefficient"]:
            return "coefficient"
        return "impurity" if native["impurity"] else "permutation"
    if method in native and not native[method]:
        raise FactoryError(
            f"importance method {method!r} does not apply to {algorithm.name}; "
            "use permutation or shap"
        )
    return method


def native_importance(method: str, features: list[str], fitted: Any) -> Importance:
    """Coefficient or impurity importance of a fitted :func:`fold_model`."""
    model = inner_model(fitted)
    if method == "coefficient":
        return normalize(method, features, np.abs(np.ravel(model.coef_)))
    booster = getattr(model, "booster_", None)
    if booster is not None:
        return normalize(method, features, booster.feature_importance(importance_type="gain"))
    return normalize(method, features, model.feature_importances_)


FoldFits = list[tuple[Any, np.ndarray, np.ndarray]]


def permutation(
    features: list[str], fold_fits: FoldFits, score: Score, seed: int, repeats: int = 5
) -> Importance:
    """Mean drop in validation ``score`` per shuffled feature over ``(model, X, y)`` folds."""
    # sklearn.inspection loads all of scikit-learn's ensembles: only for a model that needs it.
    from sklearn.inspection import permutation_importance

    drops = [
        permutation_importance(
            model, X, y, scoring=scorer(score), n_repeats=repeats, random_state=seed
        ).importances_mean
        for model, X, y in fold_fits
    ]
    return normalize("permutation", features, np.mean(drops, axis=0))


def shap_importance(
    features: list[str],
    fitted: Any,
    X_train: np.ndarray,
    X_explain: np.ndarray,
    seed: int,
    fallback: Callable[[], Importance],
) -> Importance:
    """Mean |SHAP| of the final model over ``X_explain`` rows, or ``fallback()`` without shap."""
    try:
        import shap
    except ImportError:
        found = fallback()
        return Importance(
            found.method, found.scores, "shap is not installed (pip install shap); used permutation"
        )
    scale = fitted.regressor_.named_steps["scale"]
    model = inner_model(fitted)
    rng = np.random.default_rng(seed)
    background = scale.transform(_sample(X_train, _BACKGROUND_ROWS, rng))
    explain = scale.transform(_sample(X_explain, _SHAP_ROWS, rng))
    if hasattr(model, "coef_"):
        explainer: Any = shap.LinearExplainer((model.coef_, model.intercept_), background)
        values = explainer.shap_values(explain)
    elif hasattr(model, "feature_importances_"):
        values = shap.TreeExplainer(model).shap_values(explain, check_additivity=False)
    else:
        # Model-agnostic Kernel SHAP on a small sample: its cost is rows × coalitions ×
        # background predictions (shap's permutation explainer would JIT-compile for
        # longer than this takes).
        explainer = shap.KernelExplainer(model.predict, background[:_GENERIC_BACKGROUND_ROWS])
        values = explainer.shap_values(
            explain[:_GENERIC_ROWS], nsamples=_KERNEL_COALITIONS, silent=True
        )
    return normalize("shap", features, np.abs(values).mean(axis=0))


def _sample(X: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    if X.shape[0] <= count:
        return X
    return X[np.sort(rng.choice(X.shape[0], size=count, replace=False))]
