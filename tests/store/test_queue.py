"""The durable job queue on every backend: priority, exactly-once claims, leases, fencing."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategy_factory.errors import FactoryError
from strategy_factory.store import Job, Store
from tests.store.processes import drain_queue, run_together

_kinds = (f"kind{n}" for n in itertools.count())


def test_enqueueing_the_same_unit_again_is_a_no_op(store: Store, run_id: str) -> None:
    units = [Job("train", {"generation": 1, "model": m}, run_id=run_id) for m in range(5)]
    assert store.queue.enqueue(units) == 5
    assert store.queue.enqueue(units) == 0
    assert store.queue.enqueue([*units[:2], Job("train", {"generation": 2}, run_id=run_id)]) == 1
    # The key is scoped by run: the same unit without a run is a different job, once.
    assert store.queue.enqueue([Job("train", {"generation": 1, "model": 0})] * 2) == 1
    assert store.queue.enqueue([Job("train", {"generation": 1, "model": 0})]) == 0
    explicit = Job("simulate", {"x": 1}, run_id=run_id, dedup_key="simulate:model-7")
    assert (
        store.queue.enqueue(
            [explicit, Job("simulate", {"x": 2}, dedup_key=explicit.dedup_key, run_id=run_id)]
        )
        == 1
    )
    assert store.queue.counts_by_status(run_id) == {
        "pending": 7,
        "running": 0,
        "done": 0,
        "failed": 0,
    }


sqns = st.lists(
    st.lists(st.none() | st.sampled_from([-1.0, 0.0, 0.5, 2.0, 3.5]), min_size=1, max_size=3),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=sqns)
def test_claims_follow_parent_sqn_then_age(store: Store, batches: list[list[float | None]]) -> None:
    kind = next(_kinds)  # each example has its own kind of jobs, in the same store
    enqueued = []
    for batch in batches:
        jobs = [Job(kind, {"n": len(enqueued) + i}, parent_sqn=sqn) for i, sqn in enumerate(batch)]
        store.queue.enqueue(jobs)
        enqueued.extend(jobs)
    expected = sorted(
        range(len(enqueued)),
        key=lambda n: (enqueued[n].parent_sqn is None, -(enqueued[n].parent_sqn or 0), n),
    )
    claimed = []
    while (job := store.queue.claim("w", kinds=[kind])) is not None:
        claimed.append(job.payload["n"])
    assert claimed == expected


def test_pending_lists_jobs_in_claim_order(store: Store) -> None:
    store.queue.enqueue(
        [Job("train", {"n": n}, parent_sqn=s) for n, s in enumerate([None, 1.0, 3.0, None, 2.0])]
    )
    assert [job.payload["n"] for job in store.queue.pending()] == [2, 4, 1, 0, 3]
    assert [job.payload["n"] for job in store.queue.pending(limit=2)] == [2, 4]


def test_claims_only_the_kinds_asked_for(store: Store) -> None:
    store.queue.enqueue([Job("simulate", {"n": 1}, parent_sqn=9.0), Job("train", {"n": 2})])
    job = store.queue.claim("w", kinds=["train"])
    assert job is not None
    assert (job.kind, job.payload, job.attempts, job.claimed_by) == ("train", {"n": 2}, 1, "w")
    assert store.queue.claim("w", kinds=["train"]) is None
    with pytest.raises(FactoryError, match="kinds is empty"):
        store.queue.claim("w", kinds=[])
    with pytest.raises(FactoryError, match="lease_seconds must be positive"):
        store.queue.claim("w", lease_seconds=0)


def test_four_processes_claim_every_job_exactly_once(store_url: str, store: Store) -> None:
    total = 400
    store.queue.enqueue(Job("simulate", {"n": n}, parent_sqn=float(n % 7)) for n in range(total))
    reports = run_together(drain_queue, [(store_url, f"worker-{w}") for w in range(4)])
    claims = [(worker, job_id, won) for worker, done in reports for job_id, won in done]
    assert sorted(job_id for _, job_id, _ in claims) == list(range(1, total + 1))
    assert all(won for _, _, won in claims)
    assert store.queue.counts_by_status() == {
        "pending": 0,
        "running": 0,
        "done": total,
        "failed": 0,
    }
    for worker, job_id, _ in claims[::50]:
        record = store.queue.get(job_id)
        assert (record.claimed_by, record.result, record.attempts) == (worker, {"by": worker}, 1)


def test_a_completion_counts_once(store: Store) -> None:
    store.queue.enqueue([Job("train", {"n": 1})])
    job = store.queue.claim("w")
    assert job is not None
    assert store.queue.complete(job.id, job.lease_token, {"sqn": 3.2}) is True
    assert store.queue.complete(job.id, job.lease_token, {"sqn": -1.0}) is False
    assert store.queue.heartbeat(job.id, job.lease_token) is False
    record = store.queue.get(job.id)
    assert (record.status, record.result) == ("done", {"sqn": 3.2})
    assert record.completed_at is not None


def test_an_expired_lease_is_taken_over_and_the_late_worker_is_fenced_off(store: Store) -> None:
    store.queue.enqueue([Job("train", {"n": 1})])
    # Leases long enough that a loaded CI machine cannot let one lapse by accident.
    first = store.queue.claim("presumed-dead", lease_seconds=1.0)
    assert first is not None
    assert store.queue.claim("other", lease_seconds=1.0) is None  # still leased
    time.sleep(1.3)
    second = store.queue.claim("other", lease_seconds=30)
    assert second is not None
    assert (second.id, second.attempts, second.claimed_by) == (first.id, 2, "other")
    assert second.lease_token != first.lease_token
    assert "lease of presumed-dead expired on attempt 1" in (store.queue.get(first.id).error or "")

    assert store.queue.heartbeat(first.id, first.lease_token) is False
    assert store.queue.complete(first.id, first.lease_token, {"from": "late"}) is False
    assert store.queue.fail(first.id, first.lease_token, "late failure") is False
    assert store.queue.get(first.id).status == "running"
    assert store.queue.complete(second.id, second.lease_token, {"from": "other"}) is True
    assert store.queue.get(first.id).result == {"from": "other"}


def test_heartbeats_keep_the_lease(store: Store) -> None:
    store.queue.enqueue([Job("train", {"n": 1})])
    job = store.queue.claim("w", lease_seconds=1.0)
    assert job is not None
    expiry = job.lease_expires_at
    for _ in range(4):  # 1.6 s in all: longer than the lease, renewed all along
        time.sleep(0.4)
        assert store.queue.heartbeat(job.id, job.lease_token, lease_seconds=1.0) is True
        assert store.queue.claim("thief") is None
    renewed = store.queue.get(job.id).lease_expires_at
    assert renewed is not None
    assert renewed > expiry
    assert store.queue.complete(job.id, job.lease_token) is True


def test_a_job_that_keeps_failing_ends_failed_with_its_last_error(store: Store) -> None:
    store.queue.enqueue([Job("train", {"n": 1}, max_attempts=2)])
    first = store.queue.claim("w")
    assert first is not None
    assert store.queue.fail(first.id, first.lease_token, "ValueError: boom 1") is True
    retry = store.queue.get(first.id)
    assert (retry.status, retry.attempts, retry.error, retry.lease_token) == (
        "pending",
        1,
        "ValueError: boom 1",
        None,
    )
    second = store.queue.claim("w")
    assert second is not None
    assert second.attempts == 2
    assert store.queue.fail(second.id, second.lease_token, "ValueError: boom 2") is True
    final = store.queue.get(first.id)
    assert (final.status, final.attempts, final.error) == ("failed", 2, "ValueError: boom 2")
    assert final.completed_at is not None
    assert store.queue.claim("w") is None


def test_a_job_that_succeeds_after_a_failure_keeps_no_old_error(store: Store) -> None:
    store.queue.enqueue([Job("train", {"n": 1}), Job("train", {"n": 2})])
    for batched in (False, True):
        first = store.queue.claim("w")
        assert first is not None
        store.queue.fail(first.id, first.lease_token, "ValueError: flaky")
        second = store.queue.claim("w")
        assert second is not None and second.id == first.id
        if batched:
            store.queue.complete_many([(second.id, second.lease_token, {"ok": 1})])
        else:
            store.queue.complete(second.id, second.lease_token, {"ok": 1})
        done = store.queue.get(first.id)
        assert (done.status, done.result, done.error) == ("done", {"ok": 1}, None)


def test_a_job_whose_workers_keep_dying_ends_failed(store: Store) -> None:
    store.queue.enqueue([Job("train", {"n": 1}, max_attempts=1)])
    job = store.queue.claim("doomed", lease_seconds=0.1)
    assert job is not None
    time.sleep(0.2)
    assert store.queue.claim("w") is None
    record = store.queue.get(job.id)
    assert (record.status, record.error) == ("failed", "lease of doomed expired on attempt 1")
    assert store.queue.counts_by_status() == {"pending": 0, "running": 0, "done": 0, "failed": 1}


def test_a_batch_claim_leases_each_job_on_its_own_in_priority_order(store: Store) -> None:
    sqns = [None, 1.0, 3.0, None, 2.0, 3.0]
    store.queue.enqueue([Job("simulate", {"n": n}, parent_sqn=s) for n, s in enumerate(sqns)])
    batch = store.queue.claim_many("w", limit=4, lease_seconds=30)
    assert [job.payload["n"] for job in batch] == [2, 5, 4, 1]
    assert len({job.lease_token for job in batch}) == 4
    assert all(job.attempts == 1 and job.claimed_by == "w" for job in batch)
    rest = store.queue.claim_many("other", limit=10)
    assert [job.payload["n"] for job in rest] == [0, 3]
    assert store.queue.claim_many("other", limit=10) == []
    # Fencing is per job: one job's token does not open another job of the same batch.
    first, second = batch[0], batch[1]
    assert store.queue.complete(second.id, first.lease_token, {"x": 1}) is False
    assert store.queue.heartbeat(first.id, first.lease_token) is True
    with pytest.raises(FactoryError, match="limit must be at least 1"):
        store.queue.claim_many("w", limit=0)


def test_a_batch_completion_records_only_the_jobs_still_held(store: Store) -> None:
    store.queue.enqueue([Job("simulate", {"n": n}) for n in range(4)])
    jobs = store.queue.claim_many("w", limit=4)
    assert store.queue.fail(jobs[3].id, jobs[3].lease_token, "ValueError: no") is True
    batch = [(job.id, job.lease_token, {"n": job.payload["n"]}) for job in jobs]
    stale = (jobs[2].id, "not-the-token", {"n": "forged"})
    won = store.queue.complete_many([*batch[:2], stale, batch[3]])
    assert won == [jobs[0].id, jobs[1].id]
    assert store.queue.complete_many(batch[:2]) == []  # a second completion counts nothing
    assert [store.queue.get(job.id).result for job in jobs[:3]] == [{"n": 0}, {"n": 1}, None]
    assert store.queue.get(jobs[2].id).status == "running"
    assert store.queue.complete_many([]) == []


def test_a_released_job_goes_back_untried(store: Store) -> None:
    store.queue.enqueue([Job("train", {"n": 1}, max_attempts=1)])
    job = store.queue.claim("w")
    assert job is not None
    assert store.queue.release(job.id, "someone-else") is False
    assert store.queue.release(job.id, job.lease_token) is True
    record = store.queue.get(job.id)
    assert (record.status, record.attempts, record.lease_token) == ("pending", 0, None)
    assert store.queue.complete(job.id, job.lease_token, {"late": True}) is False
    again = store.queue.claim("w")
    assert again is not None
    assert again.attempts == 1  # the one allowed attempt is still there


def test_find_outcomes_and_retry_serve_a_submitting_executor(store: Store, run_id: str) -> None:
    jobs = [Job("simulate", {"n": n}, run_id=run_id, max_attempts=1) for n in range(3)]
    store.queue.enqueue(jobs)
    found = store.queue.find(jobs[1].dedup_key, run_id)
    assert found is not None
    assert found.payload == {"n": 1}
    assert store.queue.find(jobs[1].dedup_key) is None  # another run's key is not this one
    claimed = store.queue.claim_many("w", limit=3)
    ids = [job.id for job in claimed]
    assert store.queue.outcomes(ids) == []
    store.queue.complete(claimed[0].id, claimed[0].lease_token, {"sqn": 1.5})
    store.queue.fail(claimed[1].id, claimed[1].lease_token, "ValueError: bad")
    outcomes = {o.id: (o.status, o.result, o.error, o.attempts) for o in store.queue.outcomes(ids)}
    assert outcomes == {
        claimed[0].id: ("done", {"sqn": 1.5}, None, 1),
        claimed[1].id: ("failed", None, "ValueError: bad", 1),
    }
    assert store.queue.retry(claimed[0].id) is False  # only failed jobs get new attempts
    assert store.queue.retry(claimed[1].id) is True
    assert (store.queue.get(claimed[1].id).status, store.queue.get(claimed[1].id).attempts) == (
        "pending",
        0,
    )


def test_a_stopped_run_s_pending_jobs_are_cancelled_and_running_ones_go_on(
    store: Store, run_id: str
) -> None:
    other = store.runs.create("NASDAQ", "ElasticNet", {}, 1).id
    store.queue.enqueue([Job("simulate", {"n": n}, run_id=run_id) for n in range(3)])
    store.queue.enqueue([Job("simulate", {"n": 9}, run_id=other)])
    running = store.queue.claim("w", kinds=None)
    assert running is not None and running.run_id == run_id
    assert store.queue.cancel_pending(run_id, "the run was stopped by the user") == 2
    assert store.queue.counts_by_status(run_id) == {
        "pending": 0,
        "running": 1,
        "done": 0,
        "failed": 2,
    }
    assert store.queue.counts_by_status(other)["pending"] == 1
    assert store.queue.complete(running.id, running.lease_token, {"ok": True}) is True
    assert store.queue.cancel_pending(run_id, "again") == 0
    failed = [j for j in (store.queue.get(i) for i in range(1, 5)) if j.status == "failed"]
    assert {j.error for j in failed} == {"the run was stopped by the user"}
