"""Discovery's chunks traded by an executor's shared tasks, written here as they arrive.

Every unfinished chunk of the families given is submitted at once, in tasks of a few
consecutive chunks (:func:`~strategy_factory.workflow.task_size.task_bundles`) — a grid
search's families all together, so that no worker waits while this process finishes a
family — and each task's result, as it arrives, is checked and written chunk by chunk in
the files and order of the in-process phase: the chunk's signal part, then its checkpoint,
whose presence marks the chunk done for a resumed phase. Finished chunks are read from
their checkpoints and traded again by no task.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, as_completed
from functools import partial
from pathlib import Path

import pandas as pd

from strategy_factory.execution.local import SharedTasks
from strategy_factory.workflow.backtester import Trial, regime_filters
from strategy_factory.workflow.chunks import chunks_payload, chunks_results
from strategy_factory.workflow.config import Family
from strategy_factory.workflow.files import write_signal_part
from strategy_factory.workflow.phases.context import PhaseContext
from strategy_factory.workflow.task_size import chunk_seconds, task_bundles
from strategy_factory.workflow.workspace import read_arrow, write_arrow

Chunk = tuple[str, list[Trial]]  # a chunk's file name and its trials
Key = tuple[str, int]  # a chunk's family and position in the family's chunks


class TradedChunks:
    """The chunks of ``named`` (by family name: the family and its chunks), the unfinished
    ones submitted now as tasks; :meth:`cells` waits for one family's. ``write`` runs a
    file write on the phase's writer thread (in order)."""

    def __init__(
        self,
        context: PhaseContext,
        named: dict[str, tuple[Family, list[Chunk]]],
        tasks: SharedTasks,
        write: Callable[[Callable[[], None]], None],
        period: str,
    ) -> None:
        self.context, self.named, self.write, self.period = context, named, write, period
        self.found: dict[Key, pd.DataFrame] = {}
        unfinished: list[Key] = []
        for family, (_, chunks) in named.items():
            for position, (name, _) in enumerate(chunks):
                checkpoint = self._checkpoint(family, name)
                if checkpoint.is_file():
                    self.found[family, position] = read_arrow(checkpoint)
                else:
                    unfinished.append((family, position))
        self.waiting = self._submit(unfinished, tasks)
        self.arriving = as_completed(self.waiting)

    def cells(self, family: str) -> list[pd.DataFrame]:
        """The cells of every chunk of ``family``, in order, once all have arrived (the
        other families' results that arrive meanwhile are written too)."""
        keys = [(family, position) for position in range(len(self.named[family][1]))]
        while not all(key in self.found for key in keys):
            self._record(next(self.arriving))
        return [self.found[key] for key in keys]

    def _submit(self, unfinished: list[Key], tasks: SharedTasks) -> dict[Future, list[Key]]:
        """Submit the chunks as tasks sized by their estimated work; each task's chunks."""
        data = self.context.data
        cut = data.period(self.period)
        cells_per_trial = len(regime_filters(data)) + 1
        seconds = [
            chunk_seconds(len(self._trials(key)), cells_per_trial, cut.stop - cut.start)
            for key in unfinished
        ]
        waiting: dict[Future, list[Key]] = {}
        for bundle in task_bundles(seconds, tasks.workers):
            keys = [unfinished[i] for i in bundle]
            payload = chunks_payload([(self.named[f][0], self._trials((f, p))) for f, p in keys])
            waiting[tasks.submit(payload)] = keys
        return waiting

    def _record(self, future: Future) -> None:
        """Check a task's result and write each chunk's signal part, then its checkpoint."""
        keys = self.waiting[future]
        chunks = [self._trials(key) for key in keys]
        results = chunks_results(future.result(), chunks, self.context.data, self.period)
        for (family, position), (cells, changes) in zip(keys, results, strict=True):
            name, trials = self.named[family][1][position]
            part = self.context.outputs["signals"] / family / f"{name}.parquet"
            numbers = [trial.number for trial in trials]
            self.write(partial(write_signal_part, part, numbers, changes))
            self.write(partial(write_arrow, self._checkpoint(family, name), cells))
            self.found[family, position] = cells

    def _trials(self, key: Key) -> list[Trial]:
        family, position = key
        return self.named[family][1][position][1]

    def _checkpoint(self, family: str, name: str) -> Path:
        return self.context.checkpoints / family / f"{name}.arrow"
