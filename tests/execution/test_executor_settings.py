"""One validated model of where units run, for every door: options, YAML, the service."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from strategy_factory.cli.evolve import executor_for
from strategy_factory.errors import FactoryError
from strategy_factory.execution import InlineExecutor, LocalExecutor, dask_cluster
from strategy_factory.execution.dask_cluster import CONNECT_TIMEOUT_SECONDS
from strategy_factory.execution.settings import ExecutorSettings
from strategy_factory.service import ServiceSettings
from strategy_factory.store import create_store
from tests.factory_command import factory


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"executor": "ray"}, "executor: Input should be 'local', 'queue' or 'dask'"),
        ({"executor": "dask"}, "executor dask needs the scheduler's address: --scheduler"),
        ({"executor": "dask", "scheduler": "10.0.0.5:8786"}, "like tcp://host:8786, not '10"),
        ({"scheduler": "tcp://h:1"}, "scheduler is the Dask cluster's address: set executor"),
        ({"executor": "dask", "scheduler": "tcp://h:1", "workers": 2}, "workers sizes the"),
        ({"workers": 0}, "workers: Input should be greater than or equal to 1"),
        ({"workers": 2, "threads": 1}, "threads: Extra inputs are not permitted"),
    ],
)
def test_a_mistake_is_named_with_what_to_fix(
    given: dict, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACTORY_DASK_SCHEDULER", raising=False)
    with pytest.raises(FactoryError, match="invalid executor settings: ") as refused:
        ExecutorSettings.load(given)
    assert problem in str(refused.value)


def test_options_win_over_the_file_and_the_environment_fills_the_scheduler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert isinstance(executor_for(None, None, None, {"workers": 1}), InlineExecutor)
    pool = executor_for(2, None, None, {"workers": 1})
    assert isinstance(pool, LocalExecutor) and pool.workers == 2
    monkeypatch.setenv("FACTORY_DASK_SCHEDULER", "tcp://10.0.0.5:8786")
    chosen = ExecutorSettings.load({"executor": "dask"})
    assert chosen.scheduler == "tcp://10.0.0.5:8786"
    with pytest.raises(FactoryError, match="factory evolve runs on local, dask, not executor 'q"):
        executor_for(None, "queue")


def test_the_service_runs_on_the_queue_unless_a_dask_scheduler_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FACTORY_DASK_SCHEDULER", raising=False)
    monkeypatch.delenv("FACTORY_EXECUTOR", raising=False)
    assert ServiceSettings().executor_settings() == ExecutorSettings(executor="queue")
    monkeypatch.setenv("FACTORY_DASK_SCHEDULER", "tcp://10.0.0.5:8786")
    assert ServiceSettings().executor_settings() == ExecutorSettings(
        executor="dask", scheduler="tcp://10.0.0.5:8786"
    )
    monkeypatch.setenv("FACTORY_EXECUTOR", "queue")
    assert ServiceSettings().executor_settings().executor == "queue"


def test_a_yaml_config_with_a_bad_executor_records_no_run(tmp_path: Path) -> None:
    config = tmp_path / "evolve.yaml"
    config.write_text(yaml.safe_dump({"symbol": "SP500", "executor": "dask", "workers": 2}))
    db = f"sqlite:///{tmp_path / 'f.db'}"
    done = factory("evolve", "--config", str(config), "--db", db, "--scheduler", "tcp://h:1")
    assert done.returncode != 0
    said = " ".join(done.stderr.split())  # rich wraps the message to the terminal's width
    assert "workers sizes the local process pool: drop it with executor dask" in said
    assert "Traceback" not in done.stderr
    with create_store(db) as store:
        assert store.runs.recent() == []


def test_a_server_whose_cluster_cannot_be_reached_fails_the_run_with_that_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from strategy_factory.service import create_app
    from tests.execution.conftest import wait_for

    monkeypatch.setenv("FACTORY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FACTORY_DASK_SCHEDULER", "tcp://127.0.0.1:1")  # nothing listens there
    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT_SECONDS", 3.0)  # no 30 s wait to fail
    url = f"sqlite:///{tmp_path / 'served.db'}"
    with TestClient(create_app(ServiceSettings(db=url)), base_url="http://127.0.0.1") as client:
        accepted = client.post("/evolve", json={"symbol": "SP500", "max_generations": 1})
        assert accepted.status_code == 202, accepted.text
        run_id = accepted.json()["run_id"]
        run = wait_for(
            lambda: (
                (found := client.get(f"/runs/{run_id}").json()["run"])["status"] == "failed"
                and found
            ),
            CONNECT_TIMEOUT_SECONDS * 4,
            "the run to fail on the unreachable cluster",
        )
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in run["error"]
