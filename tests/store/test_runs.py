"""Run lifecycle: create, progress from many writers, stop requests, outcome."""

from __future__ import annotations

import pytest

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.store import RunStatus, Store
from strategy_factory.store.runs import LeaseLostError


def test_a_run_goes_from_pending_to_completed(store: Store) -> None:
    config = {"symbol": "SP500", "grids": {"alpha": [0.1, 1.0]}, "max_generations": 5}
    run = store.runs.create("SP500", "elasticnet", config, max_generations=5)
    assert (run.status, run.config, run.started_at, run.promoted) == (
        "pending",
        config,
        None,
        False,
    )

    started = store.runs.start(run.id)
    assert started.status == "running"
    assert started.started_at is not None
    assert started.started_at >= run.created_at

    store.runs.update_progress(run.id, current_generation=3, best_sqn_100=3.4, best_model_id="m3")
    finished = store.runs.finish(run.id, "completed", "promoted", promotion_id="p1")
    assert finished.status == RunStatus.COMPLETED
    assert (finished.stop_reason, finished.promoted, finished.promotion_id) == (
        "promoted",
        True,
        "p1",
    )
    assert (finished.current_generation, finished.best_sqn_100) == (3, 3.4)
    assert finished.finished_at is not None
    assert finished.finished_at >= finished.started_at
    assert store.runs.start(run.id).started_at == started.started_at


def test_stop_is_requested_only_while_the_run_is_alive(store: Store, run_id: str) -> None:
    assert store.runs.request_stop(run_id) is True
    assert store.runs.get(run_id).stop_requested is True
    store.runs.finish(run_id, "stopped", "stopped_by_user")
    assert store.runs.request_stop(run_id) is False


def test_recent_runs_are_newest_first_and_filtered_by_status(store: Store) -> None:
    ids = [store.runs.create("SP500", "lgbm", {}, max_generations=1).id for _ in range(3)]
    store.runs.start(ids[1])
    assert [run.id for run in store.runs.recent()] == ids[::-1]
    assert [run.id for run in store.runs.recent(status="running")] == [ids[1]]
    assert [run.id for run in store.runs.recent(limit=2)] == ids[:0:-1]


def test_mistakes_say_what_to_fix(store: Store, run_id: str) -> None:
    with pytest.raises(NotFoundError, match="no evolution run 'nope'"):
        store.runs.get("nope")
    with pytest.raises(NotFoundError, match="no evolution run 'nope'"):
        store.runs.request_stop("nope")
    with pytest.raises(FactoryError, match="'paused' is not one of: pending, running"):
        store.runs.update_progress(run_id, status="paused")
    with pytest.raises(FactoryError, match="cannot set symbol on a run"):
        store.runs.update_progress(run_id, symbol="NASDAQ")
    with pytest.raises(FactoryError, match="finishes as one of"):
        store.runs.finish(run_id, "running", "failed")
    with pytest.raises(FactoryError, match="stop reason 'bored'"):
        store.runs.finish(run_id, "stopped", "bored")
    with pytest.raises(FactoryError, match="max_generations must be at least 1"):
        store.runs.create("SP500", "lgbm", {}, max_generations=0)


def test_counters_are_set_to_a_recount(store: Store) -> None:
    run = store.runs.create("SP500", "ElasticNet", {}, 4)
    store.runs.update_progress(run.id, models_trained=1, simulations_completed=140)
    recount = store.runs.update_progress(run.id, models_trained=3, simulations_completed=420)
    assert (recount.models_trained, recount.simulations_completed) == (3, 420)


def test_one_driver_holds_a_run_and_a_stale_one_cannot_change_it(store: Store, run_id: str) -> None:
    assert store.runs.acquire(run_id, "server-a", lease_seconds=60) is not None
    assert store.runs.acquire(run_id, "server-b", lease_seconds=60) is None  # a live lease
    assert store.runs.claimable("server-b") == []
    assert [r.id for r in store.runs.claimable("server-a")] == [run_id]
    store.runs.start(run_id, owner_id="server-a")
    assert store.runs.renew([run_id, "other"], "server-a", lease_seconds=60) == {run_id}
    assert not store.runs.get(run_id).abandoned()
    # The lease runs out (a negative lease is one that expired a moment ago).
    store.runs.renew([run_id], "server-a", lease_seconds=-1)
    assert store.runs.get(run_id).display_status == "abandoned"
    taken = store.runs.acquire(run_id, "server-b", lease_seconds=60)
    assert taken is not None and taken.owner_id == "server-b"
    # The old driver can no longer write progress, finish the run or renew its lease.
    with pytest.raises(LeaseLostError, match="driven by server-b"):
        store.runs.update_progress(run_id, owner_id="server-a", step_status="stale")
    with pytest.raises(LeaseLostError):
        store.runs.finish(run_id, "failed", "failed", error="boom", owner_id="server-a")
    assert store.runs.renew([run_id], "server-a", lease_seconds=60) == set()
    run = store.runs.get(run_id)
    assert (run.status, run.step_status, run.error) == ("running", None, None)
    finished = store.runs.finish(run_id, "completed", "max_generations", owner_id="server-b")
    assert (finished.owner_id, finished.owner_expires_at) == (None, None)
    assert store.runs.acquire(run_id, "server-a", lease_seconds=60) is None  # finished


def test_a_released_run_is_taken_over_at_once_and_a_failed_one_on_resume(
    store: Store, run_id: str
) -> None:
    store.runs.acquire(run_id, "a", lease_seconds=60)
    assert store.runs.release(run_id, "b") is False
    assert store.runs.release(run_id, "a") is True
    assert store.runs.acquire(run_id, "b", lease_seconds=60) is not None
    store.runs.finish(run_id, "failed", "failed", error="E", owner_id="b")
    assert store.runs.acquire(run_id, "c", lease_seconds=60) is None
    resumed = store.runs.acquire(run_id, "c", lease_seconds=60, resume_failed=True)
    assert resumed is not None and resumed.owner_id == "c"
    restarted = store.runs.start(run_id, owner_id="c")
    assert (restarted.status, restarted.error, restarted.stop_reason) == ("running", None, None)
    with pytest.raises(NotFoundError):
        store.runs.acquire("nope", "c", lease_seconds=60)


def test_stopping_a_run_nobody_drives_stops_it_at_once(store: Store, run_id: str) -> None:
    driven = store.runs.create("SP500", "ElasticNet", {}, 1).id
    store.runs.acquire(driven, "server", lease_seconds=60)
    store.runs.start(driven, owner_id="server")
    store.runs.start(run_id)  # running, but nobody holds its lease: abandoned
    assert store.runs.get(run_id).abandoned()
    assert store.runs.request_stop(run_id) is True
    stopped = store.runs.get(run_id)
    assert (stopped.status, stopped.stop_reason) == ("stopped", "stopped_by_user")
    assert store.runs.request_stop(driven) is True  # its driver stops it at its next step
    asked = store.runs.get(driven)
    assert (asked.status, asked.stop_requested) == ("running", True)
