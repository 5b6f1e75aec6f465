"""Evolution on a real Dask cluster (a ``dask scheduler`` and ``dask worker`` processes
started here) finds exactly what the same run finds in process — with the symbol stored
only on this client, with a worker killed mid-run — and a worker with another
strategy-factory version is refused. A killed client resumes on the cluster."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import strategy_factory
from strategy_factory.cli.evolve import executor_for
from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.errors import FactoryError
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.evolution.prepare import run_context
from strategy_factory.evolution.trials import TRIAL_BLOCKS
from strategy_factory.execution import SIMULATE, TRAIN, InlineExecutor, validate_result
from strategy_factory.execution.dask_cluster import ClusterVersionError, DaskExecutor
from strategy_factory.models import FINGERPRINT_VERSION
from strategy_factory.store import Run, Store, create_store
from tests.execution.conftest import wait_for
from tests.execution.dask_processes import START_CEILING_SECONDS, DaskProcesses, two_workers
from tests.execution.outcome import run_outcome
from tests.factory_command import FACTORY, factory

FIELDS = {"symbol": "SYN", "max_generations": 2, "early_stop": False}
OTHER_VERSION = Path(__file__).with_name("dask_other_version.py")


@pytest.fixture(scope="module")
def client_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A FACTORY_HOME holding the symbol SYN, which no Dask worker has."""
    home = tmp_path_factory.mktemp("client") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_HOME", str(home))
        BarCatalog(home / "bars").save(
            "SYN", synthetic_bars(3000, freq="1h", seed=5, planted_strength=0.3)
        )
        yield home


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    """A scheduler and two workers, started once for the module."""
    with two_workers(tmp_path_factory.mktemp("dask")) as processes:
        yield processes


@pytest.fixture
def executor(cluster: DaskProcesses) -> Iterator[DaskExecutor]:
    """An executor connected to the cluster once its workers have joined."""
    from distributed import Client

    with Client(cluster.address, set_as_default=False) as client:
        cluster.wait_registered(client, set(cluster.workers))
    started = DaskExecutor(cluster.address)
    yield started
    started.close()


def _evolve(store: Store, executor: Any) -> Run:
    created = create_run(store, EvolveConfig.load(FIELDS))
    return Evolution(store, executor).run(created.id)


@pytest.fixture(scope="module")
def in_process(client_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The outcome of the run in this process: what the cluster must reproduce."""
    url = f"sqlite:///{tmp_path_factory.mktemp('inline') / 'inline.db'}"
    with create_store(url) as store:
        return run_outcome(store, _evolve(store, InlineExecutor()))


def test_a_run_on_the_cluster_matches_the_in_process_run(
    in_process: dict[str, Any], cluster: DaskProcesses, executor: DaskExecutor, tmp_path: Path
) -> None:
    with create_store(f"sqlite:///{tmp_path / 'dask.db'}") as store:
        outcome = run_outcome(store, _evolve(store, executor))
    assert outcome == in_process
    assert len(outcome["models"]) == 2 and outcome["models"][0][-1]  # the seed traded
    # SYN is stored only on this client: the workers computed on the shipped dataset.
    assert list(cluster.worker_home.iterdir()) == []


def test_a_worker_killed_mid_run_changes_nothing_and_duplicates_record_nothing(
    in_process: dict[str, Any], cluster: DaskProcesses, executor: DaskExecutor, tmp_path: Path
) -> None:
    client = executor.client
    for n in range(2 - len(cluster.workers)):  # replace a worker killed by an earlier test
        cluster.start_worker(f"w{n}-again")
    names = cluster.wait_registered(client, set(cluster.workers))
    with create_store(f"sqlite:///{tmp_path / 'dask.db'}") as store:
        finished: list[Run] = []
        driver = threading.Thread(target=lambda: finished.append(_evolve(store, executor)))
        driver.start()
        busy = wait_for(
            lambda: [a for a, keys in client.processing().items() if keys],
            START_CEILING_SECONDS,
            "a worker to run a unit",
        )
        victim = next(name for name, address in names.items() if address == busy[0])
        process = cluster.workers.pop(victim)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(START_CEILING_SECONDS) == -signal.SIGKILL
        driver.join(START_CEILING_SECONDS * 2)
        assert not driver.is_alive() and finished
        run = finished[0]
        assert run_outcome(store, run) == in_process
        _record_again(store, run, executor)
        assert run_outcome(store, run) == in_process  # nothing recorded twice


def _record_again(store: Store, run: Run, executor: DaskExecutor) -> None:
    """Run the seed model's units on the cluster again and record their results again:
    the store already holds them, so nothing new is written."""
    context = run_context(run)
    seed = store.models.of_run(run.id, generation=0)[0]
    training = context.training_config(seed.features)
    payload = {
        "dataset": context.spec.model_dump(mode="json"),
        "training": training.model_dump(mode="json"),
    }
    trained = validate_result(TRAIN, executor.submit(TRAIN, payload).result())
    summary = trained.summary.model_dump()
    model = {
        "model_id": summary["id"],
        "run_id": run.id,
        "generation": 0,
        "fingerprint": training.fingerprint(),
        "algorithm": summary["algorithm"],
        "symbol": summary["symbol"],
        "features": summary["features"],
        "chosen_config": summary["chosen"],
        "validation_metrics": summary["validation"],
        "importance": summary["importance"],
        "data_ranges": summary["data_range"],
    }
    holder = store.models.add_trained(
        model, trained.artifact_bytes(), training.canonical_json(), FINGERPRINT_VERSION
    )
    assert holder == seed.id
    simulation = {
        "dataset": context.spec.model_dump(mode="json"),
        "artifact": base64.b64encode(store.models.artifact(seed.id)).decode("ascii"),
        "strategy": context.config.strategy.model_dump(mode="json"),
        "default_regime_filters": context.default_regime_filters(),
        "blocks": TRIAL_BLOCKS,
    }
    rows = validate_result(SIMULATE, executor.submit(SIMULATE, simulation).result()).model_dump()
    assert store.simulations.add_many(run.id, seed.id, "selection", rows["rows"]) == 0


def test_a_worker_of_another_version_is_refused_by_name(
    cluster: DaskProcesses, executor: DaskExecutor
) -> None:
    cluster.start_worker("other", "--preload", str(OTHER_VERSION))
    try:
        address = cluster.wait_registered(executor.client, {"other"})["other"]
        with pytest.raises(ClusterVersionError) as refused:
            DaskExecutor(cluster.address)
    finally:
        cluster.stop_worker(executor.client, "other")
    message = str(refused.value)
    assert address in message
    assert "0.0.0+other" in message and strategy_factory.__version__ in message


def test_a_worker_of_another_version_that_joins_later_runs_nothing_and_is_named_in_the_run(
    in_process: dict[str, Any], cluster: DaskProcesses, executor: DaskExecutor, tmp_path: Path
) -> None:
    from distributed import get_task_stream

    cluster.start_worker("late", "--preload", str(OTHER_VERSION))
    try:
        address = cluster.wait_registered(executor.client, {"late"})["late"]
        refused = wait_for(executor.notices, START_CEILING_SECONDS, "the late worker's refusal")
        with (
            get_task_stream(client=executor.client) as stream,
            create_store(f"sqlite:///{tmp_path / 'dask.db'}") as store,
        ):
            run = _evolve(store, executor)
            outcome = run_outcome(store, run)
    finally:
        cluster.stop_worker(executor.client, "late")
    assert refused == [
        f"Dask worker {address} runs strategy-factory 0.0.0+other, this client "
        f"{strategy_factory.__version__}: it runs none of this client's units; install "
        f"strategy-factory {strategy_factory.__version__} on it"
    ]
    assert outcome == in_process
    workers = {task["worker"] for task in stream.data}
    assert workers and address not in workers  # every unit ran on a worker of our version
    assert refused[0] in str(run.step_status)  # where the user looks: the run's status


def test_factory_evolve_takes_the_scheduler_from_the_option_or_the_environment(
    cluster: DaskProcesses, executor: DaskExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACTORY_DASK_SCHEDULER", raising=False)
    with pytest.raises(FactoryError, match=r"--scheduler tcp://host:8786 .* or FACTORY_DASK_SCHED"):
        executor_for(None, "dask")
    with pytest.raises(FactoryError, match="executor: Input should be 'local', 'queue' or 'dask'"):
        executor_for(None, "ray", cluster.address)
    with pytest.raises(FactoryError, match="factory evolve runs on local, dask, not executor 'q"):
        executor_for(None, "queue")
    with pytest.raises(FactoryError, match=r"scheduler: .* like tcp://host:8786, not 'http://x'"):
        executor_for(None, "dask", "http://x")
    monkeypatch.setenv("FACTORY_DASK_SCHEDULER", cluster.address)
    for scheduler in (None, cluster.address):
        chosen = executor_for(None, "dask", scheduler)
        try:
            assert isinstance(chosen, DaskExecutor)
            assert chosen.client.scheduler.address == cluster.address
            assert set(chosen.versions.values()) == {strategy_factory.__version__}
        finally:
            chosen.close()


def test_a_client_killed_mid_run_resumes_on_the_cluster_and_retrains_nothing(
    in_process: dict[str, Any], cluster: DaskProcesses, executor: DaskExecutor, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'killed.db'}"
    on_cluster = ["--executor", "dask", "--scheduler", cluster.address, "--db", db, "--json"]
    evolve = [*FACTORY, "evolve", "--symbol", "SYN", "--generations", "2", "--no-early-stop"]
    client = subprocess.Popen([*evolve, *on_cluster], stdout=subprocess.DEVNULL)
    with create_store(db) as store:

        def trained_one() -> Run | None:
            if client.poll() is not None:
                pytest.fail("the client finished before it could be killed")
            runs = store.runs.recent()
            return runs[0] if runs and runs[0].models_trained >= 1 else None

        run = wait_for(trained_one, START_CEILING_SECONDS, "the client to record a model")
        os.kill(client.pid, signal.SIGKILL)
        client.wait()
        trained_before = {m.id: m.fingerprint for m in store.models.of_run(run.id)}
        resumed = subprocess.run(
            [*FACTORY, "evolve", "--resume", run.id, *on_cluster],
            check=False,
            capture_output=True,
            text=True,
            timeout=START_CEILING_SECONDS,
        )
        assert resumed.returncode == 0, resumed.stderr
        run = store.runs.get(run.id)
        models = {m.id: m.fingerprint for m in store.models.of_run(run.id)}
        assert trained_before.items() <= models.items()  # kept, not trained again
        assert run.models_trained == len(models) == len(set(models.values())) == 2
        assert run_outcome(store, run) == in_process


def test_factory_evolve_takes_the_executor_from_its_yaml_config(
    in_process: dict[str, Any], cluster: DaskProcesses, executor: DaskExecutor, tmp_path: Path
) -> None:
    from distributed import get_task_stream

    config = tmp_path / "evolve.yaml"
    config.write_text(yaml.safe_dump({**FIELDS, "executor": "dask", "scheduler": cluster.address}))
    db = f"sqlite:///{tmp_path / 'yaml.db'}"
    with get_task_stream(client=executor.client) as stream:
        done = factory("evolve", "--config", str(config), "--db", db, "--json")
    assert done.returncode == 0, done.stderr
    with create_store(db) as store:
        run = store.runs.get(json.loads(done.stdout)["run"]["id"])
        assert run_outcome(store, run) == in_process
    assert {task["key"].split("-")[0] for task in stream.data} >= {"train", "simulate"}


def test_factory_serve_drives_api_and_pending_runs_on_the_cluster_of_its_settings(
    in_process: dict[str, Any],
    cluster: DaskProcesses,
    executor: DaskExecutor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run started with POST /evolve, and a run recorded pending beforehand — as the
    learning engine's search launches its runs, for a server's coordinator to take over."""
    from distributed import get_task_stream
    from fastapi.testclient import TestClient

    from strategy_factory.service import ServiceSettings, create_app

    monkeypatch.setenv("FACTORY_DASK_SCHEDULER", cluster.address)
    url = f"sqlite:///{tmp_path / 'served.db'}"
    with create_store(url) as store:
        pending = create_run(store, EvolveConfig.load(FIELDS)).id
    app = create_app(ServiceSettings(db=url))  # no executor given: the settings' cluster
    with (
        TestClient(app, base_url="http://127.0.0.1") as client,
        get_task_stream(client=executor.client) as stream,
    ):
        health = client.get("/health").json()
        started = client.post("/evolve", json=FIELDS).json()["run_id"]
        for run_id in (pending, started):
            wait_for(
                lambda run_id=run_id: (
                    client.get(f"/runs/{run_id}").json()["run"]["status"] in ("completed", "failed")
                ),
                START_CEILING_SECONDS * 2,
                f"run {run_id} to finish on the cluster",
            )
    assert health["executor"] == {"executor": "dask", "scheduler": cluster.address}
    with create_store(url) as store:
        outcomes = [run_outcome(store, store.runs.get(run_id)) for run_id in (pending, started)]
    # The same models serve both runs: each is trained once, by whichever run got to it.
    trained = sorted(model for outcome in outcomes for model in outcome.pop("models"))
    assert trained == in_process["models"]
    expected = {k: v for k, v in in_process.items() if k != "models"}
    assert outcomes == [expected, expected]
    assert {task["key"].split("-")[0] for task in stream.data} >= {"train", "simulate"}


def test_factory_cluster_local_prints_an_address_that_serves_its_workers() -> None:
    from distributed import Client

    command = subprocess.Popen(
        [*FACTORY, "cluster", "local", "--workers", "1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert command.stdout is not None
        first = command.stdout.readline()
        assert first.startswith("Dask scheduler at tcp://127.0.0.1:"), first
        address = first.split()[3]
        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=START_CEILING_SECONDS)
            assert client.submit(sum, [1, 2, 3]).result() == 6
        command.send_signal(signal.SIGINT)  # Ctrl-C stops the cluster
        assert command.wait(START_CEILING_SECONDS) == 0
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
