"""``/runs`` and ``/promoted``: listing, one run with its lineage, stopping, and a service
restart that resumes what the previous one left running."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from strategy_factory.evolution import EvolveConfig, create_run, generations, run_summary
from strategy_factory.execution import TRAIN, InlineExecutor, QueueExecutor
from strategy_factory.store import Store
from tests.service.conftest import HeldExecutor, held, row_counts, serving, wait_for
from tests.service.test_evolve import BASE, SEEDS


def test_runs_list_newest_first_filtered_and_limited(client: TestClient, store: Store) -> None:
    first = client.post("/evolve", json=BASE).json()["run_id"]
    wait_for(client, first)
    second = client.post("/evolve", json={**BASE, "max_generations": 1}).json()["run_id"]
    wait_for(client, second)
    assert [r["id"] for r in client.get("/runs").json()] == [second, first]
    assert [r["id"] for r in client.get("/runs?limit=1").json()] == [second]
    assert client.get("/runs?status=running").json() == []
    completed = client.get("/runs?status=completed").json()
    assert {r["id"] for r in completed} == {first, second}
    listed = completed[0]
    stored = store.runs.get(listed["id"])
    assert listed["models_trained"] == stored.models_trained
    assert listed["simulations_completed"] == stored.simulations_completed > 0


def test_bad_run_queries_are_422(client: TestClient) -> None:
    assert client.get("/runs?status=sleeping").status_code == 422
    assert "body" not in client.get("/runs?limit=0").json()["message"]
    assert "query.limit" in client.get("/runs?limit=0").json()["message"]


def test_a_run_answers_its_summary_and_generations(client: TestClient, store: Store) -> None:
    run_id = client.post("/evolve", json={**BASE, "early_stop": False}).json()["run_id"]
    wait_for(client, run_id)
    summary = client.get(f"/runs/{run_id}").json()
    expected = run_summary(store, run_id)
    assert summary["verdict"] == expected["verdict"]
    assert summary["config"] == expected["config"]
    assert [g["model_id"] for g in summary["generations"]] == [
        g["model_id"] for g in expected["generations"]
    ]
    lineage = client.get(f"/runs/{run_id}/generations").json()
    assert len(lineage) == 2
    assert lineage[0]["parent_model_id"] is None
    assert lineage[1]["parent_model_id"] == lineage[0]["model_id"]
    assert lineage[1]["features"] == len(lineage[0]["remaining_features"]) - len(
        lineage[1]["pruned_features"]
    )
    assert [g["best_selection"]["sqn"] for g in lineage] == [
        g["best_selection"]["sqn"] for g in generations(store, run_id)
    ]


def test_unknown_runs_are_404(client: TestClient) -> None:
    for path in ("/runs/nope", "/runs/nope/generations"):
        response = client.get(path)
        assert response.status_code == 404
        assert "no evolution run 'nope'" in response.json()["detail"]
    assert client.post("/runs/nope/stop").status_code == 404


def test_stopping_a_waiting_run_ends_it_at_once(
    service_env: Path, store_url: str, store: Store
) -> None:
    with serving(store_url, executor_factory=held) as client:
        run_id = client.post("/evolve", json=BASE).json()["run_id"]
        wait_for(client, run_id, statuses=("running",))
        answer = client.post(f"/runs/{run_id}/stop").json()
        assert answer["stopping"] is True
        run = wait_for(client, run_id)
        assert run["status"] == "stopped"
        assert run["stop_reason"] == "stopped_by_user"
        again = client.post(f"/runs/{run_id}/stop").json()
        assert again == {"run_id": run_id, "stopping": False, "status": "stopped"}
    assert store.runs.get(run_id).stop_requested


def test_stopping_a_run_cancels_its_queued_work(
    service_env: Path, store_url: str, store: Store
) -> None:
    def queued(store: Store, run_id: str) -> QueueExecutor:
        return QueueExecutor(store, run_id=run_id, poll_interval=0.05)

    with serving(store_url, executor_factory=queued) as client:  # no workers: work waits
        run_id = client.post("/evolve", json=BASE).json()["run_id"]
        deadline = time.monotonic() + 30
        while store.queue.counts_by_status(run_id)["pending"] == 0:
            assert time.monotonic() < deadline, "the run never queued its first unit"
            time.sleep(0.05)
        client.post(f"/runs/{run_id}/stop")
        assert wait_for(client, run_id)["status"] == "stopped"
    counts = store.queue.counts_by_status(run_id)
    assert counts["pending"] == 0 and counts["failed"] >= 1
    assert store.queue.pending() == []


class TrainOnlyExecutor(HeldExecutor):
    """Trains at once but never simulates: a run trains every generation, then waits."""

    def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None) -> Future:
        if kind == TRAIN:
            return InlineExecutor().submit(kind, payload, priority)
        return super().submit(kind, payload, priority)


def test_a_restarted_service_resumes_runs_without_retraining(
    service_env: Path, store_url: str, store: Store
) -> None:
    with serving(store_url, executor_factory=lambda *_: TrainOnlyExecutor()) as client:
        body = {**BASE, "early_stop": False, "max_generations": 3}
        interrupted = client.post("/evolve", json=body).json()["run_id"]
        wait_for(client, interrupted, statuses=("running",))
        deadline = time.monotonic() + 60
        while store.runs.get(interrupted).models_trained < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    # The service went away while the run waited for its simulations: it is left running.
    assert store.runs.get(interrupted).status == "running"
    trained = store.models.of_run(interrupted)
    assert len(trained) == 3
    noise = EvolveConfig.load({**BASE, "symbol": "NOISE", "seed_features": SEEDS[1:]})
    never_started = create_run(store, noise).id

    with serving(store_url) as client:
        finished = [wait_for(client, run_id) for run_id in (interrupted, never_started)]
    assert [run["status"] for run in finished] == ["completed", "completed"]
    assert finished[0]["simulations_completed"] > 0
    # Resumed: the same three models, each found again by its fingerprint, none retrained.
    assert store.models.of_run(interrupted) == trained
    assert finished[0]["models_trained"] == 3
    for model in trained:
        hit = store.models.by_fingerprint(model.fingerprint)
        assert hit is not None and hit.model_id == model.id and hit.hits >= 2


def test_promotions_answer_their_evidence(client: TestClient, store: Store) -> None:
    run_id = client.post("/evolve", json=BASE).json()["run_id"]
    run = wait_for(client, run_id)
    [listed] = client.get("/promoted").json()
    assert client.get(f"/promoted?run_id={run_id}").json() == [listed]
    assert client.get("/promoted?run_id=other").json() == []
    detail = client.get(f"/promoted/{listed['id']}").json()
    recorded = store.promoted.get(listed["id"])
    assert detail["id"] == run["promotion_id"]  # the run names its promotion
    assert detail["model_id"] == recorded.model_id
    assert detail["symbol"] == "SYN"
    assert detail["verdict"]["passed"] is True
    assert detail["criteria"] == recorded.criteria
    assert detail["strategy"]["ticker"] == "SYN"
    assert detail["simulation"]["grid"]["z_limits"] == [None]
    assert detail["simulation"]["periods"]["holdout_start"] is not None
    assert [e["child_model_id"] for e in detail["lineage"]] == [
        e.child_model_id for e in store.lineage.ancestry(recorded.model_id)
    ]
    model = asdict(store.models.get(recorded.model_id))
    assert detail["model"]["features"] == model["features"]
    assert detail["model"]["fingerprint"] == model["fingerprint"]
    assert client.get("/promoted/nope").status_code == 404
    # Its lifecycle: active, until demoted with a reason.
    assert (listed["status"], listed["status_reason"]) == ("active", None)
    store.promoted.demote(listed["id"], "overfitting monitor: forward Sharpe decayed")
    demoted = client.get(f"/promoted/{listed['id']}").json()
    assert demoted["status"] == "demoted"
    assert demoted["status_reason"] == "overfitting monitor: forward Sharpe decayed"
    assert demoted["status_changed_at"] is not None


def test_two_identical_runs_at_once_train_each_model_once(
    service_env: Path, store_url: str
) -> None:
    """Posted together, both runs need the same models: each fingerprint is trained once
    (claimed by one run, waited for and reused by the other), and no orphan is left."""
    body = {**BASE, "max_generations": 3, "early_stop": False, "min_features": 2}
    trained: list[str] = []

    class Counting(InlineExecutor):
        def submit(self, kind: str, payload: dict, priority: float | None = None) -> Future:
            if kind == TRAIN:
                trained.append(str(payload["training"]["features"]))
            return super().submit(kind, payload, priority)

    with serving(store_url, executor_factory=lambda _store, _run: Counting()) as client:
        first, second = (client.post("/evolve", json=body).json()["run_id"] for _ in range(2))
        runs = [wait_for(client, run_id) for run_id in (first, second)]
    assert [run["status"] for run in runs] == ["completed", "completed"]
    counts = row_counts(store_url)
    assert counts["models"] == counts["model_fingerprints"] == counts["model_artifacts"]
    assert counts["models"] == runs[0]["models_trained"] == runs[1]["models_trained"]
    assert counts["training_claims"] == 0  # every claim was released
    assert len(trained) == len(set(trained)) == counts["models"]  # no model trained twice
