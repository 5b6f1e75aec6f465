"""The learning cycle in the server: started over the API (202, then its steps fill in),
refused while one runs, run by the schedule in the learning settings; rebalancing over
the API; the virtual fund in the allocator's answer."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from strategy_factory.learning.settings import save_settings, with_changes
from tests.learning.conftest import REF, STORED, SYN, Promoted
from tests.learning.test_cycle import ONE_STRATEGY, STEPS
from tests.service.conftest import held, serving

POLL_SECONDS = 0.05


def finished_cycle(client: TestClient, cycle_id: int, ceiling: float) -> dict[str, Any]:
    """Poll ``GET /api/learning/cycles`` until cycle ``cycle_id`` has ended."""
    deadline = time.monotonic() + ceiling
    while True:
        found = {c["id"]: c for c in client.get("/api/learning/cycles").json()}
        if cycle_id in found and found[cycle_id]["state"] != "running":
            return found[cycle_id]
        if time.monotonic() > deadline:
            raise AssertionError(f"cycle {cycle_id} still running after {ceiling} s: {found}")
        time.sleep(POLL_SECONDS)


@pytest.fixture
def url(promoted: Promoted) -> str:
    return os.environ["FACTORY_DB"]


def test_a_cycle_started_over_the_api_runs_in_the_background(
    promoted: Promoted, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_settings(promoted.store, ONE_STRATEGY)
    promoted.catalog.append("SYN", SYN.iloc[STORED:8_000])
    promoted.catalog.append("REF", REF.iloc[STORED:8_000])
    # The forward step waits for the test's word, so the cycle is seen running.
    go = threading.Event()
    from strategy_factory.learning import cycle as cycle_module

    real = cycle_module.update_forward

    def gated(*args: Any, **kwargs: Any) -> Any:
        go.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(cycle_module, "update_forward", gated)
    with serving(url, executor_factory=held) as client:
        started = client.post("/api/learning/cycle/run")
        assert started.status_code == 202, started.text
        cycle = started.json()
        assert cycle["state"] == "running" and cycle["trigger"] == "api"
        busy = client.post("/api/learning/cycle/run")
        assert busy.status_code == 409 and "running" in busy.json()["detail"]
        go.set()
        done = finished_cycle(client, cycle["id"], ceiling=120)
    assert done["state"] == "done", done
    # The server's cycle also runs the understanding layer's steps before the summary.
    understanding = [
        "champions",
        "challengers",
        "queued_hypotheses",
        "diagnoses",
        "audits",
        "transfers",
    ]
    assert [step["name"] for step in done["steps"]] == [*STEPS[:-1], *understanding, STEPS[-1]]
    diagnosed = next(s for s in done["steps"] if s["name"] == "diagnoses")["summary"]
    assert diagnosed["diagnosed"] == [promoted.promotion.id]
    assert done["steps"][0]["summary"]["added"] == 1_000


def test_rebalance_over_the_api_answers_the_allocator_and_its_fund(
    promoted: Promoted, url: str
) -> None:
    save_settings(promoted.store, ONE_STRATEGY)
    with serving(url, executor_factory=held) as client:
        first = client.post("/api/learning/allocator/rebalance")
        assert first.status_code == 200, first.text
        answer = first.json()
        assert answer["latest"]["state"] == "allocated"
        assert answer["latest"]["weights"] == pytest.approx({promoted.promotion.id: 1.0}, abs=1e-6)
        assert answer["fund"] is None  # no forward returns yet
        promoted.catalog.append("SYN", SYN.iloc[STORED:7_400])
        promoted.catalog.append("REF", REF.iloc[STORED:7_400])
        client.post("/api/learning/cycle/run")
        finished_cycle(client, client.get("/api/learning/cycles").json()[0]["id"], 120)
        fund = client.get("/api/learning/allocator").json()["fund"]
        assert fund["bars"] == 400 and len(fund["series"]["equity"]) == 400
        # An impossible allocation is stored with its reason; the last weights stay readable.
        save_settings(
            promoted.store, with_changes(ONE_STRATEGY, {"allocator": {"max_weight": 0.5}})
        )
        refused = client.post("/api/learning/allocator/rebalance").json()
        assert refused["latest"]["state"] == "infeasible" and refused["latest"]["weights"] == {}
        assert "max_weight" in refused["latest"]["reason"]
        assert refused["allocated"]["weights"] == pytest.approx(
            {promoted.promotion.id: 1.0}, abs=1e-6
        )


def test_the_schedule_runs_a_cycle_when_it_is_due(promoted: Promoted, url: str) -> None:
    scheduled = with_changes(ONE_STRATEGY, {"schedule": {"enabled": True, "every_hours": 0.01}})
    save_settings(promoted.store, scheduled)
    with serving(url, executor_factory=held, learning_poll_seconds=POLL_SECONDS) as client:
        deadline = time.monotonic() + 120
        while not client.get("/api/learning/cycles").json():
            assert time.monotonic() < deadline, "the schedule started no cycle"
            time.sleep(POLL_SECONDS)
        [cycle] = client.get("/api/learning/cycles").json()
        assert cycle["trigger"] == "schedule"
        done = finished_cycle(client, cycle["id"], ceiling=120)
        assert done["state"] == "done"
        # Not due again for every_hours (36 s): many polls later, still one cycle.
        time.sleep(40 * POLL_SECONDS)
        assert len(client.get("/api/learning/cycles").json()) == 1


def test_a_request_cannot_claim_its_run_came_from_the_search(promoted: Promoted, url: str) -> None:
    body = {"symbol": "SYN", "origin": {"study": "genome-S0", "trial": 3}}
    with serving(url, executor_factory=held) as client:
        answer = client.post("/evolve", json=body)
    assert answer.status_code == 422 and "origin" in answer.text
