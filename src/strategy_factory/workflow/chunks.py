"""Discovery's chunks off this process: as shared tasks of a local pool or a Dask cluster.

A discovery phase ships :class:`DiscoveryData` once (the workflow's prepared bars,
z-scores and regime labels, and the predictions of every family not computed from the
bars — a stored model's, a user's file — read here, where the store and the file are),
and each task trades a few consecutive chunks of trials on it (:func:`trade_chunks`;
how many: :mod:`~strategy_factory.workflow.task_size`), returning each chunk's cells and
its captured signal changes as plain arrays. Nothing on a worker reads a file, the store
or its own ``FACTORY_HOME``. :func:`chunks_results` checks a result, chunk by chunk,
before anything of the chunk is written; the files are written by the phase.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from strategy_factory.backtest import Execution, SignalChanges
from strategy_factory.errors import FactoryError
from strategy_factory.workflow.backtester import (
    CELL_COLUMNS,
    Capture,
    Trial,
    family_predictions,
    regime_filters,
    run_trials,
)
from strategy_factory.workflow.bars import WorkflowBars
from strategy_factory.workflow.config import Family

TRANSIT_CODEC = "zstd"
# A cells table travels as two matrices, a row per column: its whole-number columns
# (int64) and its measures (float64), with its cell names as a list. Dask sends each NumPy
# array of a result as a frame of its own: the 47 columns of a chunk's table as arrays
# cost ~2 ms a chunk in the round trip (a 3-chunk task's 141 arrays 8–9 ms, against
# ~1 ms for 6 matrices; benchmarks/bench_dask_chunk_overhead.py), the bytes themselves
# next to nothing.
_WHOLE = ("trial", "bars")
_MEASURES = tuple(name for name in CELL_COLUMNS if name not in (*_WHOLE, "cell"))


@dataclass(frozen=True)
class DiscoveryData:
    """What a discovery phase ships to the workers once: the data every chunk reads."""

    data: WorkflowBars
    families: dict[str, Family]
    predictions: dict[str, pd.Series]  # by family, for families not computed from bars
    execution: Execution
    period: str


def discovery_data(
    data: WorkflowBars, families: list[Family], execution: Execution, period: str
) -> DiscoveryData:
    """The shipped data of a phase over ``families``, their fixed predictions read here."""
    return DiscoveryData(
        data=data,
        families={family.name: family for family in families},
        predictions={
            family.name: family_predictions(family, {}, data)
            for family in families
            if family.kind != "rule"
        },
        execution=execution,
        period=period,
    )


def chunk_payload(family: Family, trials: list[Trial]) -> dict[str, Any]:
    """A task's payload: the family's name and each trial's number and parameters."""
    return {"family": family.name, "trials": [[t.number, t.params] for t in trials]}


def chunks_payload(chunks: list[tuple[Family, list[Trial]]]) -> dict[str, Any]:
    """A task's payload: chunks (each of one family), traded one after another."""
    return {"chunks": [chunk_payload(family, trials) for family, trials in chunks]}


def trade_chunks(shared: DiscoveryData, payload: dict[str, Any]) -> dict[str, Any]:
    """Trade a task's chunks on a worker: each one's result as :func:`trade_chunk` gives it."""
    return {"chunks": [trade_chunk(shared, chunk) for chunk in payload["chunks"]]}


def trade_chunk(shared: DiscoveryData, payload: dict[str, Any]) -> dict[str, Any]:
    """Trade one chunk on a worker: its cells (as two matrices and the cell names) and
    its signals' changes."""
    family = shared.families[payload["family"]]
    trials = [Trial(number, params) for number, params in payload["trials"]]
    captured: list[Capture] = []
    cells = run_trials(
        shared.data,
        family,
        trials,
        shared.period,
        shared.execution,
        captured.append,
        shared.predictions.get(family.name),
    )
    changes = captured[0].changes()
    table = {
        "whole": cells[list(_WHOLE)].to_numpy(dtype=np.int64).T.copy(),
        "measures": cells[list(_MEASURES)].to_numpy(dtype=np.float64).T.copy(),
        "cell": cells["cell"].tolist(),
    }
    counts = np.diff(np.searchsorted(changes.series, np.arange(len(trials) + 1)))
    return {"cells": table, "changes": _packed(changes, counts.astype(np.int32))}


def _packed(changes: SignalChanges, counts: np.ndarray) -> dict[str, Any]:
    """The changes as they travel: each trial's count of changes, and the steps between
    consecutive codes (4 × bar + signal + 1, the trials' rows one after another) packed by
    :func:`packed_steps` — under half a byte a change instead of the nine of series, bar
    and value."""
    steps = np.diff(changes.codes(), prepend=np.int32(0))
    return {"counts": counts, "steps": packed_steps(steps), "bars": changes.bars}


def packed_steps(steps: np.ndarray) -> bytes:
    """int32 steps as they travel: little-endian, split into 4 byte planes (every step's
    lowest byte, then every second byte, …), zstd-compressed. A step is mostly small, so
    its high planes are nearly all zeros: a 70-trial × 100,000-bar chunk's 716,000 steps
    take 249 KiB and 3 ms to pack, against 575 KiB and 6.5 ms compressed as they are."""
    values = np.ascontiguousarray(steps, dtype="<i4")
    planes = np.ascontiguousarray(values.view(np.uint8).reshape(-1, 4).T)
    return pa.compress(planes, codec=TRANSIT_CODEC, asbytes=True)


def unpacked_steps(packed: bytes, rows: int) -> np.ndarray:
    """The ``rows`` int32 steps of :func:`packed_steps` (Arrow's error if they are not)."""
    raw = pa.decompress(packed, rows * 4, codec=TRANSIT_CODEC, asbytes=True)
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(4, rows)
    value = planes[3].astype(np.uint32)
    for plane in planes[2::-1]:  # the planes' bytes put back together, highest first
        value <<= 8
        value |= plane
    return value.view(np.int32)


def _unpacked(changes: dict[str, Any], trials: int, bars: int) -> SignalChanges:
    """The changes of :func:`_packed`, checked: refused by name when malformed."""
    counts = np.asarray(changes["counts"])
    whole = np.issubdtype(counts.dtype, np.integer)
    if not whole or counts.shape != (trials,) or (counts < 1).any() or (counts > bars).any():
        raise FactoryError(
            f"a discovery chunk's changes must count between 1 and {bars} changes for each "
            f"of its {trials} trials"
        )
    rows = int(counts.sum())
    packed = changes["steps"]
    if not isinstance(packed, bytes):
        raise FactoryError("a discovery chunk's steps must be bytes (zstd-compressed int32)")
    try:
        steps = unpacked_steps(packed, rows)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise FactoryError(
            f"a discovery chunk's steps are not {rows} zstd-compressed int32 values: {exc}"
        ) from exc
    return SignalChanges.from_steps(counts, steps, bars)


def chunks_results(
    result: Any, chunks: list[list[Trial]], data: WorkflowBars, period: str
) -> Iterator[tuple[pd.DataFrame, SignalChanges]]:
    """A task's result, each chunk's checked by :func:`chunk_result` in turn (so a
    caller writes a chunk's files before the next one is checked)."""
    parts = result.get("chunks") if isinstance(result, dict) and set(result) == {"chunks"} else None
    if not isinstance(parts, list) or len(parts) != len(chunks):
        raise FactoryError(
            f"a discovery task's result must hold the results of its {len(chunks)} chunks"
        )
    for part, trials in zip(parts, chunks, strict=True):
        yield chunk_result(part, trials, data, period)


def chunk_result(
    result: Any, trials: list[Trial], data: WorkflowBars, period: str
) -> tuple[pd.DataFrame, SignalChanges]:
    """A task's result, checked: the chunk's cells table (as :func:`run_trials` gives it)
    and its trials' signal changes. :class:`FactoryError` names the first problem."""
    if not isinstance(result, dict) or set(result) != {"cells", "changes"}:
        raise FactoryError("a discovery chunk's result must hold exactly cells and changes")
    cells = _cells(result["cells"], trials, len(regime_filters(data)) + 1)
    changes = result["changes"]
    if not isinstance(changes, dict) or set(changes) != {"counts", "steps", "bars"}:
        raise FactoryError("a discovery chunk's changes must be counts, steps and bars")
    try:
        bars = int(changes["bars"])
    except (TypeError, ValueError) as exc:
        raise FactoryError("a discovery chunk's bars must be a whole number") from exc
    checked = _unpacked(changes, len(trials), bars)
    cut = data.period(period)
    if checked.bars != cut.stop - cut.start:
        raise FactoryError(
            f"a discovery chunk's changes cover {checked.bars} bars, not {cut.stop - cut.start}"
        )
    return cells, checked


def _cells(table: Any, trials: list[Trial], per_trial: int) -> pd.DataFrame:
    """The cells table of ``table`` (see :data:`_MEASURES`), checked for its parts' names,
    types and shapes, and for its trials."""
    if not isinstance(table, dict) or set(table) != {"whole", "measures", "cell"}:
        raise FactoryError("a discovery chunk's cells must be whole, measures and cell")
    rows = len(trials) * per_trial
    names = table["cell"]
    texts = isinstance(names, list) and all(isinstance(name, str) for name in names)
    if not texts or len(names) != rows:
        raise FactoryError(f"a discovery chunk's cell names must be {rows} texts")
    for part, columns, kind in (("whole", _WHOLE, np.int64), ("measures", _MEASURES, np.float64)):
        matrix = table[part]
        shape = (len(columns), rows)
        if not isinstance(matrix, np.ndarray) or matrix.dtype != kind or matrix.shape != shape:
            raise FactoryError(
                f"a discovery chunk's {part} must be {shape[0]} columns × {rows} rows of "
                f"{np.dtype(kind)}"
            )
    whole = dict(zip(_WHOLE, table["whole"], strict=True))
    expected = np.repeat([t.number for t in trials], per_trial)
    if not np.array_equal(whole["trial"], expected):
        raise FactoryError("a discovery chunk's cells are not those of the trials it was given")
    measures = dict(zip(_MEASURES, table["measures"], strict=True))
    columns = {**whole, "cell": names, **measures}
    return pd.DataFrame({name: columns[name] for name in CELL_COLUMNS})
