"""The lineage DAG: which model was pruned into which, and a run's generations.

A model reused by several runs (same fingerprint) appears in each run's lineage, so the
DAG over all runs fans out. Ancestry and descendants therefore follow the edges of ONE
run (by default the run that trained the model): the path that run took, each model once.
Each is ONE recursive CTE (``WITH RECURSIVE``), bounded by the run's depth, so a chain
of any length costs one round trip on either backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, and_, case, func, literal, select, update

from strategy_factory.errors import NotFoundError
from strategy_factory.store.database import Database
from strategy_factory.store.records import (
    MIN_RANKED_TRADES,
    GenerationSummary,
    LineageEdge,
    Period,
)
from strategy_factory.store.simulations import by_sqn_100, rankable
from strategy_factory.store.tables import evolution_log as edges
from strategy_factory.store.tables import models, simulation_results

# A guard against a corrupted (cyclic) log: a run has at most 100 generations.
MAX_DEPTH = 1_000
_EDGE_COLUMNS = [edges.c[name] for name in LineageEdge.__dataclass_fields__]


class LineageRepository:
    """The ``evolution_log`` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add_edge(
        self,
        *,
        run_id: str,
        child_model_id: str,
        generation: int,
        pruned_features: Sequence[str],
        remaining_features: Sequence[str],
        parent_model_id: str | None = None,
        parent_sqn: float | None = None,
        reason: str | None = None,
    ) -> LineageEdge:
        """Record that ``child_model_id`` came from ``parent_model_id`` (None for a seed)."""
        values = {
            "run_id": run_id,
            "parent_model_id": parent_model_id,
            "child_model_id": child_model_id,
            "generation": generation,
            "parent_sqn": parent_sqn,
            "pruned_features": list(pruned_features),
            "remaining_features": list(remaining_features),
            "reason": reason,
        }
        # A step of a run is recorded once, even when the write is retried or repeated.
        insert = (
            self._db.insert(edges)
            .values(values)
            .on_conflict_do_nothing(index_elements=[edges.c.run_id, edges.c.child_model_id])
        )
        existing = select(edges).where(
            edges.c.run_id == run_id, edges.c.child_model_id == child_model_id
        )

        def operation(connection: Connection, _: bool) -> LineageEdge:
            connection.execute(insert)
            return LineageEdge.from_row(connection.execute(existing).one())

        return self._db.retrying(operation)

    def of_run(self, run_id: str) -> list[LineageEdge]:
        """Every edge a run recorded, by generation."""
        query = (
            select(edges).where(edges.c.run_id == run_id).order_by(edges.c.generation, edges.c.id)
        )
        return self._db.reading(
            lambda connection: [LineageEdge.from_row(row) for row in connection.execute(query)]
        )

    def set_parent_sqn(self, run_id: str, parent_model_id: str, sqn: float | None) -> int:
        """Record the parent's best SQN-100 on its children's edges once it has been
        simulated (None when it had no configuration to judge): the queue's priority."""
        statement = (
            update(edges)
            .where(edges.c.run_id == run_id, edges.c.parent_model_id == parent_model_id)
            .values(parent_sqn=sqn)
        )
        return self._db.retrying(lambda c, _: c.execute(statement).rowcount)

    def note(self, run_id: str, child_model_id: str, note: str) -> None:
        """Add ``note`` to the reason of a step of a run (once, however often it is said).

        E.g. that a generation's model has no signal, or was not simulated because it
        predicts exactly what its parent does.
        """
        edge = (edges.c.run_id == run_id, edges.c.child_model_id == child_model_id)

        def operation(connection: Connection, _: bool) -> None:
            reason = connection.execute(select(edges.c.reason).where(*edge)).scalar_one_or_none()
            if reason is not None and note in reason:
                return
            noted = note if not reason else f"{reason}; {note}"
            connection.execute(update(edges).where(*edge).values(reason=noted))

        self._db.retrying(operation)

    def ancestry(self, model_id: str, run_id: str | None = None) -> list[LineageEdge]:
        """The edges from the seed down to ``model_id`` in run ``run_id``, seed first.

        ``run_id`` defaults to the run that trained the model.
        """
        return self._walk(model_id, run_id, upward=True)

    def descendants(self, model_id: str, run_id: str | None = None) -> list[LineageEdge]:
        """Every edge below ``model_id`` in run ``run_id``, nearest generation first."""
        return self._walk(model_id, run_id, upward=False)

    def _walk(self, model_id: str, run_id: str | None, upward: bool) -> list[LineageEdge]:
        trained_by = self._db.reading(lambda connection: _require_model(connection, model_id))
        run = run_id or trained_by
        start = edges.c.child_model_id if upward else edges.c.parent_model_id
        walk = (
            select(*_EDGE_COLUMNS, literal(0).label("depth"))
            .where(start == model_id, edges.c.run_id == run)
            .cte("walk", recursive=True)
        )
        step = edges.alias("step")
        link = (
            step.c.child_model_id == walk.c.parent_model_id
            if upward
            else step.c.parent_model_id == walk.c.child_model_id
        )
        walk = walk.union_all(
            select(*[step.c[c.name] for c in _EDGE_COLUMNS], walk.c.depth + 1).where(
                and_(link, step.c.run_id == run, walk.c.depth < MAX_DEPTH)
            )
        )
        order = walk.c.depth.desc() if upward else walk.c.depth
        query = select(*[walk.c[c.name] for c in _EDGE_COLUMNS]).order_by(order, walk.c.id)
        return self._db.reading(lambda c: [LineageEdge.from_row(row) for row in c.execute(query)])

    def generations(self, run_id: str) -> list[GenerationSummary]:
        """Per generation of a run: models, selection simulations, and its best result:
        the highest SQN-100 among configurations with at least
        :data:`~strategy_factory.store.records.MIN_RANKED_TRADES` trades (among all when none
        has that many), with its model."""

        def query(connection: Connection) -> tuple[list[Any], dict[int, Any]]:
            counts = connection.execute(_generation_counts(run_id)).all()
            ranked = connection.execute(_best_per_generation(run_id))
            return counts, {row.generation: row for row in ranked}

        counts, best = self._db.reading(query)
        summaries = []
        for row in counts:
            top = best.get(row.generation)
            summaries.append(
                GenerationSummary(
                    generation=row.generation,
                    models=row.models,
                    simulations=0 if top is None else top.simulations,
                    best_sqn_100=None if top is None else top.sqn_100,
                    best_model_id=None if top is None else top.model_id,
                )
            )
        return summaries


def _generation_counts(run_id: str) -> Select:
    return (
        select(models.c.generation, func.count().label("models"))
        .where(models.c.run_id == run_id)
        .group_by(models.c.generation)
        .order_by(models.c.generation)
    )


def _best_per_generation(run_id: str) -> Select:
    window = {"partition_by": models.c.generation}
    ranked = (
        select(
            models.c.generation,
            simulation_results.c.model_id,
            simulation_results.c.sqn_100,
            func.count().over(**window).label("simulations"),
            func.row_number()
            .over(
                **window,
                order_by=(
                    case((rankable(MIN_RANKED_TRADES), 0), else_=1),
                    *by_sqn_100(),
                    simulation_results.c.id,
                ),
            )
            .label("rank"),
        )
        .join(models, models.c.id == simulation_results.c.model_id)
        .where(
            simulation_results.c.run_id == run_id,
            simulation_results.c.period == Period.SELECTION.value,
        )
        .subquery()
    )
    return select(ranked).where(ranked.c.rank == 1)


def _require_model(connection: Connection, model_id: str) -> str | None:
    """The run that trained ``model_id`` (raises :class:`NotFoundError` for an unknown id)."""
    row = connection.execute(select(models.c.run_id).where(models.c.id == model_id)).first()
    if row is None:
        raise NotFoundError(f"no model {model_id!r}: list a run's models to see the known ids")
    return row.run_id
