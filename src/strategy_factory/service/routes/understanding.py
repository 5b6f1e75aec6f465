"""Understanding over HTTP: diagnose a promotion or a run, audit a run or a configuration,
try a promoted genome on other symbols and follow those transfer runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status

from strategy_factory.service.deps import CoordinatorDep, Reader, StoreDep, Writer
from strategy_factory.service.schemas.understanding import TransferLaunched, TransferRunOut
from strategy_factory.store import Run, Store, run_json
from strategy_factory.understanding import diagnose as run_diagnosis
from strategy_factory.understanding.audit import AuditRequest, audit_request
from strategy_factory.understanding.transfer import (
    READ_LIMIT,
    TransferRequest,
    launch_transfer,
    transfer_origin,
    transfer_outcome,
    transfer_runs,
)

router = APIRouter(tags=["understanding"])


@router.get("/api/diagnose/{subject_id}", dependencies=[Reader])
def diagnose(
    store: StoreDep,
    subject_id: Annotated[str, Path(min_length=1, max_length=64)],
    period: Annotated[
        Literal["training", "selection", "holdout"],
        Query(description="The period to replay the strategy on (default: its holdout)"),
    ] = "holdout",
) -> dict[str, Any]:
    """Why a promotion (or a run's best configuration) wins or loses on a period: splits,
    features before losses, attribution at entry and the verdict after BH correction."""
    return run_diagnosis(store, subject_id, period)


@router.post("/api/audit", dependencies=[Reader])
def audit(store: StoreDep, request: AuditRequest) -> dict[str, Any]:
    """What makes a run or an evolution configuration unable to work: each finding with
    its measured consequence and a fix. Writes nothing."""
    return audit_request(store, request).as_json()


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


@router.get("/api/transfer", response_model=list[TransferRunOut], dependencies=[Reader])
def transfers(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=READ_LIMIT, description="How many, newest first")] = 50,
) -> list[dict[str, Any]]:
    """The transfer runs among the newest runs, newest first: each one's progress, the
    promotion it tries and, once finished, its outcome (the sentence the learning cycle
    writes into the knowledge summary)."""
    return [_transfer_run(store, run) for run in transfer_runs(store)[:limit]]


def _transfer_run(store: Store, run: Run) -> dict[str, Any]:
    origin = transfer_origin(run) or {}
    finished = run.finished_at is not None
    return run_json(run) | {
        "promotion": origin["promotion"],
        "promoted_on": origin["promoted_on"],
        "outcome": transfer_outcome(store, run) if finished else None,
    }
