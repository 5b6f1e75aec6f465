"""The queue executor on every backend: futures resolve from the durable queue, once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import wait

import pytest

from strategy_factory.execution import JobFailedError, QueueExecutor, run_worker
from strategy_factory.store import Job, Store

UNITS = {
    "square": lambda payload: {"square": payload["n"] ** 2},
    "boom": lambda payload: (_ for _ in ()).throw(ValueError(f"bad input {payload['n']}")),
}


@pytest.fixture
def worker(store: Store) -> Iterator[threading.Event]:
    """A worker thread on the store, stopped after the test; set the event to stop it early."""
    stop = threading.Event()
    options = {"units": UNITS, "poll_interval": 0.02, "stop_event": stop, "worker_id": "w"}
    thread = threading.Thread(target=run_worker, args=(store,), kwargs=options)
    thread.start()
    yield stop
    stop.set()
    thread.join(30)


def test_futures_resolve_with_the_results_workers_record(
    store: Store, run_id: str, worker: threading.Event
) -> None:
    executor = QueueExecutor(store, run_id=run_id, poll_interval=0.02)
    futures = [executor.submit("square", {"n": n}, priority=float(n)) for n in range(12)]
    assert [f.result(timeout=30) for f in futures] == [{"square": n * n} for n in range(12)]
    keys = [Job("square", {"n": n}).dedup_key for n in range(12)]
    jobs = [store.queue.find(key, run_id) for key in keys]
    assert [(job.parent_sqn, job.run_id, job.status) for job in jobs if job] == [
        (float(n), run_id, "done") for n in range(12)
    ]
    executor.close()


def test_a_failed_job_raises_its_error_and_a_resubmission_retries_it(
    store: Store, run_id: str, worker: threading.Event
) -> None:
    executor = QueueExecutor(store, run_id=run_id, poll_interval=0.02, max_attempts=2)
    future = executor.submit("boom", {"n": 3})
    with pytest.raises(
        JobFailedError, match=r"\(boom\) failed after 2 attempt\(s\): ValueError: bad input 3"
    ):
        future.result(timeout=30)
    error = future.exception()
    assert isinstance(error, JobFailedError)
    assert (error.kind, error.attempts, error.error) == ("boom", 2, "ValueError: bad input 3")
    again = executor.submit("boom", {"n": 3})  # e.g. a resumed run: the job gets new attempts
    with pytest.raises(JobFailedError):
        again.result(timeout=30)
    assert store.queue.counts_by_status(run_id)["failed"] == 1
    executor.close()


def test_the_same_unit_is_one_job_and_a_resumed_run_gets_its_stored_result(
    store: Store, run_id: str, worker: threading.Event
) -> None:
    first = QueueExecutor(store, run_id=run_id, poll_interval=0.02)
    twins = [first.submit("square", {"n": 4}), first.submit("square", {"n": 4})]
    assert [f.result(timeout=30) for f in twins] == [{"square": 16}] * 2
    first.close()
    worker.set()  # no worker any more: only the stored result can answer
    resumed = QueueExecutor(store, run_id=run_id)
    future = resumed.submit("square", {"n": 4})
    assert future.done()
    assert future.result() == {"square": 16}
    assert store.queue.counts_by_status(run_id) == {
        "pending": 0,
        "running": 0,
        "done": 1,
        "failed": 0,
    }
    resumed.close()


def test_close_cancels_waiting_futures_and_leaves_their_jobs_queued(
    store: Store, run_id: str
) -> None:
    executor = QueueExecutor(store, run_id=run_id, poll_interval=0.02)
    futures = [executor.submit("square", {"n": n}) for n in range(3)]
    assert wait(futures, timeout=0.2).done == set()
    executor.close()
    assert all(f.cancelled() for f in futures)
    assert store.queue.counts_by_status(run_id)["pending"] == 3
    # Another executor (a resumed run) picks the same jobs up where they are.
    report = run_worker(store, units=UNITS, max_jobs=3)
    assert len(report.completed) == 3
    later = QueueExecutor(store, run_id=run_id)
    assert later.submit("square", {"n": 2}).result(timeout=60) == {"square": 4}
    later.close()


def test_a_cancelled_future_is_left_alone_when_its_job_finishes(
    store: Store, run_id: str, worker: threading.Event
) -> None:
    executor = QueueExecutor(store, run_id=run_id, poll_interval=0.02)
    worker.set()
    cancelled = executor.submit("square", {"n": 5})
    assert cancelled.cancel()
    kept = executor.submit("square", {"n": 6})
    run_worker(store, units=UNITS, max_jobs=2)
    assert kept.result(timeout=30) == {"square": 36}
    assert cancelled.cancelled()
    executor.close()
