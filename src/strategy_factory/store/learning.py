"""The learning layer's records: settings, allocations, alerts, meta-models, knowledge, cycles.

Every method returns frozen dataclasses (snapshots of rows). Documents are stored as
given; the learning layer validates them before they get here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from strategy_factory.errors import BusyError, NotFoundError
from strategy_factory.store.database import Database
from strategy_factory.store.records import _Record
from strategy_factory.store.tables import (
    allocator_snapshots,
    knowledge,
    learning_cycles,
    meta_models,
    overfit_alerts,
    settings,
)


@dataclass(frozen=True)
class AllocationSnapshot(_Record):
    """One capital allocation: weights by promotion id, risk figures, change, or why none."""

    id: int
    created_at: datetime
    state: str
    weights: dict[str, float]
    risk: dict[str, Any]
    diff: dict[str, Any]
    reason: str | None
    settings: dict[str, Any]


@dataclass(frozen=True)
class OverfitAlert(_Record):
    """A promotion flagged for decaying against what its promotion promised."""

    id: int
    promotion_id: str
    created_at: datetime
    updated_at: datetime
    test: str
    statistic: float | None
    threshold: float | None
    evidence: dict[str, Any]
    demoted: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None

    @property
    def open(self) -> bool:
        """Not acknowledged yet."""
        return self.acknowledged_at is None


@dataclass(frozen=True)
class MetaModelRecord(_Record):
    """A meta-model version without its artifact (read that with ``artifact(version)``)."""

    version: int
    created_at: datetime
    algorithm: str
    metrics: dict[str, Any]
    importance: dict[str, Any]
    training: dict[str, Any]


@dataclass(frozen=True)
class KnowledgeEntry(_Record):
    """The knowledge base's summary of one period."""

    period: str
    created_at: datetime
    updated_at: datetime
    markdown: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class LearningCycle(_Record):
    """One learning cycle: its trigger, state and what each step did."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    state: str
    trigger: str
    steps: list[dict[str, Any]]
    error: str | None


class SettingsRepository:
    """The ``settings`` table: one validated document per name."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def get(self, name: str) -> dict[str, Any] | None:
        """The document stored under ``name``, or None when none was ever stored."""
        query = select(settings.c.value).where(settings.c.name == name)
        return self._db.reading(lambda c: c.execute(query).scalar_one_or_none())

    def put(self, name: str, value: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``value`` under ``name`` (replacing the whole document); the value stored."""
        document = dict(value)
        statement = (
            self._db.insert(settings)
            .values(name=name, value=document, updated_at=datetime.now(UTC))
            .on_conflict_do_update(
                index_elements=[settings.c.name],
                set_={"value": document, "updated_at": datetime.now(UTC)},
            )
        )
        self._db.retrying(lambda c, _: c.execute(statement))
        return document


class AllocationRepository:
    """The ``allocator_snapshots`` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def record(
        self,
        *,
        state: str,
        weights: Mapping[str, float],
        risk: Mapping[str, Any],
        diff: Mapping[str, Any],
        reason: str | None,
        settings: Mapping[str, Any],
    ) -> AllocationSnapshot:
        """Store a snapshot; the snapshot as stored."""
        statement = (
            allocator_snapshots.insert()
            .values(
                state=state,
                weights=dict(weights),
                risk=dict(risk),
                diff=dict(diff),
                reason=reason,
                settings=dict(settings),
            )
            .returning(*allocator_snapshots.c)
        )
        return self._db.retrying(
            lambda c, _: AllocationSnapshot.from_row(c.execute(statement).one())
        )

    def latest(self, allocated_only: bool = False) -> AllocationSnapshot | None:
        """The newest snapshot (the newest with weights when ``allocated_only``)."""
        query = select(allocator_snapshots).order_by(allocator_snapshots.c.id.desc()).limit(1)
        if allocated_only:
            query = query.where(allocator_snapshots.c.state == "allocated")
        row = self._db.reading(lambda c: c.execute(query).first())
        return None if row is None else AllocationSnapshot.from_row(row)

    def recent(self, limit: int = 50) -> list[AllocationSnapshot]:
        """Snapshots newest first."""
        query = select(allocator_snapshots).order_by(allocator_snapshots.c.id.desc()).limit(limit)
        return self._db.reading(
            lambda c: [AllocationSnapshot.from_row(row) for row in c.execute(query)]
        )

    def allocated(self) -> list[AllocationSnapshot]:
        """Every snapshot with weights, oldest first (the virtual fund's rebalances)."""
        query = (
            select(allocator_snapshots)
            .where(allocator_snapshots.c.state == "allocated")
            .order_by(allocator_snapshots.c.id)
        )
        return self._db.reading(
            lambda c: [AllocationSnapshot.from_row(row) for row in c.execute(query)]
        )


class AlertRepository:
    """The ``overfit_alerts`` table: at most one open alert per promotion."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def raise_alert(
        self,
        *,
        promotion_id: str,
        test: str,
        statistic: float | None,
        threshold: float | None,
        evidence: Mapping[str, Any],
        demoted: bool = False,
    ) -> tuple[OverfitAlert, bool]:
        """Open an alert on ``promotion_id``, or refresh the evidence of its open one.

        Returns the alert and whether it is new. A refreshed alert keeps ``demoted`` once
        set.
        """

        def operation(connection: Connection, _: bool) -> tuple[OverfitAlert, bool]:
            current = connection.execute(
                select(overfit_alerts)
                .where(
                    overfit_alerts.c.promotion_id == promotion_id,
                    overfit_alerts.c.acknowledged_at.is_(None),
                )
                .order_by(overfit_alerts.c.id.desc())
                .limit(1)
            ).first()
            values = {
                "test": test,
                "statistic": statistic,
                "threshold": threshold,
                "evidence": dict(evidence),
            }
            if current is None:
                row = connection.execute(
                    overfit_alerts.insert()
                    .values(promotion_id=promotion_id, demoted=demoted, **values)
                    .returning(*overfit_alerts.c)
                ).one()
                return OverfitAlert.from_row(row), True
            row = connection.execute(
                update(overfit_alerts)
                .where(overfit_alerts.c.id == current.id)
                .values(demoted=current.demoted or demoted, **values)
                .returning(*overfit_alerts.c)
            ).one()
            return OverfitAlert.from_row(row), False

        return self._db.retrying(operation)

    def get(self, alert_id: int) -> OverfitAlert:
        """The alert ``alert_id`` (raises :class:`NotFoundError` when there is none)."""
        query = select(overfit_alerts).where(overfit_alerts.c.id == alert_id)
        row = self._db.reading(lambda c: c.execute(query).first())
        if row is None:
            raise NotFoundError(f"no overfitting alert {alert_id}: list alerts to see the ids")
        return OverfitAlert.from_row(row)

    def recent(self, include_acknowledged: bool = True, limit: int = 200) -> list[OverfitAlert]:
        """Alerts newest first (only the open ones unless ``include_acknowledged``)."""
        query = select(overfit_alerts).order_by(overfit_alerts.c.id.desc()).limit(limit)
        if not include_acknowledged:
            query = query.where(overfit_alerts.c.acknowledged_at.is_(None))
        return self._db.reading(lambda c: [OverfitAlert.from_row(row) for row in c.execute(query)])

    def acknowledge(self, alert_id: int, by: str, note: str | None = None) -> OverfitAlert:
        """Mark the alert acknowledged (once: acknowledging it again changes nothing)."""
        statement = (
            update(overfit_alerts)
            .where(overfit_alerts.c.id == alert_id, overfit_alerts.c.acknowledged_at.is_(None))
            .values(acknowledged_at=datetime.now(UTC), acknowledged_by=by, note=note)
        )
        self._db.retrying(lambda c, _: c.execute(statement))
        return self.get(alert_id)


class MetaModelRepository:
    """The ``meta_models`` table: versions of the meta-model."""

    _columns = (
        meta_models.c.version,
        meta_models.c.created_at,
        meta_models.c.algorithm,
        meta_models.c.metrics,
        meta_models.c.importance,
        meta_models.c.training,
    )

    def __init__(self, database: Database) -> None:
        self._db = database

    def add(
        self,
        *,
        algorithm: str,
        artifact: bytes,
        metrics: Mapping[str, Any],
        importance: Mapping[str, Any],
        training: Mapping[str, Any],
    ) -> MetaModelRecord:
        """Store a new version; its record."""
        statement = (
            meta_models.insert()
            .values(
                algorithm=algorithm,
                artifact=artifact,
                metrics=dict(metrics),
                importance=dict(importance),
                training=dict(training),
            )
            .returning(*self._columns)
        )
        return self._db.retrying(lambda c, _: MetaModelRecord.from_row(c.execute(statement).one()))

    def latest(self) -> MetaModelRecord | None:
        """The newest version, or None before the first."""
        query = select(*self._columns).order_by(meta_models.c.version.desc()).limit(1)
        row = self._db.reading(lambda c: c.execute(query).first())
        return None if row is None else MetaModelRecord.from_row(row)

    def recent(self, limit: int = 20) -> list[MetaModelRecord]:
        """Versions newest first."""
        query = select(*self._columns).order_by(meta_models.c.version.desc()).limit(limit)
        return self._db.reading(lambda c: [MetaModelRecord.from_row(r) for r in c.execute(query)])

    def artifact(self, version: int) -> bytes:
        """The stored artifact of ``version`` (raises :class:`NotFoundError`)."""
        query = select(meta_models.c.artifact).where(meta_models.c.version == version)
        content = self._db.reading(lambda c: c.execute(query).scalar_one_or_none())
        if content is None:
            raise NotFoundError(f"no meta-model version {version}")
        return bytes(content)


class KnowledgeRepository:
    """The ``knowledge`` table: a Markdown summary per period."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def write(self, period: str, markdown: str, facts: Mapping[str, Any]) -> KnowledgeEntry:
        """Store the summary of ``period`` (replacing an earlier one of the same period)."""
        now = datetime.now(UTC)
        document = dict(facts)
        statement = (
            self._db.insert(knowledge)
            .values(period=period, markdown=markdown, facts=document, updated_at=now)
            .on_conflict_do_update(
                index_elements=[knowledge.c.period],
                set_={"markdown": markdown, "facts": document, "updated_at": now},
            )
        )
        self._db.retrying(lambda c, _: c.execute(statement))
        return self.get(period)

    def get(self, period: str) -> KnowledgeEntry:
        """The summary of ``period`` (raises :class:`NotFoundError`)."""
        query = select(knowledge).where(knowledge.c.period == period)
        row = self._db.reading(lambda c: c.execute(query).first())
        if row is None:
            raise NotFoundError(
                f"no knowledge summary for period {period!r}: list the periods to see them"
            )
        return KnowledgeEntry.from_row(row)

    def latest(self) -> KnowledgeEntry | None:
        """The newest period's summary, or None before the first cycle."""
        query = select(knowledge).order_by(knowledge.c.period.desc()).limit(1)
        row = self._db.reading(lambda c: c.execute(query).first())
        return None if row is None else KnowledgeEntry.from_row(row)

    def periods(self, limit: int = 100) -> list[str]:
        """The periods that have a summary, newest first."""
        query = select(knowledge.c.period).order_by(knowledge.c.period.desc()).limit(limit)
        return self._db.reading(lambda c: list(c.execute(query).scalars()))


class CycleRepository:
    """The ``learning_cycles`` table; one cycle runs at a time across the store."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def start(self, trigger: str, stale_after_s: float) -> LearningCycle:
        """Record a new running cycle, or raise :class:`BusyError` while one runs.

        A running cycle older than ``stale_after_s`` seconds lost its process: it is closed
        as failed ("abandoned") and the new one starts.
        """
        now = datetime.now(UTC)

        def operation(connection: Connection, _: bool) -> LearningCycle:
            running = connection.execute(
                select(learning_cycles).where(learning_cycles.c.state == "running")
            ).first()
            if running is not None:
                age = (now - running.started_at).total_seconds()
                if age < stale_after_s:
                    raise BusyError(
                        f"learning cycle {running.id} is running (started {age:.0f} s ago,"
                        f" by {running.trigger}): wait for it to finish"
                    )
                connection.execute(
                    update(learning_cycles)
                    .where(learning_cycles.c.id == running.id)
                    .values(
                        state="failed",
                        finished_at=now,
                        error=f"abandoned: still running after {age:.0f} s",
                    )
                )
            row = connection.execute(
                learning_cycles.insert()
                .values(trigger=trigger, steps=[], state="running", started_at=now)
                .returning(*learning_cycles.c)
            ).one()
            return LearningCycle.from_row(row)

        try:
            return self._db.retrying(operation)
        except IntegrityError:
            raise BusyError(
                "another learning cycle started at the same moment: wait for it to finish"
            ) from None

    def record_steps(self, cycle_id: int, steps: list[dict[str, Any]]) -> None:
        """Rewrite the cycle's steps (called after every step, so progress shows live)."""
        statement = (
            update(learning_cycles).where(learning_cycles.c.id == cycle_id).values(steps=steps)
        )
        self._db.retrying(lambda c, _: c.execute(statement))

    def finish(self, cycle_id: int, steps: list[dict[str, Any]], error: str | None) -> None:
        """Close the cycle: done, or failed with ``error``."""
        statement = (
            update(learning_cycles)
            .where(learning_cycles.c.id == cycle_id)
            .values(
                steps=steps,
                error=error,
                state="failed" if error else "done",
                finished_at=datetime.now(UTC),
            )
        )
        self._db.retrying(lambda c, _: c.execute(statement))

    def get(self, cycle_id: int) -> LearningCycle:
        """The cycle ``cycle_id`` (raises :class:`NotFoundError`)."""
        query = select(learning_cycles).where(learning_cycles.c.id == cycle_id)
        row = self._db.reading(lambda c: c.execute(query).first())
        if row is None:
            raise NotFoundError(f"no learning cycle {cycle_id}")
        return LearningCycle.from_row(row)

    def recent(self, limit: int = 20) -> list[LearningCycle]:
        """Cycles newest first."""
        query = select(learning_cycles).order_by(learning_cycles.c.id.desc()).limit(limit)
        return self._db.reading(lambda c: [LearningCycle.from_row(r) for r in c.execute(query)])
