"""The queue under real worker processes: many at once, one killed -9, connections cut.

Workers are real OS processes running the loop of ``factory worker`` on test-only kinds
of work (``tests/execution/sample_units.py``); every execution of a ``record`` job leaves
a row in ``side_effects``, so the tests count how many times each job really ran.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from strategy_factory.execution import QueueExecutor
from strategy_factory.store import Job, Store
from tests.execution.conftest import Workers, wait_for


def _side_effects(store: Store) -> dict[int, int]:
    """How many times each job (by its payload number) really ran."""
    with store.database.read() as connection:
        rows = connection.execute(text("select n, count(*) from side_effects group by n"))
        return dict(rows.all())


def _done(store: Store, total: int) -> bool:
    return store.queue.counts_by_status()["done"] == total


def _completed_once(reports: list, total: int) -> None:
    """Every job was recorded by exactly one worker, and no worker lost or failed one."""
    completed = sorted(job_id for report in reports for job_id in report.completed)
    assert completed == list(range(1, total + 1))
    assert [(r.failed, r.lost) for r in reports] == [([], [])] * len(reports)


@pytest.mark.parametrize("fresh_url", ["postgresql"], indirect=True)
@pytest.mark.postgres
@pytest.mark.slow
def test_eight_workers_run_five_thousand_jobs_once_each_in_priority_order(
    fresh_url: str, fresh_store: Store, workers: Workers
) -> None:
    total, levels = 5000, 40
    rng = np.random.default_rng(6)
    # Priorities are shuffled against the enqueue order, so claiming in id (age) order
    # instead of priority order would break the check below at once.
    sqns = rng.integers(0, levels, total).astype(float)
    fresh_store.queue.enqueue(
        Job("record", {"n": n, "url": fresh_url}, parent_sqn=sqns[n]) for n in range(total)
    )
    names = [f"worker-{w}" for w in range(8)]
    workers.start(fresh_url, names, batch=16, poll_interval=0.05)
    wait_for(lambda: _done(fresh_store, total), 150, "every job to be done")
    reports = workers.stop()

    _completed_once(reports, total)
    assert _side_effects(fresh_store) == dict.fromkeys(range(total), 1)
    assert fresh_store.queue.counts_by_status() == {
        "pending": 0,
        "running": 0,
        "done": total,
        "failed": 0,
    }
    assert sum(1 for r in reports if r.completed) >= 2  # the work really was shared
    assert {w.id for w in fresh_store.workers.live()} == set()
    _check_priority_order(fresh_store)


def _check_priority_order(store: Store) -> None:
    """No job ran before a job of higher priority had at least started being claimed.

    When a claim picks job B, every pending job of higher priority is either claimed
    already or locked by another claim in flight (SKIP LOCKED skips only rows that
    concurrent claims hold), so each such job A's claim transaction began before B's claim
    statement ran, and that is before B's own work started. With claimed_at = the start
    of the claim transaction (PostgreSQL's now()) and ran_at = when B's work began (its
    side effect's clock_timestamp(), both on the server clock), the exact check is:
    claimed_at(A) <= ran_at(B) whenever parent_sqn(A) > parent_sqn(B). It needs no
    slack for the number of workers: concurrency shows up as overlapping intervals, which
    the check allows, while a claim that skipped a free higher-priority job does not.
    """
    query = text(
        "select j.parent_sqn, extract(epoch from j.claimed_at), extract(epoch from s.ran_at) "
        "from priority_jobs j join side_effects s on s.n = (j.payload->>'n')::int"
    )
    with store.database.read() as connection:
        sqn, claimed_at, ran_at = np.array(connection.execute(query).all(), dtype=float).T
    levels = np.unique(sqn)
    first_run = np.array([ran_at[sqn == level].min() for level in levels])
    last_claim = np.array([claimed_at[sqn == level].max() for level in levels])
    # For each level, the latest claim of any strictly higher level.
    later_claims = np.maximum.accumulate(last_claim[::-1])[::-1]
    violations = first_run[:-1] < later_claims[1:]
    assert not violations.any(), f"priority inverted at levels {levels[:-1][violations]}"


@pytest.mark.parametrize("fresh_url", ["sqlite"], indirect=True)
def test_sqlite_workers_run_every_job_once(
    fresh_url: str, fresh_store: Store, workers: Workers
) -> None:
    total = 300
    fresh_store.queue.enqueue(
        Job("record", {"n": n, "url": fresh_url}, parent_sqn=float(n % 5)) for n in range(total)
    )
    workers.start(fresh_url, ["a", "b", "c"], poll_interval=0.05)
    wait_for(lambda: _done(fresh_store, total), 120, "every job to be done")
    reports = workers.stop()
    _completed_once(reports, total)
    assert _side_effects(fresh_store) == dict.fromkeys(range(total), 1)


def test_a_job_of_a_worker_killed_9_is_rerun_elsewhere_once(
    fresh_url: str, fresh_store: Store, workers: Workers
) -> None:
    lease, poll = 2.0, 0.1
    fresh_store.queue.enqueue([Job("sleep", {"n": 0, "url": fresh_url, "seconds": 2.0})])
    (doomed,) = workers.start(fresh_url, ["doomed"], lease_seconds=lease, poll_interval=poll)
    held = wait_for(
        lambda: (job := fresh_store.queue.get(1)).claimed_by == "doomed" and job, 60, "a claim"
    )
    time.sleep(0.8)  # a heartbeat or two have renewed the lease
    renewed_until = fresh_store.queue.get(1).lease_expires_at
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join(10)
    (rescuer,) = workers.start(fresh_url, ["rescuer"], lease_seconds=lease, poll_interval=poll)
    wait_for(lambda: _done(fresh_store, 1), 60, "the job to be rerun")

    record = fresh_store.queue.get(1)
    assert (record.claimed_by, record.attempts) == ("rescuer", 2)
    assert record.result == {"n": 0, "pid": rescuer.pid}
    # Taken over only once the killed worker's lease had run out (the wait above has a
    # ceiling; how soon after it depends on the machine's load, so it is not asserted).
    assert record.claimed_at is not None and renewed_until is not None
    assert record.claimed_at >= renewed_until
    assert _side_effects(fresh_store) == {0: 1}  # killed mid-sleep: it never wrote
    # The killed worker's late completion (its old token) is refused; nothing changes.
    assert held.lease_token is not None
    assert fresh_store.queue.complete(1, held.lease_token, {"n": "late"}) is False
    assert fresh_store.queue.get(1).result == {"n": 0, "pid": rescuer.pid}
    (report,) = workers.stop([rescuer])
    assert report.completed == [1]


def test_sigterm_finishes_the_current_job_and_a_second_one_abandons_it(
    fresh_url: str, fresh_store: Store, workers: Workers
) -> None:
    fresh_store.queue.enqueue(
        [Job("sleep", {"n": n, "url": fresh_url, "seconds": 2.0}) for n in range(3)]
    )
    (patient,) = workers.start(fresh_url, ["patient"], poll_interval=0.05)
    wait_for(lambda: fresh_store.queue.get(1).status == "running", 60, "the first claim")
    (report,) = workers.stop([patient])  # one SIGTERM while the job sleeps
    assert report.completed == [1]
    assert fresh_store.queue.counts_by_status()["pending"] == 2

    (hasty,) = workers.start(fresh_url, ["hasty"], poll_interval=0.05)
    wait_for(lambda: fresh_store.queue.get(2).status == "running", 60, "the next claim")
    os.kill(hasty.pid, signal.SIGTERM)
    time.sleep(0.2)
    os.kill(hasty.pid, signal.SIGTERM)
    hasty.join(30)
    assert hasty.exitcode == 0
    abandoned = fresh_store.queue.get(2)
    assert (abandoned.status, abandoned.attempts) == ("pending", 0)  # handed back untried
    assert _side_effects(fresh_store) == {0: 1}
    assert {w.id for w in fresh_store.workers.live()} == set()


@pytest.mark.parametrize("fresh_url", ["postgresql"], indirect=True)
@pytest.mark.postgres
def test_workers_ride_out_every_connection_being_cut_again_and_again(
    fresh_url: str, fresh_store: Store, workers: Workers
) -> None:
    total = 500
    executor = QueueExecutor(fresh_store, poll_interval=0.05, max_attempts=5)
    # 10 ms each: the drain lasts seconds, so the cuts land while jobs are in flight.
    futures = [executor.submit("pause", {"n": n, "seconds": 0.01}) for n in range(total)]
    rounds: list[tuple[int, int]] = []  # (jobs unfinished, connections cut) per round
    finished = threading.Event()
    admin = create_engine(fresh_url, isolation_level="AUTOCOMMIT")

    def cut_connections() -> None:
        kill = text(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity "
            "where datname = current_database() and pid <> pg_backend_pid()"
        )
        unfinished = text("select count(*) from priority_jobs where status <> 'done'")
        while not finished.wait(0.25):
            with admin.connect() as connection:
                left = connection.execute(unfinished).scalar_one()
                rounds.append((left, connection.execute(kill).scalar_one()))

    cutter = threading.Thread(target=cut_connections)
    # Short leases: a claim whose reply was lost with its connection is retaken quickly.
    workers.start(fresh_url, [f"w{w}" for w in range(4)], lease_seconds=3, poll_interval=0.05)
    # Started workers first: opening a store (and migrating it) is not retried, by design —
    # a worker started against a wrong or unreachable URL should say so at once.
    wait_for(lambda: len(fresh_store.workers.live()) == 4, 60, "the workers to register")
    cutter.start()
    try:
        # The executor's poller rides out the cuts too: every future gets its job's result.
        assert [future.result(timeout=150) for future in futures] == [
            {"n": n} for n in range(total)
        ]
    finally:
        executor.close()
        finished.set()
        cutter.join()
        admin.dispose()
    reports = workers.stop()
    assert sum(1 for left, killed in rounds if left and killed) >= 3  # cut mid-drain
    completed = sorted(job_id for r in reports for job_id in r.completed)
    assert completed == list(range(1, total + 1))
    with fresh_store.database.read() as connection:
        results = connection.execute(text("select id, payload, result, status from priority_jobs"))
        assert all(row.result == {"n": row.payload["n"]} for row in results)
