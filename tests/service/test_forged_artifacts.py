"""The remote-code-execution attack of a forged model artifact, run against a real server.

The attack: post a run, claim its train job, complete it with a pickle whose loading
writes a sentinel file, then let the run go on (the server would load the model to judge
it; the simulate job would carry it to a worker). Nothing received over the API or read
back from the database is loaded by anything that can execute code, so the sentinel
must never appear — on SQLite and PostgreSQL, with and without an API token, whether the
forged result comes through the API or straight through the database.
"""

from __future__ import annotations

import base64
import pickle
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from strategy_factory.execution import SIMULATE, run_worker
from strategy_factory.models import TrainingConfig
from strategy_factory.store import Job, create_store
from tests.service.conftest import BACKENDS
from tests.service.server import serving
from tests.service.test_evolve import BASE

TOKEN = "forged-artifact-test-token"


class Sentinel:
    """Unpickling this writes ``path``: proof that loading executed code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.path, "the forged artifact ran"))


def forged_result(sentinel: Path, fingerprint: str) -> dict[str, Any]:
    """A train result that passes for one at a glance, carrying a pickle as its artifact."""
    return {
        "summary": {
            "id": "a" * 32,
            "fingerprint": fingerprint,
            "algorithm": "ElasticNet",
            "symbol": "SYN",
            "features": ["exo_planted"],
            "chosen": {},
            "validation": {},
            "importance": {"method": "coefficient", "scores": {"exo_planted": 1.0}},
            "data_range": {},
        },
        "artifact": base64.b64encode(pickle.dumps(Sentinel(sentinel))).decode(),
    }


def _claim(client: httpx.Client, kind: str, ceiling: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        job = client.post("/jobs/claim", json={"worker_id": "evil", "kinds": [kind]}).json()
        if job["job"] is not None:
            return job["job"]
        time.sleep(0.1)
    raise AssertionError(f"no {kind} job to claim within {ceiling}s")


def _run_status(client: httpx.Client, run_id: str, ceiling: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").json()["run"]
        if run["status"] in ("completed", "failed", "stopped"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not end within {ceiling}s")


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("token", [None, TOKEN], ids=["no-token", "token"])
def test_a_forged_pickle_artifact_never_runs(
    bars_home: Path, tmp_path: Path, store_url: str, token: str | None
) -> None:
    sentinel = tmp_path / "sentinel"
    env = {"FACTORY_API_TOKEN": token} if token else {}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with (
        serving(bars_home, store_url, tmp_path / "server.log", workers=0, env=env) as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=30) as client,
    ):
        run_id = client.post("/evolve", json=BASE).json()["run_id"]
        job = _claim(client, "train")
        fingerprint = TrainingConfig.model_validate(job["payload"]["training"]).fingerprint()
        forged = forged_result(sentinel, fingerprint)
        # Through the API: refused at the door, nothing recorded.
        answer = client.post(
            f"/jobs/{job['id']}/complete",
            json={"lease_token": job["lease_token"], "result": forged},
        )
        assert answer.status_code == 400, answer.text
        assert "not a strategy-factory model document" in answer.json()["detail"]
        # Straight through the database (a worker with --db access): the server reads it
        # back, refuses it, and the run fails saying why.
        with create_store(store_url) as store:
            assert store.queue.complete(job["id"], job["lease_token"], forged)
        run = _run_status(client, run_id)
        assert run["status"] == "failed", server.tail()
        assert "not a strategy-factory model document" in run["error"]
    assert not sentinel.exists()


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_a_worker_never_runs_a_forged_artifact_in_its_payload(
    tmp_path: Path, store_url: str
) -> None:
    sentinel = tmp_path / "sentinel"
    payload = {
        "dataset": {"symbol": "SYN"},
        "artifact": forged_result(sentinel, "f" * 64)["artifact"],
        "strategy": {},
        "default_regime_filters": [None],
        "blocks": 4,
    }
    job = Job(SIMULATE, payload, max_attempts=1)
    with create_store(store_url) as store:
        store.queue.enqueue([job])
        report = run_worker(store, worker_id="honest", max_jobs=1, poll_interval=0.05)
        record = store.queue.find(job.dedup_key)
        assert record is not None and report.failed == [record.id]
        assert record.status == "failed"
        assert "not a strategy-factory model document" in (record.error or "")
    assert not sentinel.exists()
