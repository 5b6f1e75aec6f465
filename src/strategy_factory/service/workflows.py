"""Workflows over the API: create and queue, resume, and what the API shows of them.

``start_workflow`` checks the config against the data (``create_workflow``) before it
makes or records anything; if recording then fails, the new workspace is removed, so a
refused request leaves neither a folder nor a row behind.

A predictions family names a file the server reads. Over the API that file must be
inside the server's FACTORY_HOME or FACTORY_RESULTS (a relative path is read from
FACTORY_HOME), after following symbolic links: a client may not make the server read,
and reveal through error messages and results, any other file it can reach.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fastapi import HTTPException, status

from strategy_factory.errors import FactoryError
from strategy_factory.service.config import ServiceSettings
from strategy_factory.service.schemas.workflows import WorkflowAccepted
from strategy_factory.service.workflow_runner import WorkflowRunner
from strategy_factory.store import Store, WorkflowRecord
from strategy_factory.workflow import WorkflowConfig, Workspace, create_workflow, is_running
from strategy_factory.workflow.config import ParameterDiscovery
from strategy_factory.workflow.lock import holder

UNFINISHED = ("pending", "running")


def start_workflow(
    config: WorkflowConfig, settings: ServiceSettings, store: Store, runner: WorkflowRunner
) -> WorkflowAccepted:
    """Check ``config`` against its data, make its workspace, record it and queue it."""
    if runner.closing:
        raise _stopping()
    config = confine_predictions(config, settings)
    workspace = create_workflow(config, settings.results.resolve())
    try:
        recorded = store.workflows.record(workspace.manifest())
    except BaseException:
        shutil.rmtree(workspace.root, ignore_errors=True)
        raise
    if not runner.submit(workspace.root):
        # The server began stopping a moment ago: the workflow stays recorded, pending and
        # not live (interrupted), for a resume once the server is back.
        raise _stopping()
    return WorkflowAccepted(id=recorded.id, name=recorded.name, state=recorded.state)


def resume_workflow(
    workflow_id: str, from_phase: str | None, store: Store, runner: WorkflowRunner
) -> WorkflowAccepted:
    """Queue a recorded workflow to finish (or rerun from ``from_phase``); 409 while it runs."""
    record = store.workflows.get(workflow_id)
    if workflow_id in runner.active():
        raise _conflict(f"workflow {workflow_id} is queued or running on this server already")
    root = Path(record.workspace)
    if is_running(root):
        raise _conflict(
            f"workflow {workflow_id} is being run by another process ({holder(root)}); "
            "wait for it to finish, or stop that process first"
        )
    if not (root / "metadata").is_dir():
        raise FactoryError(
            f"workflow {workflow_id}: its workspace {root} is not reachable from this server"
        )
    manifest = Workspace(root).manifest()
    names = [entry["name"] for entry in manifest["phases"]]
    if from_phase is not None and from_phase not in names:
        raise FactoryError(
            f"workflow {workflow_id} has no phase {from_phase!r}; phases: {', '.join(names)}"
        )
    if from_phase is None and manifest["state"] == "done":
        raise FactoryError(
            f"workflow {workflow_id} is done; give from_phase to rerun a phase and every "
            f"later one (phases: {', '.join(names)})"
        )
    if runner.closing:
        raise _stopping()
    if not runner.submit(root, from_phase):
        raise _conflict(f"workflow {workflow_id} is queued or running on this server already")
    return WorkflowAccepted(id=workflow_id, name=record.name, state=manifest["state"])


def confine_predictions(config: WorkflowConfig, settings: ServiceSettings) -> WorkflowConfig:
    """``config`` with every predictions path made absolute, each checked to lie inside
    FACTORY_HOME or FACTORY_RESULTS (relative paths are read from FACTORY_HOME)."""
    folders = (settings.home.resolve(), settings.results.resolve())
    phases = [
        phase.model_copy(update={"families": [_confined(f, folders) for f in phase.families]})
        if isinstance(phase, ParameterDiscovery)
        else phase
        for phase in config.phases
    ]
    return config.model_copy(update={"phases": phases})


def _confined(family: Any, folders: tuple[Path, Path]) -> Any:
    if family.kind != "predictions" or not family.path:
        return family
    home, results = folders
    given = Path(family.path)
    resolved = (given if given.is_absolute() else home / given).resolve()
    if not any(resolved.is_relative_to(folder) for folder in folders):
        raise FactoryError(
            f"family {family.name}: over the API a predictions file must be inside the "
            f"server's FACTORY_HOME ({home}) or FACTORY_RESULTS ({results}); {family.path!r} "
            "is not. Copy the file there (a relative path is read from FACTORY_HOME), or run "
            "the workflow with factory workflow run"
        )
    if not resolved.is_file():
        raise FactoryError(f"family {family.name}: no predictions file {family.path!r} in {home}")
    return family.model_copy(update={"path": str(resolved)})


def live(record: WorkflowRecord, runner: WorkflowRunner) -> bool | None:
    """Whether something runs the workflow now (queued here, or its lock is held)."""
    if record.id in runner.active():
        return True
    return is_running(Path(record.workspace))


def workflow_out(record: WorkflowRecord, running: bool | None) -> dict[str, Any]:
    """A workflow as ``GET /workflows`` lists it."""
    return {
        "id": record.id,
        "name": record.name,
        "symbol": (record.config.get("data") or {}).get("symbol"),
        "state": record.state,
        "live": running,
        "interrupted": record.state in UNFINISHED and running is False,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "phases": [
            {key: phase.get(key) for key in ("name", "type", "state", "progress")}
            for phase in record.phases
        ],
    }


def workflow_detail(record: WorkflowRecord, running: bool | None) -> dict[str, Any]:
    """A workflow as ``GET /workflows/{id}`` shows it."""
    return {
        **workflow_out(record, running),
        "workspace": record.workspace,
        "config": record.config,
        "phases": [_phase(phase, record.edits) for phase in record.phases],
        "edits": [
            {key: edit.get(key) for key in ("path", "used_by", "noticed_at")}
            for edit in record.edits
        ],
        "result": validation_result(record.phases),
    }


def _phase(phase: dict[str, Any], edits: list[dict[str, Any]]) -> dict[str, Any]:
    summary = phase.get("summary") or {}
    warnings = [str(summary["warning"])] if summary.get("warning") else []
    warnings += [
        f"{edit['path']} was edited before this phase read it (used as edited)"
        for edit in edits
        if edit.get("used_by") == phase["name"]
    ]
    return {**phase, "warnings": warnings}


def validation_result(phases: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The key result of the latest finished validation phase, if any."""
    finished = [p for p in phases if p["type"] == "validation" and p["state"] == "done"]
    if not finished or not finished[-1].get("summary"):
        return None
    summary = finished[-1]["summary"]
    return {
        "phase": finished[-1]["name"],
        "passed": bool(summary.get("passed")),
        "misses": list(summary.get("misses") or []),
        "sharpe": summary.get("sharpe"),
        "trades": summary.get("trades"),
        "switch_count": summary.get("switches"),
    }


def _conflict(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_409_CONFLICT, detail=message)


def _stopping() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        detail="the server is stopping and starts no workflow; try again once it is back",
    )
