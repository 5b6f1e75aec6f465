"""Parameter discovery on a real Dask cluster (a ``dask scheduler`` and two ``dask worker``
processes started here, with an empty FACTORY_HOME each) writes the files the in-process
discovery writes — with the symbol stored only on this client, with a worker killed
mid-phase — from the CLI (options and YAML) and over the API of a server set to Dask."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from strategy_factory.data import BarCatalog, regime_autocorrelated_bars
from strategy_factory.execution.dask_cluster import DaskExecutor
from strategy_factory.workflow import WorkflowConfig, Workspace, create_workflow, run_workflow
from strategy_factory.workflow.task_size import chunk_seconds, task_bundles
from strategy_factory.workflow.workspace import read_arrow
from tests.execution.conftest import wait_for
from tests.execution.dask_processes import START_CEILING_SECONDS, DaskProcesses, two_workers
from tests.factory_command import factory
from tests.workflow.conftest import BARS, output_hashes, small_workflow

TASK = "trade_chunks"  # the name of discovery's tasks (a few chunks each)


def discovery(lookbacks: list[int] | None = None) -> dict[str, Any]:
    """The small workflow's discovery phase alone (later phases read only its files)."""
    config = small_workflow()
    config["phases"] = config["phases"][:1]
    if lookbacks is not None:  # more chunks: one per lookback of each family
        for family in config["phases"][0]["families"]:
            family["parameters"]["lookback"] = lookbacks
    return config


@pytest.fixture(scope="module")
def client_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A FACTORY_HOME holding the symbol PLANTED, which no Dask worker has."""
    home = tmp_path_factory.mktemp("client") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_HOME", str(home))
        BarCatalog(home / "bars").save("PLANTED", regime_autocorrelated_bars(BARS, seed=5)[0])
        yield home


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """A scheduler and two workers, started once for the module."""
    with two_workers(tmp_path_factory.mktemp("dask")) as processes:
        yield processes


@pytest.fixture
def executor(cluster: DaskProcesses) -> Iterator[DaskExecutor]:
    """An executor connected to the cluster once its two workers have joined (a worker
    killed by an earlier test replaced)."""
    from distributed import Client

    for n in range(2 - len(cluster.workers)):
        cluster.start_worker(f"w{n}-again")
    with Client(cluster.address, set_as_default=False) as client:
        cluster.wait_registered(client, set(cluster.workers))
    started = DaskExecutor(cluster.address)
    yield started
    started.close()


def planned_tasks(root: Path, workers: int = 2) -> int:
    """How many tasks the sizing rule makes of the chunks checkpointed under ``root``
    (their trials, 3 cells a trial, the selection's bars) for ``workers`` workers."""
    signals = root / "signals" / "parameter_discovery"
    bars = len(pd.read_parquet(next(signals.rglob("timestamps.parquet"))))
    trials = [read_arrow(p)["trial"].nunique() for p in (root / "checkpoints").rglob("*.arrow")]
    return len(task_bundles([chunk_seconds(n, 3, bars) for n in trials], workers))


def _in_process(config: dict[str, Any], results: Path) -> dict[str, str]:
    workspace = create_workflow(WorkflowConfig.load(config), results, "wf")
    run_workflow(workspace)
    return output_hashes(workspace.root)


@pytest.fixture(scope="module")
def expected(client_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The files of the small discovery run in this process: what the cluster must write."""
    return _in_process(discovery(), tmp_path_factory.mktemp("in-process"))


def test_discovery_on_the_cluster_writes_the_in_process_files(
    expected: dict[str, str], cluster: DaskProcesses, executor: DaskExecutor, tmp_path: Path
) -> None:
    from distributed import get_task_stream

    workspace = create_workflow(WorkflowConfig.load(discovery()), tmp_path, "wf")
    with get_task_stream(client=executor.client) as stream:
        run_workflow(workspace, executor=lambda: executor)
    assert output_hashes(workspace.root) == expected
    chunks = list((workspace.root / "checkpoints").rglob("*.arrow"))
    ran = [task for task in stream.data if task["key"].startswith(TASK)]
    assert len(chunks) == 8  # every chunk traded by a task of the cluster, as planned
    assert len(ran) == planned_tasks(workspace.root) == 1  # 8 small chunks: one task's work
    workers = cluster.wait_registered(executor.client, set(cluster.workers)).values()
    assert {task["worker"] for task in ran} <= set(workers)
    # PLANTED is stored only on this client: the workers traded the shipped bars.
    assert list(cluster.worker_home.iterdir()) == []


def test_a_worker_killed_mid_discovery_changes_no_file(
    client_home: Path, cluster: DaskProcesses, executor: DaskExecutor, tmp_path: Path
) -> None:
    config = discovery(lookbacks=list(range(2, 42)))  # 80 chunks in 6 tasks: a kill lands mid-phase
    wanted = _in_process(config, tmp_path / "in-process")
    client = executor.client
    names = cluster.wait_registered(client, set(cluster.workers))
    workspace = create_workflow(WorkflowConfig.load(config), tmp_path / "dask", "wf")
    finished: list[dict[str, Any]] = []
    driver = threading.Thread(
        target=lambda: finished.append(run_workflow(workspace, executor=lambda: executor))
    )
    driver.start()

    def busy() -> tuple[str, list[str]] | None:
        for address, keys in client.processing().items():
            running = [key for key in keys if str(key).startswith(TASK)]
            if running:
                return address, running
        return None

    address, interrupted = wait_for(busy, START_CEILING_SECONDS, "a worker to run a chunk")
    victim = next(name for name, known in names.items() if known == address)
    process = cluster.workers.pop(victim)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(START_CEILING_SECONDS) == -signal.SIGKILL
    driver.join(START_CEILING_SECONDS * 2)
    assert not driver.is_alive() and finished and finished[0]["state"] == "done"
    assert output_hashes(workspace.root) == wanted
    # The kill landed mid-phase: a task of chunks was running on the victim when it died.
    story = [step for step in client.story(*interrupted) if step[0] == "scheduler"]
    assert any(
        start == "processing" and cause.startswith("handle-worker-cleanup")
        for _, _, start, _, _, cause, _ in story
    ), story


def test_factory_workflow_takes_the_cluster_from_its_yaml_and_from_its_options(
    expected: dict[str, str], cluster: DaskProcesses, executor: DaskExecutor, tmp_path: Path
) -> None:
    from distributed import get_task_stream

    path = tmp_path / "wf.yaml"
    on_cluster = {"executor": "dask", "scheduler": cluster.address}
    path.write_text(yaml.safe_dump({**discovery(), **on_cluster}))
    db = ["--db", f"sqlite:///{tmp_path / 'factory.db'}", "--results", str(tmp_path)]
    with get_task_stream(client=executor.client) as from_yaml:
        done = factory("workflow", "run", str(path), *db, "--json")
    assert done.returncode == 0, done.stderr
    workflow_id = yaml.safe_load(done.stdout)["id"]
    root = tmp_path / workflow_id
    assert output_hashes(root) == expected
    with get_task_stream(client=executor.client) as from_options:
        again = factory(
            "workflow", "resume", workflow_id, "--from", "parameter_discovery",
            "--executor", "dask", "--scheduler", cluster.address, *db,
        )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert output_hashes(root) == expected
    for stream in (from_yaml, from_options):
        assert sum(task["key"].startswith(TASK) for task in stream.data) == planned_tasks(root)


def test_a_server_on_the_cluster_runs_posted_workflows_there(
    expected: dict[str, str],
    cluster: DaskProcesses,
    executor: DaskExecutor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from distributed import get_task_stream
    from fastapi.testclient import TestClient

    from strategy_factory.service import ServiceSettings, create_app

    monkeypatch.setenv("FACTORY_DASK_SCHEDULER", cluster.address)
    monkeypatch.setenv("FACTORY_RESULTS", str(tmp_path / "results"))
    app = create_app(ServiceSettings(db=f"sqlite:///{tmp_path / 'served.db'}"))
    with (
        TestClient(app, base_url="http://127.0.0.1") as client,
        get_task_stream(client=executor.client) as stream,
    ):
        posted = client.post("/workflows", json=discovery())
        assert posted.status_code == 202, posted.text
        workflow_id = posted.json()["id"]

        def ended() -> str | None:
            state = client.get(f"/workflows/{workflow_id}").json()["state"]
            return state if state in ("done", "failed") else None

        assert wait_for(ended, START_CEILING_SECONDS * 2, "the workflow to end") == "done"
    root = Workspace.open(tmp_path / "results", workflow_id).root
    assert output_hashes(root) == expected
    assert sum(task["key"].startswith(TASK) for task in stream.data) == planned_tasks(root)
