"""Run a workflow in a child process that kills itself (SIGKILL) at a chosen moment."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any


def _killer(phase: str) -> Any:
    def listener(manifest: dict[str, Any]) -> None:
        entry = next(e for e in manifest["phases"] if e["name"] == phase)
        # Phases that checkpoint die after their first finished piece; others as they start.
        started = entry["state"] == "running"
        if started and (entry["progress"] or phase in ("regime_analysis", "validation")):
            os.kill(os.getpid(), signal.SIGKILL)

    return listener


def run_until_killed(results: str, workflow_id: str, phase: str) -> None:
    """Resume the workflow ``workflow_id``, dying with SIGKILL inside phase ``phase``."""
    from strategy_factory.workflow import Workspace, run_workflow

    run_workflow(Workspace.open(Path(results), workflow_id), listener=_killer(phase))
