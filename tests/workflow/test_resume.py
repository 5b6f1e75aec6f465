"""Kill -9 in each phase, then resume: no finished trial is redone, the result is the same."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from strategy_factory.data import BarCatalog
from strategy_factory.workflow import (
    Coordinator,
    WorkflowConfig,
    Workspace,
    create_workflow,
    run_workflow,
)
from tests.workflow.conftest import output_hashes, small_workflow
from tests.workflow.killer import run_until_killed

PHASES = ("parameter_discovery", "regime_analysis", "ensemble_optimization", "validation")


def _pieces(root: Path) -> dict[str, int]:
    """Every checkpoint file and its modification time (rewritten = recomputed)."""
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for p in (root / "checkpoints").rglob("*")
        if p.is_file()
    }


def test_a_workflow_killed_in_each_phase_resumes_to_the_uninterrupted_result(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    config = WorkflowConfig.load(small_workflow())
    reference = create_workflow(config, tmp_path / "reference", "wf-reference")
    run_workflow(reference)
    expected = output_hashes(reference.root)

    results = tmp_path / "results"
    workspace = create_workflow(config, results, "wf-killed")
    context = multiprocessing.get_context("spawn")
    for phase in PHASES:
        child = context.Process(target=run_until_killed, args=(str(results), workspace.id, phase))
        child.start()
        child.join()
        assert child.exitcode == -9, phase  # it died inside the phase, by SIGKILL
        entry = next(e for e in workspace.manifest()["phases"] if e["name"] == phase)
        assert entry["state"] == "running"
        finished = _pieces(workspace.root)
        if phase in ("parameter_discovery", "ensemble_optimization"):
            assert finished, f"{phase} had checkpointed a piece before it was killed"
        run_workflow(Workspace.open(results, workspace.id))
        # The pieces finished before the kill were read back, not computed again.
        after = _pieces(workspace.root)
        assert {k: after[k] for k in finished} == finished
        assert output_hashes(workspace.root) == expected
        if phase != PHASES[-1]:  # the next round kills the next phase
            Coordinator(workspace).restart_from(PHASES[PHASES.index(phase) + 1])
