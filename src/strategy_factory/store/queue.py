"""The durable job queue: enqueue, claim under a lease, heartbeat, complete or fail (fenced).

A worker's life with a job::

    job = store.queue.claim("worker-1", kinds=["train"], lease_seconds=60)
    ...                                     # while working, every ~lease/3 seconds:
    store.queue.heartbeat(job.id, job.lease_token, lease_seconds=60)
    if not store.queue.complete(job.id, job.lease_token, result):
        ...                                 # lost the lease: someone else owns the job now

Claims, heartbeats, completions and failures retry when the connection drops (a restart
of PostgreSQL), so workers reconnect by themselves. See :mod:`queue_sql` for the SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.store import queue_sql
from strategy_factory.store.database import Database
from strategy_factory.store.records import ClaimedJob, Job, JobOutcome, JobRecord, JobStatus
from strategy_factory.store.tables import priority_jobs as jobs


class JobQueue:
    """The ``priority_jobs`` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def enqueue(self, new_jobs: Iterable[Job]) -> int:
        """Add jobs; a job whose (run_id, dedup_key) is already queued is skipped.

        Returns how many were new, so enqueueing a run's units again on resume adds 0.
        """
        rows = [
            {
                "run_id": job.run_id,
                "kind": job.kind,
                "payload": job.payload,
                "dedup_key": job.dedup_key,
                "parent_sqn": job.parent_sqn,
                "max_attempts": job.max_attempts,
            }
            for job in new_jobs
        ]
        if not rows:
            return 0
        # No conflict target: either of the two partial dedup indexes may be the one hit.
        # Ids follow the list order, so jobs of equal priority and age go first-listed first.
        statement = (
            self._db.insert(jobs)
            .on_conflict_do_nothing()
            .returning(jobs.c.id, sort_by_parameter_order=True)
        )
        # Idempotent (ON CONFLICT DO NOTHING), so retried when the connection drops.
        return self._db.retrying(lambda c, _: len(c.execute(statement, rows).all()))

    def claim(
        self, worker_id: str, kinds: Sequence[str] | None = None, lease_seconds: float = 60.0
    ) -> ClaimedJob | None:
        """Lease the highest-priority pending job to ``worker_id``; None when there is none.

        Jobs whose lease expired are first released: back to pending for another attempt,
        or ``failed`` once ``max_attempts`` claims have been used. ``kinds`` restricts the
        claim to those job kinds.
        """
        _check_lease(lease_seconds)
        if kinds is not None and not kinds:
            raise FactoryError("kinds is empty: pass None to claim any kind of job")

        def operation(connection: Connection, retried: bool) -> ClaimedJob | None:
            connection.execute(queue_sql.release_expired_leases())
            # A fresh token per attempt: a claim whose commit was lost is left to expire.
            token = uuid.uuid4().hex
            claim = queue_sql.claim_next(worker_id, token, lease_seconds, kinds)
            row = connection.execute(claim).first()
            return None if row is None else ClaimedJob.from_row(row)

        return self._db.retrying(operation)

    def claim_many(
        self,
        worker_id: str,
        limit: int,
        kinds: Sequence[str] | None = None,
        lease_seconds: float = 60.0,
    ) -> list[ClaimedJob]:
        """Lease up to ``limit`` of the highest-priority pending jobs in one round trip.

        Each job gets its own lease token and expiry, exactly as if claimed alone; the
        list is in claim order. For workers of short jobs, where a round trip per job
        would cost more than the job.
        """
        _check_lease(lease_seconds)
        if limit < 1:
            raise FactoryError(f"limit must be at least 1, got {limit}")
        if kinds is not None and not kinds:
            raise FactoryError("kinds is empty: pass None to claim any kind of job")

        def operation(connection: Connection, retried: bool) -> list[ClaimedJob]:
            connection.execute(queue_sql.release_expired_leases())
            prefix = uuid.uuid4().hex[:16] + "."
            claim = queue_sql.claim_batch(worker_id, prefix, lease_seconds, kinds, limit)
            claimed = [ClaimedJob.from_row(row) for row in connection.execute(claim)]
            return sorted(claimed, key=_claim_order)

        return self._db.retrying(operation)

    def heartbeat(self, job_id: int, lease_token: str, lease_seconds: float = 60.0) -> bool:
        """Renew the lease for ``lease_seconds`` from now; False if the caller lost it."""
        _check_lease(lease_seconds)
        statement = queue_sql.renew_lease(job_id, lease_token, lease_seconds)
        return self._db.retrying(lambda c, _: c.execute(statement).first() is not None)

    def complete(self, job_id: int, lease_token: str, result: Any = None) -> bool:
        """Record the job's result; True only for the current lease holder, once.

        A second completion, or one by a worker whose lease expired and was taken over,
        returns False and writes nothing.
        """
        statement = queue_sql.complete_job(job_id, lease_token, result)

        def operation(connection: Connection, retried: bool) -> bool:
            if connection.execute(statement).first() is not None:
                return True
            # The connection dropped after an earlier attempt: it may have committed.
            check = queue_sql.completed_with(job_id, lease_token)
            return retried and connection.execute(check).first() is not None

        return self._db.retrying(operation)

    def complete_many(self, completions: Sequence[tuple[int, str, Any]]) -> list[int]:
        """Record many results in one transaction: ``(job_id, lease_token, result)`` each.

        Returns the ids recorded, in the order given; as with :meth:`complete`, a job
        the caller no longer holds is left untouched and left out.
        """
        if not completions:
            return []
        tokens = {job_id: token for job_id, token, _ in completions}
        results = {job_id: result for job_id, _, result in completions}

        def operation(connection: Connection, retried: bool) -> list[int]:
            held = connection.execute(queue_sql.held_leases(list(tokens))).all()
            won = {job_id for job_id, token in held if tokens[job_id] == token}
            if won:
                rows = [{"job_id": i, "job_result": results[i]} for i in won]
                connection.execute(queue_sql.complete_held(), rows)
            if retried:  # an earlier attempt may have committed before the connection dropped
                done = connection.execute(queue_sql.done_with_tokens(list(tokens))).all()
                won |= {job_id for job_id, token in done if tokens[job_id] == token}
            return [job_id for job_id in tokens if job_id in won]

        return self._db.retrying(operation)

    def release(self, job_id: int, lease_token: str) -> bool:
        """Hand a held job back untried (a worker shutting down): pending again, without
        using one of its attempts. False if the caller no longer holds the lease."""
        statement = queue_sql.release_job(job_id, lease_token)
        return self._db.retrying(lambda c, _: c.execute(statement).first() is not None)

    def retry(self, job_id: int) -> bool:
        """Give a ``failed`` job a fresh allowance of attempts; False if it is not failed."""
        statement = queue_sql.retry_failed(job_id)
        return self._db.retrying(lambda c, _: c.execute(statement).first() is not None)

    def cancel_pending(self, run_id: str, reason: str) -> int:
        """End every still-pending job of ``run_id`` as ``failed`` with ``reason`` (a stopped
        run), so no worker spends time on it; jobs already running finish. Returns how many."""
        statement = queue_sql.cancel_pending_of_run(run_id, reason)
        return self._db.retrying(lambda c, _: len(c.execute(statement).all()))

    def fail(self, job_id: int, lease_token: str, error: str) -> bool:
        """Record a failed attempt: the job goes back to pending, or ends ``failed`` when
        it has used ``max_attempts``. False if the caller no longer holds the lease."""
        statement = queue_sql.fail_job(job_id, lease_token, error)
        return self._db.retrying(lambda c, _: c.execute(statement).first() is not None)

    def get(self, job_id: int) -> JobRecord:
        """The job ``job_id`` in its current state."""
        query = select(jobs).where(jobs.c.id == job_id)
        row = self._db.reading(lambda connection: connection.execute(query).first())
        if row is None:
            raise NotFoundError(f"no job {job_id}: list pending jobs to see the known ids")
        return JobRecord.from_row(row)

    def find(self, dedup_key: str, run_id: str | None = None) -> JobRecord | None:
        """The job that ``dedup_key`` names in run ``run_id`` (or among jobs of no run)."""
        query = queue_sql.by_dedup_key(dedup_key, run_id)
        row = self._db.reading(lambda connection: connection.execute(query).first())
        return None if row is None else JobRecord.from_row(row)

    def outcomes(self, job_ids: Sequence[int]) -> list[JobOutcome]:
        """How those of ``job_ids`` that have finished ended (done or failed), in one query."""
        if not job_ids:
            return []
        query = queue_sql.finished_outcomes(job_ids)
        return self._db.reading(lambda c: [JobOutcome.from_row(row) for row in c.execute(query)])

    def pending(self, limit: int = 50) -> list[JobRecord]:
        """Pending jobs in the order they will be claimed."""
        query = queue_sql.pending_jobs(limit)
        return self._db.reading(lambda c: [JobRecord.from_row(row) for row in c.execute(query)])

    def counts_by_status(self, run_id: str | None = None) -> dict[str, int]:
        """Jobs per status (every status present, zero when none), of one run or all."""
        counts = dict.fromkeys((status.value for status in JobStatus), 0)
        query = queue_sql.count_by_status(run_id)
        counts |= dict(self._db.reading(lambda connection: connection.execute(query).all()))
        return counts


def _claim_order(job: ClaimedJob) -> tuple[bool, float, int]:
    # The order the queue hands jobs out in (ids grow with age among equal priorities).
    return (job.parent_sqn is None, -(job.parent_sqn or 0.0), job.id)


def _check_lease(lease_seconds: float) -> None:
    if not lease_seconds > 0:
        raise FactoryError(f"lease_seconds must be positive, got {lease_seconds}")
