"""A family of an evolution run's model: its stored predictions, kept off its training bars."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from strategy_factory.errors import FactoryError
from strategy_factory.store import Store
from strategy_factory.workflow import WorkflowConfig, create_workflow, run_workflow
from tests.evolution.conftest import Evolve, evolve, markets, store  # noqa: F401 (fixtures)


def workflow(model_id: str, **data: object) -> WorkflowConfig:
    parameters = {"threshold": [0.0, 0.001], "mode": ["long_short", "long_only"]}
    family = {"name": "model", "kind": "model", "model": model_id, "parameters": parameters}
    return WorkflowConfig.load(
        {
            "data": {"symbol": "PLANTED", **data},
            "classifiers": {"regime_vol": {"type": "gmm", "params": {"n_regimes": 2}}},
            "phases": [
                {"type": "parameter_discovery", "families": [family]},
                {"type": "regime_analysis"},
                {"type": "ensemble_optimization"},
                {"type": "validation"},
            ],
        }
    )


def test_a_stored_model_drives_a_workflow_only_after_its_training_period(
    markets: Path,  # noqa: F811
    store: Store,  # noqa: F811
    evolve: Evolve,  # noqa: F811
    tmp_path: Path,
) -> None:
    run = evolve(symbol="PLANTED", max_generations=1)
    model = store.models.of_run(run.id)[0]
    selection_start = pd.Timestamp(run.config["dataset"]["selection_start"])
    with pytest.raises(FactoryError, match=r"move data\.selection_start to"):
        create_and_run(workflow(model.id, selection_fraction=0.5, holdout_fraction=0.2), tmp_path)
    config = workflow(
        model.id,
        selection_start=selection_start.isoformat(),
        holdout_start=pd.Timestamp(run.config["dataset"]["holdout_start"]).isoformat(),
    )
    workspace = create_and_run(config, tmp_path / "ok")
    trials = json.loads(workspace.path("performance/parameter_discovery.json").read_text())
    assert len(trials["families"]["model"]["trials"]) == 4
    assert trials["families"]["model"]["trials"][0]["overall"]["trades"] > 0
    manifest = workspace.manifest()
    assert manifest["state"] == "done"
    assert "are a second look" in manifest["phases"][0]["summary"]["warning"]


def create_and_run(config: WorkflowConfig, results: Path):  # type: ignore[no-untyped-def]
    workspace = create_workflow(config, results)
    run_workflow(workspace)
    return workspace
