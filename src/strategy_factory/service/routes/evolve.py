"""``POST /evolve`` and ``POST /evolve/batch``: record runs and start them through the queue."""

from __future__ import annotations

from fastapi import APIRouter, status

from strategy_factory.service.deps import CoordinatorDep, StoreDep, Writer
from strategy_factory.service.launch import start_batch, start_run
from strategy_factory.service.schemas.evolve import (
    BatchAccepted,
    EvolveBatchRequest,
    EvolveRequest,
    RunAccepted,
)

router = APIRouter(prefix="/evolve", tags=["evolve"], dependencies=[Writer])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=RunAccepted)
def evolve(request: EvolveRequest, store: StoreDep, coordinator: CoordinatorDep) -> RunAccepted:
    """Validate a run configuration against the data, record the run and start it.

    Unknown symbols answer 404, impossible configurations 400, malformed bodies 422;
    nothing is recorded on any error.
    """
    return start_run(store, coordinator, request)


@router.post("/batch", status_code=status.HTTP_202_ACCEPTED, response_model=BatchAccepted)
def evolve_batch(
    request: EvolveBatchRequest, store: StoreDep, coordinator: CoordinatorDep
) -> BatchAccepted:
    """One run per symbol with shared settings; all are validated before any is recorded."""
    return BatchAccepted(runs=start_batch(store, coordinator, request))
