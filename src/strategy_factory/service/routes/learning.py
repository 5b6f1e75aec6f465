"""The learning layer over HTTP: meta-model, trait importance, allocator, overfitting
alerts, the knowledge base, learning settings and the learning cycle."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from strategy_factory.learning.portfolio import fund, rebalance
from strategy_factory.learning.settings import LearningSettings, load_settings, save_settings
from strategy_factory.service.deps import LearningRunnerDep, Reader, StoreDep, Writer
from strategy_factory.service.markdown import markdown_html
from strategy_factory.service.schemas.learning import (
    AckRequest,
    AlertOut,
    AllocatorAnswer,
    CycleOut,
    ImportanceAnswer,
    KnowledgeOut,
    MetaModelAnswer,
    MetaModelHistory,
)
from strategy_factory.store import Store
from strategy_factory.store.learning import KnowledgeEntry

router = APIRouter(tags=["learning"])
NO_META_MODEL = "no meta-model yet: a learning cycle trains one once the store has enough runs"


@router.get("/api/learning/meta-model", response_model=MetaModelAnswer, dependencies=[Reader])
def meta_model(store: StoreDep) -> dict[str, Any]:
    """The newest meta-model version with its cross-validated scores."""
    record = store.meta_models.latest()
    if record is None:
        return {"meta_model": None, "reason": NO_META_MODEL}
    return {"meta_model": asdict(record)}


@router.get(
    "/api/learning/meta-model/history", response_model=MetaModelHistory, dependencies=[Reader]
)
def meta_model_history(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Versions, newest first")] = 12,
) -> dict[str, Any]:
    """Recent meta-model versions with the importance of each genome trait in each."""
    versions = [
        {**asdict(record), "traits": record.importance.get("traits", [])}
        for record in store.meta_models.recent(limit)
    ]
    return {"versions": versions, "reason": None if versions else NO_META_MODEL}


@router.get(
    "/api/learning/feature-importance", response_model=ImportanceAnswer, dependencies=[Reader]
)
def feature_importance(store: StoreDep) -> dict[str, Any]:
    """Importance of each genome trait in the newest meta-model, with its direction."""
    record = store.meta_models.latest()
    if record is None:
        return {"version": None, "traits": [], "reason": NO_META_MODEL}
    return {"version": record.version, "traits": record.importance.get("traits", [])}


@router.get("/api/learning/allocator", response_model=AllocatorAnswer, dependencies=[Reader])
def allocator(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=500, description="History length, newest first")] = 20,
) -> dict[str, Any]:
    """The newest allocation, the newest with weights, and the recent snapshots."""
    return allocator_answer(store, limit)


def allocator_answer(store: Store, limit: int = 20) -> dict[str, Any]:
    """What ``GET /api/learning/allocator`` answers."""
    latest = store.allocations.latest()
    allocated = store.allocations.latest(allocated_only=True)
    return {
        "latest": None if latest is None else asdict(latest),
        "allocated": None if allocated is None else asdict(allocated),
        "history": [asdict(snapshot) for snapshot in store.allocations.recent(limit)],
        "fund": fund(store),
    }


@router.post(
    "/api/learning/allocator/rebalance", response_model=AllocatorAnswer, dependencies=[Writer]
)
def rebalance_now(store: StoreDep) -> dict[str, Any]:
    """Allocate capital over the active promotions now (holdout and forward returns) and
    answer as ``GET /api/learning/allocator`` does; an impossible allocation is stored
    with its reason (state ``infeasible``), never with NaN weights."""
    rebalance(store, load_settings(store))
    return allocator_answer(store)


@router.post(
    "/api/learning/cycle/run",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CycleOut,
    dependencies=[Writer],
)
def run_cycle(runner: LearningRunnerDep) -> dict[str, Any]:
    """Start a learning cycle in the background (409 while one runs): update forward
    tracking, retrain the meta-model, propose candidates, rebalance, flag overfitting,
    write the knowledge summary. Follow it with ``GET /api/learning/cycles``."""
    return asdict(runner.run("api"))


@router.get("/api/learning/cycles", response_model=list[CycleOut], dependencies=[Reader])
def cycles(
    store: StoreDep, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[dict[str, Any]]:
    """Learning cycles, newest first, with what each step did."""
    return [asdict(cycle) for cycle in store.cycles.recent(limit)]


@router.get("/api/learning/overfit", response_model=list[AlertOut], dependencies=[Reader])
def overfit_alerts(
    store: StoreDep,
    open_only: Annotated[
        bool, Query(alias="open", description="Only alerts not acknowledged yet")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Overfitting alerts, newest first."""
    return [
        asdict(alert)
        for alert in store.alerts.recent(include_acknowledged=not open_only, limit=limit)
    ]


@router.post("/api/learning/overfit/ack", response_model=AlertOut, dependencies=[Writer])
def acknowledge(request: AckRequest, store: StoreDep) -> dict[str, Any]:
    """Acknowledge an alert (once; acknowledging it again changes nothing)."""
    return asdict(store.alerts.acknowledge(request.alert_id, by=request.by, note=request.note))


@router.get("/api/knowledge/latest", response_model=KnowledgeOut | None, dependencies=[Reader])
def knowledge_latest(store: StoreDep) -> dict[str, Any] | None:
    """The newest period's summary (null before the first learning cycle)."""
    entry = store.knowledge.latest()
    return None if entry is None else _knowledge_out(store, entry)


@router.get("/api/knowledge/{period}", response_model=KnowledgeOut, dependencies=[Reader])
def knowledge_period(
    period: Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")],
    store: StoreDep,
) -> dict[str, Any]:
    """The summary of one period (YYYY-MM-DD)."""
    return _knowledge_out(store, store.knowledge.get(period))


def _knowledge_out(store: Store, entry: KnowledgeEntry) -> dict[str, Any]:
    # Its own heading goes two levels down: under the dashboard's page and section titles.
    html = markdown_html(entry.markdown, heading_offset=2)
    return {**asdict(entry), "html": html, "periods": store.knowledge.periods()}


@router.get("/api/settings/learning", response_model=LearningSettings, dependencies=[Reader])
def get_learning_settings(store: StoreDep) -> LearningSettings:
    """The learning settings (the defaults before anything was set)."""
    return load_settings(store)


@router.put("/api/settings/learning", response_model=LearningSettings, dependencies=[Writer])
def put_learning_settings(settings: LearningSettings, store: StoreDep) -> LearningSettings:
    """Replace the learning settings whole; a refused body (422) changes nothing."""
    return save_settings(store, settings)
