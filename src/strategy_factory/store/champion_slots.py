"""Champion slots, their challenges, backups and the append-only audit log.

A slot's champion changes only through :meth:`ChampionRepository.replace`: one
transaction moves the slot by compare-and-set on the champion it expects, backs that
champion up, settles the challenge and appends the log entry, so a change is either
recorded whole or not at all, and of two callers racing to change a slot one wins and
the other is told the champion moved. The log is never updated or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from strategy_factory.errors import BusyError, FactoryError, NotFoundError
from strategy_factory.store.database import Database
from strategy_factory.store.records import _Record
from strategy_factory.store.runs import new_id
from strategy_factory.store.tables import (
    champion_backups,
    champion_challenges,
    champion_log,
    champion_slots,
)


@dataclass(frozen=True)
class ChampionSlot(_Record):
    """A named slot and the promotion that is its champion."""

    slot: str
    promotion_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Challenge(_Record):
    """A challenger tested against a slot's champion, and what came of it."""

    id: str
    slot: str
    challenger_id: str
    champion_id: str
    created_at: datetime
    state: str
    major: bool
    change: dict[str, Any]
    evidence: dict[str, Any]
    reason: str
    approved_by: str | None
    approved_at: datetime | None


@dataclass(frozen=True)
class ChampionBackup(_Record):
    """A replaced champion: its promotion and the configuration that traded it."""

    id: int
    slot: str
    promotion_id: str
    configuration: dict[str, Any]
    replaced_by: str
    created_at: datetime


@dataclass(frozen=True)
class ChampionLogEntry(_Record):
    """One change of a slot (or a decision not to change it), with why and by whom."""

    id: int
    created_at: datetime
    slot: str
    action: str
    champion_before: str | None
    champion_after: str | None
    challenge_id: str | None
    reason: str
    evidence: dict[str, Any]
    actor: str


@dataclass(frozen=True)
class LogLine:
    """What :meth:`ChampionRepository.replace` and friends append to the log."""

    action: str
    reason: str
    actor: str
    evidence: Mapping[str, Any]


class ChampionRepository:
    """The ``champion_*`` tables."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def slots(self) -> list[ChampionSlot]:
        """Every slot, by name."""
        query = select(champion_slots).order_by(champion_slots.c.slot)
        return self._db.reading(lambda c: [ChampionSlot.from_row(r) for r in c.execute(query)])

    def slot(self, name: str) -> ChampionSlot | None:
        """The slot ``name``, or None when it has no champion yet."""
        query = select(champion_slots).where(champion_slots.c.slot == name)
        row = self._db.reading(lambda c: c.execute(query).first())
        return None if row is None else ChampionSlot.from_row(row)

    def crown(self, name: str, promotion_id: str, line: LogLine) -> bool:
        """Make ``promotion_id`` the first champion of the empty slot ``name``; True when
        this call did (False: the slot has a champion already, and nothing changed)."""
        insert = (
            self._db.insert(champion_slots)
            .values(slot=name, promotion_id=promotion_id)
            .on_conflict_do_nothing(index_elements=[champion_slots.c.slot])
            .returning(champion_slots.c.slot)
        )

        def operation(connection: Connection, retried: bool) -> bool:
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT.
            if connection.execute(insert).first() is None:
                return retried and self._holder(connection, name) == promotion_id
            _append(connection, name, None, promotion_id, None, line)
            return True

        return self._db.retrying(operation)

    def add_challenge(
        self,
        *,
        slot: str,
        challenger_id: str,
        champion_id: str,
        state: str,
        major: bool,
        change: Mapping[str, Any],
        evidence: Mapping[str, Any],
        line: LogLine,
    ) -> Challenge:
        """Record a challenge (rejected, or awaiting approval) and its log entry."""
        values = {
            "id": new_id(),
            "slot": slot,
            "challenger_id": challenger_id,
            "champion_id": champion_id,
            "state": state,
            "major": major,
            "change": dict(change),
            "evidence": dict(evidence),
            "reason": line.reason,
        }
        query = select(champion_challenges).where(champion_challenges.c.id == values["id"])

        def operation(connection: Connection, _: bool) -> Challenge:
            if connection.execute(query).first() is None:
                connection.execute(champion_challenges.insert().values(values))
                _append(connection, slot, champion_id, champion_id, values["id"], line)
            return Challenge.from_row(connection.execute(query).one())

        return self._db.retrying(operation)

    def replace(
        self,
        name: str,
        *,
        before: str,
        after: str,
        configuration: Mapping[str, Any],
        line: LogLine,
        challenge: Challenge | None = None,
        approved_by: str | None = None,
    ) -> ChampionLogEntry:
        """Move slot ``name`` from champion ``before`` to ``after``, backing ``before`` up
        (with ``configuration``), and log it; a ``challenge`` is settled as accepted (by
        ``approved_by`` when it waited for approval).

        Raises :class:`BusyError` when the slot's champion is no longer ``before`` (or
        the challenge was settled meanwhile): nothing is written then.
        """
        move = (
            update(champion_slots)
            .where(champion_slots.c.slot == name, champion_slots.c.promotion_id == before)
            .values(promotion_id=after, updated_at=datetime.now(UTC))
        )
        backup = champion_backups.insert().values(
            slot=name, promotion_id=before, configuration=dict(configuration), replaced_by=after
        )

        def operation(connection: Connection, retried: bool) -> ChampionLogEntry:
            if connection.execute(move).rowcount != 1:
                latest = self._latest(connection, name)
                # A retry after a commit whose answer was lost finds its own entry.
                if retried and latest is not None and latest.champion_after == after:
                    return latest
                raise BusyError(
                    f"slot {name!r} no longer has champion {before!r} (it changed meanwhile):"
                    " look at `factory champion list` and try again"
                )
            if challenge is not None:
                _settle(connection, challenge, approved_by)
            connection.execute(backup)
            return _append(
                connection, name, before, after, None if challenge is None else challenge.id, line
            )

        return self._db.retrying(operation)

    def challenge(self, challenge_id: str) -> Challenge:
        """The challenge ``challenge_id`` (raises :class:`NotFoundError`)."""
        query = select(champion_challenges).where(champion_challenges.c.id == challenge_id)
        row = self._db.reading(lambda c: c.execute(query).first())
        if row is None:
            raise NotFoundError(
                f"no challenge {challenge_id!r}: `factory champion list` shows the open ones"
            )
        return Challenge.from_row(row)

    def challenges(self, slot: str | None = None, limit: int = 100) -> list[Challenge]:
        """Challenges newest first, optionally of one slot."""
        query = select(champion_challenges).order_by(
            champion_challenges.c.created_at.desc(), champion_challenges.c.id
        )
        if slot is not None:
            query = query.where(champion_challenges.c.slot == slot)
        return self._db.reading(
            lambda c: [Challenge.from_row(r) for r in c.execute(query.limit(limit))]
        )

    def backups(self, slot: str) -> list[ChampionBackup]:
        """The slot's backups, newest first."""
        query = (
            select(champion_backups)
            .where(champion_backups.c.slot == slot)
            .order_by(champion_backups.c.id.desc())
        )
        return self._db.reading(lambda c: [ChampionBackup.from_row(r) for r in c.execute(query)])

    def backup(self, backup_id: int) -> ChampionBackup:
        """The backup ``backup_id`` (raises :class:`NotFoundError`)."""
        query = select(champion_backups).where(champion_backups.c.id == backup_id)
        row = self._db.reading(lambda c: c.execute(query).first())
        if row is None:
            raise NotFoundError(
                f"no champion backup {backup_id}: `factory champion log SLOT` names them"
            )
        return ChampionBackup.from_row(row)

    def log(self, slot: str | None = None, limit: int = 200) -> list[ChampionLogEntry]:
        """Audit-log entries newest first, optionally of one slot."""
        query = select(champion_log).order_by(champion_log.c.id.desc()).limit(limit)
        if slot is not None:
            query = query.where(champion_log.c.slot == slot)
        return self._db.reading(lambda c: [ChampionLogEntry.from_row(r) for r in c.execute(query)])

    def record(self, slot: str, champion: str | None, line: LogLine) -> ChampionLogEntry:
        """Append a log entry that changes no champion (e.g. a flag with no backup)."""
        return self._db.retrying(
            lambda connection, _: _append(connection, slot, champion, champion, None, line)
        )

    @staticmethod
    def _holder(connection: Connection, name: str) -> str | None:
        query = select(champion_slots.c.promotion_id).where(champion_slots.c.slot == name)
        return connection.execute(query).scalar_one_or_none()

    @staticmethod
    def _latest(connection: Connection, name: str) -> ChampionLogEntry | None:
        query = (
            select(champion_log)
            .where(champion_log.c.slot == name)
            .order_by(champion_log.c.id.desc())
            .limit(1)
        )
        row = connection.execute(query).first()
        return None if row is None else ChampionLogEntry.from_row(row)


def _settle(connection: Connection, challenge: Challenge, approved_by: str | None) -> None:
    """Accept ``challenge`` if it is still in the state it was read in."""
    values: dict[str, Any] = {"state": "accepted"}
    if approved_by is not None:
        values.update(approved_by=approved_by, approved_at=datetime.now(UTC))
    statement = (
        update(champion_challenges)
        .where(
            champion_challenges.c.id == challenge.id,
            champion_challenges.c.state == challenge.state,
        )
        .values(values)
    )
    if connection.execute(statement).rowcount != 1:
        raise BusyError(f"challenge {challenge.id} was settled meanwhile: nothing changed")


def _append(
    connection: Connection,
    slot: str,
    before: str | None,
    after: str | None,
    challenge_id: str | None,
    line: LogLine,
) -> ChampionLogEntry:
    if not line.reason.strip() or not line.actor.strip():
        raise FactoryError("a champion log entry needs a reason and an actor")
    statement = (
        champion_log.insert()
        .values(
            slot=slot,
            action=line.action,
            champion_before=before,
            champion_after=after,
            challenge_id=challenge_id,
            reason=line.reason,
            evidence=dict(line.evidence),
            actor=line.actor,
        )
        .returning(*champion_log.c)
    )
    return ChampionLogEntry.from_row(connection.execute(statement).one())
