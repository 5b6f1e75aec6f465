"""The files phases hand each other, and their validation on the way in.

Each JSON file a phase (or the workflow report) reads is checked against a model here,
so a file a user edited between phases (or a damaged one) is refused with an error
naming the file and the field, before any work. A family's captured signals are a
folder of Parquet parts and ``timestamps.parquet``, the timestamps of the bars numbered
from 0. A part has a row per change of a trial's signal, one int32 ``change`` = 4 × bar
+ signal + 1: from that bar the signal takes that value (−1, 0 or 1) and holds it until
the next row; a trial's rows follow each other from its row at bar 0, the trials'
numbers in that order in the file's metadata. One delta-coded column (a trial's changes
grow by small steps) writes in 60% of the time of separate bar and signal columns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from strategy_factory.backtest import SignalChanges
from strategy_factory.backtest.changes import split_codes
from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.workflow.workspace import (
    read_json,
    read_parquet,
    read_parquet_columns,
    write_parquet,
)

_FILE = ConfigDict(extra="ignore")
SIGNAL_TIMESTAMPS = "timestamps.parquet"
SIGNAL_PART_COLUMN = "change"
MAX_SIGNAL_BARS = 2**29  # 4 × bar + 2 fits in an int32
SIGNAL_TRIALS = "strategy_factory.trials"
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


def write_signal_part(path: Path, trials: Sequence[int], changes: SignalChanges) -> None:
    """One part of a family's captured signals: a row per change (``change`` = 4 × bar +
    signal + 1), each trial's rows together from its row at bar 0, the trials' numbers in
    that order in the file's metadata; series ``k`` of ``changes`` is the signal of
    ``trials[k]``."""
    if changes.bars > MAX_SIGNAL_BARS:
        raise FactoryError(
            f"signals of {changes.bars:,} bars cannot be captured (at most {MAX_SIGNAL_BARS:,}"
            " bars per period): shorten the selection period"
        )
    numbers = np.asarray(trials, dtype=np.int64)
    change = changes.codes()
    if np.any(np.diff(numbers) < 0):  # rows in ascending trial order
        change = change[np.argsort(numbers[changes.series], kind="stable")]
    listed = json.dumps(np.sort(numbers).tolist())
    write_parquet(
        path,
        pa.table({SIGNAL_PART_COLUMN: change}),
        delta=(SIGNAL_PART_COLUMN,),
        metadata={SIGNAL_TRIALS: listed},
    )


def write_signal_timestamps(folder: Path, index: pd.DatetimeIndex) -> None:
    """The timestamps of the bars a family's signal parts number from 0."""
    write_parquet(
        folder / SIGNAL_TIMESTAMPS, pd.DataFrame({"timestamp": index}), delta=("timestamp",)
    )


def _trial_numbers(folder: Path, columns: list[str]) -> list[int]:
    bad = [c for c in columns if not (c.startswith("t") and c[1:].isdigit())]
    if bad:
        raise FactoryError(f"{folder}: {bad[0]!r} is not a trial column (t<number>)")
    return [int(c[1:]) for c in columns]


def _part_trials(part: Path) -> np.ndarray:
    listed = (pq.read_schema(part).metadata or {}).get(SIGNAL_TRIALS.encode())
    try:
        trials = np.asarray(json.loads(listed), dtype=np.int64) if listed else None
    except (ValueError, TypeError) as exc:
        raise FactoryError(f"{part}: its trial numbers are not a list of integers") from exc
    if trials is None or trials.ndim != 1 or (trials < 0).any() or (np.diff(trials) <= 0).any():
        raise FactoryError(
            f"{part}: no ascending list of trial numbers in its metadata "
            f"({SIGNAL_TRIALS}); not a part written by parameter discovery"
        )
    return trials


def _part_changes(part: Path, bars: int) -> SignalChanges:
    trials = _part_trials(part)
    if SIGNAL_PART_COLUMN not in pq.read_schema(part).names:
        raise FactoryError(
            f"{part}: no {SIGNAL_PART_COLUMN} column (a signal part has one: 4 × bar + signal + 1)"
        )
    change = read_parquet_columns(part, [SIGNAL_PART_COLUMN])[SIGNAL_PART_COLUMN].to_numpy()
    if not np.issubdtype(change.dtype, np.integer):
        raise FactoryError(
            f"{part}: {SIGNAL_PART_COLUMN} must be whole numbers, got {change.dtype}"
        )
    bar, signal = split_codes(change)
    starts = np.flatnonzero(bar == 0)
    if starts.size != trials.size or (starts.size and starts[0] != 0):
        raise FactoryError(
            f"{part}: {trials.size} trials are named but {starts.size} rows are at bar 0 "
            "(each trial's rows start at bar 0)"
        )
    series = np.repeat(trials, np.diff(np.append(starts, bar.size)))
    try:
        return SignalChanges.checked(series, bar, signal, bars)
    except FactoryError as exc:
        raise FactoryError(f"{part}: {exc}") from exc


def read_signals(folder: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A family's captured signals, (bars × trials) int8 columns ``t<number>`` indexed by
    timestamp; every part checked. ``columns`` picks trials (default: all, in order)."""
    parts = sorted(p for p in folder.glob("*.parquet") if p.name != SIGNAL_TIMESTAMPS)
    if not parts:
        raise FactoryError(f"{folder}: no signal files (a phase that writes them has to run first)")
    index = pd.DatetimeIndex(read_parquet(folder / SIGNAL_TIMESTAMPS)["timestamp"])
    wanted = None if columns is None else _trial_numbers(folder, columns)
    found: dict[int, np.ndarray] = {}
    for part in parts:
        changes = _part_changes(part, len(index))
        trials = np.unique(changes.series)
        twice = [int(t) for t in trials if t in found]
        if twice:
            raise FactoryError(f"{part}: trial {twice[0]} is in another part of {folder} too")
        if wanted is not None:
            trials = trials[np.isin(trials, wanted)]
        found.update(zip(trials.tolist(), changes.decode(trials), strict=True))
    order = sorted(found) if wanted is None else wanted
    absent = [t for t in order if t not in found]
    if absent:
        raise FactoryError(f"{folder}: no signal column 't{absent[0]}'")
    values = np.stack([found[t] for t in order]) if order else np.empty((0, len(index)), np.int8)
    return pd.DataFrame(values.T, index=index.rename("timestamp"), columns=[f"t{t}" for t in order])
