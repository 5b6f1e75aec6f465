"""Phase 1, parameter discovery: every trial of every family on the selection period.

Trials are run in chunks (one prediction series, at most :data:`CHUNK` trials). A
chunk's signals, as their changes (:class:`~strategy_factory.backtest.SignalChanges`: a
tenth of the values of the per-bar signals), go straight to their final place (a part of
the family's signal folder) and its cells to a checkpoint written after them, whose
presence marks the chunk done, so a resumed phase recomputes no finished trial. A
background thread forms the signals and writes the files while the main thread computes
the chunk's metrics (one core) and the kernel runs the next chunk. The outputs are
assembled from the chunks in trial order, so they are identical however often the phase
was interrupted.

Given an executor (``context.executor()``: a local pool or a Dask cluster), the chunks
run as its shared tasks instead (:mod:`~strategy_factory.workflow.chunks`): the phase's
data is shipped once, the unfinished chunks of every family (of an Optuna batch) are
submitted at once in tasks of a few chunks, and each chunk's result is checked and
written here in the same files and the same order (signal part, then checkpoint), so the
outputs are the same files as in process (:mod:`.chunk_tasks`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pandas as pd

from strategy_factory.execution.local import SharedTasks
from strategy_factory.workflow.backtester import (
    PBO_BLOCKS,
    Capture,
    Trial,
    records_of,
    run_trials,
    signal_key,
)
from strategy_factory.workflow.chunks import discovery_data, trade_chunks
from strategy_factory.workflow.config import Family, ParameterDiscovery
from strategy_factory.workflow.files import write_signal_part, write_signal_timestamps
from strategy_factory.workflow.optimizer import OPTUNA_BATCH, expand, optuna_batch
from strategy_factory.workflow.phases.chunk_tasks import Chunk, TradedChunks
from strategy_factory.workflow.phases.context import PhaseContext
from strategy_factory.workflow.workspace import (
    read_arrow,
    write_arrow,
    write_json,
    write_parquet,
)

CHUNK = 256
PERIOD = "selection"


def _chunks(trials: list[Trial], family: Family) -> Iterator[list[Trial]]:
    groups: dict[tuple, list[Trial]] = {}
    for trial in trials:
        groups.setdefault(signal_key(family, trial.params), []).append(trial)
    for group in groups.values():
        for start in range(0, len(group), CHUNK):
            yield group[start : start + CHUNK]


class _Writer:
    """Writes files on one background thread; :meth:`drain` waits (and re-raises)."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="discovery-writer")
        self.pending: list[Future] = []

    def submit(self, write: Callable[[], None]) -> None:
        self.pending.append(self.pool.submit(write))

    def drain(self) -> None:
        pending, self.pending = self.pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        try:
            self.drain()
        finally:
            self.pool.shutdown()


def _run_chunk(
    context: PhaseContext, family: Family, trials: list[Trial], name: str, writer: _Writer
) -> pd.DataFrame:
    """The chunk's cells: from its checkpoint if it finished before, else computed."""
    cells = context.checkpoints / family.name / f"{name}.arrow"
    if cells.is_file():
        return read_arrow(cells)
    part = context.outputs["signals"] / family.name / f"{name}.parquet"
    numbers = [trial.number for trial in trials]

    def capture(signals: Capture) -> None:  # formed and written while the metrics are computed
        writer.submit(lambda: write_signal_part(part, numbers, signals.changes()))

    execution = context.config.costs.execution()
    found = run_trials(context.data, family, trials, PERIOD, execution, capture)
    # After the signals (one writer thread, in order): the cells file marks the chunk done.
    writer.submit(lambda: write_arrow(cells, found))
    return found


def _named(trials: list[Trial], family: Family, prefix: str = "") -> list[Chunk]:
    """The family's chunks of ``trials`` with their files' name."""
    return [(f"{prefix}trials-{c[0].number:06d}", c) for c in _chunks(trials, family)]


def _run_trials(
    context: PhaseContext,
    family: Family,
    trials: list[Trial],
    writer: _Writer,
    tasks: SharedTasks | None,
    prefix: str = "",
) -> list[pd.DataFrame]:
    named = _named(trials, family, prefix)
    if tasks is not None:
        traded = TradedChunks(context, {family.name: (family, named)}, tasks, writer.submit, PERIOD)
        return traded.cells(family.name)
    return [_run_chunk(context, family, chunk, name, writer) for name, chunk in named]


def _optuna(
    context: PhaseContext, family: Family, writer: _Writer, tasks: SharedTasks | None
) -> tuple[list[Trial], list[pd.DataFrame]]:
    phase: ParameterDiscovery = context.phase
    trials: list[Trial] = []
    found: list[pd.DataFrame] = []
    told: list[tuple[dict[str, Any], float]] = []
    for start in range(0, phase.search.trials, OPTUNA_BATCH):
        size = min(OPTUNA_BATCH, phase.search.trials - start)
        asked = optuna_batch(family, phase.search, told, size)
        batch = [Trial(start + i, params) for i, params in enumerate(asked)]
        prefix = f"batch-{start // OPTUNA_BATCH:05d}-"
        cells = _run_trials(context, family, batch, writer, tasks, prefix)
        records = {r["trial"]: r for r in records_of(batch, pd.concat(cells))}
        for trial in batch:
            value = records[trial.number]["overall"][phase.metric]
            told.append((trial.params, value))
        trials.extend(batch)
        found.extend(cells)
    return trials, found


def run(context: PhaseContext) -> dict[str, Any]:
    """Run (or finish) the discovery; write performance and signals; return a summary."""
    phase: ParameterDiscovery = context.phase
    data = context.data
    families: dict[str, Any] = {}
    signal_folder = context.outputs["signals"]
    total = sum(
        phase.search.trials if phase.search.method != "grid" else f.grid_size()
        for f in phase.families
    )
    done, tables = 0, []
    tasks = _shared_tasks(context)  # before the writer's thread: a local pool may fork
    writer = _Writer()
    cut = data.period(PERIOD)
    rows = (cut.stop - cut.start) // PBO_BLOCKS
    try:
        regimes = data.regimes.iloc[cut].astype("int8").reset_index(names="timestamp")
        labels_file = signal_folder / "regimes.parquet"
        writer.submit(lambda: write_parquet(labels_file, regimes, delta=("timestamp",)))
        prices = data.bars.iloc[cut][["open", "close"]].reset_index(names="timestamp")
        writer.submit(
            lambda: write_parquet(
                signal_folder / "prices.parquet",
                prices,
                delta=("timestamp",),
                split=("open", "close"),
            )
        )
        grid = {
            family.name: [Trial(i, p) for i, p in enumerate(expand(family, phase.search))]
            for family in phase.families
            if phase.search.method != "optuna"
        }
        traded = None
        if tasks is not None and grid:  # every family's chunks at once: no idle worker
            named = {f.name: (f, _named(grid[f.name], f)) for f in phase.families}
            traded = TradedChunks(context, named, tasks, writer.submit, PERIOD)
        for family in phase.families:
            write_signal_timestamps(signal_folder / family.name, data.bars.index[cut])
            if phase.search.method == "optuna":
                trials, found = _optuna(context, family, writer, tasks)
            else:
                trials = grid[family.name]
                if traded is not None:
                    found = traded.cells(family.name)
                else:
                    found = _run_trials(context, family, trials, writer, tasks)
            cells = pd.concat(found, ignore_index=True).sort_values("trial", kind="stable")
            tables.append(cells.assign(family=family.name))
            records = records_of(sorted(trials, key=lambda t: t.number), cells)
            families[family.name] = {"kind": family.kind, "trials": records}
            done += len(records)
            if family is not phase.families[-1]:
                writer.drain()  # a family reported done has every file on disk
                context.progress(done, total)
        every_cell = pd.concat(tables, ignore_index=True)
        writer.submit(lambda: write_parquet(context.outputs["cells"], every_cell))
        write_json(
            context.outputs["performance"],
            {
                "phase": phase.name,
                "period": data.describe()[PERIOD],
                "labels": data.labels,
                "label_names": {
                    k: {str(a): b for a, b in v.items()} for k, v in data.label_names.items()
                },
                "rows_per_block": max(rows, 1),
                "families": families,
            },
            indent=False,  # large: written compact
        )
        writer.drain()  # the last family's files were written while the JSON was encoded
        context.progress(done, total)
    finally:
        try:
            writer.close()
        finally:
            if tasks is not None:
                tasks.close()
    trades = [r["overall"]["trades"] for f in families.values() for r in f["trials"]]
    never = sum(1 for t in trades if not t)
    summary: dict[str, Any] = {"trials": len(trades), "never_traded": never}
    warnings = [f"{never} of {len(trades)} trials never traded in the selection period"]
    warnings = warnings[:never] + _second_looks(phase, data)
    if warnings:
        summary["warning"] = "; ".join(warnings)
    return summary


def _shared_tasks(context: PhaseContext) -> SharedTasks | None:
    """The executor's tasks on the phase's data (shipped now), or None to run here."""
    executor = context.executor()
    if executor is None:
        return None
    phase: ParameterDiscovery = context.phase
    execution = context.config.costs.execution()
    shipped = discovery_data(context.data, phase.families, execution, PERIOD)
    return executor.share(trade_chunks, shipped)


def _second_looks(phase: ParameterDiscovery, data: Any) -> list[str]:
    """Model families whose run already judged bars of this workflow's holdout."""
    from strategy_factory.workflow.models import model_predictions

    notes = []
    for family in phase.families:
        if family.kind != "model":
            continue
        found = model_predictions(family, data.symbol, data.selection_start)
        holdout = data.bars.index[data.period("holdout")]
        seen = int((holdout >= found.holdout_start).sum())
        if seen:
            notes.append(
                f"model {found.model_id} was judged by its run on bars from "
                f"{found.holdout_start:%Y-%m-%d}: {seen} of the {len(holdout)} holdout bars "
                "are a second look"
            )
    return notes
