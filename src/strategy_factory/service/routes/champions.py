"""Champion/challenger over HTTP: the slots, challenges, approvals, restores and the log.

The request bodies are the understanding layer's models (the CLI validates with the same
ones); an unknown id answers 404, approving twice or a stale approval 400, a race 409.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path, Query

from strategy_factory.errors import NotFoundError
from strategy_factory.evolution.report_strategy_charts import display_positions
from strategy_factory.service.deps import Reader, StoreDep, Writer
from strategy_factory.service.schemas.champions import (
    ChampionsAnswer,
    ForwardAnswer,
    LogEntryOut,
    OutcomeOut,
)
from strategy_factory.store import Store
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
# Challengers drawn beside a champion, newest first, and points drawn per series.
CHALLENGERS_DRAWN = 5
POINTS_DRAWN = 5_000
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


@router.get("/api/champions/{slot}/forward", response_model=ForwardAnswer, dependencies=[Reader])
def forward_equity(slot: Slot, store: StoreDep) -> dict[str, Any]:
    """Forward equity of the slot's champion and of its latest challengers, from their
    stored forward bars (more than 5,000 bars are thinned for drawing, last bar kept)."""
    current = store.champions.slot(slot)
    if current is None:
        raise NotFoundError(f"slot {slot!r} has no champion: GET /api/champions lists them")
    challengers = list(dict.fromkeys(c.challenger_id for c in store.champions.challenges(slot)))
    drawn = [(current.promotion_id, "champion")] + [
        (promotion, "challenger")
        for promotion in challengers[:CHALLENGERS_DRAWN]
        if promotion != current.promotion_id
    ]
    return {"slot": slot, "series": [_series(store, p, role) for p, role in drawn]}


def _series(store: Store, promotion_id: str, role: str) -> dict[str, Any]:
    bars = store.forward.results(promotion_id)
    equity = np.cumprod([1.0 + bar.bar_return for bar in bars])
    shown = display_positions(len(bars), limit=POINTS_DRAWN)
    return {
        "promotion_id": promotion_id,
        "role": role,
        "bars": len(bars),
        "timestamps": [bars[i].timestamp for i in shown],
        "equity": [float(equity[i]) for i in shown],
    }
