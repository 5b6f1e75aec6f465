"""Evolution runs: create, read, progress (with atomic counters), stop requests, outcome."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select, update

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.store.columns import utcnow
from strategy_factory.store.database import Database
from strategy_factory.store.records import Run, RunStatus, StopReason, parse_enum
from strategy_factory.store.tables import evolution_runs as runs

_FINISHED = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED)
_SETTABLE = {
    "status",
    "current_generation",
    "models_trained",
    "simulations_completed",
    "models_total",
    "simulations_total",
    "step_status",
    "best_sqn",
    "best_model_id",
    "configurations_tried",
}


def new_id() -> str:
    """A short random id (12 hex digits) for runs and promotions."""
    return uuid.uuid4().hex[:12]


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
    ) -> Run:
        """Record a new pending run; ``config`` is the full validated run configuration."""
        if max_generations < 1:
            raise FactoryError(f"max_generations must be at least 1, got {max_generations}")
        values = {
            "id": run_id or new_id(),
            "symbol": symbol,
            "algorithm": algorithm,
            "config": dict(config),
            "max_generations": max_generations,
        }
        with self._db.write() as connection:
            row = connection.execute(runs.insert().values(values).returning(*runs.c)).one()
        return Run.from_row(row)

    def get(self, run_id: str) -> Run:
        """The run ``run_id`` (raises :class:`NotFoundError` when there is none)."""
        with self._db.read() as connection:
            return _get(connection, run_id)

    def recent(self, status: str | None = None, limit: int = 50) -> list[Run]:
        """Runs newest first, optionally only those with ``status``."""
        query = select(runs).order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(runs.c.status == parse_enum(RunStatus, status, "run status"))
        with self._db.read() as connection:
            return [Run.from_row(row) for row in connection.execute(query)]

    def start(self, run_id: str) -> Run:
        """Mark the run running and stamp ``started_at`` (kept from the first start)."""
        values = {
            "status": RunStatus.RUNNING.value,
            "started_at": func.coalesce(runs.c.started_at, utcnow()),
        }
        return self._update(run_id, values)

    def update_progress(
        self,
        run_id: str,
        *,
        add_models_trained: int = 0,
        add_simulations_completed: int = 0,
        **fields: Any,
    ) -> Run:
        """Set progress fields and add to the counters atomically (safe with many writers).

        ``fields`` may be any of: status, current_generation, models_trained,
        models_total, simulations_completed, simulations_total, step_status, best_sqn,
        best_model_id, configurations_tried. Setting a counter to a count read from the
        store (rather than adding to it) is what a resumable writer wants: a process killed
        between recording work and counting it then loses no count.
        Example: ``update_progress(run_id, add_models_trained=1, step_status="training")``.
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
        if add_models_trained:
            values["models_trained"] = runs.c.models_trained + add_models_trained
        if add_simulations_completed:
            values["simulations_completed"] = (
                runs.c.simulations_completed + add_simulations_completed
            )
        return self._update(run_id, values)

    def request_stop(self, run_id: str) -> bool:
        """Ask a run to stop at its next checkpoint; False when it has already finished."""
        statement = (
            update(runs)
            .where(runs.c.id == run_id, runs.c.status.not_in([s.value for s in _FINISHED]))
            .values(stop_requested=True)
            .returning(runs.c.id)
        )
        with self._db.write() as connection:
            stopped = connection.execute(statement).first() is not None
            if not stopped:
                _get(connection, run_id)
        return stopped

    def finish(
        self,
        run_id: str,
        status: str,
        stop_reason: str,
        error: str | None = None,
        promoted_model_id: str | None = None,
    ) -> Run:
        """Record how the run ended; a ``promoted_model_id`` also marks it promoted."""
        final = parse_enum(RunStatus, status, "run status")
        if final not in _FINISHED:
            raise FactoryError(f"a run finishes as one of {', '.join(_FINISHED)}, not {status!r}")
        values: dict[str, Any] = {
            "status": final.value,
            "stop_reason": parse_enum(StopReason, stop_reason, "stop reason").value,
            "error": error,
            "finished_at": utcnow(),
        }
        if promoted_model_id is not None:
            values |= {"promoted": True, "promoted_model_id": promoted_model_id}
        return self._update(run_id, values)

    def _update(self, run_id: str, values: Mapping[str, Any]) -> Run:
        statement = (
            update(runs)
            .where(runs.c.id == run_id)
            .values({**values, "updated_at": utcnow()})
            .returning(*runs.c)
        )
        with self._db.write() as connection:
            row = connection.execute(statement).first()
        if row is None:
            raise NotFoundError(f"no evolution run {run_id!r}: list runs to see the known ids")
        return Run.from_row(row)


def _get(connection: Connection, run_id: str) -> Run:
    row = connection.execute(select(runs).where(runs.c.id == run_id)).first()
    if row is None:
        raise NotFoundError(f"no evolution run {run_id!r}: list runs to see the known ids")
    return Run.from_row(row)
