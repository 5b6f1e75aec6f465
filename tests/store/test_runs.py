"""Run lifecycle: create, progress from many writers, stop requests, outcome."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.store import RunStatus, Store


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

    store.runs.update_progress(run.id, current_generation=3, best_sqn=3.4, best_model_id="m3")
    finished = store.runs.finish(run.id, "completed", "promoted", promoted_model_id="p1")
    assert finished.status == RunStatus.COMPLETED
    assert (finished.stop_reason, finished.promoted, finished.promoted_model_id) == (
        "promoted",
        True,
        "p1",
    )
    assert (finished.current_generation, finished.best_sqn) == (3, 3.4)
    assert finished.finished_at is not None
    assert finished.finished_at >= finished.started_at
    assert store.runs.start(run.id).started_at == started.started_at


def test_counters_add_up_with_many_writers(store: Store, run_id: str) -> None:
    def work(_: int) -> None:
        for _ in range(10):
            store.runs.update_progress(run_id, add_models_trained=1, add_simulations_completed=7)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(work, range(4)))
    run = store.runs.get(run_id)
    assert (run.models_trained, run.simulations_completed) == (40, 280)
    assert run.updated_at >= run.created_at


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


def test_counters_can_be_set_to_a_recount(store: Store) -> None:
    run = store.runs.create("SP500", "ElasticNet", {}, 4)
    store.runs.update_progress(run.id, add_models_trained=1, add_simulations_completed=140)
    recount = store.runs.update_progress(run.id, models_trained=3, simulations_completed=420)
    assert (recount.models_trained, recount.simulations_completed) == (3, 420)
