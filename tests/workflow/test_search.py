"""Random and Optuna discovery, a user's prediction file, and resuming a sampled search."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.workflow import Coordinator, WorkflowConfig, create_workflow, run_workflow
from strategy_factory.workflow.config import EnsembleOptimization
from strategy_factory.workflow.optimizer import project_weights, simplex_grid
from tests.workflow.conftest import output_hashes, small_workflow


def discovery_only(search: dict, families: list | None = None) -> WorkflowConfig:
    config = small_workflow()
    config["phases"] = config["phases"][:1]
    config["phases"][0]["search"] = search
    if families is not None:
        config["phases"][0]["families"] = families
    return WorkflowConfig.load(config)


SPANS = [
    {
        "name": "momentum",
        "kind": "rule",
        "rule": "momentum",
        "parameters": {
            "lookback": {"low": 1, "high": 30, "integer": True},
            "threshold": {"low": 0.0, "high": 0.01},
            "z_limit": [None, 1.5],
        },
    }
]


def trials_of(workspace, family: str = "momentum") -> list[dict]:  # type: ignore[no-untyped-def]
    data = json.loads(workspace.path("performance/parameter_discovery.json").read_text())
    return data["families"][family]["trials"]


@pytest.mark.parametrize("method", ["random", "optuna"])
def test_a_sampled_search_is_reproducible_and_resumes_to_the_same_trials(
    method: str, planted_home: BarCatalog, tmp_path: Path
) -> None:
    config = discovery_only({"method": method, "trials": 40, "seed": 3}, SPANS)
    first = create_workflow(config, tmp_path / "a")
    run_workflow(first)
    trials = trials_of(first)
    assert len(trials) == 40 and len({json.dumps(t["params"]) for t in trials}) == 40
    assert all(1 <= t["params"]["lookback"] <= 30 for t in trials)
    # Interrupted after some chunks (the rest of the checkpoints lost), then resumed.
    second = create_workflow(config, tmp_path / "b")
    run_workflow(second)
    pieces = sorted((second.root / "checkpoints" / "parameter_discovery").rglob("*.parquet"))
    for piece in pieces[len(pieces) // 2 :]:
        piece.unlink()
    manifest = second.manifest()
    manifest["phases"][0]["state"] = "running"
    second.save(manifest)
    run_workflow(second)
    assert output_hashes(second.root) == output_hashes(first.root)


def test_optuna_concentrates_on_the_better_region_of_a_planted_edge(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    config = discovery_only({"method": "optuna", "trials": 96, "seed": 1}, SPANS)
    workspace = create_workflow(config, tmp_path / "results")
    run_workflow(workspace)
    sharpe = [t["overall"]["sharpe"] or -9 for t in trials_of(workspace)]
    # TPE's later batches (told the earlier results) beat its first, random-like batch.
    assert np.mean(sharpe[64:]) > np.mean(sharpe[:32])


def test_a_prediction_file_family_runs_and_must_cover_the_judged_bars(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    bars = planted_home.load("PLANTED")
    returns = bars["close"].pct_change().fillna(0.0)
    predictions = pd.DataFrame({"timestamp": bars.index, "signal": returns.to_numpy()})
    path = tmp_path / "predictions.csv"
    predictions.to_csv(path, index=False)
    family = {"name": "mine", "kind": "predictions", "path": str(path), "column": "signal",
              "parameters": {"threshold": [0.0, 0.01]}}  # fmt: skip
    workspace = create_workflow(discovery_only({}, [family]), tmp_path / "results")
    run_workflow(workspace)
    assert [t["params"]["threshold"] for t in trials_of(workspace, "mine")] == [0.0, 0.01]
    predictions.iloc[-10:].to_csv(path.with_name("short.csv"), index=False)
    family["path"] = str(path.with_name("short.csv"))
    workspace = create_workflow(discovery_only({}, [family]), tmp_path / "short")
    with pytest.raises(FactoryError, match=r"short\.csv: no prediction for bar"):
        run_workflow(workspace)
    assert workspace.manifest()["phases"][0]["state"] == "failed"
    family.update(path=str(path), column="nope")
    workspace = create_workflow(discovery_only({}, [family]), tmp_path / "column")
    with pytest.raises(FactoryError, match="no column 'nope'"):
        Coordinator(workspace).run()


def test_weight_sets_sum_to_one_inside_their_bounds() -> None:
    grid = simplex_grid(3, EnsembleOptimization(type="ensemble_optimization", step=0.25))
    assert len(grid) == 15 and np.allclose(grid.sum(axis=1), 1) and (grid >= 0).all()
    raw = np.random.default_rng(0).normal(0, 2, (200, 4))
    projected = project_weights(raw, -0.5, 1.0)
    assert np.allclose(projected.sum(axis=1), 1)
    assert (projected >= -0.5 - 1e-12).all() and (projected <= 1 + 1e-12).all()
    with pytest.raises(FactoryError, match="loosen min_weight/max_weight"):
        project_weights(raw, 0.3, 1.0)
