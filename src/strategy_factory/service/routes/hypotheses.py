"""Hypothesis tests and indicator discovery over HTTP.

Both run in the request's worker thread and answer when done: a hypothesis takes about a
second, a default search a few (its size is bounded by :data:`MAX_TRIALS` formulas).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from strategy_factory.service.deps import CoordinatorDep, Reader, StoreDep, Writer
from strategy_factory.service.schemas.understanding import (
    DiscoveryAnswer,
    HypothesesAnswer,
    IndicatorOut,
)
from strategy_factory.understanding.discovery_config import DiscoveryConfig
from strategy_factory.understanding.hypotheses import (
    adjusted_now,
    hypothesis_json,
    queue_hypotheses,
    run_hypotheses,
)
from strategy_factory.understanding.hypothesis_spec import HypothesisFile, HypothesisSpec
from strategy_factory.understanding.indicators import indicator_json, run_discovery
from strategy_factory.understanding.transfer import TransferRequest, launch_transfer

router = APIRouter(tags=["understanding"])


@router.post("/api/hypotheses", response_model=HypothesesAnswer, dependencies=[Writer])
def post_hypotheses(body: HypothesisFile, store: StoreDep) -> dict[str, Any]:
    """Run each hypothesis as an event study, correct it over every hypothesis the store has
    tested (Benjamini–Hochberg) and record it; a mistake in any records none (400/404)."""
    records = run_hypotheses(store, body.hypotheses)
    adjusted = adjusted_now(store.hypotheses.all())
    return {
        "family_size": len(adjusted),
        "hypotheses": [hypothesis_json(r, adjusted) for r in records],
    }


class QueueRequest(HypothesisFile):
    """Hypotheses to leave for the next learning cycle, and who queued them."""

    by: str = Field(min_length=1, max_length=128)


class QueuedOut(BaseModel):
    """A hypothesis waiting for the next learning cycle."""

    model_config = ConfigDict(extra="forbid")

    queued: int
    name: str
    queued_by: str
    spec: HypothesisSpec


@router.post(
    "/api/hypotheses/queue",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=list[QueuedOut],
    dependencies=[Writer],
)
def queue(body: QueueRequest, store: StoreDep) -> list[dict[str, Any]]:
    """Queue hypotheses: the next learning cycle tests them (checked now; 400 on a mistake,
    nothing queued)."""
    return [_queued(q) for q in queue_hypotheses(store, body.hypotheses, body.by)]


@router.get("/api/hypotheses/queue", response_model=list[QueuedOut], dependencies=[Reader])
def queued(store: StoreDep) -> list[dict[str, Any]]:
    """The hypotheses waiting for the next learning cycle, oldest first."""
    return [_queued(q) for q in store.hypotheses.queued()]


def _queued(item: Any) -> dict[str, Any]:
    return {"queued": item.id, "name": item.name, "queued_by": item.queued_by, "spec": item.spec}


class TransferLaunched(BaseModel):
    """One symbol of a transfer: its run (started by the server), or why there is none."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    run_id: str | None
    not_launched: str | None


@router.post(
    "/api/transfer",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=list[TransferLaunched],
    dependencies=[Writer],
)
def transfer(
    body: TransferRequest, store: StoreDep, coordinator: CoordinatorDep
) -> list[dict[str, Any]]:
    """Try a promotion's genome on other symbols: one run per symbol, started here; its
    outcome reaches the knowledge base through the learning cycle (404: no promotion)."""
    launched = launch_transfer(store, body)
    for launch in launched:
        if launch.run is not None:
            coordinator.launch(launch.run.id)
    return [
        {
            "symbol": launch.symbol,
            "run_id": launch.run.id if launch.run else None,
            "not_launched": launch.reason,
        }
        for launch in launched
    ]


@router.get("/api/hypotheses", response_model=HypothesesAnswer, dependencies=[Reader])
def list_hypotheses(
    store: StoreDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 200
) -> dict[str, Any]:
    """Tested hypotheses, newest first, with their BH-adjusted p-value then and now."""
    records = store.hypotheses.all()
    adjusted = adjusted_now(records)
    newest = list(reversed(records))[:limit]
    return {
        "family_size": len(adjusted),
        "hypotheses": [hypothesis_json(r, adjusted) for r in newest],
    }


@router.post("/api/indicators/discover", response_model=DiscoveryAnswer, dependencies=[Writer])
def discover_indicators(config: DiscoveryConfig, store: StoreDep) -> dict[str, Any]:
    """Search formulas on a symbol, judge the best on unseen bars, record them."""
    result, records = run_discovery(store, config)
    return {
        "trials": result.trials,
        "duplicates_of_features": result.duplicates_of_features,
        "indicators": [indicator_json(r) for r in records],
    }


@router.get("/api/indicators", response_model=list[IndicatorOut], dependencies=[Reader])
def list_indicators(
    store: StoreDep,
    passed: Annotated[bool, Query(description="Only those that passed the holdout")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """Discovered indicators, newest first."""
    return [indicator_json(r) for r in store.indicators.recent(passed_only=passed, limit=limit)]
