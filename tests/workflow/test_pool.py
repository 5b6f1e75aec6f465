"""Discovery's chunks on a local process pool write the files the in-process run writes,
for a grid, an Optuna search and a user's prediction file, and resume from checkpoints."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from strategy_factory.cli.evolve import executor_settings
from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.execution.settings import ExecutorSettings
from strategy_factory.workflow import (
    WorkflowConfig,
    WorkflowExecutor,
    Workspace,
    create_workflow,
    run_workflow,
)
from strategy_factory.workflow.config import read_workflow
from tests.workflow.conftest import output_hashes, small_workflow


def _on_pool(workspace: Workspace) -> None:
    pool = WorkflowExecutor(ExecutorSettings.load({"workers": 2}))
    try:
        run_workflow(workspace, executor=pool)
    finally:
        pool.close()


def _prediction_file(catalog: BarCatalog, folder: Path) -> Path:
    bars = catalog.load("PLANTED")
    returns = bars["close"].pct_change().fillna(0.0)
    path = folder / "predictions.csv"
    pd.DataFrame({"timestamp": bars.index, "signal": returns.to_numpy()}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("search", ["grid", "optuna"])
def test_discovery_on_a_pool_writes_the_in_process_files(
    search: str, planted_home: BarCatalog, tmp_path: Path
) -> None:
    config = small_workflow()
    config["phases"] = config["phases"][:1]  # later phases read only discovery's files
    discovery = config["phases"][0]
    if search == "optuna":  # two batches: the second asked after the first one's results
        discovery["search"] = {"method": "optuna", "trials": 40, "seed": 2}
        discovery["families"][1]["parameters"]["lookback"] = {"low": 2, "high": 30, "integer": True}
    discovery["families"].append(
        {
            "name": "mine",
            "kind": "predictions",
            "path": str(_prediction_file(planted_home, tmp_path)),
            "column": "signal",
            "parameters": {"threshold": [0.0, 0.01]},
        }
    )
    loaded = WorkflowConfig.load(config)
    # On the pool first: a pool forks (quick) only before Numba's threads start here.
    pooled = create_workflow(loaded, tmp_path / "pooled", "wf")
    _on_pool(pooled)
    chunks = sorted((pooled.root / "checkpoints" / "parameter_discovery").rglob("*.arrow"))
    assert len(chunks) > 2  # several chunks, each run as a task
    first = output_hashes(pooled.root)

    # Half the chunks lost (as by a kill), then resumed on the pool: the rest read back.
    kept = {p: p.stat().st_mtime_ns for p in chunks[: len(chunks) // 2]}
    for piece in chunks[len(chunks) // 2 :]:
        piece.unlink()
    manifest = pooled.manifest()
    manifest["phases"][0]["state"] = "running"
    pooled.save(manifest)
    _on_pool(pooled)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept

    here = create_workflow(loaded, tmp_path / "here", "wf")
    run_workflow(here)
    assert output_hashes(pooled.root) == first == output_hashes(here.root)


def test_the_executor_of_a_workflow_is_local_or_dask_and_local_means_here_by_default() -> None:
    assert WorkflowExecutor().in_process
    assert WorkflowExecutor(ExecutorSettings.load({})).in_process
    assert WorkflowExecutor(ExecutorSettings.load({"workers": 1})).in_process
    assert not WorkflowExecutor(ExecutorSettings.load({"workers": 2})).in_process
    with pytest.raises(FactoryError, match="a workflow runs on local, dask, not executor 'queue'"):
        WorkflowExecutor(ExecutorSettings.load({"executor": "queue"}))
    # The YAML file's keys under the options, checked as one model.
    with pytest.raises(FactoryError, match="factory workflow runs on local, dask, not executor 'q"):
        executor_settings(None, "queue", None, {}, "factory workflow")
    with pytest.raises(FactoryError, match=r"scheduler is the Dask cluster's address: set\s+exec"):
        executor_settings(None, "local", None, {"scheduler": "tcp://h:8786"}, "factory workflow")


def test_a_workflow_file_keeps_its_executor_apart_from_the_workflow(tmp_path: Path) -> None:
    path = tmp_path / "wf.yaml"
    on_cluster = {"executor": "dask", "scheduler": "tcp://10.0.0.5:8786"}
    path.write_text(yaml.safe_dump({**small_workflow(), **on_cluster}))
    config, executor = read_workflow(path)
    assert executor == on_cluster
    assert config == WorkflowConfig.load(small_workflow()) == WorkflowConfig.from_yaml(path)
    path.write_text(yaml.safe_dump({**small_workflow(), "executor": "ray"}))
    with pytest.raises(FactoryError, match="executor: Input should be 'local', 'queue' or 'dask'"):
        executor_settings(None, None, None, read_workflow(path)[1], "factory workflow")
