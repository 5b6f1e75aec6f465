"""Champion/challenger: a live strategy per slot, changed only with evidence and a way back.

- :func:`challenge` pairs the challenger's and the champion's forward returns over the
  bars both were tracked on (bars after both their runs' data, so neither was selected on
  them) and tests them (:mod:`.paired_test`). A loser is recorded as rejected; a winner
  replaces the champion, unless the change is major (:mod:`.champion_change`): then it
  waits for :func:`approve`. The first challenger of an empty slot becomes its champion.
- Each replacement backs the old champion up (promotion and configuration);
  :func:`restore` brings a backup back.
- :func:`roll_back_flagged` rolls back every champion the overfitting monitor has an
  open alert on, to the champion it replaced; the CLI and the server run it after each
  learning cycle.

Every step appends to the slot's audit log: what changed, why, the evidence, who.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.store import (
    Challenge,
    ChampionBackup,
    ChampionLogEntry,
    LogLine,
    OverfitAlert,
    Store,
)
from strategy_factory.understanding.champion_change import (
    change_sentence,
    configuration,
    describe_change,
)
from strategy_factory.understanding.paired_test import PairedResult, paired_test

SlotName = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-f]{1,32}$")]
Person = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
MONITOR = "overfitting monitor"
# Open alerts read per rollback pass (one open alert per promotion at most).
OPEN_ALERTS_READ = 100_000
M = TypeVar("M", bound=BaseModel)
SYSTEM = "factory"


class ChallengeRequest(BaseModel):
    """A challenge of a slot's champion (the CLI's, the API's and YAML's one model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slot: SlotName = Field(description="The slot, e.g. a symbol or a name.")
    challenger: Identifier = Field(description="The challenging promotion's id.")
    alpha: float = Field(0.05, gt=0.0, le=0.2, description="One-sided significance level.")
    min_effect: float = Field(
        0.1, gt=0.0, le=5.0, description="Difference (sd per bar) whose power is reported."
    )
    min_bars: int = Field(60, ge=10, le=10_000_000, description="Fewest common forward bars.")
    by: Person = Field(description="Who asks for the challenge (kept in the audit log).")


class ApprovalRequest(BaseModel):
    """An approval of a challenge that waits for one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: Person = Field(description="Who approves (recorded in the audit log).")
    note: str = Field("", max_length=2_000)


class RestoreRequest(BaseModel):
    """Bring a slot's backup back (default: its newest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: Person = Field(description="Who restores (recorded in the audit log).")
    backup: int | None = Field(None, ge=1, description="Backup id (default the newest).")
    reason: str = Field("", max_length=2_000)


def parse(model: type[M], values: dict[str, Any], what: str) -> M:
    """``values`` validated as ``model``; a :class:`FactoryError` naming each bad field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise FactoryError(f"invalid {what}: {describe_problems(exc.errors())}") from None


@dataclass(frozen=True)
class ChallengeOutcome:
    """What a challenge did: ``crowned``, ``rejected``, ``awaiting_approval`` or
    ``replaced``, with the challenge record (None when it crowned an empty slot)."""

    outcome: str
    slot: str
    champion: str
    challenge: Challenge | None
    message: str


def challenge(store: Store, request: ChallengeRequest) -> ChallengeOutcome:
    """Test ``request.challenger`` against the slot's champion and act on the result."""
    challenger = store.promoted.get(request.challenger)
    if challenger.status != "active":
        raise FactoryError(
            f"promotion {challenger.id} is {challenger.status} ({challenger.status_reason}): "
            "only an active promotion can challenge"
        )
    current = store.champions.slot(request.slot)
    if current is None:
        return _crown(store, request)
    if current.promotion_id == challenger.id:
        raise FactoryError(f"promotion {challenger.id} is already the champion of {request.slot}")
    _refuse_duplicate(store, request)
    result = forward_pair(store, challenger.id, current.promotion_id, request)
    champion_config = configuration(store, current.promotion_id)
    change = describe_change(champion_config, configuration(store, challenger.id))
    evidence = {"paired_test": result.to_json(), "change": change}
    what = change_sentence(change)
    if not result.passed:
        line = LogLine("challenge_rejected", f"{result.sentence()}; {what}", request.by, evidence)
        return _settled(store, request, current.promotion_id, "rejected", change, line)
    if change["major"]:
        reason = f"{result.sentence()}; a major change ({what}) waits for approval"
        line = LogLine("awaiting_approval", reason, request.by, evidence)
        return _settled(store, request, current.promotion_id, "awaiting_approval", change, line)
    line = LogLine("challenge_passed", f"{result.sentence()}; {what}", request.by, evidence)
    passed = _settled(store, request, current.promotion_id, "passed", change, line).challenge
    assert passed is not None
    replaced = store.champions.replace(
        request.slot,
        before=current.promotion_id,
        after=challenger.id,
        configuration=champion_config,
        challenge=passed,
        line=LogLine("replaced", f"replaced after its paired test: {what}", SYSTEM, evidence),
    )
    return ChallengeOutcome(
        "replaced",
        request.slot,
        challenger.id,
        store.champions.challenge(passed.id),
        f"{challenger.id} replaced {current.promotion_id} as champion of {request.slot} "
        f"(backed up; log entry {replaced.id}): {result.sentence()}",
    )


def forward_pair(
    store: Store, challenger_id: str, champion_id: str, request: ChallengeRequest
) -> PairedResult:
    """The paired test over the bars both promotions' forward tracking recorded."""
    challenger = {bar.timestamp: bar.bar_return for bar in store.forward.results(challenger_id)}
    champion = {bar.timestamp: bar.bar_return for bar in store.forward.results(champion_id)}
    common = sorted(challenger.keys() & champion.keys())
    span = (common[0].isoformat(), common[-1].isoformat()) if common else None
    return paired_test(
        [challenger[t] for t in common],
        [champion[t] for t in common],
        alpha=request.alpha,
        min_effect=request.min_effect,
        min_bars=request.min_bars,
        span=span,
    )


def approve(store: Store, challenge_id: str, request: ApprovalRequest) -> ChampionLogEntry:
    """Approve a major challenge that won its test: the challenger replaces the champion."""
    waiting = store.champions.challenge(challenge_id)
    if waiting.state == "accepted":
        who = f" by {waiting.approved_by}" if waiting.approved_by else ""
        raise FactoryError(f"challenge {challenge_id} was already accepted{who}: nothing to do")
    if waiting.state != "awaiting_approval":
        raise FactoryError(
            f"challenge {challenge_id} is {waiting.state}, not awaiting approval: {waiting.reason}"
        )
    current = store.champions.slot(waiting.slot)
    if current is None or current.promotion_id != waiting.champion_id:
        raise FactoryError(
            f"the champion of {waiting.slot} changed since challenge {challenge_id} was "
            "tested: challenge again so the test is against the current champion"
        )
    if store.promoted.get(waiting.challenger_id).status != "active":
        raise FactoryError(f"promotion {waiting.challenger_id} was demoted meanwhile: not approved")
    note = f" ({request.note})" if request.note else ""
    reason = f"approved by {request.by}{note}: {change_sentence(waiting.change)}"
    return store.champions.replace(
        waiting.slot,
        before=waiting.champion_id,
        after=waiting.challenger_id,
        configuration=configuration(store, waiting.champion_id),
        challenge=waiting,
        approved_by=request.by,
        line=LogLine("approved", reason, request.by, waiting.evidence),
    )


def restore(store: Store, slot: str, request: RestoreRequest) -> ChampionLogEntry:
    """Make a backed-up champion of ``slot`` its champion again (reactivating its promotion
    if it was demoted); the replaced champion is backed up in turn."""
    current = store.champions.slot(slot)
    if current is None:
        raise FactoryError(f"slot {slot!r} has no champion: `factory champion list` names them")
    backup = _chosen_backup(store, slot, request.backup)
    if backup.promotion_id == current.promotion_id:
        raise FactoryError(
            f"backup {backup.id} holds promotion {backup.promotion_id}, already the champion"
        )
    reason = request.reason or f"restored by {request.by}"
    entry = store.champions.replace(
        slot,
        before=current.promotion_id,
        after=backup.promotion_id,
        configuration=configuration(store, current.promotion_id),
        line=LogLine("restored", f"{reason} (backup {backup.id})", request.by, _backup(backup)),
    )
    # After the move, so a refused move leaves the promotion as it was.
    store.promoted.reactivate(backup.promotion_id, f"restored as champion of {slot}: {reason}")
    return entry


def roll_back_flagged(store: Store) -> list[ChampionLogEntry]:
    """Roll every champion with an open overfitting alert back to the champion it
    replaced; the log entries this wrote (a flag that cannot be rolled back is logged
    once, saying why)."""
    open_alerts = store.alerts.recent(include_acknowledged=False, limit=OPEN_ALERTS_READ)
    alerts = {alert.promotion_id: alert for alert in open_alerts}
    written = []
    for slot in store.champions.slots():
        alert = alerts.get(slot.promotion_id)
        if alert is not None and not _already_handled(store, slot.slot, alert):
            written.append(_roll_back(store, slot.slot, slot.promotion_id, alert))
    return written


def _roll_back(store: Store, slot: str, champion: str, alert: OverfitAlert) -> ChampionLogEntry:
    evidence = {"alert": _alert(alert)}
    flagged = (
        f"the overfitting monitor flagged champion {champion} (alert {alert.id}, {alert.test})"
    )
    previous = next(
        (b for b in store.champions.backups(slot) if b.replaced_by == champion),
        None,
    )
    if previous is None:
        reason = f"{flagged}, but it replaced no earlier champion: it stays until restored"
        line = LogLine("flag_kept", reason, MONITOR, evidence)
        return store.champions.record(slot, champion, line)
    entry = store.champions.replace(
        slot,
        before=champion,
        after=previous.promotion_id,
        configuration=configuration(store, champion),
        line=LogLine(
            "rolled_back",
            f"{flagged}: rolled back to {previous.promotion_id} (backup {previous.id})",
            MONITOR,
            {**evidence, "backup": _backup(previous)},
        ),
    )
    store.promoted.reactivate(previous.promotion_id, f"champion of {slot} again by rollback")
    return entry


def _already_handled(store: Store, slot: str, alert: OverfitAlert) -> bool:
    return any(
        entry.evidence.get("alert", {}).get("id") == alert.id
        for entry in store.champions.log(slot)
        if entry.actor == MONITOR
    )


def _crown(store: Store, request: ChallengeRequest) -> ChallengeOutcome:
    reason = f"the slot was empty: {request.challenger} is its first champion"
    evidence = {"configuration": configuration(store, request.challenger)}
    if not store.champions.crown(
        request.slot, request.challenger, LogLine("crowned", reason, request.by, evidence)
    ):
        raise FactoryError(f"slot {request.slot} got a champion meanwhile: challenge it again")
    return ChallengeOutcome("crowned", request.slot, request.challenger, None, reason)


def _refuse_duplicate(store: Store, request: ChallengeRequest) -> None:
    for earlier in store.champions.challenges(request.slot):
        if earlier.challenger_id == request.challenger and earlier.state == "awaiting_approval":
            raise FactoryError(
                f"promotion {request.challenger} already awaits approval as challenge "
                f"{earlier.id}: approve it with `factory champion approve {earlier.id} --by NAME`"
            )


def _settled(
    store: Store,
    request: ChallengeRequest,
    champion: str,
    state: str,
    change: dict[str, Any],
    line: LogLine,
) -> ChallengeOutcome:
    recorded = store.champions.add_challenge(
        slot=request.slot,
        challenger_id=request.challenger,
        champion_id=champion,
        state=state,
        major=change["major"],
        change=change,
        evidence=line.evidence,
        line=line,
    )
    return ChallengeOutcome(state, request.slot, champion, recorded, line.reason)


def _chosen_backup(store: Store, slot: str, backup_id: int | None) -> ChampionBackup:
    if backup_id is None:
        backups = store.champions.backups(slot)
        if not backups:
            raise FactoryError(f"slot {slot!r} has no backup: its champion was never replaced")
        return backups[0]
    backup = store.champions.backup(backup_id)
    if backup.slot != slot:
        raise FactoryError(f"backup {backup_id} belongs to slot {backup.slot!r}, not {slot!r}")
    return backup


def _backup(backup: ChampionBackup) -> dict[str, Any]:
    return {
        "id": backup.id,
        "promotion_id": backup.promotion_id,
        "configuration": backup.configuration,
    }


def _alert(alert: OverfitAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "promotion_id": alert.promotion_id,
        "test": alert.test,
        "statistic": alert.statistic,
        "threshold": alert.threshold,
        "evidence": alert.evidence,
    }
