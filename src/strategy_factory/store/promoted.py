"""Promoted strategies with the evidence that promoted them, and their life after it.

A promotion is ``active`` (tracked forward, allocated) until it is demoted — by the
overfitting monitor or a person — with a reason; it may be reactivated later. Each change
says whether this call made it, so two callers racing to demote learn which one did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.store.columns import utcnow
from strategy_factory.store.database import Database
from strategy_factory.store.records import PromotedModel, PromotionStatus, parse_enum
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

    def recent(
        self, run_id: str | None = None, limit: int | None = 50, status: str | None = None
    ) -> list[PromotedModel]:
        """Promotions newest first, optionally of one run or in one status (``limit``
        None: all of them)."""
        query = select(promoted).order_by(promoted.c.created_at.desc(), promoted.c.id).limit(limit)
        if run_id is not None:
            query = query.where(promoted.c.run_id == run_id)
        if status is not None:
            wanted = parse_enum(PromotionStatus, status, "promotion status")
            query = query.where(promoted.c.status == wanted.value)
        return self._db.reading(lambda c: [PromotedModel.from_row(row) for row in c.execute(query)])

    def demote(self, promoted_id: str, reason: str) -> bool:
        """Demote an active promotion, saying why; True when this call demoted it (False:
        it was demoted already, and keeps its first reason)."""
        if not reason.strip():
            raise FactoryError("say why the promotion is demoted: the reason is empty")
        return self._change(promoted_id, PromotionStatus.ACTIVE, PromotionStatus.DEMOTED, reason)

    def reactivate(self, promoted_id: str, reason: str = "reactivated") -> bool:
        """Make a demoted promotion active again; True when this call did it."""
        return self._change(promoted_id, PromotionStatus.DEMOTED, PromotionStatus.ACTIVE, reason)

    def _change(
        self, promoted_id: str, before: PromotionStatus, after: PromotionStatus, reason: str
    ) -> bool:
        statement = (
            update(promoted)
            .where(promoted.c.id == promoted_id, promoted.c.status == before.value)
            .values(status=after.value, status_reason=reason, status_changed_at=utcnow())
        )

        def operation(connection: Connection, retried: bool) -> bool:
            changed = connection.execute(statement).rowcount == 1
            row = connection.execute(select(promoted).where(promoted.c.id == promoted_id)).first()
            if row is None:
                raise NotFoundError(
                    f"no promoted model {promoted_id!r}: list promotions to see the known ids"
                )
            # A retry after a commit whose answer was lost finds its own change done.
            return changed or (
                retried and row.status == after.value and row.status_reason == reason
            )

        return self._db.retrying(operation)
