"""Worker processes: registration, heartbeats (on the database clock), liveness, loss."""

from __future__ import annotations

import os
import socket
import uuid

from sqlalchemy import select, update

from strategy_factory.errors import NotFoundError
from strategy_factory.store.columns import utc_after, utcnow
from strategy_factory.store.database import Database
from strategy_factory.store.records import Worker
from strategy_factory.store.tables import workers


class WorkerRepository:
    """The ``workers`` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def register(
        self, worker_id: str | None = None, hostname: str | None = None, pid: int | None = None
    ) -> Worker:
        """Record a running worker (this process by default); re-registering restarts it."""
        hostname = hostname or socket.gethostname()
        pid = os.getpid() if pid is None else pid
        values = {
            "id": worker_id or f"{hostname}-{pid}-{uuid.uuid4().hex[:6]}",
            "hostname": hostname,
            "pid": pid,
            "status": "running",
            "current_job_id": None,
        }
        restart = {
            name: values[name] for name in ("hostname", "pid", "status", "current_job_id")
        } | {"started_at": utcnow(), "last_heartbeat": utcnow()}
        statement = (
            self._db.insert(workers)
            .values(values)
            .on_conflict_do_update(index_elements=[workers.c.id], set_=restart)
            .returning(*workers.c)
        )
        return self._db.retrying(lambda c, _: Worker.from_row(c.execute(statement).one()))

    def heartbeat(self, worker_id: str, current_job_id: int | None = None) -> Worker:
        """Stamp a sign of life and the job the worker is on (None when idle)."""
        return self._update(
            worker_id,
            {"last_heartbeat": utcnow(), "current_job_id": current_job_id, "status": "running"},
        )

    def stop(self, worker_id: str) -> Worker:
        """Mark the worker stopped (a clean shutdown)."""
        return self._update(worker_id, {"status": "stopped", "current_job_id": None})

    def live(self, within_seconds: float = 60.0) -> list[Worker]:
        """Running workers whose last heartbeat is at most ``within_seconds`` old."""
        query = (
            select(workers)
            .where(
                workers.c.status == "running",
                workers.c.last_heartbeat >= utc_after(-float(within_seconds)),
            )
            .order_by(workers.c.started_at, workers.c.id)
        )
        return self._db.reading(lambda c: [Worker.from_row(row) for row in c.execute(query)])

    def mark_lost(self, after_seconds: float) -> list[str]:
        """Mark ``lost`` the running workers silent for over ``after_seconds``; their ids.

        A worker killed with -9 never says it stopped: without this it would be listed as
        running forever. A lost worker that comes back is running again at its next
        heartbeat.
        """
        statement = (
            update(workers)
            .where(
                workers.c.status == "running",
                workers.c.last_heartbeat < utc_after(-float(after_seconds)),
            )
            .values(status="lost", current_job_id=None)
            .returning(workers.c.id)
        )
        return self._db.retrying(lambda c, _: sorted(c.execute(statement).scalars()))

    def _update(self, worker_id: str, values: dict[str, object]) -> Worker:
        statement = (
            update(workers).where(workers.c.id == worker_id).values(values).returning(*workers.c)
        )
        row = self._db.retrying(lambda c, _: c.execute(statement).first())
        if row is None:
            raise NotFoundError(f"no worker {worker_id!r}: register the worker first")
        return Worker.from_row(row)
