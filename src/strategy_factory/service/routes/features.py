"""``/api/features`` and ``/api/model``: what a run can be built from, what a model used."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from strategy_factory.data import BarCatalog
from strategy_factory.features import feature_descriptions
from strategy_factory.service.deps import Reader, SettingsDep, StoreDep
from strategy_factory.service.schemas.system import (
    FeatureColumnsOut,
    FeatureOut,
    FeatureScore,
    ImportanceOut,
    SymbolOut,
)

router = APIRouter(prefix="/api", tags=["features"], dependencies=[Reader])


@router.get("/features/symbols", response_model=list[SymbolOut])
def symbols(settings: SettingsDep) -> list[dict[str, Any]]:
    """Every symbol of the bar store (bundled first) with its frequency, range and rows."""
    return [asdict(meta) for meta in BarCatalog(settings.bars_dir).symbols()]


@router.get("/features/columns", response_model=FeatureColumnsOut)
def columns(
    settings: SettingsDep,
    symbol: Annotated[str, Query(min_length=1, description="The run's symbol.")],
    reference: Annotated[
        list[str] | None, Query(description="A reference symbol (repeat for several).")
    ] = None,
) -> FeatureColumnsOut:
    """The features a run on ``symbol`` (with these references) can use as seed features."""
    catalog = BarCatalog(settings.bars_dir)
    bars = catalog.load(symbol)
    references = {catalog.meta(name).symbol: catalog.load(name) for name in reference or []}
    described = feature_descriptions(bars, references)
    return FeatureColumnsOut(
        symbol=catalog.meta(symbol).symbol,
        references=list(references),
        features=[FeatureOut(name=n, description=d) for n, d in described.items()],
    )


@router.get("/model/{model_id}/importance", response_model=ImportanceOut)
def importance(model_id: str, store: StoreDep) -> ImportanceOut:
    """A trained model's feature importance, most important first."""
    model = store.models.get(model_id)
    recorded = model.importance or {}
    scores = recorded.get("scores") or {}
    ranked = sorted(scores.items(), key=lambda item: _rank(item[1]), reverse=True)
    return ImportanceOut(
        model_id=model.id,
        method=recorded.get("method"),
        features=[FeatureScore(feature=name, score=score) for name, score in ranked],
    )


def _rank(score: float | None) -> float:
    return float(score) if score is not None and math.isfinite(score) else -math.inf
