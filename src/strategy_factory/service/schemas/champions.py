"""Champion/challenger answers (the requests are the understanding layer's models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class SlotOut(BaseModel):
    """A slot, its champion and that champion's configuration."""

    slot: str
    promotion_id: str
    created_at: datetime
    updated_at: datetime
    configuration: dict[str, Any]


class ChallengeOut(BaseModel):
    """A challenge and what came of it."""

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


class LogEntryOut(BaseModel):
    """One entry of the audit log."""

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


class ChampionsAnswer(BaseModel):
    """Every slot, the challenges newest first, and the newest log entries."""

    slots: list[SlotOut]
    challenges: list[ChallengeOut]
    log: list[LogEntryOut]


class OutcomeOut(BaseModel):
    """What a challenge did: crowned, rejected, awaiting_approval or replaced."""

    outcome: str
    slot: str
    champion: str
    challenge: ChallengeOut | None
    message: str


class ForwardSeries(BaseModel):
    """One promotion's forward equity (starts at 1 before its first forward bar)."""

    promotion_id: str
    role: str
    bars: int
    timestamps: list[datetime]
    equity: list[float]


class ForwardAnswer(BaseModel):
    """The forward equity of a slot's champion and of the promotions that challenged it."""

    slot: str
    series: list[ForwardSeries]
