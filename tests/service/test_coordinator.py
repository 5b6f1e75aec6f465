"""The coordinator's executor wrapper and its bookkeeping of the runs it drives."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from strategy_factory.evolution import EvolveConfig, StopRequestedError, create_run
from strategy_factory.execution import InlineExecutor
from strategy_factory.service import Coordinator, InterruptibleExecutor, ServiceShutdown
from strategy_factory.store import Store
from strategy_factory.store import database as database_module
from strategy_factory.store.database import Database
from tests.service.conftest import HeldExecutor, held
from tests.service.test_evolve import BASE


def test_results_and_errors_pass_through() -> None:
    executor = InterruptibleExecutor(InlineExecutor())
    with pytest.raises(Exception, match="unknown kind of work 'nope'"):
        executor.submit("nope", {}).result(timeout=60)
    inner = HeldExecutor()
    wrapped = InterruptibleExecutor(inner)
    future = wrapped.submit("train", {"x": 1})
    assert not future.done()
    inner.submitted[0][1].set_result({"summary": 1})
    assert future.result(timeout=60) == {"summary": 1}


def test_an_interrupt_fails_waiting_futures_and_later_submits() -> None:
    inner = HeldExecutor()
    executor = InterruptibleExecutor(inner)
    waiting = [executor.submit("simulate", {"n": n}) for n in range(3)]
    inner.submitted[0][1].set_result({"rows": []})  # finished before the interrupt
    executor.interrupt(ServiceShutdown())
    assert waiting[0].result() == {"rows": []}
    for future in waiting[1:]:
        with pytest.raises(ServiceShutdown):
            future.result(timeout=60)
    with pytest.raises(ServiceShutdown):
        executor.submit("train", {})
    executor.interrupt(StopRequestedError())  # the first interrupt wins
    with pytest.raises(ServiceShutdown):
        executor.submit("train", {})
    # The worker finishing later changes nothing: the first outcome stands.
    inner.submitted[1][1].set_result({"rows": [1]})
    with pytest.raises(ServiceShutdown):
        waiting[1].result()


def test_cancelling_the_outer_future_cancels_the_unit() -> None:
    inner = HeldExecutor()
    future = InterruptibleExecutor(inner).submit("simulate", {})
    assert future.cancel()
    assert inner.submitted[0][1].cancelled()


def test_a_stop_ends_a_waiting_unit_with_stop_requested() -> None:
    executor = InterruptibleExecutor(HeldExecutor())
    future: Future = executor.submit("train", {})
    executor.interrupt(StopRequestedError())
    with pytest.raises(StopRequestedError):
        future.result(timeout=60)


def _wait_while_pending(store: Store, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while store.runs.get(run_id).status == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_run_is_driven_once_and_stop_interrupts_it(service_env: Path, store: Store) -> None:
    run_id = create_run(store, EvolveConfig.load(BASE)).id
    coordinator = Coordinator(store, held)
    assert coordinator.launch(run_id) is True
    assert coordinator.launch(run_id) is False
    _wait_while_pending(store, run_id)
    assert coordinator.active() == [run_id]
    coordinator.stop(run_id)
    coordinator.shutdown()
    assert coordinator.active() == []
    assert store.runs.get(run_id).status == "stopped"
    assert coordinator.launch(run_id) is False  # a shut-down coordinator starts nothing


def test_a_run_that_cannot_start_is_recorded_failed(service_env: Path, store: Store) -> None:
    config = create_run(store, EvolveConfig.load(BASE)).config
    vanished = {**config, "dataset": {**config["dataset"], "symbol": "GONE"}}
    run_id = store.runs.create("GONE", "ElasticNet", vanished, 2).id
    coordinator = Coordinator(store, held)
    resumed = coordinator.resume()
    assert run_id in resumed and len(resumed) == 2  # and the other pending run
    _wait_while_pending(store, run_id)
    coordinator.shutdown()
    failed = store.runs.get(run_id)
    assert failed.status == "failed"
    assert failed.error is not None and "unknown symbol 'GONE'" in failed.error


class _Outage:
    """Every store transaction fails (the database is away) while ``down`` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.down = threading.Event()
        self.refused = 0
        real = Database._run_once

        def run_once(db: Database, operation: Any, retried: bool, write: bool) -> Any:
            if self.down.is_set():
                self.refused += 1
                raise OperationalError("BEGIN", {}, Exception("server closed the connection"))
            return real(db, operation, retried, write)

        monkeypatch.setattr(Database, "_run_once", run_once)
        monkeypatch.setattr(database_module, "RETRY_DELAYS", (0.01, 0.01))


class _OutageOnFirstSimulation(InlineExecutor):
    """Takes the store away when the first simulation is handed in, back 1 s later."""

    def __init__(self, outage: _Outage) -> None:
        super().__init__()
        self.outage = outage
        self.launched = 0

    def submit(self, kind: str, payload: dict, priority: float | None = None) -> Future:
        future = super().submit(kind, payload, priority)
        if kind == "simulate" and not self.outage.down.is_set() and not self.outage.refused:
            self.outage.down.set()
            threading.Timer(1.0, self.outage.down.clear).start()
        return future


def _unfinished(store: Store, run_id: str) -> bool:
    return store.runs.get(run_id).status not in ("completed", "failed", "stopped")


def test_a_run_whose_store_went_away_is_left_running_and_resumed_when_it_is_back(
    service_env: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    outage = _Outage(monkeypatch)
    executors: list[_OutageOnFirstSimulation] = []

    def factory(_store: Store, _run_id: str) -> _OutageOnFirstSimulation:
        executors.append(_OutageOnFirstSimulation(outage))
        return executors[-1]

    run_id = create_run(store, EvolveConfig.load({**BASE, "max_generations": 2})).id
    coordinator = Coordinator(store, factory, lease_seconds=0.6)
    coordinator.start()
    try:
        deadline = time.monotonic() + 120
        while not outage.refused or outage.down.is_set() or _unfinished(store, run_id):
            assert time.monotonic() < deadline, "the run was not resumed"
            time.sleep(0.05)
    finally:
        coordinator.shutdown()
    run = store.runs.get(run_id)
    assert (run.status, run.error) == ("completed", None)
    assert outage.refused > 0
    assert len(executors) >= 2  # the first driver let go; the sweep drove the run again
    assert len(store.models.of_run(run_id)) == 2  # and nothing was trained twice
