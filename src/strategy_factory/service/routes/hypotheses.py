"""Hypothesis tests and indicator discovery over HTTP.

Both run in the request's worker thread and answer when done: a hypothesis takes about a
second, a default search a few (its size is bounded by :data:`MAX_TRIALS` formulas).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from strategy_factory.service.deps import Reader, StoreDep, Writer
from strategy_factory.service.schemas.understanding import (
    DiscoveryAnswer,
    HypothesesAnswer,
    IndicatorOut,
    QueuedOut,
    QueueRequest,
)
from strategy_factory.store import QueuedHypothesis
from strategy_factory.understanding.discovery_config import DiscoveryConfig
from strategy_factory.understanding.hypotheses import (
    adjusted_now,
    hypothesis_json,
    queue_hypotheses,
    run_hypotheses,
)
from strategy_factory.understanding.hypothesis_spec import HypothesisFile
from strategy_factory.understanding.indicators import indicator_json, run_discovery

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


def _queued(item: QueuedHypothesis) -> dict[str, Any]:
    return {
        "queued": item.id,
        "name": item.name,
        "queued_by": item.queued_by,
        "queued_at": item.created_at,
        "spec": item.spec,
    }


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
