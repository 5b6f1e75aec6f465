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
from strategy_factory.store.records import ClaimedJob, Job, JobRecord, JobStatus
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
        with self._db.write() as connection:
            return len(connection.execute(statement, rows).all())

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

    def fail(self, job_id: int, lease_token: str, error: str) -> bool:
        """Record a failed attempt: the job goes back to pending, or ends ``failed`` when
        it has used ``max_attempts``. False if the caller no longer holds the lease."""
        statement = queue_sql.fail_job(job_id, lease_token, error)
        return self._db.retrying(lambda c, _: c.execute(statement).first() is not None)

    def get(self, job_id: int) -> JobRecord:
        """The job ``job_id`` in its current state."""
        with self._db.read() as connection:
            row = connection.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFoundError(f"no job {job_id}: list pending jobs to see the known ids")
        return JobRecord.from_row(row)

    def pending(self, limit: int = 50) -> list[JobRecord]:
        """Pending jobs in the order they will be claimed."""
        with self._db.read() as connection:
            rows = connection.execute(queue_sql.pending_jobs(limit))
            return [JobRecord.from_row(row) for row in rows]

    def counts_by_status(self, run_id: str | None = None) -> dict[str, int]:
        """Jobs per status (every status present, zero when none), of one run or all."""
        counts = dict.fromkeys((status.value for status in JobStatus), 0)
        with self._db.read() as connection:
            counts |= dict(connection.execute(queue_sql.count_by_status(run_id)).all())
        return counts


def _check_lease(lease_seconds: float) -> None:
    if not lease_seconds > 0:
        raise FactoryError(f"lease_seconds must be positive, got {lease_seconds}")
