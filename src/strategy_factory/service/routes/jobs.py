"""``/jobs`` and ``/workers``: the queue over HTTP, for ``factory worker --server URL``.

Every state change is fenced by the store: a stale lease token answers false and
writes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from strategy_factory.errors import NotFoundError
from strategy_factory.execution import validate_result
from strategy_factory.service.deps import SettingsDep, StoreDep, Writer
from strategy_factory.service.schemas.jobs import (
    MAX_JOB_ID,
    ClaimedJobOut,
    ClaimRequest,
    ClaimResponse,
    CompleteRequest,
    CompleteResponse,
    FailRequest,
    FailResponse,
    JobHeartbeatRequest,
    JobHeartbeatResponse,
    PendingJobOut,
    WorkerHeartbeatRequest,
    WorkerHeartbeatResponse,
    WorkerOut,
)

JobId = Annotated[int, Path(ge=1, le=MAX_JOB_ID, description="The job's id.")]

router = APIRouter(tags=["jobs"], dependencies=[Writer])


@router.post("/jobs/claim", response_model=ClaimResponse)
def claim(body: ClaimRequest, store: StoreDep) -> ClaimResponse:
    """Lease the highest-priority pending job to the worker (``{"job": null}`` if none)."""
    job = store.queue.claim(body.worker_id, kinds=body.kinds, lease_seconds=body.lease_seconds)
    if job is None:
        return ClaimResponse(job=None)
    return ClaimResponse(
        job=ClaimedJobOut(
            id=job.id,
            kind=job.kind,
            payload=job.payload,
            lease_token=job.lease_token,
            attempts=job.attempts,
            run_id=job.run_id,
        )
    )


@router.post("/jobs/{job_id}/heartbeat", response_model=JobHeartbeatResponse)
def heartbeat(job_id: JobId, body: JobHeartbeatRequest, store: StoreDep) -> JobHeartbeatResponse:
    """Renew the caller's lease on the job."""
    renewed = store.queue.heartbeat(job_id, body.lease_token, lease_seconds=body.lease_seconds)
    return JobHeartbeatResponse(renewed=renewed)


@router.post("/jobs/{job_id}/complete", response_model=CompleteResponse)
def complete(job_id: JobId, body: CompleteRequest, store: StoreDep) -> CompleteResponse:
    """Record the job's result, once, if the caller still holds the lease.

    The result must match its kind's schema (types, sizes, ranges): anything else is
    refused (400) and nothing is written, so no consumer ever reads a malformed result.
    """
    validate_result(store.queue.get(job_id).kind, body.result)
    return CompleteResponse(completed=store.queue.complete(job_id, body.lease_token, body.result))


@router.post("/jobs/{job_id}/fail", response_model=FailResponse)
def fail(job_id: JobId, body: FailRequest, store: StoreDep) -> FailResponse:
    """Record a failed attempt, if the caller still holds the lease."""
    return FailResponse(failed=store.queue.fail(job_id, body.lease_token, body.error))


@router.get("/jobs/pending", response_model=list[PendingJobOut])
def pending(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, next first.")] = 50,
) -> list[Any]:
    """Pending jobs in the order workers will claim them (without payloads)."""
    return store.queue.pending(limit)


@router.post("/workers/heartbeat", response_model=WorkerHeartbeatResponse)
def worker_heartbeat(body: WorkerHeartbeatRequest, store: StoreDep) -> WorkerHeartbeatResponse:
    """A worker's sign of life; the first one registers it."""
    if body.current_job_id is not None:
        store.queue.get(body.current_job_id)  # 404 for a job that does not exist
    try:
        store.workers.heartbeat(body.worker_id, current_job_id=body.current_job_id)
    except NotFoundError:
        store.workers.register(body.worker_id, hostname=body.hostname, pid=body.pid)
        store.workers.heartbeat(body.worker_id, current_job_id=body.current_job_id)
    return WorkerHeartbeatResponse(ok=True)


@router.get("/workers", response_model=list[WorkerOut])
def live_workers(store: StoreDep, settings: SettingsDep) -> list[Any]:
    """Workers that sent a heartbeat recently."""
    return store.workers.live(within_seconds=settings.live_worker_seconds)
