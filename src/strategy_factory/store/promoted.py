"""Promoted strategies with the evidence that promoted them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from strategy_factory.errors import NotFoundError
from strategy_factory.store.database import Database
from strategy_factory.store.records import PromotedModel
from strategy_factory.store.runs import new_id
from strategy_factory.store.tables import promoted_models as promoted


class PromotedRepository:
    """The ``promoted_models`` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add(
        self,
        *,
        run_id: str,
        model_id: str,
        strategy: Mapping[str, Any],
        criteria: Mapping[str, Any],
        selection_metrics: Mapping[str, Any],
        holdout_metrics: Mapping[str, Any],
        configurations_tried: int,
        verdict: Mapping[str, Any],
        lineage: Sequence[Any] | Mapping[str, Any],
        dsr: float | None = None,
        pbo: float | None = None,
    ) -> PromotedModel:
        """Record a promotion (once per run and model: recording it again returns the first).

        ``strategy`` is the full trading configuration (ticker, threshold, z_limit,
        regime_filter, mode, costs, fill); ``verdict`` the per-criterion reasons;
        ``lineage`` a snapshot of the model's ancestry; ``configurations_tried`` how many
        configurations the search evaluated to find it (the N behind the DSR).
        """
        values = {
            "id": new_id(),
            "run_id": run_id,
            "model_id": model_id,
            "strategy": dict(strategy),
            "criteria": dict(criteria),
            "selection_metrics": dict(selection_metrics),
            "holdout_metrics": dict(holdout_metrics),
            "configurations_tried": configurations_tried,
            "dsr": dsr,
            "pbo": pbo,
            "verdict": dict(verdict),
            "lineage": dict(lineage) if isinstance(lineage, Mapping) else list(lineage),
        }
        insert = (
            self._db.insert(promoted)
            .values(values)
            .on_conflict_do_nothing(index_elements=[promoted.c.run_id, promoted.c.model_id])
        )
        existing = select(promoted).where(
            promoted.c.run_id == run_id, promoted.c.model_id == model_id
        )

        def operation(connection: Connection, _: bool) -> PromotedModel:
            connection.execute(insert)
            return PromotedModel.from_row(connection.execute(existing).one())

        return self._db.retrying(operation)

    def get(self, promoted_id: str) -> PromotedModel:
        """The promotion ``promoted_id`` (raises :class:`NotFoundError` when there is none)."""
        query = select(promoted).where(promoted.c.id == promoted_id)
        row = self._db.reading(lambda connection: connection.execute(query).first())
        if row is None:
            raise NotFoundError(
                f"no promoted model {promoted_id!r}: list promotions to see the known ids"
            )
        return PromotedModel.from_row(row)

    def recent(self, run_id: str | None = None, limit: int = 50) -> list[PromotedModel]:
        """Promotions newest first, optionally of one run."""
        query = select(promoted).order_by(promoted.c.created_at.desc(), promoted.c.id).limit(limit)
        if run_id is not None:
            query = query.where(promoted.c.run_id == run_id)
        return self._db.reading(lambda c: [PromotedModel.from_row(row) for row in c.execute(query)])
