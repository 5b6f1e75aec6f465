"""``/workflows``: start a multi-phase workflow, list workflows, one workflow, resume one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status

from strategy_factory.service.deps import (
    Reader,
    SettingsDep,
    StoreDep,
    WorkflowRunnerDep,
    Writer,
)
from strategy_factory.service.schemas.workflows import (
    ResumeRequest,
    WorkflowAccepted,
    WorkflowDetail,
    WorkflowOut,
)
from strategy_factory.service.workflows import (
    live,
    resume_workflow,
    start_workflow,
    workflow_detail,
    workflow_out,
)
from strategy_factory.store import WorkflowState
from strategy_factory.workflow import WorkflowConfig

router = APIRouter(prefix="/workflows", tags=["workflows"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkflowAccepted,
    dependencies=[Writer],
)
def start(
    config: WorkflowConfig,
    settings: SettingsDep,
    store: StoreDep,
    runner: WorkflowRunnerDep,
) -> WorkflowAccepted:
    """Check a workflow (the JSON of a workflow YAML) against its data, make its workspace
    in FACTORY_RESULTS and run it in the background.

    Malformed bodies (wrong types, unknown fields or phase types) answer 422, impossible
    workflows 400, unknown symbols 404; nothing is made or recorded on any error. A
    predictions family's file must lie inside the server's FACTORY_HOME or
    FACTORY_RESULTS (a relative path is read from FACTORY_HOME).
    """
    return start_workflow(config, settings, store, runner)


@router.get("", response_model=list[WorkflowOut], dependencies=[Reader])
def list_workflows(
    store: StoreDep,
    runner: WorkflowRunnerDep,
    state: Annotated[
        WorkflowState | None, Query(description="Only workflows in this state.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many, newest first.")] = 50,
) -> list[dict[str, Any]]:
    """Workflows, newest first, with each phase's state and progress."""
    found = store.workflows.recent(limit=limit, state=None if state is None else state.value)
    return [workflow_out(record, live(record, runner)) for record in found]


@router.get("/{workflow_id}", response_model=WorkflowDetail, dependencies=[Reader])
def get_workflow(workflow_id: str, store: StoreDep, runner: WorkflowRunnerDep) -> dict[str, Any]:
    """One workflow: phases with state, progress, summary and warnings, the files edited
    between phases, and the key result of a finished validation."""
    record = store.workflows.get(workflow_id)
    return workflow_detail(record, live(record, runner))


@router.post(
    "/{workflow_id}/resume",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WorkflowAccepted,
    dependencies=[Writer],
)
def resume(
    workflow_id: str,
    store: StoreDep,
    runner: WorkflowRunnerDep,
    request: Annotated[ResumeRequest | None, Body()] = None,
) -> WorkflowAccepted:
    """Finish an interrupted or failed workflow (finished work is kept), or rerun it from
    ``from_phase``; 409 while it is queued or running."""
    from_phase = None if request is None else request.from_phase
    return resume_workflow(workflow_id, from_phase, store, runner)
