"""The schema of each unit's result, checked before anything uses it.

A result may come from a worker on another machine, over the API or straight through the
database, so it is data to check, not to trust: :func:`validate_result` checks types,
sizes and ranges, and reads a model artifact back through the safe format of
:mod:`strategy_factory.models.artifacts` (which never executes anything), raising
:class:`InvalidResultError` with what is wrong. The service checks a result before it
records it; the engine checks it again before it uses it.
"""

from __future__ import annotations

import base64
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.models import TrainedModel
from strategy_factory.models.artifacts import MAX_ARTIFACT_BYTES, MAX_FEATURES, model_from_text

# Bounds far beyond any real grid, small enough that a forged result cannot exhaust memory.
MAX_CELLS = 1_000_000
MAX_BLOCKS = 1_000
MAX_TEXT = 256
_STRICT = ConfigDict(extra="forbid", frozen=True)
Name = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{32,64}$")]
Count = Annotated[int, Field(ge=0, le=2**62)]
Number = float | None
Label = Annotated[int, Field(ge=-1, le=1000)]
RegimeFilter = dict[Name, Annotated[list[Label], Field(max_length=1000)]]


class InvalidResultError(FactoryError):
    """A unit's result does not match its schema (a broken or forged worker)."""


class _ImportanceResult(BaseModel):
    model_config = _STRICT

    method: Name
    scores: dict[Name, float] = Field(max_length=MAX_FEATURES)
    note: str = Field("", max_length=1000)


class ModelSummary(BaseModel):
    """What a train unit reports of the model it trained (``TrainedModel.summary()``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: Hex
    fingerprint: Hex
    algorithm: Name
    symbol: Name
    features: list[Name] = Field(min_length=1, max_length=MAX_FEATURES)
    chosen: dict[str, Any]
    validation: dict[str, Any]
    importance: _ImportanceResult
    data_range: dict[str, Any]


class TrainResult(BaseModel):
    """A train unit's result: the model's summary and its artifact (base64).

    The artifact is read back through the safe format when the result is validated
    (which never executes anything), so a result that validates holds a usable model.
    """

    model_config = _STRICT

    summary: ModelSummary
    artifact: str = Field(min_length=1, max_length=(MAX_ARTIFACT_BYTES * 4) // 3 + 4)
    _model: TrainedModel = PrivateAttr()

    @model_validator(mode="after")
    def _readable(self) -> TrainResult:
        try:
            self._model = model_from_text(self.artifact)
        except FactoryError as exc:
            raise ValueError(f"artifact: {exc}") from exc
        return self

    def artifact_bytes(self) -> bytes:
        """The artifact's bytes."""
        return base64.b64decode(self.artifact)

    @property
    def model(self) -> TrainedModel:
        """The model the artifact holds."""
        return self._model


class MetricsRow(BaseModel):
    """One simulated grid cell: its configuration and its metrics (None: undefined)."""

    model_config = _STRICT

    ticker: Name
    threshold: float = Field(ge=0)
    z_limit: float | None = Field(None, gt=0)
    regime_filter: RegimeFilter | None = None
    mode: Literal["long_short", "long_only"]
    trades: Count | None = None
    position_changes: Count | None = None
    max_drawdown_bars: Count | None = None
    win_rate: Number = None
    expectancy: Number = None
    payoff_ratio: Number = None
    profit_factor: Number = None
    sqn: Number = None
    sqn_100: Number = None
    weekly_consistency: Number = None
    exposure: Number = None
    total_return: Number = None
    cagr: Number = None
    sharpe: Number = None
    sortino: Number = None
    max_drawdown: Number = None

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be finite")
        return value


class SimulateResult(BaseModel):
    """A simulate unit's result: every cell's metrics and the PBO block statistics."""

    model_config = _STRICT

    rows: list[MetricsRow] = Field(min_length=1, max_length=MAX_CELLS)
    block_sums: list[list[float]] = Field(max_length=MAX_BLOCKS)
    block_squares: list[list[float]] = Field(max_length=MAX_BLOCKS)
    rows_per_block: Count
    periods_per_year: float = Field(gt=0, le=1e9)

    @field_validator("block_sums", "block_squares")
    @classmethod
    def _block_width(cls, value: list[list[float]]) -> list[list[float]]:
        if any(len(row) > MAX_CELLS for row in value):
            raise ValueError(f"a block holds more than {MAX_CELLS:,} cells")
        if len({len(row) for row in value}) > 1:
            raise ValueError("blocks hold different numbers of cells")
        return value


SCHEMAS: dict[str, type[BaseModel]] = {"train": TrainResult, "simulate": SimulateResult}


def validate_result(kind: str, result: Any) -> Any:
    """``result`` of a ``kind`` unit, checked against its schema (a pydantic model).

    Kinds without a schema (test units) pass through unchanged.
    """
    schema = SCHEMAS.get(kind)
    if schema is None:
        return result
    try:
        return schema.model_validate(result)
    except ValidationError as exc:
        raise InvalidResultError(
            f"the {kind} result is invalid: {describe_problems(exc.errors())}"
        ) from exc
