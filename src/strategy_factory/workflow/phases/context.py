"""What the coordinator hands a phase: its config, explicit input and output paths, data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from strategy_factory.execution.local import SharingExecutor
from strategy_factory.workflow.bars import WorkflowBars, load_bars
from strategy_factory.workflow.config import WorkflowConfig


@dataclass
class PhaseContext:
    """One phase's run: where to read, where to write, where to keep finished pieces.

    ``inputs`` and ``outputs`` map a role (``performance``, ``signals``,
    ``regime_params``, ``weights``, …) to a path; a phase touches nothing else but its
    ``checkpoints`` folder. ``progress(done, total)`` reports how far it is.
    ``executor()`` is where its work may run besides this process (a local pool or a
    Dask cluster), or None (the default: here); it is built when a phase first asks.
    """

    config: WorkflowConfig
    phase: Any
    inputs: dict[str, Path]
    outputs: dict[str, Path]
    checkpoints: Path
    progress: Callable[[int, int], None] = field(default=lambda done, total: None)
    looks: int = 0  # holdout looks before this one (validation phases already run)
    executor: Callable[[], SharingExecutor | None] = field(default=lambda: None)

    @cached_property
    def data(self) -> WorkflowBars:
        """The workflow's bars, z-scores, regime labels and periods (loaded once)."""
        return load_bars(self.config.data, self.config.classifiers)
