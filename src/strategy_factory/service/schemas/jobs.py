"""Bodies of the job and worker endpoints that ``factory worker --server`` calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Ids are BIGINT and process ids INTEGER in the store; larger numbers cannot name anything.
MAX_JOB_ID = 2**63 - 1
MAX_PID = 2**31 - 1
_LEASE = Field(30.0, gt=0, le=86_400, description="How long the lease lasts, in seconds.")
_WORKER_ID = Field(min_length=1, max_length=128, description="The worker's unique name.")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimRequest(_Body):
    """Lease the highest-priority pending job to a worker."""

    worker_id: str = _WORKER_ID
    kinds: list[str] | None = Field(
        None, min_length=1, description="Only these kinds of job (null: any kind)."
    )
    lease_seconds: float = _LEASE


class ClaimedJobOut(BaseModel):
    """A job leased to the caller: keep ``lease_token`` to heartbeat, complete or fail it."""

    id: int
    kind: str
    payload: dict[str, Any]
    lease_token: str
    attempts: int
    run_id: str | None


class ClaimResponse(BaseModel):
    """The claimed job, or null when nothing is pending."""

    job: ClaimedJobOut | None


class JobHeartbeatRequest(_Body):
    """Renew a lease the caller holds."""

    lease_token: str = Field(min_length=1)
    lease_seconds: float = _LEASE
    worker_id: str = _WORKER_ID


class JobHeartbeatResponse(BaseModel):
    """False: the caller no longer holds the lease (another worker owns the job)."""

    renewed: bool


class CompleteRequest(_Body):
    """Record a job's result (fenced by the lease token)."""

    lease_token: str = Field(min_length=1)
    result: dict[str, Any]


class CompleteResponse(BaseModel):
    """False: a stale token or a second completion; nothing was written."""

    completed: bool


class FailRequest(_Body):
    """Record a failed attempt (the job is retried until it runs out of attempts)."""

    lease_token: str = Field(min_length=1)
    error: str = Field(description="What went wrong, as 'ExceptionType: message'.")


class FailResponse(BaseModel):
    """False: the caller no longer holds the lease; nothing was written."""

    failed: bool


class WorkerHeartbeatRequest(_Body):
    """A worker's sign of life (registers the worker on first call)."""

    worker_id: str = _WORKER_ID
    hostname: str = Field(min_length=1, max_length=255)
    pid: int = Field(ge=0, le=MAX_PID)
    current_job_id: int | None = Field(None, ge=1, le=MAX_JOB_ID)


class WorkerHeartbeatResponse(BaseModel):
    """Always ``{"ok": true}``."""

    ok: bool


class PendingJobOut(BaseModel):
    """A queued job without its payload (payloads carry whole model artifacts)."""

    id: int
    run_id: str | None
    kind: str
    parent_sqn: float | None
    status: str
    created_at: datetime
    attempts: int
    max_attempts: int
    error: str | None


class WorkerOut(BaseModel):
    """A live worker and the job it is on."""

    id: str
    hostname: str
    pid: int
    started_at: datetime
    last_heartbeat: datetime
    current_job_id: int | None
