"""The job queue's SQL, one named statement per operation (the same text on both backends).

Priority: ``parent_sqn DESC NULLS LAST, created_at ASC, id ASC`` — children of the best
parents first, then the oldest. On PostgreSQL the candidate row is picked with ``FOR
UPDATE SKIP LOCKED``, so concurrent claimers never wait on or take the same row; SQLite
ignores the clause and gets the same guarantee from ``BEGIN IMMEDIATE`` (one writer at a
time). Every state change of a leased job is FENCED by its lease token: the statement only
matches while the caller's token is the current one, and RETURNING tells it whether it won.
All times come from the database clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, String, Update, case, cast, func, select, update

from strategy_factory.store.columns import utc_after, utcnow
from strategy_factory.store.tables import priority_jobs as jobs

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
PRIORITY = (jobs.c.parent_sqn.desc().nulls_last(), jobs.c.created_at.asc(), jobs.c.id.asc())
_exhausted = jobs.c.attempts >= jobs.c.max_attempts


def release_expired_leases() -> Update:
    """Expired leases: back to pending for another attempt, or failed when none are left."""
    expired = (
        select(jobs.c.id)
        .where(jobs.c.status == RUNNING, jobs.c.lease_expires_at < utcnow())
        .with_for_update(skip_locked=True)
    )
    lost = "lease of " + func.coalesce(jobs.c.claimed_by, "unknown worker") + " expired"
    return (
        update(jobs)
        .where(jobs.c.id.in_(expired.scalar_subquery()))
        .values(
            status=case((_exhausted, FAILED), else_=PENDING),
            error=lost + " on attempt " + cast(jobs.c.attempts, String),
            lease_token=None,
            lease_expires_at=None,
            completed_at=case((_exhausted, utcnow()), else_=None),
        )
    )


def claim_next(
    worker_id: str, lease_token: str, lease_seconds: float, kinds: Sequence[str] | None
) -> Update:
    """Lease the highest-priority pending job (of ``kinds``) to ``worker_id``."""
    candidate = select(jobs.c.id).where(jobs.c.status == PENDING)
    if kinds is not None:
        candidate = candidate.where(jobs.c.kind.in_(list(kinds)))
    candidate = candidate.order_by(*PRIORITY).limit(1).with_for_update(skip_locked=True)
    return (
        update(jobs)
        .where(jobs.c.id == candidate.scalar_subquery())
        .values(
            status=RUNNING,
            claimed_at=utcnow(),
            claimed_by=worker_id,
            lease_token=lease_token,
            lease_expires_at=utc_after(lease_seconds),
            attempts=jobs.c.attempts + 1,
            result=None,
            completed_at=None,
        )
        .returning(*jobs.c)
    )


def renew_lease(job_id: int, lease_token: str, lease_seconds: float) -> Update:
    """Extend the lease, if the caller still holds it."""
    return (
        update(jobs)
        .where(*_held(job_id, lease_token))
        .values(lease_expires_at=utc_after(lease_seconds))
        .returning(jobs.c.id)
    )


def complete_job(job_id: int, lease_token: str, result: Any) -> Update:
    """Record the result and mark the job done, if the caller still holds the lease."""
    return (
        update(jobs)
        .where(*_held(job_id, lease_token))
        .values(status=DONE, result=result, completed_at=utcnow(), lease_expires_at=None)
        .returning(jobs.c.id)
    )


def fail_job(job_id: int, lease_token: str, error: str) -> Update:
    """Record the error: pending for another attempt, or failed when none are left."""
    return (
        update(jobs)
        .where(*_held(job_id, lease_token))
        .values(
            status=case((_exhausted, FAILED), else_=PENDING),
            error=error,
            lease_token=None,
            lease_expires_at=None,
            completed_at=case((_exhausted, utcnow()), else_=None),
        )
        .returning(jobs.c.status)
    )


def completed_with(job_id: int, lease_token: str) -> Select:
    """The job, if it is done under this lease token (did a lost commit go through?)."""
    return select(jobs.c.id).where(
        jobs.c.id == job_id, jobs.c.lease_token == lease_token, jobs.c.status == DONE
    )


def pending_jobs(limit: int) -> Select:
    """Pending jobs in the order they will be claimed."""
    return select(jobs).where(jobs.c.status == PENDING).order_by(*PRIORITY).limit(limit)


def count_by_status(run_id: str | None) -> Select:
    """How many jobs are in each status (of one run, or all)."""
    query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
    return query if run_id is None else query.where(jobs.c.run_id == run_id)


def _held(job_id: int, lease_token: str) -> tuple[Any, ...]:
    return (jobs.c.id == job_id, jobs.c.lease_token == lease_token, jobs.c.status == RUNNING)
