"""The coordinator role: create the workspace, sequence the phases, hand each its paths.

Each phase reads the files of the latest earlier phase that writes what it needs and
writes its own files; the coordinator resolves those paths before any work (a phase
whose producer is missing is refused when the workflow is created, a missing file when
the phase starts), records in the manifest each phase's state, the hashes of the files
it read and wrote, and any file a user edited between phases (the next phase uses the
edit), and saves the manifest after every step. A killed workflow is resumed from its
manifest: finished phases are skipped, the interrupted one picks up its checkpoints.
"""

from __future__ import annotations

import shutil
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from strategy_factory.errors import FactoryError
from strategy_factory.execution.local import SharingExecutor
from strategy_factory.json_values import plain
from strategy_factory.settings import get_settings
from strategy_factory.workflow.backtester import regime_filters
from strategy_factory.workflow.bars import WorkflowBars, load_bars
from strategy_factory.workflow.config import ParameterDiscovery, WorkflowConfig
from strategy_factory.workflow.phases import analysis, discovery, ensemble, validation
from strategy_factory.workflow.phases.context import PhaseContext
from strategy_factory.workflow.workspace import Workspace, file_hash, new_workflow_id, now

RUNNERS: dict[str, Callable[[PhaseContext], dict[str, Any]]] = {
    "parameter_discovery": discovery.run,
    "regime_analysis": analysis.run,
    "ensemble_optimization": ensemble.run,
    "validation": validation.run,
}
# Which roles each phase type reads, and which phase type writes each role.
READS: dict[str, tuple[tuple[str, str], ...]] = {
    "parameter_discovery": (),
    "regime_analysis": (("performance", "parameter_discovery"),),
    "ensemble_optimization": (
        ("regime_params", "regime_analysis"),
        ("signals", "parameter_discovery"),
    ),
    "validation": (
        ("weights", "ensemble_optimization"),
        ("performance", "parameter_discovery"),
        ("cells", "parameter_discovery"),
    ),
}
Listener = Callable[[dict[str, Any]], None]
# Where a phase's work may run besides this process, asked when needed (None: here).
ExecutorSource = Callable[[], SharingExecutor | None]


def _named(folder: str, stem: str, suffix: str, name: str, kind: str) -> str:
    """``analysis/regime_optimal_params.json`` for a phase keeping its type's name."""
    return f"{folder}/{stem}{'' if name == kind else '-' + name}{suffix}"


def outputs(phase: Any) -> dict[str, str]:
    """The files (relative to the workspace) a phase writes, by role."""
    name, kind = phase.name, phase.type
    if kind == "parameter_discovery":
        return {
            "performance": f"performance/{name}.json",
            "cells": f"performance/{name}-cells.parquet",
            "signals": f"signals/{name}",
        }
    if kind == "regime_analysis":
        return {"regime_params": _named("analysis", "regime_optimal_params", ".json", name, kind)}
    if kind == "ensemble_optimization":
        return {"weights": _named("analysis", "ensemble_weights", ".json", name, kind)}
    return {"result": f"performance/{name}.json", "per_bar": f"signals/{name}.parquet"}


def inputs(config: WorkflowConfig, position: int) -> dict[str, str]:
    """The files the phase at ``position`` reads: the latest earlier producer's, by role."""
    phase = config.phases[position]
    found = {}
    for role, producer in READS[phase.type]:
        earlier = [p for p in config.phases[:position] if p.type == producer]
        if not earlier:
            raise FactoryError(
                f"phase {phase.name} ({phase.type}) reads the {role} that a phase of type "
                f"{producer} writes, and no {producer} phase comes before it: add one or "
                "reorder the phases"
            )
        found[role] = outputs(earlier[-1])[role]
    return found


def _phase_entry(config: WorkflowConfig, position: int) -> dict[str, Any]:
    phase = config.phases[position]
    return {
        "name": phase.name,
        "type": phase.type,
        "state": "pending",
        "inputs": inputs(config, position),
        "outputs": outputs(phase),
        "read": {},
        "wrote": {},
        "progress": None,
        "summary": None,
        "error": None,
        "started_at": None,
        "finished_at": None,
    }


def create(config: WorkflowConfig, results: Path, workflow_id: str | None = None) -> Workspace:
    """Check the workflow against its data, then make its workspace (no phase runs yet)."""
    entries = [_phase_entry(config, i) for i in range(len(config.phases))]
    data = load_bars(config.data, config.classifiers)
    check_budget(config, data)
    manifest = {
        "id": workflow_id or new_workflow_id(),
        "name": config.name,
        "created_at": now(),
        "updated_at": now(),
        "state": "pending",
        "config": config.model_dump(mode="json"),
        "periods": plain(data.describe()),
        "labels": data.labels,
        "phases": entries,
        "edits": [],
    }
    return Workspace.create(results, manifest["id"], manifest)


def discovery_cell_bars(config: WorkflowConfig, data: WorkflowBars) -> int:
    """The simulation work of the workflow's discoveries: every trial traded overall and in
    each regime of each classifier, over every bar of the selection period."""
    cut = data.period("selection")
    cells = 1 + len(regime_filters(data))  # overall, and in each regime
    trials = 0
    for phase in config.phases:
        if isinstance(phase, ParameterDiscovery):
            grid = phase.search.method == "grid"
            trials += sum(f.grid_size() if grid else phase.search.trials for f in phase.families)
    return trials * cells * (cut.stop - cut.start)


def check_budget(config: WorkflowConfig, data: WorkflowBars) -> None:
    """Refuse a workflow whose discoveries would simulate more cell-bars than
    ``FACTORY_MAX_CELL_BARS`` (the budget of an evolution run's simulation too)."""
    work, budget = discovery_cell_bars(config, data), get_settings().max_cell_bars
    if work > budget:
        raise FactoryError(
            f"the workflow is over the work budget: its discoveries simulate {work:.3g} "
            f"cell-bars (trials × cells per trial × selection bars) > {budget:.3g} "
            "(FACTORY_MAX_CELL_BARS). Shrink the parameter spaces, the trials or the "
            "selection period, or raise the budget"
        )


def _hash(path: Path) -> str:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if not p.name.startswith("."))
        return ",".join(f"{p.relative_to(path).as_posix()}:{file_hash(p)}" for p in files)
    return file_hash(path)


def _producer_hash(manifest: dict[str, Any], relative: str) -> str | None:
    for entry in manifest["phases"]:
        if relative in entry["wrote"]:
            return entry["wrote"][relative]
    return None


class Coordinator:
    """Runs a workflow's phases in order, saving the manifest after every step.

    ``executor``: where discovery's chunks may run (see :class:`~.executor.WorkflowExecutor`);
    by default in this process.
    """

    def __init__(
        self,
        workspace: Workspace,
        listener: Listener | None = None,
        executor: ExecutorSource | None = None,
    ) -> None:
        self.workspace = workspace
        self.manifest = workspace.manifest()
        self.config = WorkflowConfig.load(self.manifest["config"])
        self.listener = listener
        self.executor: ExecutorSource = executor or (lambda: None)

    def save(self) -> None:
        self.manifest["updated_at"] = now()
        self.workspace.save(self.manifest)
        if self.listener is not None:
            self.listener(self.manifest)

    def restart_from(self, name: str) -> None:
        """Mark phase ``name`` and every later one to be run again (their pieces dropped)."""
        names = [entry["name"] for entry in self.manifest["phases"]]
        if name not in names:
            raise FactoryError(f"no phase {name!r} in this workflow; phases: {', '.join(names)}")
        for entry in self.manifest["phases"][names.index(name) :]:
            entry.update(state="pending", progress=None, summary=None, error=None, wrote={})
            entry.update(started_at=None, finished_at=None)
            shutil.rmtree(self.workspace.path(f"checkpoints/{entry['name']}"), ignore_errors=True)
            for relative in entry["outputs"].values():
                path = self.workspace.path(relative)
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        self.save()

    def run(self) -> dict[str, Any]:
        """Run every phase not yet done; returns the manifest."""
        self.manifest["state"] = "running"
        self.save()
        for position, entry in enumerate(self.manifest["phases"]):
            if entry["state"] != "done":
                self._run_phase(position, entry)
        self.manifest["state"] = "done"
        self.save()
        return self.manifest

    def _check_inputs(self, entry: dict[str, Any]) -> dict[str, str]:
        read = {}
        for relative in entry["inputs"].values():
            path = self.workspace.path(relative)
            if not path.exists():
                raise FactoryError(
                    f"phase {entry['name']}: its input {path} is missing; run the phase that "
                    "writes it first (factory workflow resume ID --from that phase)"
                )
            found, expected = _hash(path), _producer_hash(self.manifest, relative)
            if expected is not None and found != expected:
                self.manifest["edits"].append(
                    {
                        "path": relative,
                        "found": found,
                        "written": expected,
                        "noticed_at": now(),
                        "used_by": entry["name"],
                    }
                )
            read[relative] = found
        return read

    def _looks(self, position: int) -> int:
        """Holdout looks already taken: validation phases done before this one."""
        earlier = self.manifest["phases"][:position]
        return sum(1 for e in earlier if e["type"] == "validation" and e["state"] == "done")

    def _run_phase(self, position: int, entry: dict[str, Any]) -> None:
        read = self._check_inputs(entry)
        entry.update(state="running", started_at=now(), error=None, read=read)
        self.save()

        def progress(done: int, total: int) -> None:
            entry["progress"] = {"done": done, "total": total}
            self.save()

        context = PhaseContext(
            config=self.config,
            phase=self.config.phases[position],
            inputs={role: self.workspace.path(r) for role, r in entry["inputs"].items()},
            outputs={role: self.workspace.path(r) for role, r in entry["outputs"].items()},
            checkpoints=self.workspace.path(f"checkpoints/{entry['name']}"),
            progress=progress,
            looks=self._looks(position),
            executor=self.executor,
        )
        try:
            summary = RUNNERS[entry["type"]](context)
        except BaseException as exc:
            entry.update(state="failed", error=_describe(exc), finished_at=now())
            self.manifest["state"] = "failed"
            self.save()
            raise
        wrote = {r: _hash(self.workspace.path(r)) for r in entry["outputs"].values()}
        entry.update(state="done", summary=plain(summary), wrote=wrote, finished_at=now())
        self.save()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FactoryError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return "".join(traceback.format_exception_only(exc)).strip()[:2000]
