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

from sqlalchemy import Select, String, Update, bindparam, case, cast, func, literal, select, update

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


def claim_batch(
    worker_id: str, token_prefix: str, lease_seconds: float, kinds: Sequence[str] | None, limit: int
) -> Update:
    """Lease up to ``limit`` pending jobs at once, each under its own token (prefix + id).

    The candidates are picked in priority order with ``SKIP LOCKED`` like a single claim;
    every claimed row gets its own lease and a token of its own, so each job is still
    heartbeated, completed and fenced individually.
    """
    candidates = select(jobs.c.id).where(jobs.c.status == PENDING)
    if kinds is not None:
        candidates = candidates.where(jobs.c.kind.in_(list(kinds)))
    candidates = candidates.order_by(*PRIORITY).limit(limit).with_for_update(skip_locked=True)
    return (
        update(jobs)
        .where(jobs.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=RUNNING,
            claimed_at=utcnow(),
            claimed_by=worker_id,
            lease_token=literal(token_prefix, String) + cast(jobs.c.id, String),
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
        .values(
            status=DONE, result=result, error=None, completed_at=utcnow(), lease_expires_at=None
        )
        .returning(jobs.c.id)
    )


def held_leases(job_ids: Sequence[int]) -> Select:
    """(id, lease token) of those jobs that are running, locked for this transaction."""
    return (
        select(jobs.c.id, jobs.c.lease_token)
        .where(jobs.c.id.in_(list(job_ids)), jobs.c.status == RUNNING)
        .with_for_update()
    )


def complete_held() -> Update:
    """Mark one held job done with its result (executed once per job of a batch)."""
    return (
        update(jobs)
        .where(jobs.c.id == bindparam("job_id"))
        .values(
            status=DONE,
            result=bindparam("job_result", type_=jobs.c.result.type),
            error=None,
            completed_at=utcnow(),
            lease_expires_at=None,
        )
    )


def done_with_tokens(job_ids: Sequence[int]) -> Select:
    """(id, lease token) of those jobs that are done (did a lost commit go through?)."""
    return select(jobs.c.id, jobs.c.lease_token).where(
        jobs.c.id.in_(list(job_ids)), jobs.c.status == DONE
    )


def release_job(job_id: int, lease_token: str) -> Update:
    """Hand a held job back, untried: pending again, and the attempt is not counted."""
    return (
        update(jobs)
        .where(*_held(job_id, lease_token))
        .values(
            status=PENDING,
            attempts=jobs.c.attempts - 1,
            claimed_by=None,
            lease_token=None,
            lease_expires_at=None,
        )
        .returning(jobs.c.id)
    )


def retry_failed(job_id: int) -> Update:
    """A failed job back to pending with a fresh allowance of attempts."""
    return (
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == FAILED)
        .values(status=PENDING, attempts=0, completed_at=None, lease_token=None)
        .returning(jobs.c.id)
    )


def cancel_pending_of_run(run_id: str, reason: str) -> Update:
    """Every pending job of a run, ended ``failed`` with ``reason`` (running ones go on)."""
    return (
        update(jobs)
        .where(jobs.c.run_id == run_id, jobs.c.status == PENDING)
        .values(status=FAILED, error=reason, completed_at=utcnow())
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


def by_dedup_key(dedup_key: str, run_id: str | None) -> Select:
    """The job a (run, dedup key) names."""
    run = jobs.c.run_id.is_(None) if run_id is None else jobs.c.run_id == run_id
    return select(jobs).where(jobs.c.dedup_key == dedup_key, run)


def finished_outcomes(job_ids: Sequence[int]) -> Select:
    """Status, result and error of those jobs that are done or failed."""
    return select(jobs.c.id, jobs.c.status, jobs.c.result, jobs.c.error, jobs.c.attempts).where(
        jobs.c.id.in_(list(job_ids)), jobs.c.status.in_([DONE, FAILED])
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
