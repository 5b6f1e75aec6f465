"""What the workflow report shows, read from the workspace's files.

:func:`gather_workflow_report` reads the workspace only — the manifest,
``analysis/*.json``, ``performance/<validation>.json`` and
``signals/<validation>.parquet`` — never the bars, the store or a model, so the report
shows exactly what the phases wrote (edits included) and works on a copied folder.
Every phase is kept, in order, however often its type repeats. A file a finished phase
wrote that can no longer be read is named (on the page, and in
:attr:`WorkflowReport.problems`) instead of hiding what every other phase did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.workflow.files import (
    EnsembleWeights,
    RegimeParams,
    ValidationResult,
    load,
)
from strategy_factory.workflow.workspace import Workspace, read_parquet_columns

PER_BAR_COLUMNS = ["timestamp", "equity", "regime", "blend", "switch"]
UNDEFINED = -1  # the label of a bar whose classifier is still warming up


@dataclass(frozen=True)
class PhaseView:
    """One phase as the report shows it: its manifest record and, once done, its files."""

    position: int
    entry: dict[str, Any]
    analysis: RegimeParams | None = None
    weights: EnsembleWeights | None = None
    validation: ValidationResult | None = None
    per_bar: pd.DataFrame | None = None
    problem: str | None = None  # why a finished phase's file could not be read

    @property
    def name(self) -> str:
        return str(self.entry["name"])

    @property
    def type(self) -> str:
        return str(self.entry["type"])

    @property
    def state(self) -> str:
        return str(self.entry["state"])

    @property
    def shown(self) -> bool:
        """Whether its files were read (done, and readable)."""
        return self.state == "done" and self.problem is None


@dataclass(frozen=True)
class WorkflowReport:
    """Everything the page shows, read once from the workspace."""

    manifest: dict[str, Any]
    phases: list[PhaseView]
    label_names: dict[str, dict[str, str]]  # classifier -> label -> name

    def of_type(self, kind: str) -> list[PhaseView]:
        """The phases of one type, in workflow order."""
        return [phase for phase in self.phases if phase.type == kind]

    @property
    def problems(self) -> list[str]:
        """Files of finished phases the report could not read."""
        return [f"{p.name}: {p.problem}" for p in self.phases if p.problem]

    def regime_name(self, classifier: str, label: Any) -> str:
        """``0 · calmest``; ``overall``; ``undefined`` for a classifier's warm-up label."""
        text = str(label)
        if text == "overall":
            return text
        if text == str(UNDEFINED):
            return "undefined"
        name = self.label_names.get(classifier, {}).get(text)
        return f"{text} · {name}" if name else text


def _read(workspace: Workspace, position: int, entry: dict[str, Any]) -> PhaseView:
    """A phase's view; a finished phase's files are read and validated."""
    if entry["state"] != "done":
        return PhaseView(position, entry)
    path = {role: workspace.path(relative) for role, relative in entry["outputs"].items()}
    try:
        if entry["type"] == "regime_analysis":
            return PhaseView(position, entry, analysis=load(path["regime_params"], RegimeParams))
        if entry["type"] == "ensemble_optimization":
            return PhaseView(position, entry, weights=load(path["weights"], EnsembleWeights))
        if entry["type"] == "validation":
            result = load(path["result"], ValidationResult)
            per_bar = read_parquet_columns(path["per_bar"], PER_BAR_COLUMNS)
            return PhaseView(position, entry, validation=result, per_bar=per_bar)
    except FactoryError as exc:
        # Shown on the page and returned in WorkflowReport.problems: one damaged file
        # must not hide what every other phase did.
        return PhaseView(position, entry, problem=str(exc))
    return PhaseView(position, entry)  # discovery: the manifest's summary says it all


def gather_workflow_report(workspace: Workspace) -> WorkflowReport:
    """Read the manifest and the files of every finished phase."""
    manifest = workspace.manifest()
    phases = [_read(workspace, i, entry) for i, entry in enumerate(manifest["phases"])]
    names: dict[str, dict[str, str]] = {}
    for phase in phases:  # every analysis names the same labels; a later one wins
        if phase.analysis is not None:
            for classifier, labels in phase.analysis.label_names.items():
                names.setdefault(classifier, {}).update(labels)
    return WorkflowReport(manifest, phases, names)


def params_text(params: dict[str, Any]) -> str:
    """Parameters as ``lookback=20, threshold=0.005, z_limit=none`` (sorted by name)."""
    return ", ".join(f"{key}={_value(params[key])}" for key in sorted(params))


def _value(value: Any) -> str:
    # str of a float is its shortest exact form: the value the JSON file holds
    return "none" if value is None else str(value)
