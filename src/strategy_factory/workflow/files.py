"""The files phases hand each other, and their validation on the way in.

Each JSON file a phase (or the workflow report) reads is checked against a model here,
so a file a user edited between phases (or a damaged one) is refused with an error
naming the file and the field, before any work. Signal files are Parquet: a
``timestamp`` column and one int8 column per trial (``t<number>``) or per classifier.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.workflow.workspace import read_json, read_parquet_columns

_FILE = ConfigDict(extra="ignore")
Model = TypeVar("Model", bound=BaseModel)


class TrialRecord(BaseModel):
    """One discovery trial: parameters, metrics overall and per regime, block returns."""

    model_config = _FILE

    trial: int = Field(ge=0)
    params: dict[str, Any]
    overall: dict[str, float | None]
    regimes: dict[str, dict[str, dict[str, float | None]]]  # metrics and bars


class FamilyTrials(BaseModel):
    model_config = _FILE

    kind: str
    trials: list[TrialRecord]


class Discovery(BaseModel):
    """``performance/<discovery>.json``."""

    model_config = _FILE

    phase: str
    period: dict[str, Any]
    labels: dict[str, list[int]]
    label_names: dict[str, dict[str, str]]
    rows_per_block: int = Field(ge=1)
    families: dict[str, FamilyTrials]


class Choice(BaseModel):
    """The trial chosen for one regime (or overall)."""

    model_config = _FILE

    trial: int = Field(ge=0)
    params: dict[str, Any]
    value: float | None = None
    trades: float | None = None
    bars: int | None = None
    fallback: bool = False
    reason: str | None = None
    note: str | None = None


class FamilyChoices(BaseModel):
    model_config = _FILE

    overall: Choice
    regimes: dict[str, dict[str, Choice]]


class RegimeParams(BaseModel):
    """``analysis/regime_optimal_params.json``."""

    model_config = _FILE

    discovery: str
    metric: str
    labels: dict[str, list[int]]
    families: dict[str, FamilyChoices] = Field(min_length=1)
    label_names: dict[str, dict[str, str]] = {}  # classifier -> label -> "calmest", …
    best_family: dict[str, dict[str, str | None]] = {}  # classifier -> label -> family


class Member(BaseModel):
    model_config = _FILE

    family: str
    trial: int = Field(ge=0)
    params: dict[str, Any]


class Blend(BaseModel):
    """The members and weights of one regime (or the overall blend)."""

    model_config = _FILE

    members: list[Member] = Field(min_length=1)
    weights: list[float] = Field(min_length=1)
    objective_value: float | None = None
    weight_sets_tried: int = Field(0, ge=0)
    fallback: bool = False
    note: str | None = None

    def model_post_init(self, _context: Any) -> None:
        if len(self.weights) != len(self.members):
            raise ValueError(
                f"weights has {len(self.weights)} entries for {len(self.members)} members"
            )
        if not all(math.isfinite(w) for w in self.weights):
            raise ValueError("weights must be finite numbers")


class EnsembleWeights(BaseModel):
    """``analysis/ensemble_weights.json``."""

    model_config = _FILE

    classifier: str
    objective: str
    overall: Blend
    regimes: dict[str, Blend]


class MemberAlone(Member):
    """One member of the adaptive strategy traded alone on the holdout."""

    trades: float | None = None
    sharpe: float | None = None
    total_return: float | None = None
    max_drawdown: float | None = None


class ValidationResult(BaseModel):
    """``performance/<validation>.json``: the adaptive strategy judged on the holdout."""

    model_config = _FILE

    phase: str
    classifier: str
    period: dict[str, Any]
    metrics: dict[str, float | None]
    overfitting: dict[str, Any]
    criteria: dict[str, Any]
    passed: bool
    misses: list[str]
    trials: dict[str, int]
    holdout_looks: int = Field(ge=1)
    members: list[MemberAlone]
    switch_count: int = Field(ge=0)
    switches: list[dict[str, Any]]
    time_in_blend: dict[str, int] = {}


def load(path: Path, model: type[Model]) -> Model:
    """Read and validate a phase input, naming the file and field on a mistake."""
    data = read_json(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FactoryError(f"{path}: {describe_problems(exc.errors())}") from exc


def read_signals(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Captured signals (a file, or a folder of parts) indexed by timestamp; every value
    checked to be -1, 0 or 1. ``columns`` picks trial columns (``t<number>``)."""
    parts = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    if not parts:
        raise FactoryError(f"{path}: no signal files (a phase that writes them has to run first)")
    frames = []
    for part in parts:
        if not part.is_file():
            raise FactoryError(f"{part}: missing (a phase that writes it has to run first)")
        names = pq.read_schema(part).names
        if "timestamp" not in names:
            raise FactoryError(f"{part}: no timestamp column")
        wanted = [c for c in names if c != "timestamp" and (columns is None or c in columns)]
        if wanted or not frames:
            frames.append(read_parquet_columns(part, ["timestamp", *wanted]).set_index("timestamp"))
    frame = pd.concat(frames, axis=1)
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise FactoryError(f"{path}: no signal column {missing[0]!r}")
        frame = frame[columns]
    elif all(c.startswith("t") and c[1:].isdigit() for c in frame.columns):
        frame = frame[sorted(frame.columns, key=lambda c: int(c[1:]))]
    values = frame.to_numpy()
    if values.size and not np.isin(values, (-1, 0, 1)).all():
        raise FactoryError(f"{path}: signals must be -1, 0 or 1")
    return frame
