"""Workflows: a row mirrors a manifest, recording is idempotent, listing is newest first."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import func, select

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.store import Store, WorkflowRecord
from strategy_factory.store.tables import workflows


def manifest(
    workflow_id: str = "wf-20261202-0a1b2c3d",
    state: str = "pending",
    created_at: str = "2026-12-02T10:00:00+00:00",
    **changes: Any,
) -> dict[str, Any]:
    """A manifest as the coordinator writes it (two phases, the first one done)."""
    phase = {
        "inputs": {},
        "outputs": {"performance": "performance/discovery.json"},
        "read": {},
        "wrote": {"performance/discovery.json": "ab" * 32},
        "error": None,
        "started_at": "2026-12-02T10:00:01+00:00",
        "finished_at": "2026-12-02T10:00:05+00:00",
    }
    return {
        "id": workflow_id,
        "name": "planted",
        "state": state,
        "created_at": created_at,
        "updated_at": created_at,
        "config": {"name": "planted", "data": {"symbol": "PLANTED"}},
        "paths": {"root": f"/srv/results/{workflow_id}"},
        "periods": {"selection": {"bars": 100}},
        "phases": [
            {
                **phase,
                "name": "discovery",
                "type": "parameter_discovery",
                "state": "done",
                "progress": {"done": 16, "total": 16},
                "summary": {"trials": 16, "never_traded": 0},
            },
            {
                **phase,
                "name": "validation",
                "type": "validation",
                "state": "pending",
                "progress": None,
                "summary": None,
                "finished_at": None,
            },
        ],
        "edits": [],
        **changes,
    }


def rows(store: Store) -> int:
    query = select(func.count()).select_from(workflows)
    return store.database.reading(lambda c: c.execute(query).scalar_one())


def test_a_recorded_manifest_comes_back_as_its_row(store: Store) -> None:
    recorded = store.workflows.record(manifest())
    assert isinstance(recorded, WorkflowRecord)
    assert store.workflows.get(recorded.id) == recorded
    assert (recorded.name, recorded.state, recorded.workspace) == (
        "planted",
        "pending",
        "/srv/results/wf-20261202-0a1b2c3d",
    )
    assert recorded.config == {"name": "planted", "data": {"symbol": "PLANTED"}}
    assert recorded.created_at.isoformat() == "2026-12-02T10:00:00+00:00"
    first = recorded.phases[0]
    # The row keeps what the API and the dashboard show; hashes stay in the manifest.
    assert set(first) == {
        "name",
        "type",
        "state",
        "progress",
        "summary",
        "error",
        "started_at",
        "finished_at",
    }
    assert first["progress"] == {"done": 16, "total": 16}
    assert recorded.phases[1]["summary"] is None
    assert recorded.edits == []


def test_recording_again_rewrites_the_row_and_twice_the_same_changes_nothing(
    store: Store,
) -> None:
    store.workflows.record(manifest())
    edits = [{"path": "analysis/x.json", "used_by": "validation", "noticed_at": "t"}]
    later = manifest(
        state="failed",
        updated_at="2026-12-02T10:05:00+00:00",
        edits=edits,
    )
    later["phases"][1].update(state="failed", error="boom", summary={"sharpe": math.inf})
    once = store.workflows.record(later)
    twice = store.workflows.record(later)
    assert once == twice
    assert rows(store) == 1
    assert (twice.state, twice.edits, twice.phases[1]["error"]) == ("failed", edits, "boom")
    assert twice.phases[1]["summary"] == {"sharpe": math.inf}  # non-finite values survive
    assert twice.updated_at > twice.created_at


def test_workflows_are_listed_newest_first_by_state(store: Store) -> None:
    for number, state in enumerate(("done", "running", "failed", "done")):
        stamp = f"2026-12-0{number + 1}T08:00:00+00:00"
        store.workflows.record(manifest(f"wf-{number}", state, created_at=stamp))
    assert [w.id for w in store.workflows.recent()] == ["wf-3", "wf-2", "wf-1", "wf-0"]
    assert [w.id for w in store.workflows.recent(limit=2)] == ["wf-3", "wf-2"]
    assert [w.id for w in store.workflows.recent(state="done")] == ["wf-3", "wf-0"]
    assert store.workflows.recent(state="pending") == []
    with pytest.raises(FactoryError, match="workflow state 'stopped' is not one of"):
        store.workflows.recent(state="stopped")


def test_an_unknown_workflow_or_a_malformed_manifest_is_refused(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no workflow 'nope'"):
        store.workflows.get("nope")
    with pytest.raises(FactoryError, match="not a workflow manifest"):
        store.workflows.record({"id": "wf-x", "state": "done"})
    with pytest.raises(FactoryError, match="workflow state 'halted'"):
        store.workflows.record(manifest(state="halted"))
    assert rows(store) == 0
