"""``/runs``: list runs, one run with its generations, stop or resume a run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi import status as http_status

from strategy_factory.errors import FactoryError
from strategy_factory.evolution import generations, run_json, run_summary, top_results
from strategy_factory.service.deps import CoordinatorDep, Reader, StoreDep, Writer
from strategy_factory.service.schemas.runs import (
    GenerationOut,
    ResumeResponse,
    RunOut,
    RunSummaryOut,
    StopResponse,
    TopResultsOut,
)
from strategy_factory.store import RunStatus

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("", response_model=list[RunOut], dependencies=[Reader])
def list_runs(
    store: StoreDep,
    status: Annotated[RunStatus | None, Query(description="Only runs with this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, newest first.")] = 50,
) -> list[dict[str, Any]]:
    """Runs, newest first, with the progress of both phases."""
    found = store.runs.recent(status=None if status is None else status.value, limit=limit)
    return [run_json(run) for run in found]


@router.get("/{run_id}", response_model=RunSummaryOut, dependencies=[Reader])
def get_run(run_id: str, store: StoreDep) -> dict[str, Any]:
    """One run: configuration, per-generation lineage and results, promotions, verdict."""
    return run_summary(store, run_id)


@router.get("/{run_id}/generations", response_model=list[GenerationOut], dependencies=[Reader])
def get_generations(run_id: str, store: StoreDep) -> list[dict[str, Any]]:
    """Per generation: features kept and pruned, best selection result, holdout judgement."""
    store.runs.get(run_id)
    return generations(store, run_id)


@router.get("/{run_id}/top", response_model=TopResultsOut, dependencies=[Reader])
def get_top_results(
    run_id: str,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=100, description="How many configurations.")] = 10,
) -> dict[str, Any]:
    """The best distinct configurations of the selection period by SQN-100 (with at least
    the 30 trades the promotion gate ranks by), and each generation's best."""
    return top_results(store, run_id, limit=limit)


@router.post("/{run_id}/stop", response_model=StopResponse, dependencies=[Writer])
def stop_run(run_id: str, store: StoreDep, coordinator: CoordinatorDep) -> StopResponse:
    """Stop a run now; it ends ``stopped`` (what it recorded so far is kept)."""
    stopping = store.runs.request_stop(run_id)
    if stopping:
        coordinator.stop(run_id)
        store.queue.cancel_pending(run_id, "the run was stopped by the user")
    return StopResponse(run_id=run_id, stopping=stopping, status=store.runs.get(run_id).status)


@router.post("/{run_id}/resume", response_model=ResumeResponse, dependencies=[Writer])
def resume_run(run_id: str, store: StoreDep, coordinator: CoordinatorDep) -> ResumeResponse:
    """Continue a failed or abandoned run (409 while another process drives it).

    The run resumes where it stopped: trained models are reused by fingerprint and
    recorded results are not redone.
    """
    run = store.runs.get(run_id)
    if run.status in ("completed", "stopped"):
        raise FactoryError(f"run {run_id} has {run.status}; start a new run instead")
    if run_id not in coordinator.active() and not coordinator.launch(run_id, resume_failed=True):
        holder = store.runs.get(run_id)
        raise HTTPException(
            status_code=http_status.HTTP_409_CONFLICT,
            detail=f"run {run_id} is driven by {holder.owner_id} (its lease runs until "
            f"{holder.owner_expires_at}); stop it there, or wait for the lease to expire",
        )
    return ResumeResponse(run_id=run_id, status=store.runs.get(run_id).status)
