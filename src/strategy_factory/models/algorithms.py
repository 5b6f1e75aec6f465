"""The algorithms a training grid can use, behind one scikit-learn interface.

Every algorithm is a scikit-learn regressor built from a dict of hyperparameters. The
linear family (``ElasticNet``, ``Lasso``, ``Ridge``) shares one objective::

    1/(2n)·||y − Xw||² + alpha·l1_ratio·||w||₁ + alpha·(1 − l1_ratio)/2·||w||²

so ``Lasso`` is ``l1_ratio = 1`` and ``Ridge`` is ``l1_ratio = 0``, solved in closed form
(coordinate descent is the wrong tool for a pure L2 penalty). ``RandomForest`` and
``LightGBM`` take their own small grids, and any scikit-learn regressor can be named by
its import path (``sklearn.svm:SVR`` or ``sklearn.svm.SVR``).

Every fit happens inside :func:`fold_model`: features and target are standardized on the
rows being fitted, and predictions come back in the target's units. Standardizing the
target is what makes ``alpha`` meaningful for returns of ~1e-4: on standardized data the
smallest alpha that zeroes every coefficient is ``max|corr(x_j, y)| / l1_ratio``, whatever
the bar frequency.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, is_regressor
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import ElasticNet, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from strategy_factory.errors import FactoryError
from strategy_factory.settings import get_settings

Family = Literal["linear", "tree", "other"]

# The linear default: alphas relative to each fold's alpha_max (see models.paths), ten
# steps from "every coefficient zero" (1) down to a hundredth of that penalty (below it,
# coordinate descent on collinear indicators costs ten times more and chose nothing better).
AUTO = "auto"
AUTO_ALPHA_FRACTIONS: tuple[float, ...] = tuple(float(f) for f in np.geomspace(1.0, 1e-2, 8))
DEFAULT_ALPHAS = AUTO
DEFAULT_L1_RATIOS: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9, 0.95)

# A fit's duality gap must fall below tol·||y||² (y standardized, so tol·n): at 1e-8 a
# refit agrees with the grid's exact solution (models.descent, which takes this tol only
# when it is looser than its own descent's) far below 1e-6 in predictions, and collinear
# indicator sets still converge.
LINEAR_SOLVER: dict[str, Any] = {"tol": 1e-8, "max_iter": 100_000}


class PenalizedRegression(RegressorMixin, BaseEstimator):
    """The elastic-net objective for every ``l1_ratio`` in [0, 1].

    ``l1_ratio > 0`` is scikit-learn's ``ElasticNet``; ``l1_ratio == 0`` is the same
    objective solved exactly as ``Ridge(alpha = n·alpha)`` (scikit-learn's Ridge drops
    the 1/n), so one ``alpha`` means the same penalty across the whole grid.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        l1_ratio: float = 0.5,
        tol: float = LINEAR_SOLVER["tol"],
        max_iter: int = LINEAR_SOLVER["max_iter"],
    ) -> None:
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X: np.ndarray, y: np.ndarray) -> PenalizedRegression:
        """Fit on ``X`` (rows × features) and ``y``; returns self."""
        if self.l1_ratio == 0:
            model: Any = Ridge(alpha=self.alpha * X.shape[0], solver="cholesky")
        else:
            model = ElasticNet(
                alpha=self.alpha,
                l1_ratio=self.l1_ratio,
                tol=self.tol,
                max_iter=self.max_iter,
                precompute=True,
            )
        self.model_ = model.fit(X, y)
        self.coef_ = np.asarray(self.model_.coef_, dtype=np.float64)
        self.intercept_ = float(self.model_.intercept_)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions for the rows of ``X``."""
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_


def _random_forest(**params: Any) -> Any:
    # scikit-learn's ensembles load only for a run that uses one, not for every run.
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(**params)


def _lightgbm(**params: Any) -> Any:
    from lightgbm import LGBMRegressor

    return LGBMRegressor(**params)


@dataclass(frozen=True)
class Algorithm:
    """A named algorithm: how to build it, its default grid and base hyperparameters."""

    name: str
    family: Family
    builder: Any
    default_grid: dict[str, Any] = field(default_factory=dict)
    default_params: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)

    def build(self, params: dict[str, Any]) -> Any:
        """A fresh, unfitted estimator with ``params`` (fixed ones win)."""
        return self.builder(**{**params, **self.fixed})


KNOWN: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm(
            "ElasticNet",
            "linear",
            PenalizedRegression,
            {"alpha": AUTO, "l1_ratio": list(DEFAULT_L1_RATIOS)},
            dict(LINEAR_SOLVER),
        ),
        Algorithm(
            "Lasso",
            "linear",
            PenalizedRegression,
            {"alpha": AUTO},
            dict(LINEAR_SOLVER),
            {"l1_ratio": 1.0},
        ),
        Algorithm(
            "Ridge",
            "linear",
            PenalizedRegression,
            {"alpha": AUTO},
            dict(LINEAR_SOLVER),
            {"l1_ratio": 0.0},
        ),
        Algorithm(
            "RandomForest",
            "tree",
            _random_forest,
            {"n_estimators": [100], "max_depth": [3, 6], "min_samples_leaf": [20, 100]},
            {"n_jobs": 1},
        ),
        Algorithm(
            "LightGBM",
            "tree",
            _lightgbm,
            {"num_leaves": [7, 15], "learning_rate": [0.03, 0.1], "n_estimators": [100]},
            {"n_jobs": 1, "verbose": -1, "min_child_samples": 50},
        ),
    )
}


def resolve_algorithm(name: str) -> Algorithm:
    """The algorithm called ``name`` (case-insensitive), or an allow-listed regressor path.

    A custom estimator must be listed in ``FACTORY_ALLOWED_ESTIMATORS``: a name outside
    the list is refused before anything is imported, so a run configuration (from YAML
    or the API) can never make the process import a module of its choosing.
    """
    for known in KNOWN.values():
        if known.name.lower() == name.strip().lower():
            return known
    if "." not in name and ":" not in name:
        raise FactoryError(
            f"unknown algorithm {name!r}; known: {', '.join(KNOWN)}, "
            "or the import path of an allow-listed scikit-learn regressor such as "
            "'sklearn.svm:SVR'"
        )
    allowed = allowed_estimators()
    candidate = allowed.get(_normal_path(name))
    if candidate is None:
        raise FactoryError(
            f"algorithm {name!r} is not allow-listed: custom estimators are imported only "
            "when named in FACTORY_ALLOWED_ESTIMATORS (comma-separated import paths, e.g. "
            "FACTORY_ALLOWED_ESTIMATORS=sklearn.svm:SVR) on every machine that trains or "
            "loads the model"
        )
    return _custom(name.strip(), candidate)


def allowed_estimators() -> dict[str, type]:
    """The allow-listed estimator classes by every path that names them.

    Each entry of ``FACTORY_ALLOWED_ESTIMATORS`` is imported (the operator chose it) and
    known both by the path as written and by its class's own path
    (``sklearn.svm:SVR`` is also ``sklearn.svm._classes:SVR``).
    """
    found: dict[str, type] = {}
    for entry in get_settings().allowed_estimators:
        module_name, _, class_name = entry.strip().replace(":", ".").rpartition(".")
        try:
            candidate = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise FactoryError(
                f"FACTORY_ALLOWED_ESTIMATORS lists {entry!r}, which cannot be imported: {exc}"
            ) from exc
        found[_normal_path(entry)] = candidate
        found[_normal_path(f"{candidate.__module__}.{candidate.__qualname__}")] = candidate
    return found


def _normal_path(path: str) -> str:
    return path.strip().replace(":", ".")


def _custom(path: str, candidate: Any) -> Algorithm:
    if not (isinstance(candidate, type) and issubclass(candidate, BaseEstimator)):
        raise FactoryError(f"algorithm {path!r} is not a scikit-learn estimator class")
    try:
        regressor = is_regressor(candidate())
    except TypeError as exc:
        raise FactoryError(f"algorithm {path!r} cannot be built without arguments: {exc}") from exc
    if not regressor:
        raise FactoryError(f"algorithm {path!r} is not a regressor (no RegressorMixin)")
    family: Family = "tree" if hasattr(candidate, "feature_importances_") else "other"
    return Algorithm(f"{candidate.__module__}:{candidate.__qualname__}", family, candidate)


def estimator_path(estimator: BaseEstimator) -> str:
    """The import path that :func:`resolve_algorithm` turns back into ``estimator``'s class."""
    kind = type(estimator)
    return f"{kind.__module__}:{kind.__qualname__}"


def hyperparameter_names(algorithm: Algorithm) -> set[str]:
    """Names an algorithm accepts in its params and grid."""
    return set(algorithm.build({}).get_params(deep=False))


def with_seed(algorithm: Algorithm, params: dict[str, Any], seed: int) -> dict[str, Any]:
    """``params`` plus ``random_state=seed`` when the estimator takes one and none is set."""
    if "random_state" in hyperparameter_names(algorithm) and "random_state" not in params:
        return {**params, "random_state": seed}
    return params


def fold_model(estimator: Any) -> TransformedTargetRegressor:
    """``estimator`` on standardized features and target, predicting in target units."""
    return TransformedTargetRegressor(
        regressor=Pipeline([("scale", StandardScaler()), ("model", estimator)]),
        transformer=StandardScaler(),
        check_inverse=False,
    )


def inner_model(fitted: TransformedTargetRegressor) -> Any:
    """The fitted algorithm inside a :func:`fold_model` (on standardized data)."""
    return fitted.regressor_.named_steps["model"]
