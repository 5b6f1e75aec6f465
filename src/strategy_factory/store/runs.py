"""Evolution runs: create, read, progress, stop requests, outcome, and the driver's lease.

One process drives a run at a time: a server's coordinator or ``factory evolve``. It holds
the run's lease (``owner_id``, ``owner_expires_at``), renews it by heartbeat, and passes
its owner id to every write that drives the run, so a process that lost the lease (it
stalled, or the database was away and another server took the run over) can no longer
change it: its write raises :class:`LeaseLostError`. A run whose lease expired is
*abandoned*; any process may take it over with :meth:`RunRepository.acquire`.

Every write retries when the connection drops (see :meth:`Database.retrying`); each is
idempotent, so a retry after a commit whose acknowledgement was lost changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.store.columns import utc_after, utcnow
from strategy_factory.store.database import Database
from strategy_factory.store.records import Run, RunStatus, StopReason, parse_enum
from strategy_factory.store.tables import evolution_runs as runs

_FINISHED = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED)
_UNFINISHED = (RunStatus.PENDING.value, RunStatus.RUNNING.value)
_SETTABLE = {
    "status",
    "current_generation",
    "models_trained",
    "simulations_completed",
    "models_total",
    "simulations_total",
    "step_status",
    "best_sqn_100",
    "best_model_id",
    "configurations_tried",
}


class LeaseLostError(BaseException):
    """This process no longer holds the run's lease: another process drives it now.

    A ``BaseException``, like ``SystemExit``: the engine must not record it as the run
    failing (the run is fine, only this driver has to let go of it).
    """


def new_id() -> str:
    """A short random id (12 hex digits) for runs and promotions."""
    return uuid.uuid4().hex[:12]


def _lease_free(owner_id: str) -> ColumnElement[bool]:
    """Nobody holds the run, the caller does, or the holder's lease has expired."""
    return or_(
        runs.c.owner_id.is_(None),
        runs.c.owner_id == owner_id,
        runs.c.owner_expires_at.is_(None),
        runs.c.owner_expires_at < utcnow(),
    )


class RunRepository:
    """The ``evolution_runs`` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def create(
        self,
        symbol: str,
        algorithm: str,
        config: Mapping[str, Any],
        max_generations: int,
        run_id: str | None = None,
        owner_id: str | None = None,
        lease_seconds: float = 30.0,
    ) -> Run:
        """Record a new pending run; ``config`` is the full validated run configuration.

        With ``owner_id`` the run is born leased to it, so no other process (a server's
        sweep) takes it over before its creator starts driving it.
        """
        if max_generations < 1:
            raise FactoryError(f"max_generations must be at least 1, got {max_generations}")
        values = {
            "id": run_id or new_id(),
            "symbol": symbol,
            "algorithm": algorithm,
            "config": dict(config),
            "max_generations": max_generations,
        }

        if owner_id is not None:
            values |= {"owner_id": owner_id, "owner_expires_at": utc_after(float(lease_seconds))}
        existing = select(runs).where(runs.c.id == values["id"])

        def operation(connection: Connection, retried: bool) -> Run:
            # A retry whose first attempt did commit finds its run and writes nothing.
            if not (retried and connection.execute(existing).first()):
                connection.execute(runs.insert().values(values))
            return Run.from_row(connection.execute(existing).one())

        return self._db.retrying(operation)

    def get(self, run_id: str) -> Run:
        """The run ``run_id`` (raises :class:`NotFoundError` when there is none)."""
        return self._db.reading(lambda connection: _get(connection, run_id))

    def recent(self, status: str | None = None, limit: int = 50) -> list[Run]:
        """Runs newest first, optionally only those with ``status``."""
        query = select(runs).order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(runs.c.status == parse_enum(RunStatus, status, "run status"))
        return self._db.reading(lambda c: [Run.from_row(row) for row in c.execute(query)])

    def acquire(
        self,
        run_id: str,
        owner_id: str,
        lease_seconds: float,
        resume_failed: bool = False,
        dead_owner: str | None = None,
    ) -> Run | None:
        """Take the lease of an unfinished run nobody else holds; None when someone does.

        ``resume_failed`` also takes a failed run (an explicit resume), which then counts
        as unfinished again. ``dead_owner``: a holder known to be dead (a process of this
        machine that no longer exists), whose lease need not be waited out.
        """
        statuses = [*_UNFINISHED, *([RunStatus.FAILED.value] if resume_failed else [])]
        free = _lease_free(owner_id)
        if dead_owner is not None:
            free = or_(free, runs.c.owner_id == dead_owner)
        statement = (
            update(runs)
            .where(runs.c.id == run_id, runs.c.status.in_(statuses), free)
            .values(owner_id=owner_id, owner_expires_at=utc_after(float(lease_seconds)))
            .returning(*runs.c)
        )

        def operation(connection: Connection, _: bool) -> Run | None:
            row = connection.execute(statement).first()
            if row is None:
                _get(connection, run_id)  # NotFoundError for an unknown id
                return None
            return Run.from_row(row)

        return self._db.retrying(operation)

    def renew(self, run_ids: Sequence[str], owner_id: str, lease_seconds: float) -> set[str]:
        """Extend the caller's leases; returns the ids it still holds (the others were lost)."""
        if not run_ids:
            return set()
        statement = (
            update(runs)
            .where(runs.c.id.in_(list(run_ids)), runs.c.owner_id == owner_id)
            .values(owner_expires_at=utc_after(float(lease_seconds)))
            .returning(runs.c.id)
        )
        return self._db.retrying(lambda c, _: set(c.execute(statement).scalars()))

    def release(self, run_id: str, owner_id: str) -> bool:
        """Let go of a lease (a clean shutdown), so the next process need not wait it out."""
        statement = (
            update(runs)
            .where(runs.c.id == run_id, runs.c.owner_id == owner_id)
            .values(owner_id=None, owner_expires_at=None)
            .returning(runs.c.id)
        )
        return self._db.retrying(lambda c, _: c.execute(statement).first() is not None)

    def claimable(self, owner_id: str, limit: int = 100) -> list[Run]:
        """Unfinished runs whose lease is free (or the caller's own), oldest first."""
        query = (
            select(runs)
            .where(runs.c.status.in_(_UNFINISHED), _lease_free(owner_id))
            .order_by(runs.c.created_at, runs.c.id)
            .limit(limit)
        )
        return self._db.reading(lambda c: [Run.from_row(row) for row in c.execute(query)])

    def start(self, run_id: str, owner_id: str | None = None) -> Run:
        """Mark the run running and stamp ``started_at`` (kept from the first start)."""
        values = {
            "status": RunStatus.RUNNING.value,
            "started_at": func.coalesce(runs.c.started_at, utcnow()),
            "error": None,
            "stop_reason": None,
            "finished_at": None,
        }
        return self._update(run_id, values, owner_id)

    def update_progress(self, run_id: str, owner_id: str | None = None, **fields: Any) -> Run:
        """Set progress fields; with ``owner_id``, only while the caller holds the lease.

        ``fields`` may be any of: status, current_generation, models_trained,
        models_total, simulations_completed, simulations_total, step_status, best_sqn_100,
        best_model_id, configurations_tried. Counters are set to counts read from the
        store (not added to), so a retried write or a resumed run never counts twice.
        Example: ``update_progress(run_id, models_trained=3, step_status="training")``.
        """
        unknown = set(fields) - _SETTABLE
        if unknown:
            raise FactoryError(
                f"cannot set {', '.join(sorted(unknown))} on a run; settable progress fields "
                f"are {', '.join(sorted(_SETTABLE))}"
            )
        values = dict(fields)
        if "status" in values:
            values["status"] = parse_enum(RunStatus, values["status"], "run status").value
        return self._update(run_id, values, owner_id)

    def request_stop(self, run_id: str) -> bool:
        """Ask a run to stop; False when it has already finished.

        A run nobody drives (pending without a lease, or abandoned) is stopped at once:
        there is no driver to notice the request.
        """
        alive = [runs.c.id == run_id, runs.c.status.in_(_UNFINISHED)]
        undriven = or_(runs.c.owner_expires_at.is_(None), runs.c.owner_expires_at < utcnow())
        stop_now = (
            update(runs)
            .where(*alive, undriven)
            .values(
                stop_requested=True,
                status=RunStatus.STOPPED.value,
                stop_reason=StopReason.STOPPED_BY_USER.value,
                finished_at=utcnow(),
                owner_id=None,
                owner_expires_at=None,
                updated_at=utcnow(),
            )
            .returning(runs.c.id)
        )
        ask = update(runs).where(*alive).values(stop_requested=True).returning(runs.c.id)

        def operation(connection: Connection, _: bool) -> bool:
            if connection.execute(stop_now).first() is not None:
                return True
            if connection.execute(ask).first() is not None:
                return True
            _get(connection, run_id)  # NotFoundError for an unknown id
            return False

        return self._db.retrying(operation)

    def finish(
        self,
        run_id: str,
        status: str,
        stop_reason: str,
        error: str | None = None,
        promotion_id: str | None = None,
        owner_id: str | None = None,
    ) -> Run:
        """Record how the run ended (and let go of its lease); a ``promotion_id`` marks it
        promoted. With ``owner_id``, only while the caller holds the lease."""
        final = parse_enum(RunStatus, status, "run status")
        if final not in _FINISHED:
            raise FactoryError(f"a run finishes as one of {', '.join(_FINISHED)}, not {status!r}")
        values: dict[str, Any] = {
            "status": final.value,
            "stop_reason": parse_enum(StopReason, stop_reason, "stop reason").value,
            "error": error,
            "finished_at": utcnow(),
            "owner_id": None,
            "owner_expires_at": None,
        }
        if promotion_id is not None:
            values |= {"promoted": True, "promotion_id": promotion_id}
        return self._update(run_id, values, owner_id)

    def _update(self, run_id: str, values: Mapping[str, Any], owner_id: str | None) -> Run:
        fence = [runs.c.id == run_id]
        if owner_id is not None:
            fence.append(runs.c.owner_id == owner_id)
        statement = (
            update(runs)
            .where(and_(*fence))
            .values({**values, "updated_at": utcnow()})
            .returning(*runs.c)
        )

        def operation(connection: Connection, _: bool) -> Run:
            row = connection.execute(statement).first()
            if row is None:
                current = _get(connection, run_id)
                raise LeaseLostError(
                    f"run {run_id} is driven by {current.owner_id or 'nobody'} now, "
                    f"not by {owner_id}"
                )
            return Run.from_row(row)

        return self._db.retrying(operation)


def _get(connection: Connection, run_id: str) -> Run:
    row = connection.execute(select(runs).where(runs.c.id == run_id)).first()
    if row is None:
        raise NotFoundError(f"no evolution run {run_id!r}: list runs to see the known ids")
    return Run.from_row(row)
