"""``/workflows``: a workflow started over the API runs to its validation in a process of
its own and is recorded; bad bodies leave nothing behind; a running workflow is not
resumed twice (409); an interrupted one resumes; unknown ids are 404."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from strategy_factory.data import BarCatalog
from strategy_factory.store import Store
from strategy_factory.workflow import WorkflowConfig, Workspace, create_workflow, is_running
from strategy_factory.workflow.lock import holder, holding
from tests.service.conftest import row_counts, serving
from tests.service.server import alive
from tests.test_json_convention import no_number_strings, strict
from tests.workflow import conftest as workflow_fixtures
from tests.workflow.conftest import small_workflow

planted_home = workflow_fixtures.planted_home  # FACTORY_HOME with the planted series

# A workflow is CPU work (a few seconds here, plus starting its process): every wait ends
# on its event; this is only the ceiling for a machine loaded by other tests.
WORKFLOW_SECONDS = 600
POLL_SECONDS = 0.1
PHASES = ["parameter_discovery", "regime_analysis", "ensemble_optimization", "validation"]


@pytest.fixture
def results(planted_home: BarCatalog, tmp_path: Path) -> Path:
    """Where the server makes workspaces (FACTORY_HOME holds PLANTED; cwd is tmp_path)."""
    return tmp_path / "results"


def wait_for_workflow(
    client: TestClient, workflow_id: str, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll ``GET /workflows/{id}`` until ``until(workflow)`` holds."""
    deadline = time.monotonic() + WORKFLOW_SECONDS
    while True:
        response = client.get(f"/workflows/{workflow_id}")
        assert response.status_code == 200, response.text
        workflow = strict(response.text)
        if until(workflow):
            return workflow
        if time.monotonic() > deadline:
            raise AssertionError(f"workflow {workflow_id} never got there: {workflow}")
        time.sleep(POLL_SECONDS)


def ended(workflow: dict[str, Any]) -> bool:
    return workflow["state"] in ("done", "failed") and not workflow["live"]


def message(response: Any) -> str:
    body = response.json()
    return body.get("message") or body["detail"]


def test_a_workflow_started_over_the_api_runs_to_its_validation_and_is_recorded(
    results: Path, store_url: str, store: Store
) -> None:
    with serving(store_url) as client:
        response = client.post("/workflows", json=small_workflow())
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["name"] == "planted-test" and accepted["state"] == "pending"
        workflow = wait_for_workflow(client, accepted["id"], ended)
        no_number_strings(workflow)
        listed = strict(client.get("/workflows").text)
        assert strict(client.get("/workflows?state=failed").text) == []

    assert workflow["state"] == "done", workflow
    assert [(p["name"], p["state"]) for p in workflow["phases"]] == [(n, "done") for n in PHASES]
    assert workflow["phases"][0]["progress"] == {"done": 16, "total": 16}
    assert workflow["phases"][0]["summary"]["trials"] == 16
    assert (workflow["live"], workflow["interrupted"], workflow["symbol"]) == (
        False,
        False,
        "PLANTED",
    )
    result = workflow["result"]
    # The planted regimes: the adaptive strategy passes the holdout, switching regimes.
    assert result["phase"] == "validation" and result["passed"], result
    assert result["misses"] == [] and result["trades"] > 0 and result["sharpe"] > 0
    assert result["switch_count"] > 0
    assert workflow["edits"] == [] and workflow["config"]["data"]["symbol"] == "PLANTED"
    assert [(w["id"], w["state"]) for w in listed] == [(accepted["id"], "done")]
    assert listed[0]["phases"][0] == {
        "name": "parameter_discovery",
        "type": "parameter_discovery",
        "state": "done",
        "progress": {"done": 16, "total": 16},
    }
    # The store mirrors the manifest, which stays in the server's results folder.
    root = results.resolve() / accepted["id"]
    assert workflow["workspace"] == store.workflows.get(accepted["id"]).workspace == str(root)
    assert Workspace(root).manifest()["state"] == "done"
    assert is_running(root) is False


BAD_BODIES: list[tuple[str, Callable[[dict[str, Any]], Any], int, str]] = [
    ("wrong type", lambda w: {**w, "data": {"symbol": 5}}, 422, "body.data.symbol"),
    ("phases not a list", lambda w: {**w, "phases": "all"}, 422, "body.phases"),
    (
        "unknown phase type",
        lambda w: {**w, "phases": [*w["phases"], {"type": "guess_the_market"}]},
        422,
        "does not match any of the expected tags: 'parameter_discovery'",
    ),
    ("unknown field", lambda w: {**w, "surprise": 1}, 422, "body.surprise"),
    ("no data", lambda w: {k: v for k, v in w.items() if k != "data"}, 422, "body.data"),
    ("not an object", lambda w: [w], 422, "body"),
    (
        "impossible order",
        lambda w: {**w, "phases": w["phases"][::-1]},
        400,
        "no ensemble_optimization phase comes before it",
    ),
    ("unknown symbol", lambda w: {**w, "data": {"symbol": "NOPE"}}, 404, "NOPE"),
]


def predictions_family(path: str) -> dict[str, Any]:
    return {"name": "model", "kind": "predictions", "path": path, "column": "prediction"}


def with_family(workflow: dict[str, Any], family: dict[str, Any]) -> dict[str, Any]:
    discovery = {**workflow["phases"][0], "families": [family]}
    return {**workflow, "phases": [discovery, *workflow["phases"][1:]]}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_bad_bodies_are_refused_saying_what_to_fix_and_nothing_is_recorded(
    results: Path, store_url: str, planted_home: BarCatalog, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("timestamp,prediction\n2000-01-03,1\n")
    home = planted_home.root.parent
    (home / "predictions").mkdir()
    (home / "predictions" / "link.csv").symlink_to(outside)
    refused_predictions = [
        (str(outside), "must be inside the server's FACTORY_HOME"),
        ("../outside.csv", "must be inside the server's FACTORY_HOME"),
        ("predictions/link.csv", "must be inside the server's FACTORY_HOME"),  # a symlink out
        ("predictions/missing.csv", "no predictions file 'predictions/missing.csv'"),
    ]
    with serving(store_url, workflow_slots=0) as client:
        for what, change, status, wanted in BAD_BODIES:
            response = client.post("/workflows", json=change(small_workflow()))
            assert response.status_code == status, (what, response.text)
            assert wanted in message(response), (what, message(response))
        for path, wanted in refused_predictions:
            body = with_family(small_workflow(), predictions_family(path))
            response = client.post("/workflows", json=body)
            assert response.status_code == 400, (path, response.text)
            assert wanted in message(response), (path, message(response))
        assert row_counts(store_url)["workflows"] == 0
        assert not results.exists() or not list(results.iterdir())

        # Inside FACTORY_HOME (relative paths are read from there) a predictions file is
        # accepted, recorded by its absolute path.
        (home / "predictions" / "model.csv").write_text("timestamp,prediction\n")
        body = with_family(small_workflow(), predictions_family("predictions/model.csv"))
        response = client.post("/workflows", json=body)
        assert response.status_code == 202, response.text
        workflow = client.get(f"/workflows/{response.json()['id']}").json()
        family = workflow["config"]["phases"][0]["families"][0]
        assert family["path"] == str((home / "predictions" / "model.csv").resolve())
        assert row_counts(store_url)["workflows"] == 1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_workflow_over_the_work_budget_is_refused_before_anything_is_made(
    results: Path, store_url: str, planted_home: BarCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 16 trials × 3 cells (overall and two regimes) × 1,050 selection bars = 50,400.
    monkeypatch.setenv("FACTORY_MAX_CELL_BARS", "50000")
    with serving(store_url, workflow_slots=0) as client:
        response = client.post("/workflows", json=small_workflow())
        assert response.status_code == 400, response.text
        assert "over the work budget: its discoveries simulate 5.04e+04 cell-bars" in message(
            response
        )
        assert "FACTORY_MAX_CELL_BARS" in message(response)
        assert row_counts(store_url)["workflows"] == 0
        assert not results.exists() or not list(results.iterdir())
        monkeypatch.setenv("FACTORY_MAX_CELL_BARS", "50400")  # exactly the work: accepted
        assert client.post("/workflows", json=small_workflow()).status_code == 202


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WORKFLOW_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(POLL_SECONDS / 5)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_running_workflow_is_not_resumed_again(
    results: Path, store_url: str, store: Store
) -> None:
    workspace = create_workflow(WorkflowConfig.load(small_workflow()), results.resolve())
    store.workflows.record(workspace.manifest())
    with serving(store_url) as client:
        # While the test holds the store's write lock, the workflow's process waits to
        # record its first save: it runs (it holds the workspace lock) for as long as the
        # lock is held here, however fast the machine.
        with store.database.write():
            response = client.post(f"/workflows/{workspace.id}/resume")
            assert response.status_code == 202, response.text
            wait_until(
                lambda: workspace.manifest()["state"] == "running" and is_running(workspace.root),
                "the workflow's process runs it",
            )
            response = client.post(f"/workflows/{workspace.id}/resume", json={})
            assert response.status_code == 409, response.text
            assert "queued or running on this server" in message(response)
            response = client.post(
                f"/workflows/{workspace.id}/resume", json={"from_phase": "validation"}
            )
            assert response.status_code == 409, response.text
            assert client.get(f"/workflows/{workspace.id}").json()["live"] is True
        assert wait_for_workflow(client, workspace.id, ended)["state"] == "done"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_workflow_run_by_another_process_or_queued_is_not_resumed(
    results: Path, store_url: str, store: Store
) -> None:
    # Another process (a `factory workflow resume` elsewhere) runs this one right now.
    elsewhere = create_workflow(WorkflowConfig.load(small_workflow()), results.resolve())
    store.workflows.record(elsewhere.manifest())
    with serving(store_url, workflow_slots=0) as client:
        # Queued on this server (no slot is free): it is live, and not resumed twice.
        queued = client.post("/workflows", json=small_workflow()).json()["id"]
        response = client.post(f"/workflows/{queued}/resume")
        assert response.status_code == 409, response.text
        assert "queued or running on this server" in response.json()["detail"]
        assert client.get(f"/workflows/{queued}").json()["live"] is True

        with holding(elsewhere.root):
            response = client.post(f"/workflows/{elsewhere.id}/resume", json={})
            assert response.status_code == 409, response.text
            assert f"being run by another process (pid {os.getpid()} on" in message(response)
            shown = client.get(f"/workflows/{elsewhere.id}").json()
            assert (shown["state"], shown["live"], shown["interrupted"]) == ("pending", True, False)
        # Its process is gone, the manifest still says pending: interrupted, resumable.
        shown = client.get(f"/workflows/{elsewhere.id}").json()
        assert (shown["live"], shown["interrupted"]) == (False, True)
        listed = {w["id"]: w for w in client.get("/workflows").json()}
        assert listed[elsewhere.id]["interrupted"] and not listed[queued]["interrupted"]


def discovering(root: Path) -> bool:
    """Whether the workflow's first phase runs now (or the workflow is already done)."""
    manifest = Workspace(root).manifest() if (root / "metadata").is_dir() else None
    if manifest is None:
        return False
    return manifest["state"] == "done" or manifest["phases"][0]["state"] == "running"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_server_stopped_mid_workflow_leaves_no_process_and_a_resumable_workflow(
    results: Path, store_url: str, store: Store
) -> None:
    lookbacks = list(range(2, 200))
    bigger = small_workflow(
        discovery={
            "families": [
                {
                    "name": "momentum",
                    "kind": "rule",
                    "rule": "momentum",
                    "parameters": {"lookback": lookbacks, "threshold": [0.0, 0.005]},
                }
            ]
        }
    )
    with serving(store_url) as client:
        workflow_id = client.post("/workflows", json=bigger).json()["id"]
        root = results.resolve() / workflow_id
        wait_until(lambda: discovering(root), "the workflow's first phase runs")
        pid = int(holder(root).split()[1])
    # The server stopped while (or just after) the workflow ran: its process is gone, and
    # the workflow ended done, failed as interrupted, or was killed mid-step (running).
    assert not alive(pid)
    manifest = Workspace(root).manifest()
    assert store.workflows.get(workflow_id).state == manifest["state"]
    stopped = [p for p in manifest["phases"] if p["state"] in ("failed", "running")]
    if manifest["state"] == "failed":
        assert [p["error"] for p in stopped] == ["interrupted"]
    with serving(store_url) as client:
        shown = client.get(f"/workflows/{workflow_id}").json()
        assert shown["live"] is False
        assert shown["interrupted"] == (manifest["state"] == "running")
        if manifest["state"] != "done":
            assert client.post(f"/workflows/{workflow_id}/resume").status_code == 202
            assert wait_for_workflow(client, workflow_id, ended)["state"] == "done"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_interrupted_workflow_resumes_and_reruns_from_a_phase(
    results: Path, store_url: str, store: Store
) -> None:
    # Recorded, then left: as if its server had died before starting it.
    workspace = create_workflow(WorkflowConfig.load(small_workflow()), results.resolve())
    store.workflows.record(workspace.manifest())
    with serving(store_url) as client:
        assert client.get(f"/workflows/{workspace.id}").json()["interrupted"] is True
        response = client.post(f"/workflows/{workspace.id}/resume")
        assert response.status_code == 202, response.text
        assert response.json() == {"id": workspace.id, "name": "planted-test", "state": "pending"}
        assert wait_for_workflow(client, workspace.id, ended)["state"] == "done"

        response = client.post(f"/workflows/{workspace.id}/resume")
        assert response.status_code == 400
        assert "is done; give from_phase to rerun a phase" in message(response)
        response = client.post(f"/workflows/{workspace.id}/resume", json={"from_phase": "nope"})
        assert response.status_code == 400
        assert "has no phase 'nope'; phases: parameter_discovery" in message(response)
        response = client.post(f"/workflows/{workspace.id}/resume", json={"from_": "x"})
        assert response.status_code == 422

        # Rerun the validation: its result file (spoiled here) is written again.
        result = workspace.path("performance/validation.json")
        result.write_text("{}")
        discovery_started = workspace.manifest()["phases"][0]["started_at"]
        body = {"from_phase": "validation"}
        response = client.post(f"/workflows/{workspace.id}/resume", json=body)
        assert response.status_code == 202, response.text
        workflow = wait_for_workflow(client, workspace.id, ended)
    assert workflow["state"] == "done" and workflow["result"]["passed"]
    assert json.loads(result.read_text())["passed"] is True
    assert workflow["phases"][0]["started_at"] == discovery_started  # not rerun


def test_unknown_workflows_are_404_and_bad_queries_422(results: Path, store_url: str) -> None:
    with serving(store_url, workflow_slots=0) as client:
        for response in (
            client.get("/workflows/nope"),
            client.post("/workflows/nope/resume"),
            client.post("/workflows/nope/resume", json={"from_phase": "validation"}),
        ):
            assert response.status_code == 404, response.text
            assert "no workflow 'nope'" in response.json()["detail"]
        for query in ("state=stopped", "limit=0", "limit=1001"):
            assert client.get(f"/workflows?{query}").status_code == 422, query
        assert client.get("/workflows").json() == []
