"""Bodies of ``/workflows``: the workflow config in, workflows with their phases out.

``POST /workflows`` takes a :class:`~strategy_factory.workflow.WorkflowConfig` as its
body, the very model a workflow YAML maps onto, so the API and the YAML cannot drift
apart. What comes back is derived from the manifest as the store recorded it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WorkflowAccepted(BaseModel):
    """A workflow was created (or asked to resume) and queued to run on this server."""

    id: str
    name: str
    state: str = Field(description="The recorded state when queued: pending, failed, running…")


class ResumeRequest(BaseModel):
    """Optional body of ``POST /workflows/{id}/resume``."""

    model_config = ConfigDict(extra="forbid")

    from_phase: str | None = Field(
        None,
        max_length=64,
        description="Rerun this phase and every later one; empty: finish what is not done.",
    )


class PhaseProgress(BaseModel):
    """How far a phase is: pieces done of its total."""

    done: int
    total: int


class PhaseBrief(BaseModel):
    """A phase as listed: what it is, its state and progress."""

    name: str
    type: str
    state: str
    progress: PhaseProgress | None = None


class PhaseOut(PhaseBrief):
    """A phase in full: its summary, warnings (including files edited before it read
    them), its error and when it ran."""

    summary: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


class EditOut(BaseModel):
    """A file a user edited between phases; the phase named used the edit."""

    path: str
    used_by: str | None = None
    noticed_at: str | None = None


class ValidationResult(BaseModel):
    """The key result of the latest finished validation phase, on the holdout."""

    phase: str
    passed: bool
    misses: list[str] = Field(description="The promotion criteria it missed, in words.")
    sharpe: float | None = None
    trades: int | None = None
    switch_count: int | None = Field(None, description="Regime switches on the holdout.")


class WorkflowOut(BaseModel):
    """A workflow as listed.

    ``live``: a process runs it now, or this server has it queued (``None``: this server
    cannot see its workspace). ``interrupted``: it says pending or running, but nothing
    runs it (its process was killed, or its server stopped): resume it.
    """

    id: str
    name: str
    symbol: str | None = None
    state: str
    live: bool | None
    interrupted: bool
    created_at: datetime
    updated_at: datetime
    phases: list[PhaseBrief]


class WorkflowDetail(WorkflowOut):
    """A workflow in full: its config, phases, edits and validation result."""

    workspace: str
    config: dict[str, Any]
    phases: list[PhaseOut]  # type: ignore[assignment]
    edits: list[EditOut]
    result: ValidationResult | None = None
