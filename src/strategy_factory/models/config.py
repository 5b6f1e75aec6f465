"""The typed training configuration and its fingerprint.

A :class:`TrainingConfig` says everything that decides a trained model: symbol, features,
algorithm, base hyperparameters, grid, regime configs, target, walk-forward scheme, data
ranges, importance method and seed. Its :meth:`~TrainingConfig.fingerprint` is the SHA-256
of a canonical JSON in which nothing cosmetic survives: features are sorted, grid values
sorted and deduplicated, numbers normalized (``1 == 1.0``), regime configs sorted (keys,
labels and the configs themselves), dates ISO UTC, time spans in seconds. Two configs
with the same fingerprint train the same model; the evolution loop uses it to skip work
already done.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sklearn.base import BaseEstimator

from strategy_factory.data import normalize_symbol
from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.models.algorithms import (
    AUTO,
    KNOWN,
    estimator_path,
    hyperparameter_names,
    resolve_algorithm,
)
from strategy_factory.models.hyperparameters import check_grid, check_value

# 2: rank IC by default, "auto" alpha grids, constant candidates never chosen.
FINGERPRINT_VERSION = 2

Scalar = bool | int | float | str | None
# Names of columns, features and symbols; long enough for any real one, short enough that
# a forged request cannot make every message and row enormous.
Name = Annotated[str, Field(min_length=1, max_length=200)]
Label = Annotated[int, Field(ge=0, le=1_000)]
RegimeConfig = (
    Annotated[dict[Name, Annotated[list[Label], Field(max_length=1_000)]], Field(max_length=32)]
    | None
)
MAX_FEATURES = 10_000
MAX_BARS = 10**9

DEFAULT_REGIME_CONFIGS: tuple[RegimeConfig, ...] = (
    None,
    {"regime_gmm": [0]},
    {"regime_gmm": [1, 2]},
    {"regime_hmm": [0]},
    {"regime_hmm": [1]},
    {"regime_trend": [0, 1]},
    {"regime_vix": [0, 1]},
)

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class TargetSpec(BaseModel):
    """What the model predicts: the ``transform`` return of ``column`` over ``horizon`` bars."""

    model_config = _FROZEN

    column: str = "close"
    transform: Literal["log_return", "pct_change"] = "log_return"
    horizon: int = Field(
        1, ge=1, le=10_000, description="Bars ahead; also the purge gap of the folds."
    )


Window = Annotated[int, Field(le=MAX_BARS)] | Annotated[str, Field(max_length=32)] | None


class WalkForward(BaseModel):
    """Walk-forward folds: the last ``folds × test_window`` bars are validated in turn.

    Windows are a number of bars or a time span (``"365D"``, ``"12h"``). ``expanding``
    trains on everything before each validation window (``train_window``, if set, is
    the least history the first fold must have); ``rolling`` trains on the last
    ``train_window`` bars (or span) before the purge gap. ``test_window=None`` splits
    the data into ``folds + 1`` equal parts. Before each validation window
    ``horizon + embargo`` bars are dropped.
    """

    model_config = _FROZEN

    scheme: Literal["expanding", "rolling"] = "expanding"
    folds: int = Field(4, ge=1, le=50)
    test_window: Window = None
    train_window: Window = None
    embargo: int = Field(0, ge=0, le=MAX_BARS, description="Extra bars dropped beyond the purge.")

    @field_validator("test_window", "train_window")
    @classmethod
    def _window(cls, value: Window) -> Window:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"a window in bars must be at least 1, got {value}")
        if isinstance(value, str):
            span = _span(value)
            if span <= pd.Timedelta(0):
                raise ValueError(f"a time span must be positive, got {value!r}")
        return value

    @model_validator(mode="after")
    def _rolling_needs_window(self) -> WalkForward:
        if self.scheme == "rolling" and self.train_window is None:
            raise ValueError("a rolling walk-forward needs a train_window (bars or a span)")
        return self


class DataRange(BaseModel):
    """Which bars training may touch: ``start <= t < min(selection_start, holdout_start)``.

    ``digest``: of the bars' content (``data.bars_digest``), so that the same dates of
    other bars (a re-import) are another model.
    """

    model_config = _FROZEN

    start: datetime | None = None
    selection_start: datetime | None = None
    holdout_start: datetime | None = None
    digest: str | None = Field(None, max_length=64)

    @field_validator("start", "selection_start", "holdout_start")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.to_pydatetime()

    @property
    def cutoff(self) -> pd.Timestamp | None:
        """The first bar training must not see."""
        ends = [pd.Timestamp(e) for e in (self.selection_start, self.holdout_start) if e]
        return min(ends) if ends else None

    @model_validator(mode="after")
    def _ordered(self) -> DataRange:
        if self.start is not None and self.cutoff is not None and self.start >= self.cutoff:
            raise ValueError("start must be before selection_start and holdout_start")
        return self


class TrainingConfig(BaseModel):
    """Everything that decides a trained model; hash it with :meth:`fingerprint`.

    ``algorithm`` is a known name (``ElasticNet``, ``Lasso``, ``Ridge``, ``RandomForest``,
    ``LightGBM``), a scikit-learn regressor import path, or a regressor instance (stored as
    its path plus its parameters). ``grid=None`` takes the algorithm's default grid.

    Example::

        config = TrainingConfig(symbol="SP500", features=["ret_1", "rsi_14"],
                                data={"holdout_start": "2016-01-01"})
    """

    model_config = _FROZEN

    symbol: str
    timeframe: str | None = Field(
        None,
        max_length=32,
        description="Bar timeframe the data was resampled to (None: as stored).",
    )
    features: list[Name] = Field(min_length=1, max_length=MAX_FEATURES)
    algorithm: str = Field("ElasticNet", min_length=1, max_length=200)
    params: dict[Name, Any] = Field(default_factory=dict, max_length=64)
    grid: dict[Name, list[Scalar] | Literal["auto"]] | None = Field(None, max_length=32)
    regime_configs: list[RegimeConfig] = Field(
        default_factory=lambda: list(DEFAULT_REGIME_CONFIGS), min_length=1, max_length=64
    )
    target: TargetSpec = TargetSpec()
    walk_forward: WalkForward = WalkForward()
    data: DataRange = DataRange()
    score: Literal["r2", "ic", "rank_ic"] = "rank_ic"
    importance: Literal["auto", "coefficient", "impurity", "permutation", "shap"] = "auto"
    min_train_rows: int = Field(100, ge=2, le=MAX_BARS)
    min_validation_rows: int = Field(20, ge=2, le=MAX_BARS)
    seed: int = Field(0, ge=0, le=2**32 - 1)

    @model_validator(mode="before")
    @classmethod
    def _estimator_instance(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("algorithm"), BaseEstimator):
            estimator = data["algorithm"]
            own = estimator.get_params(deep=False)
            data = {**data, "algorithm": estimator_path(estimator)}
            data["params"] = {**own, **data.get("params", {})}
        return data

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        return normalize_symbol(value)

    @field_validator("features")
    @classmethod
    def _unique_features(cls, value: list[str]) -> list[str]:
        repeated = sorted({f for f in value if value.count(f) > 1})
        if repeated:
            raise ValueError(f"features listed twice: {', '.join(repeated)}")
        return value

    @field_validator("regime_configs")
    @classmethod
    def _regime_configs(cls, value: list[RegimeConfig]) -> list[RegimeConfig]:
        for config in value:
            for column, labels in (config or {}).items():
                if not labels:
                    raise ValueError(f"regime config for {column!r} allows no label")
        return [config or None for config in value]

    @model_validator(mode="after")
    def _algorithm_and_grid(self) -> TrainingConfig:
        try:
            algorithm = resolve_algorithm(self.algorithm)
        except FactoryError as exc:
            raise ValueError(str(exc)) from exc
        known = (hyperparameter_names(algorithm) | set(algorithm.default_params)) - set(
            algorithm.fixed
        )
        grid = algorithm.default_grid if self.grid is None else self.grid
        for name in [*self.params, *grid]:
            if name not in known:
                raise ValueError(
                    f"{algorithm.name} has no hyperparameter {name!r}; known: "
                    f"{', '.join(sorted(known))}"
                )
        for name, values in grid.items():
            if values == AUTO and (algorithm.family != "linear" or name != "alpha"):
                raise ValueError(f"'auto' is a grid of alpha for linear models, not of {name!r}")
            if not values:
                raise ValueError(f"the grid for {name!r} is empty; give at least one value")
        bounded = algorithm.name in KNOWN
        problem = check_grid(grid, bounded) or next(
            (p for name, value in self.params.items() if (p := check_value(name, value, bounded))),
            None,
        )
        if problem:
            raise ValueError(problem)
        # Frozen model: the normalized values are written once, here, before anyone reads them.
        object.__setattr__(self, "algorithm", algorithm.name)
        object.__setattr__(self, "params", {**algorithm.default_params, **self.params})
        filled = {**algorithm.default_grid, **grid} if algorithm.family == "linear" else grid
        object.__setattr__(
            self, "grid", {k: v if v == AUTO else _sorted_unique(v) for k, v in filled.items()}
        )
        return self

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> TrainingConfig:
        """Validate ``data`` (e.g. parsed YAML/JSON), raising :class:`FactoryError` on mistakes."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise FactoryError(
                f"invalid training config: {describe_problems(exc.errors())}"
            ) from exc

    def canonical_json(self) -> str:
        """The config as canonical JSON: equal for every config that trains the same model."""
        payload = {
            "fingerprint_version": FINGERPRINT_VERSION,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "features": sorted(self.features),
            "algorithm": self.algorithm,
            "params": _canonical(self.params, ordered=True),
            "grid": {k: _canonical(v) for k, v in (self.grid or {}).items()},
            "regime_configs": _canonical_regimes(self.regime_configs),
            "target": self.target.model_dump(),
            "walk_forward": {
                **self.walk_forward.model_dump(),
                "test_window": _canonical_window(self.walk_forward.test_window),
                "train_window": _canonical_window(self.walk_forward.train_window),
            },
            "data": {k: v if k == "digest" else _iso(v) for k, v in self.data.model_dump().items()},
            "score": self.score,
            "importance": self.importance,
            "min_train_rows": self.min_train_rows,
            "min_validation_rows": self.min_validation_rows,
            "seed": self.seed,
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)

    def fingerprint(self) -> str:
        """SHA-256 hex of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def _span(text: str) -> pd.Timedelta:
    try:
        return pd.Timedelta(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a time span such as '365D' or '12h'") from exc


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    as_float = float(value)
    return int(as_float) if as_float.is_integer() and abs(as_float) < 2**53 else as_float


def _canonical(value: Any, ordered: bool = False) -> Any:
    """Numbers normalized; lists sorted and deduplicated unless ``ordered`` (plain params)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v, ordered) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        items = [_canonical(v, ordered) for v in value]
        return items if ordered else _sorted_unique(items)
    return _number(value)


def _sorted_unique(values: list[Any]) -> list[Any]:
    """Grid values without duplicates (``1`` and ``1.0`` are one), numbers first, ascending."""
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(json.dumps(_number(value), sort_keys=True), value)
    return sorted(seen.values(), key=_order)


def _order(value: Any) -> tuple[int, float, str]:
    if isinstance(value, int | float):
        return (0, float(value), "")
    return (1 if value is None else 2, 0.0, json.dumps(value, sort_keys=True))


def _canonical_regimes(configs: list[RegimeConfig]) -> list[Any]:
    normal = {
        json.dumps(c and {k: sorted(set(v)) for k, v in c.items()}, sort_keys=True) for c in configs
    }
    return [json.loads(text) for text in sorted(normal)]


def _canonical_window(window: Window) -> Window:
    if isinstance(window, str):
        return f"{_span(window).total_seconds():g}s"
    return window


def _iso(value: datetime | None) -> str | None:
    return None if value is None else pd.Timestamp(value).isoformat()
