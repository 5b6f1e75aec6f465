"""The workflow YAML is validated once, with messages that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from strategy_factory.errors import FactoryError
from strategy_factory.workflow import WorkflowConfig
from strategy_factory.workflow.coordinator import inputs, outputs

EXAMPLE = Path(__file__).parents[2] / "examples" / "workflow.yaml"


def config(**changes: object) -> dict:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(changes)
    return data


def test_the_shipped_example_is_valid_and_every_phase_finds_its_inputs() -> None:
    loaded = WorkflowConfig.from_yaml(EXAMPLE)
    assert [p.type for p in loaded.phases] == [
        "parameter_discovery",
        "regime_analysis",
        "ensemble_optimization",
        "validation",
    ]
    assert inputs(loaded, 2) == {
        "regime_params": "analysis/regime_optimal_params.json",
        "signals": "signals/parameter_discovery",
    }
    assert inputs(loaded, 3)["weights"] == "analysis/ensemble_weights.json"
    assert loaded.phases[0].families[0].grid_size() == 6 * 4 * 2 * 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phases": []}, "phases: List should have at least 1 item"),
        ({"classifiers": {"trend": {"type": "trend_vol"}}}, "start with regime_"),
        (
            {"data": {"symbol": "SP500", "selection_fraction": 0.6, "holdout_fraction": 0.4}},
            "must leave at least 10% for training",
        ),
        (
            {
                "phases": [
                    {
                        "type": "parameter_discovery",
                        "families": [
                            {
                                "name": "m",
                                "kind": "rule",
                                "rule": "momentum",
                                "parameters": {"window": [3]},
                            }
                        ],
                    }
                ]
            },
            "unknown parameter(s) window",
        ),
        (
            {
                "phases": [
                    {
                        "type": "parameter_discovery",
                        "families": [
                            {
                                "name": "m",
                                "kind": "rule",
                                "rule": "momentum",
                                "parameters": {"lookback": [0]},
                            }
                        ],
                    }
                ]
            },
            "lookback: whole numbers of bars in [1, 10000]",
        ),
        (
            {
                "phases": [
                    {
                        "type": "parameter_discovery",
                        "families": [
                            {
                                "name": "m",
                                "kind": "rule",
                                "rule": "mean_reversion",
                                "parameters": {"lookback": [1, 5]},
                            }
                        ],
                    }
                ]
            },
            "mean_reversion needs a lookback of at least 2",
        ),
        (
            {"phases": [{"type": "ensemble_optimization", "min_weight": 0.8, "max_weight": 0.2}]},
            "min_weight 0.8 exceeds max_weight 0.2",
        ),
        (
            {"phases": [{"type": "validation", "classifier": "regime_nope"}]},
            "unknown classifier 'regime_nope'",
        ),
        (
            {"phases": [{"type": "regime_analysis"}, {"type": "regime_analysis"}]},
            "phase names must be distinct",
        ),
        ({"phases": [{"type": "nonsense"}]}, "does not match any of the expected tags"),
    ],
)
def test_impossible_workflows_are_refused_saying_what_to_fix(change: dict, message: str) -> None:
    with pytest.raises(FactoryError, match="invalid workflow") as caught:
        WorkflowConfig.load(config(**change))
    assert message in str(caught.value)


def test_a_phase_whose_input_no_earlier_phase_writes_is_refused_before_any_work() -> None:
    loaded = WorkflowConfig.load(config(phases=[{"type": "regime_analysis"}]))
    with pytest.raises(FactoryError, match=r"no parameter_discovery phase comes before it"):
        inputs(loaded, 0)


def test_a_repeated_phase_writes_its_own_files_and_the_next_phase_reads_the_latest() -> None:
    data = config()
    data["phases"].insert(2, {"type": "regime_analysis", "name": "again", "metric": "sortino"})
    loaded = WorkflowConfig.load(data)
    assert outputs(loaded.phases[2]) == {
        "regime_params": "analysis/regime_optimal_params-again.json"
    }
    assert inputs(loaded, 3)["regime_params"] == "analysis/regime_optimal_params-again.json"


def test_a_grid_too_large_must_be_searched_by_sampling() -> None:
    family = {
        "name": "m",
        "kind": "rule",
        "rule": "momentum",
        "parameters": {
            "lookback": list(range(2, 1002)),
            "threshold": [i / 1000 for i in range(200)],
        },
    }
    with pytest.raises(FactoryError, match=r"use search\.method random or optuna"):
        WorkflowConfig.load(config(phases=[{"type": "parameter_discovery", "families": [family]}]))
    sampled = {"type": "parameter_discovery", "families": [family], "search": {"method": "random"}}
    assert WorkflowConfig.load(config(phases=[sampled]))


def test_a_predictions_path_is_read_relative_to_the_workflow_file(tmp_path: Path) -> None:
    data = config(
        phases=[
            {
                "type": "parameter_discovery",
                "families": [{"name": "mine", "kind": "predictions", "path": "preds.csv"}],
            }
        ]
    )
    file = tmp_path / "wf.yaml"
    file.write_text(yaml.safe_dump(data))
    loaded = WorkflowConfig.from_yaml(file)
    assert loaded.phases[0].families[0].path == str(tmp_path / "preds.csv")
