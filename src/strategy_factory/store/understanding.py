"""The understanding layer's records: hypothesis tests (one family) and discovered indicators.

Documents are stored as given; the understanding layer validates and computes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from strategy_factory.errors import NotFoundError
from strategy_factory.store.database import Database
from strategy_factory.store.records import _Record
from strategy_factory.store.tables import discovered_indicators, hypothesis_queue, hypothesis_tests


@dataclass(frozen=True)
class HypothesisRecord(_Record):
    """One tested hypothesis: its spec, what the event study measured, and its principle."""

    id: int
    created_at: datetime
    name: str
    symbol: str
    spec: dict[str, Any]
    state: str
    events: int
    effect: float | None
    hit_rate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    adjusted_p: float | None
    family_size: int
    principle: str


@dataclass(frozen=True)
class QueuedHypothesis(_Record):
    """A hypothesis waiting for the next learning cycle."""

    id: int
    created_at: datetime
    name: str
    spec: dict[str, Any]
    queued_by: str


@dataclass(frozen=True)
class IndicatorRecord(_Record):
    """One discovered indicator: its formula (the feature name) and its figures."""

    id: int
    created_at: datetime
    search_id: str
    formula: str
    symbol: str
    train_ic: float | None
    deflated: float | None
    holdout_ic: float | None
    holdout_p: float | None
    passed: bool
    trials: int
    detail: dict[str, Any]
    principle: str


_FAMILY_LOCK_KEY = 0x5F_FAC7_1511
# Given the family's p-values so far (oldest first), the rows to insert.
Settle = Callable[[list[float]], Sequence[Mapping[str, Any]]]


class HypothesisRepository:
    """The ``hypothesis_tests`` table: every hypothesis ever tested, the correction's family."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add(self, settle: Settle) -> list[HypothesisRecord]:
        """Insert the rows ``settle`` makes from the family's p-values, in one transaction.

        The family is read and the new tests written in the same transaction, one tester
        at a time, so each new test's adjusted p-value is computed over exactly the family
        it joins.
        """

        def operation(connection: Connection, _: bool) -> list[HypothesisRecord]:
            if self._db.dialect == "postgresql":
                # Testers take turns, so no two read the same family (SQLite: BEGIN IMMEDIATE).
                connection.execute(select(func.pg_advisory_xact_lock(_FAMILY_LOCK_KEY)))
            rows = settle(_p_values(connection))
            return [
                HypothesisRecord.from_row(
                    connection.execute(
                        hypothesis_tests.insert().values(**row).returning(*hypothesis_tests.c)
                    ).one()
                )
                for row in rows
            ]

        return self._db.retrying(operation)

    def p_values(self) -> list[float]:
        """The p-value of every hypothesis in the family (tested with enough events)."""
        return self._db.reading(_p_values)

    def all(self) -> list[HypothesisRecord]:
        """Every tested hypothesis, oldest first (the family's order)."""
        query = select(hypothesis_tests).order_by(hypothesis_tests.c.id)
        return self._db.reading(lambda c: [HypothesisRecord.from_row(r) for r in c.execute(query)])

    def enqueue(self, specs: Sequence[Mapping[str, Any]], by: str) -> list[QueuedHypothesis]:
        """Queue these specs (each with its ``name``) for the next learning cycle."""

        def operation(connection: Connection, _: bool) -> list[QueuedHypothesis]:
            return [
                QueuedHypothesis.from_row(
                    connection.execute(
                        hypothesis_queue.insert()
                        .values(name=spec["name"], spec=dict(spec), queued_by=by)
                        .returning(*hypothesis_queue.c)
                    ).one()
                )
                for spec in specs
            ]

        return self._db.retrying(operation)

    def queued(self, limit: int | None = None) -> list[QueuedHypothesis]:
        """The queued hypotheses, oldest first."""
        query = select(hypothesis_queue).order_by(hypothesis_queue.c.id).limit(limit)
        return self._db.reading(lambda c: [QueuedHypothesis.from_row(r) for r in c.execute(query)])

    def dequeue(self, queued_id: int) -> None:
        """Remove one queued hypothesis (tested, or refused with its reason)."""
        statement = hypothesis_queue.delete().where(hypothesis_queue.c.id == queued_id)
        self._db.retrying(lambda c, _: c.execute(statement))

    def get(self, hypothesis_id: int) -> HypothesisRecord:
        """One tested hypothesis (raises :class:`NotFoundError`)."""
        query = select(hypothesis_tests).where(hypothesis_tests.c.id == hypothesis_id)
        row = self._db.reading(lambda c: c.execute(query).first())
        if row is None:
            raise NotFoundError(f"no hypothesis test {hypothesis_id}: list them to see the ids")
        return HypothesisRecord.from_row(row)


def _p_values(connection: Connection) -> list[float]:
    query = (
        select(hypothesis_tests.c.p_value)
        .where(hypothesis_tests.c.p_value.is_not(None))
        .order_by(hypothesis_tests.c.id)
    )
    return [float(p) for p in connection.execute(query).scalars()]


class IndicatorRepository:
    """The ``discovered_indicators`` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add(self, rows: Sequence[Mapping[str, Any]]) -> list[IndicatorRecord]:
        """Record one search's indicators (a search id and formula are recorded once)."""

        def operation(connection: Connection, _: bool) -> list[IndicatorRecord]:
            for row in rows:
                statement = self._db.insert(discovered_indicators).values(**row)
                connection.execute(statement.on_conflict_do_nothing())
            return _search_rows(connection, {row["search_id"] for row in rows})

        return self._db.retrying(operation)

    def recent(self, passed_only: bool = False, limit: int = 200) -> list[IndicatorRecord]:
        """Discovered indicators, newest first (only those that passed the holdout, if asked)."""
        query = select(discovered_indicators).order_by(discovered_indicators.c.id.desc())
        if passed_only:
            query = query.where(discovered_indicators.c.passed.is_(True))
        query = query.limit(limit)
        return self._db.reading(lambda c: [IndicatorRecord.from_row(r) for r in c.execute(query)])


def _search_rows(connection: Connection, search_ids: set[str]) -> list[IndicatorRecord]:
    query = (
        select(discovered_indicators)
        .where(discovered_indicators.c.search_id.in_(sorted(search_ids)))
        .order_by(discovered_indicators.c.id)
    )
    return [IndicatorRecord.from_row(r) for r in connection.execute(query)]
