"""Worker processes: registration, heartbeats (on the database clock), liveness."""

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
        with self._db.write() as connection:
            return Worker.from_row(connection.execute(statement).one())

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
        with self._db.read() as connection:
            return [Worker.from_row(row) for row in connection.execute(query)]

    def _update(self, worker_id: str, values: dict[str, object]) -> Worker:
        statement = (
            update(workers).where(workers.c.id == worker_id).values(values).returning(*workers.c)
        )
        with self._db.write() as connection:
            row = connection.execute(statement).first()
        if row is None:
            raise NotFoundError(f"no worker {worker_id!r}: register the worker first")
        return Worker.from_row(row)
