"""Model artifacts in a format that cannot execute code when it is read.

An artifact is one UTF-8 JSON document: the model's features, training config, chosen
configuration, validation, importance and metadata, and its fitted estimator as data:

- linear models (``ElasticNet``, ``Lasso``, ``Ridge``): the fitted arrays themselves —
  the feature scaler's means and scales, the coefficients and intercept on standardized
  data, and the target scaler — predicted by :class:`LinearPredictor` with exactly the
  arithmetic scikit-learn uses, so predictions are bit-identical;
- every other estimator (``RandomForest``, ``LightGBM``, allow-listed custom estimators):
  skops' format, loaded with an explicit allow-list of trusted types. skops builds only
  the types it is told to trust and refuses anything else.

Nothing here calls pickle or joblib. Reading refuses a document that is not an artifact,
that is too large, whose fields have the wrong types, or whose estimator holds a type
outside the allow-list, with a :class:`FactoryError` that says why.
"""

from __future__ import annotations

import base64
import binascii
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from strategy_factory.errors import FactoryError, NotFoundError, describe_problems
from strategy_factory.json_values import dumps
from strategy_factory.models.algorithms import (
    PenalizedRegression,
    allowed_estimators,
    inner_model,
)
from strategy_factory.models.config import TrainingConfig
from strategy_factory.models.importance import Importance
from strategy_factory.models.registry import TrainedModel
from strategy_factory.settings import get_settings

FORMAT = "strategy-factory-model"
VERSION = 1
# A 100-tree forest on 100k rows is a few MB; a quarter of a GB is far past any real model.
MAX_ARTIFACT_BYTES = 256 * 1024 * 1024
MAX_FEATURES = 10_000
# Types outside skops' defaults that the built-in tree models hold.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMRegressor",
)

_STRICT = ConfigDict(extra="forbid", frozen=True)
Vector = Annotated[list[float], Field(max_length=MAX_FEATURES)]


class _Linear(BaseModel):
    model_config = _STRICT

    kind: Literal["linear"]
    x_mean: Vector
    x_scale: Vector
    coef: Vector
    intercept: float
    y_mean: float
    y_scale: float


class _Skops(BaseModel):
    model_config = _STRICT

    kind: Literal["skops"]
    content: str


class _ImportanceDocument(BaseModel):
    model_config = _STRICT

    method: str = Field(max_length=32)
    scores: dict[str, float]
    note: str = Field("", max_length=1000)


class _Document(BaseModel):
    model_config = _STRICT

    format: Literal["strategy-factory-model"]
    version: Literal[1]
    features: list[str] = Field(min_length=1, max_length=MAX_FEATURES)
    config: dict[str, Any]
    chosen: dict[str, Any]
    validation: dict[str, Any]
    importance: _ImportanceDocument
    metadata: dict[str, Any]
    estimator: _Linear | _Skops = Field(discriminator="kind")


@dataclass(frozen=True)
class LinearPredictor:
    """A fitted linear model on standardized features and target, as plain arrays.

    ``predict`` repeats scikit-learn's steps (``StandardScaler.transform``, the linear
    model, ``inverse_transform`` of the target scaler) operation for operation.
    """

    x_mean: np.ndarray
    x_scale: np.ndarray
    coef: np.ndarray
    intercept: float
    y_mean: float
    y_scale: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions in the target's units for the rows of ``X``."""
        scaled = (np.asarray(X, dtype=np.float64) - self.x_mean) / self.x_scale
        return (scaled @ self.coef + self.intercept) * self.y_scale + self.y_mean


def model_to_bytes(model: TrainedModel) -> bytes:
    """``model`` as an artifact document (UTF-8 JSON; see the module docstring)."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "features": list(model.features),
        "config": model.config.model_dump(mode="json"),
        "chosen": model.chosen,
        "validation": model.validation,
        "importance": {
            "method": model.importance.method,
            "scores": model.importance.scores,
            "note": model.importance.note,
        },
        "metadata": model.metadata,
        "estimator": _estimator_document(model.estimator),
    }
    return dumps(document, separators=(",", ":")).encode("utf-8")


def model_from_bytes(content: bytes) -> TrainedModel:
    """The model of an artifact document, refusing anything that is not one (never executes)."""
    if len(content) > MAX_ARTIFACT_BYTES:
        raise FactoryError(
            f"the model artifact is {len(content):,} bytes, over the {MAX_ARTIFACT_BYTES:,} limit"
        )
    if not content.lstrip()[:1] == b"{":
        raise FactoryError(
            "the model artifact is not a strategy-factory model document (an older version "
            "stored pickles, which can execute code and are no longer read: retrain the model)"
        )
    try:
        document = _Document.model_validate_json(content)
    except ValidationError as exc:
        raise FactoryError(f"invalid model artifact: {describe_problems(exc.errors())}") from exc
    config = TrainingConfig.load(document.config)
    if list(document.features) != list(config.features):
        raise FactoryError("invalid model artifact: its features differ from its training config")
    return TrainedModel(
        estimator=_estimator(document.estimator, len(document.features)),
        features=tuple(document.features),
        config=config,
        chosen=document.chosen,
        validation=document.validation,
        importance=Importance(**document.importance.model_dump()),
        metadata=document.metadata,
    )


def model_to_text(model: TrainedModel) -> str:
    """``model``'s artifact as base64 text (for JSON payloads and results)."""
    return base64.b64encode(model_to_bytes(model)).decode("ascii")


def model_from_text(text: str) -> TrainedModel:
    """The model :func:`model_to_text` encoded."""
    try:
        content = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FactoryError(f"the model artifact is not valid base64: {exc}") from exc
    return model_from_bytes(content)


def trusted_types() -> list[str]:
    """Types an artifact's skops estimator may hold: built-ins plus allow-listed estimators."""
    allowed = {f"{c.__module__}.{c.__qualname__}" for c in allowed_estimators().values()}
    return [*TRUSTED_TYPES, *sorted(allowed), *get_settings().trusted_types]


def save_model(model: TrainedModel, directory: str | Path) -> Path:
    """Write ``model`` to ``directory/<id>.model`` (+ an ``<id>.json`` summary); the path.

    Each file is written with one atomic rename, so a reader never sees half a model.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{model.id}.model"
    _atomic_write(path, model_to_bytes(model))
    summary = dumps(model.summary(), indent=2, sort_keys=True)
    _atomic_write(path.with_suffix(".json"), summary.encode("utf-8"))
    return path


def load_model(path: str | Path) -> TrainedModel:
    """The :class:`TrainedModel` saved at ``path`` (a ``.model`` file from :func:`save_model`)."""
    source = Path(path)
    if not source.is_file():
        raise NotFoundError(f"no model artifact at {source}")
    if source.stat().st_size > MAX_ARTIFACT_BYTES:
        raise FactoryError(f"{source} is larger than any model artifact ({MAX_ARTIFACT_BYTES:,} B)")
    try:
        return model_from_bytes(source.read_bytes())
    except FactoryError as exc:
        raise FactoryError(f"{source}: {exc}") from exc


def _atomic_write(path: Path, content: bytes) -> None:
    # os.open applies the umask to 0o666, as any file the user creates (mkstemp would be 0600).
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(handle, "wb") as output:
            output.write(content)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def _estimator_document(estimator: Any) -> dict[str, Any]:
    if isinstance(estimator, LinearPredictor):
        return _linear_document(estimator)
    if isinstance(inner_model(estimator), PenalizedRegression):
        return _linear_document(_linear_of(estimator))
    from skops.io import dumps

    return {"kind": "skops", "content": base64.b64encode(dumps(estimator)).decode("ascii")}


def _linear_of(fitted: Any) -> LinearPredictor:
    """The arrays of a fitted :func:`fold_model` around a :class:`PenalizedRegression`."""
    scale = fitted.regressor_.named_steps["scale"]
    target = fitted.transformer_
    model = inner_model(fitted)
    return LinearPredictor(
        x_mean=np.asarray(scale.mean_, dtype=np.float64),
        x_scale=np.asarray(scale.scale_, dtype=np.float64),
        coef=np.asarray(model.coef_, dtype=np.float64),
        intercept=float(model.intercept_),
        y_mean=float(target.mean_[0]),
        y_scale=float(target.scale_[0]),
    )


def _linear_document(linear: LinearPredictor) -> dict[str, Any]:
    return {
        "kind": "linear",
        "x_mean": linear.x_mean.tolist(),
        "x_scale": linear.x_scale.tolist(),
        "coef": linear.coef.tolist(),
        "intercept": linear.intercept,
        "y_mean": linear.y_mean,
        "y_scale": linear.y_scale,
    }


def _estimator(document: _Linear | _Skops, features: int) -> Any:
    if isinstance(document, _Linear):
        arrays = [np.asarray(v, dtype=np.float64) for v in (document.x_mean, document.x_scale)]
        coef = np.asarray(document.coef, dtype=np.float64)
        if any(a.shape != (features,) for a in (*arrays, coef)):
            raise FactoryError("invalid model artifact: its arrays do not match its features")
        return LinearPredictor(
            arrays[0], arrays[1], coef, document.intercept, document.y_mean, document.y_scale
        )
    return _skops_estimator(document.content)


def _skops_estimator(text: str) -> Any:
    from skops.io import get_untrusted_types, loads

    try:
        content = base64.b64decode(text, validate=True)
        untrusted = get_untrusted_types(data=content)
    except Exception as exc:  # skops raises many kinds on a malformed archive
        raise FactoryError(f"invalid model artifact: unreadable estimator ({exc})") from exc
    trusted = trusted_types()
    refused = sorted(set(untrusted) - set(trusted))
    if refused:
        raise FactoryError(
            f"the model artifact holds types that are not trusted: {', '.join(refused)}; "
            "only the built-in algorithms, the estimators of FACTORY_ALLOWED_ESTIMATORS and "
            "the types of FACTORY_TRUSTED_TYPES are loaded"
        )
    try:
        return loads(content, trusted=trusted)
    except Exception as exc:
        raise FactoryError(f"invalid model artifact: cannot rebuild its estimator ({exc})") from exc
