"""Champion/challenger over HTTP: the slots, challenges, approvals, restores and the log.

The request bodies are the understanding layer's models (the CLI validates with the same
ones); an unknown id answers 404, approving twice or a stale approval 400, a race 409.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from strategy_factory.service.deps import Reader, StoreDep, Writer
from strategy_factory.service.schemas.champions import (
    ChampionsAnswer,
    LogEntryOut,
    OutcomeOut,
)
from strategy_factory.understanding.champion import (
    ApprovalRequest,
    ChallengeRequest,
    RestoreRequest,
    approve,
    challenge,
    restore,
)
from strategy_factory.understanding.champion_change import configuration

router = APIRouter(tags=["champions"])
ChallengeId = Annotated[str, Path(pattern=r"^[0-9a-f]{1,32}$", description="A challenge id")]
Slot = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="A slot name")
]


@router.get("/api/champions", response_model=ChampionsAnswer, dependencies=[Reader])
def champions(store: StoreDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Each slot's champion with its configuration, recent challenges and log entries."""
    slots = [
        {**asdict(slot), "configuration": configuration(store, slot.promotion_id)}
        for slot in store.champions.slots()
    ]
    return {
        "slots": slots,
        "challenges": [asdict(c) for c in store.champions.challenges(limit=limit)],
        "log": [asdict(entry) for entry in store.champions.log(limit=limit)],
    }


@router.post("/api/champions/challenge", response_model=OutcomeOut, dependencies=[Writer])
def challenge_champion(request: ChallengeRequest, store: StoreDep) -> dict[str, Any]:
    """Test a promotion against a slot's champion on their common forward bars (one-sided
    HAC t-test); it replaces the champion when significantly better, unless the change is
    major (a new algorithm or feature family): then it waits for approval."""
    return asdict(challenge(store, request))


@router.post(
    "/api/champions/challenges/{challenge_id}/approve",
    response_model=LogEntryOut,
    dependencies=[Writer],
)
def approve_challenge(
    challenge_id: ChallengeId, request: ApprovalRequest, store: StoreDep
) -> dict[str, Any]:
    """Approve a major challenge that won its paired test; the audit-log entry."""
    return asdict(approve(store, challenge_id, request))


@router.post("/api/champions/{slot}/restore", response_model=LogEntryOut, dependencies=[Writer])
def restore_champion(slot: Slot, request: RestoreRequest, store: StoreDep) -> dict[str, Any]:
    """Bring a slot's backup back (default its newest); the audit-log entry."""
    return asdict(restore(store, slot, request))


@router.get("/api/champions/log", response_model=list[LogEntryOut], dependencies=[Reader])
def champion_log(
    store: StoreDep,
    slot: Annotated[str | None, Query(max_length=64, description="Only this slot")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """The audit log, newest first: what changed, why, the evidence, who."""
    return [asdict(entry) for entry in store.champions.log(slot, limit)]
