"""``/health`` and ``/api/stats``: is the service up, and the system at a glance."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from strategy_factory import __version__
from strategy_factory.service.deps import CoordinatorDep, Reader, SettingsDep, StoreDep
from strategy_factory.service.schemas.system import HealthOut, StatsOut
from strategy_factory.service.stats import promoted_count, run_counts

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthOut, response_model_exclude_none=True)
def health(store: StoreDep, settings: SettingsDep) -> HealthOut:
    """The service answers and its store is reachable (503 when it is not).

    On loopback it also names the store's backend and URL; off loopback it says no more
    than ``{"status": "ok", "version": ...}``.
    """
    with store.database.read() as connection:
        connection.execute(text("select 1"))
    if not settings.loopback:
        return HealthOut(status="ok", version=__version__)
    return HealthOut(
        status="ok",
        version=__version__,
        backend=store.backend,
        store=store.url,
        executor=settings.executor_settings(),
    )


@router.get("/api/stats", response_model=StatsOut, dependencies=[Reader])
def stats(store: StoreDep, settings: SettingsDep, coordinator: CoordinatorDep) -> StatsOut:
    """Runs by status, jobs by status, promotions, live workers, runs driven right now."""
    return StatsOut(
        runs=run_counts(store),
        jobs=store.queue.counts_by_status(),
        promoted=promoted_count(store),
        live_workers=len(store.workers.live(within_seconds=settings.live_worker_seconds)),
        active_runs=coordinator.active(),
    )
