"""The worker loop in this process (a thread) on every backend: run, fail, fence, stop."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest

from strategy_factory.errors import FactoryError
from strategy_factory.execution import WorkerReport, run_worker
from strategy_factory.store import Job, Store
from tests.execution.conftest import wait_for

UNITS = {
    "square": lambda payload: {"square": payload["n"] ** 2},
    "boom": lambda payload: (_ for _ in ()).throw(ValueError(f"bad input {payload['n']}")),
    "nap": lambda payload: time.sleep(payload["seconds"]) or {"slept": payload["seconds"]},
}


def _in_thread(store: Store, **options: Any) -> tuple[threading.Thread, threading.Event, list]:
    stop, reports = threading.Event(), []
    options = {"units": UNITS, "poll_interval": 0.05, "stop_event": stop} | options
    thread = threading.Thread(target=lambda: reports.append(run_worker(store, **options)))
    thread.start()
    return thread, stop, reports


def test_a_worker_runs_jobs_in_priority_order_and_records_each_result_once(
    store: Store,
) -> None:
    sqns = [None, 2.0, 5.0, 2.0, None, 9.0]
    store.queue.enqueue([Job("square", {"n": n}, parent_sqn=s) for n, s in enumerate(sqns)])
    report = run_worker(store, worker_id="w-1", units=UNITS, max_jobs=6)
    order = [store.queue.get(job_id).payload["n"] for job_id in report.completed]
    assert order == [5, 2, 1, 3, 0, 4]
    assert (report.failed, report.lost) == ([], [])
    for job_id in report.completed:
        record = store.queue.get(job_id)
        assert record.result == {"square": record.payload["n"] ** 2}
        assert (record.status, record.attempts, record.claimed_by) == ("done", 1, "w-1")
    assert [w.status for w in store.workers.live()] == []  # it marked itself stopped


def test_batches_keep_priority_order_and_max_jobs(store: Store) -> None:
    store.queue.enqueue([Job("square", {"n": n}, parent_sqn=float(n % 4)) for n in range(10)])
    report = run_worker(store, units=UNITS, batch=4, max_jobs=7)
    claimed = [store.queue.get(job_id).payload["n"] for job_id in report.completed]
    assert claimed == [3, 7, 2, 6, 1, 5, 9]
    assert store.queue.counts_by_status()["pending"] == 3


def test_a_failing_job_is_retried_then_ends_failed_with_its_error(store: Store) -> None:
    store.queue.enqueue([Job("boom", {"n": 7}, max_attempts=2), Job("mystery", {"n": 8})])
    report = run_worker(store, units=UNITS, max_jobs=3)
    assert sorted(report.failed) == [1, 1, 2]
    boom, mystery = store.queue.get(1), store.queue.get(2)
    assert (boom.status, boom.attempts, boom.error) == ("failed", 2, "ValueError: bad input 7")
    assert mystery.status == "pending"
    assert mystery.error == "FactoryError: this worker cannot run jobs of kind 'mystery'"


def test_only_the_kinds_asked_for_are_claimed(store: Store) -> None:
    store.queue.enqueue([Job("boom", {"n": 1}, parent_sqn=9.0), Job("square", {"n": 3})])
    report = run_worker(store, units=UNITS, kinds=["square"], max_jobs=1)
    assert [store.queue.get(i).kind for i in report.completed] == ["square"]
    assert store.queue.get(1).status == "pending"


def test_heartbeats_keep_a_long_job_and_a_stalled_worker_is_fenced_off(store: Store) -> None:
    store.queue.enqueue([Job("nap", {"seconds": 3.0}), Job("nap", {"seconds": 2.5})])
    # Beating every 0.25 s, a 3 s job outlives its 1.5 s lease without losing it.
    report = run_worker(store, units=UNITS, lease_seconds=1.5, heartbeat_every=0.25, max_jobs=1)
    assert report.completed == [1]
    assert store.queue.get(1).attempts == 1
    # Without heartbeats the lease runs out, another worker takes the job over, and the
    # stalled worker's result is refused when it finally comes.
    thread, _, reports = _in_thread(store, lease_seconds=0.5, heartbeat_every=60, max_jobs=1)
    wait_for(lambda: store.queue.get(2).status == "running", 10, "the job to be claimed")
    thief = wait_for(
        lambda: store.queue.claim("thief", lease_seconds=60), 10, "the lease to run out"
    )
    assert store.queue.complete(thief.id, thief.lease_token, {"by": "thief"}) is True
    thread.join(30)
    (stalled,) = reports
    assert (stalled.completed, stalled.lost) == ([], [2])
    record = store.queue.get(2)
    assert (record.result, record.attempts, record.claimed_by) == ({"by": "thief"}, 2, "thief")


def test_a_stop_request_lets_the_current_job_finish(store: Store) -> None:
    store.queue.enqueue([Job("nap", {"seconds": 2.0, "n": n}) for n in range(3)])
    thread, stop, reports = _in_thread(store, worker_id="w-stop")
    wait_for(lambda: store.queue.counts_by_status()["running"] == 1, 10, "the first claim")
    busy = wait_for(lambda: [w for w in store.workers.live() if w.id == "w-stop"], 10, "a worker")
    stop.set()
    thread.join(30)
    (report,) = reports
    assert report == WorkerReport("w-stop", completed=[1])
    assert store.queue.counts_by_status() == {"pending": 2, "running": 0, "done": 1, "failed": 0}
    assert busy[0].status == "running"
    assert store.workers.live() == []


def test_bad_options_are_refused_before_anything_runs(store: Store) -> None:
    with pytest.raises(FactoryError, match="kinds is empty"):
        run_worker(store, kinds=[])
    with pytest.raises(FactoryError, match="max_jobs must be at least 1"):
        run_worker(store, max_jobs=0)
    with pytest.raises(FactoryError, match="must be positive"):
        run_worker(store, lease_seconds=0)


def test_a_stop_signal_landing_inside_an_event_wait_cannot_deadlock_the_worker() -> None:
    # A signal handler runs in the main thread between two bytecodes, possibly while that
    # thread is inside Event.wait holding the event's (non-reentrant) lock. Reproduce that
    # moment: hold the stop event's lock and run the handler in the same thread. A handler
    # that set the event itself would block forever on the lock it already holds.
    from strategy_factory.execution.worker import _Control

    control = _Control(threading.Event())
    handled = threading.Event()

    def signal_arrives_inside_wait() -> None:
        with control.stop._cond:  # what Event.wait holds between its checks
            control.signal(signal.SIGTERM, None)
        handled.set()

    with control.signals():
        inside = threading.Thread(target=signal_arrives_inside_wait, daemon=True)
        inside.start()
        assert handled.wait(30), "the signal handler blocked on the stop event's lock"
        assert control.stop.wait(30) and not control.abandon.is_set()
        control.signal(signal.SIGTERM, None)  # a second one, no job running: abandon only
        assert control.abandon.wait(30)
