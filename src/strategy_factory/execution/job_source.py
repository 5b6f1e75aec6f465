"""Where a worker gets its jobs: the store directly, or the service over HTTP (one interface).

A :class:`JobSource` claims leased jobs, renews and settles their leases, and records the
worker's own heartbeat. When the database or server cannot be reached it raises
:class:`SourceUnavailableError`; the worker loop waits and tries again, so a source never
retries for longer than one short operation itself.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError

from strategy_factory.store import ClaimedJob, Store, is_transient

T = TypeVar("T")


class SourceUnavailableError(Exception):
    """The job source (database or server) cannot be reached right now; try again later."""


@dataclass(frozen=True)
class Lease:
    """A job leased to this worker: what to run and the token that proves the lease."""

    id: int
    kind: str
    payload: dict[str, Any]
    lease_token: str
    attempts: int
    run_id: str | None = None


class JobSource(Protocol):
    """What a worker needs from the queue, whichever way it reaches it."""

    def register(self, worker_id: str | None) -> str:
        """Record this worker as running; returns its id (a fresh one for None)."""
        ...

    def claim(
        self, worker_id: str, kinds: Sequence[str] | None, lease_seconds: float, limit: int
    ) -> list[Lease]:
        """Lease up to ``limit`` of the highest-priority pending jobs (none: empty list)."""
        ...

    def heartbeat(self, lease: Lease, lease_seconds: float, worker_id: str) -> bool:
        """Renew the lease; False when the worker lost it."""
        ...

    def complete(self, completions: Sequence[tuple[Lease, Any]]) -> list[int]:
        """Record results; returns the ids recorded (jobs still held by this worker)."""
        ...

    def fail(self, lease: Lease, error: str) -> bool:
        """Record a failed attempt; False when the worker no longer held the job."""
        ...

    def release(self, lease: Lease) -> bool:
        """Hand an untried job back; False when this source cannot (it will expire)."""
        ...

    def worker_heartbeat(self, worker_id: str, current_job_id: int | None) -> None:
        """Stamp the worker's sign of life and the job it is on."""
        ...

    def stop(self, worker_id: str) -> None:
        """Mark the worker stopped."""
        ...


def _lease(job: ClaimedJob) -> Lease:
    return Lease(
        id=job.id,
        kind=job.kind,
        payload=job.payload,
        lease_token=job.lease_token,
        attempts=job.attempts,
        run_id=job.run_id,
    )


class StoreJobSource:
    """Jobs straight from the store's ``priority_jobs`` table (``factory worker --db``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _call(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            detail = " ".join(str(exc.orig).split())[:200]
            raise SourceUnavailableError(f"database unavailable: {detail}") from exc

    def register(self, worker_id: str | None) -> str:
        return self._call(lambda: self.store.workers.register(worker_id).id)

    def claim(
        self, worker_id: str, kinds: Sequence[str] | None, lease_seconds: float, limit: int
    ) -> list[Lease]:
        queue = self.store.queue
        if limit == 1:
            job = self._call(lambda: queue.claim(worker_id, kinds, lease_seconds))
            return [] if job is None else [_lease(job)]
        jobs = self._call(lambda: queue.claim_many(worker_id, limit, kinds, lease_seconds))
        return [_lease(job) for job in jobs]

    def heartbeat(self, lease: Lease, lease_seconds: float, worker_id: str) -> bool:
        return self._call(
            lambda: self.store.queue.heartbeat(lease.id, lease.lease_token, lease_seconds)
        )

    def complete(self, completions: Sequence[tuple[Lease, Any]]) -> list[int]:
        queue = self.store.queue
        if len(completions) == 1:
            lease, result = completions[0]
            won = self._call(lambda: queue.complete(lease.id, lease.lease_token, result))
            return [lease.id] if won else []
        batch = [(lease.id, lease.lease_token, result) for lease, result in completions]
        return self._call(lambda: queue.complete_many(batch))

    def fail(self, lease: Lease, error: str) -> bool:
        return self._call(lambda: self.store.queue.fail(lease.id, lease.lease_token, error))

    def release(self, lease: Lease) -> bool:
        return self._call(lambda: self.store.queue.release(lease.id, lease.lease_token))

    def worker_heartbeat(self, worker_id: str, current_job_id: int | None) -> None:
        self._call(lambda: self.store.workers.heartbeat(worker_id, current_job_id))

    def stop(self, worker_id: str) -> None:
        self._call(lambda: self.store.workers.stop(worker_id))


def this_host() -> tuple[str, int]:
    """(hostname, pid) of this process, as a worker reports them."""
    return socket.gethostname(), os.getpid()
