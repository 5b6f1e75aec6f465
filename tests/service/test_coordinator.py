"""The coordinator's executor wrapper and its bookkeeping of the runs it drives."""

from __future__ import annotations

import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from strategy_factory.evolution import EvolveConfig, StopRequestedError, create_run
from strategy_factory.execution import InlineExecutor
from strategy_factory.service import Coordinator, InterruptibleExecutor, ServiceShutdown
from strategy_factory.store import Store
from tests.service.conftest import HeldExecutor, held
from tests.service.test_evolve import BASE


def test_results_and_errors_pass_through() -> None:
    executor = InterruptibleExecutor(InlineExecutor())
    with pytest.raises(Exception, match="unknown kind of work 'nope'"):
        executor.submit("nope", {}).result(timeout=5)
    inner = HeldExecutor()
    wrapped = InterruptibleExecutor(inner)
    future = wrapped.submit("train", {"x": 1})
    assert not future.done()
    inner.submitted[0][1].set_result({"summary": 1})
    assert future.result(timeout=5) == {"summary": 1}


def test_an_interrupt_fails_waiting_futures_and_later_submits() -> None:
    inner = HeldExecutor()
    executor = InterruptibleExecutor(inner)
    waiting = [executor.submit("simulate", {"n": n}) for n in range(3)]
    inner.submitted[0][1].set_result({"rows": []})  # finished before the interrupt
    executor.interrupt(ServiceShutdown())
    assert waiting[0].result() == {"rows": []}
    for future in waiting[1:]:
        with pytest.raises(ServiceShutdown):
            future.result(timeout=5)
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
        future.result(timeout=5)


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
