"""A server killed mid-run (SIGKILL) and started again resumes the run from the store:
it completes, and no model is trained twice. Real processes throughout: the server, its
local workers, the durable queue."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from strategy_factory.store import JobRecord, Store, Worker, create_store
from strategy_factory.store.tables import priority_jobs, workers
from tests.service.conftest import LOOSE_CRITERIA
from tests.service.server import alive, serving
from tests.service.test_evolve import SEEDS

RUN = {
    "symbol": "SYN",
    "max_generations": 4,
    "seed_features": SEEDS,
    "regime_configs": [None],
    "criteria": LOOSE_CRITERIA,
    "min_dsr": 0,
    "early_stop": False,
    "min_features": 2,
    "strategy": {"z_limits": [None, 1.5], "regime_filters": [None]},
}


def _wait(
    server_url: str, run_id: str, done: Callable[[dict[str, Any]], Any], timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(f"{server_url}/runs/{run_id}", timeout=10).json()["run"]
        if done(run):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not get there in {timeout}s: {run}")


def test_a_killed_server_resumes_its_run_without_retraining(
    bars_home: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'factory.db'}"
    log = tmp_path / "server.log"
    with serving(bars_home, db, log, workers=1) as first:
        run_id = httpx.post(f"{first.url}/evolve", json=RUN, timeout=60).json()["run_id"]
        mid = _wait(first.url, run_id, lambda r: r["models_trained"] >= 2 or r["finished_at"])
        assert mid["status"] == "running", f"the run ended before the kill: {first.tail()}"
        pids = [w["pid"] for w in httpx.get(f"{first.url}/workers", timeout=10).json()]
        assert len(pids) == 1
        first.kill()
    store = create_store(db)
    before = {m.id: m.fingerprint for m in store.models.of_run(run_id)}
    assert store.runs.get(run_id).status == "running"
    # The server's worker notices its parent is gone and exits instead of lingering.
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in pids), "a worker outlived its server"

    with serving(bars_home, db, log, workers=2) as second:
        final = _wait(second.url, run_id, lambda r: r["finished_at"] is not None)
        # A graceful shutdown (uvicorn re-raises the SIGTERM it handled once it is done).
        assert second.stop() in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in second.tail()
    assert final["status"] == "completed", final
    assert final["stop_reason"] in ("max_generations", "cannot_prune")

    models = store.models.of_run(run_id)
    fingerprints = Counter(m.fingerprint for m in models)
    assert len(models) == final["models_trained"] == len(fingerprints)
    assert max(fingerprints.values()) == 1  # no configuration trained twice
    assert {m.id: m.fingerprint for m in models if m.id in before} == before
    for fingerprint in before.values():
        hit = store.models.by_fingerprint(fingerprint)
        assert hit is not None and hit.hits >= 2  # found again on resume, plus this lookup
    train_jobs = [j for j in _jobs(store, run_id) if j.kind == "train"]
    assert len(train_jobs) == len(models)  # each training unit was queued once
    assert all(j.status == "done" for j in _jobs(store, run_id))
    assert all(w.status == "stopped" for w in _all_workers(store))
    store.close()


def _jobs(store: Store, run_id: str) -> list[JobRecord]:
    query = select(priority_jobs).where(priority_jobs.c.run_id == run_id)
    with store.database.read() as connection:
        return [JobRecord.from_row(row) for row in connection.execute(query)]


def _all_workers(store: Store) -> list[Worker]:
    with store.database.read() as connection:
        return [Worker.from_row(row) for row in connection.execute(select(workers))]
