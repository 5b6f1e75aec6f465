"""A whole workflow on a planted series: choices, files, reruns, edits, power and honesty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.workflow import WorkflowConfig, Workspace, create_workflow, run_workflow
from tests.workflow.conftest import output_hashes, small_workflow


def run(config: dict, results: Path) -> Workspace:
    workspace = create_workflow(WorkflowConfig.load(config), results)
    run_workflow(workspace)
    return workspace


def read(workspace: Workspace, relative: str) -> dict:
    return json.loads(workspace.path(relative).read_text())


def test_regime_analysis_finds_the_planted_regimes_and_the_adaptive_strategy_wins_the_holdout(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    workspace = run(small_workflow(), tmp_path / "results")
    manifest = workspace.manifest()
    assert manifest["state"] == "done"
    assert [p["state"] for p in manifest["phases"]] == ["done"] * 4
    analysis = read(workspace, "analysis/regime_optimal_params.json")
    # GMM labels are sorted by volatility: 0 is the calm (momentum) regime.
    assert analysis["best_family"]["regime_vol"] == {"0": "momentum", "1": "reversion"}
    weights = read(workspace, "analysis/ensemble_weights.json")
    calm, volatile = weights["regimes"]["0"], weights["regimes"]["1"]
    by_family = lambda blend: dict(  # noqa: E731
        zip([m["family"] for m in blend["members"]], blend["weights"], strict=True)
    )
    assert by_family(calm)["momentum"] > by_family(calm)["reversion"]
    assert by_family(volatile)["reversion"] > by_family(volatile)["momentum"]
    result = read(workspace, "performance/validation.json")
    assert result["passed"], result["misses"]
    assert all(result["metrics"]["sharpe"] > m["sharpe"] for m in result["members"])
    assert (
        result["switch_count"] > 0 and result["switches"][0]["from"] != result["switches"][0]["to"]
    )
    assert result["trials"]["discovery_trials"] == 16 and result["trials"]["weight_sets"] > 0


def test_a_random_walk_does_not_pass_validation(planted_home: BarCatalog, tmp_path: Path) -> None:
    workspace = run(small_workflow("WALK"), tmp_path / "results")
    result = read(workspace, "performance/validation.json")
    assert not result["passed"]
    assert result["misses"]
    assert workspace.manifest()["phases"][3]["summary"]["misses"] == result["misses"]


def test_rerunning_any_phase_from_its_files_rewrites_identical_files(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    workspace = run(small_workflow(), tmp_path / "results")
    before = output_hashes(workspace.root)
    for phase in ("validation", "ensemble_optimization", "regime_analysis", "parameter_discovery"):
        run_workflow(workspace, from_phase=phase)
        assert output_hashes(workspace.root) == before, phase
    assert workspace.manifest()["edits"] == []


def test_an_edited_analysis_file_is_used_by_the_next_phase_and_recorded(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    workspace = run(small_workflow(), tmp_path / "results")
    path = workspace.path("analysis/regime_optimal_params.json")
    analysis = json.loads(path.read_text())
    calm = analysis["families"]["momentum"]["regimes"]["regime_vol"]["0"]
    other = next(
        r
        for r in read(workspace, "performance/parameter_discovery.json")["families"]["momentum"][
            "trials"
        ]
        if r["trial"] != calm["trial"]
    )
    calm.update(trial=other["trial"], params=other["params"])
    path.write_text(json.dumps(analysis))
    run_workflow(workspace, from_phase="ensemble_optimization")
    weights = read(workspace, "analysis/ensemble_weights.json")
    momentum = next(m for m in weights["regimes"]["0"]["members"] if m["family"] == "momentum")
    assert momentum["trial"] == other["trial"]
    edits = workspace.manifest()["edits"]
    assert [(e["path"], e["used_by"]) for e in edits] == [
        ("analysis/regime_optimal_params.json", "ensemble_optimization")
    ]


def test_a_broken_input_file_or_a_missing_one_is_refused_naming_the_file_and_field(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    workspace = run(small_workflow(), tmp_path / "results")
    path = workspace.path("analysis/ensemble_weights.json")
    weights = json.loads(path.read_text())
    weights["regimes"]["0"]["weights"] = ["heavy"]
    path.write_text(json.dumps(weights))
    with pytest.raises(FactoryError, match=r"ensemble_weights\.json: regimes\.0\.weights\.0"):
        run_workflow(workspace, from_phase="validation")
    path.unlink()
    with pytest.raises(FactoryError, match=r"input .*ensemble_weights\.json is missing"):
        run_workflow(workspace, from_phase="validation")
    assert workspace.manifest()["phases"][3]["state"] == "pending"


def test_an_unknown_symbol_is_refused_before_a_workspace_is_made(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    with pytest.raises(FactoryError, match="unknown symbol 'NOPE'"):
        create_workflow(WorkflowConfig.load(small_workflow("NOPE")), tmp_path / "results")
    assert not (tmp_path / "results").exists()
