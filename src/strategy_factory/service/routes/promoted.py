"""``/promoted``: the hall of fame, and one promotion with all its evidence."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from strategy_factory.service.deps import Reader, StoreDep
from strategy_factory.service.schemas.runs import PromotedDetail, PromotedOut
from strategy_factory.store import PromotedModel, Store

router = APIRouter(prefix="/promoted", tags=["promoted"], dependencies=[Reader])


@router.get("", response_model=list[PromotedOut])
def list_promoted(
    store: StoreDep,
    run_id: Annotated[str | None, Query(description="Only promotions of this run.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, newest first.")] = 50,
) -> list[dict[str, Any]]:
    """Promoted strategies, newest first."""
    return [_brief(store, p) for p in store.promoted.recent(run_id=run_id, limit=limit)]


@router.get("/{promoted_id}", response_model=PromotedDetail)
def get_promoted(promoted_id: str, store: StoreDep) -> dict[str, Any]:
    """A promotion: strategy, simulation settings, criteria verdict, holdout and selection
    metrics, full lineage and the model record."""
    promotion = store.promoted.get(promoted_id)
    config = store.runs.get(promotion.run_id).config
    return {
        **_brief(store, promotion),
        "criteria": promotion.criteria,
        "verdict": promotion.verdict,
        "simulation": {
            "grid": config["evolve"]["strategy"],
            "periods": {
                name: config["dataset"].get(name)
                for name in ("start", "end", "selection_start", "holdout_start")
            },
            "timeframe": config["dataset"].get("timeframe"),
        },
        "lineage": promotion.lineage,
        "model": asdict(store.models.get(promotion.model_id)),
    }


def _brief(store: Store, promotion: PromotedModel) -> dict[str, Any]:
    data = asdict(promotion)
    data["symbol"] = store.runs.get(promotion.run_id).symbol
    return data
