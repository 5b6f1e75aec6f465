"""Multi-phase regime-adaptive workflows: discover → per-regime → ensemble replay → validate.

Example::

    config = WorkflowConfig.from_yaml("examples/workflow.yaml")
    workspace = create_workflow(config, Path("results"))
    manifest = run_workflow(workspace)

One process runs a workflow at a time (:mod:`~strategy_factory.workflow.lock`): a second
``run_workflow`` of the same workspace raises :class:`WorkflowBusyError`, and
:func:`is_running` tells a live workflow from one that was interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strategy_factory.workflow.config import WorkflowConfig
from strategy_factory.workflow.coordinator import Coordinator, ExecutorSource, Listener, create
from strategy_factory.workflow.executor import WorkflowExecutor
from strategy_factory.workflow.lock import WorkflowBusyError, holding, is_running
from strategy_factory.workflow.workspace import Workspace, list_workspaces


def create_workflow(
    config: WorkflowConfig, results: Path, workflow_id: str | None = None
) -> Workspace:
    """Check ``config`` against its data and make the workspace ``results/<id>/``."""
    return create(config, results, workflow_id)


def run_workflow(
    workspace: Workspace,
    from_phase: str | None = None,
    listener: Listener | None = None,
    executor: ExecutorSource | None = None,
) -> dict[str, Any]:
    """Run (or resume) a workflow's phases; ``from_phase`` reruns that phase and the later ones.

    Holds the workspace's run lock throughout (:class:`WorkflowBusyError` when another
    process runs it); the manifest is read once the lock is held. ``executor``: where
    discovery's chunks run (a :class:`WorkflowExecutor`; default in this process).
    """
    with holding(workspace.root):
        coordinator = Coordinator(workspace, listener, executor)
        if from_phase is not None:
            coordinator.restart_from(from_phase)
        return coordinator.run()


__all__ = [
    "Coordinator",
    "ExecutorSource",
    "Listener",
    "WorkflowBusyError",
    "WorkflowConfig",
    "WorkflowExecutor",
    "Workspace",
    "create_workflow",
    "is_running",
    "list_workspaces",
    "run_workflow",
]
