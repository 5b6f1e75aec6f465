"""``factory workflow``: run, status, list and resume from the command line; run and resume
record the workflow in the store, and list reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.data import BarCatalog
from strategy_factory.store import create_store
from strategy_factory.workflow.lock import holding
from tests.factory_command import factory
from tests.test_json_convention import strict
from tests.workflow.conftest import small_workflow

runner = CliRunner()


def test_run_status_list_and_resume_from_the_command_line(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    file = tmp_path / "wf.yaml"
    file.write_text(yaml.safe_dump(small_workflow()))
    results = ["--results", str(tmp_path / "results")]
    ran = runner.invoke(app, ["workflow", "run", str(file), *results, "--json"])
    assert ran.exit_code == 0, ran.output
    manifest = json.loads(ran.output[ran.output.index("{") :])
    assert manifest["state"] == "done"
    shown = runner.invoke(app, ["workflow", "status", manifest["id"], *results])
    assert shown.exit_code == 0 and "validation" in shown.output and "done" in shown.output
    listed = runner.invoke(app, ["workflow", "list", "--json"])  # from the store (FACTORY_DB)
    assert [w["id"] for w in json.loads(listed.output)] == [manifest["id"]]
    table = runner.invoke(app, ["workflow", "list"])
    assert table.exit_code == 0 and manifest["id"] in table.output
    again = runner.invoke(
        app, ["workflow", "resume", manifest["id"], "--from", "validation", *results]
    )
    assert again.exit_code == 0 and "validation: done" in again.output
    # The report finds the workspace where the store recorded it, without --results.
    page = tmp_path / "report.html"
    written = runner.invoke(app, ["workflow", "report", manifest["id"], "-o", str(page)])
    assert written.exit_code == 0, written.output
    assert manifest["id"] in page.read_text()


def test_mistakes_are_one_line_errors_with_exit_code_2(
    planted_home: BarCatalog, tmp_path: Path
) -> None:
    results = ["--results", str(tmp_path / "results")]
    unknown = factory("workflow", "status", "wf-nope", *results)
    assert unknown.returncode == 2 and "no workflow 'wf-nope'" in unknown.stderr
    file = tmp_path / "wf.yaml"
    file.write_text("data: {symbol: PLANTED}\nphases: [{type: validation}]\n")
    refused = factory("workflow", "run", str(file), *results)
    assert refused.returncode == 2
    assert "no ensemble_optimization phase comes before" in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "results").exists()


def invoke(*args: str) -> tuple[int, str]:
    """``factory ARGS…`` in-process: (exit code, stdout); errors as the console prints them."""
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, Exception) and not isinstance(result.exception, SystemExit):
        return 2, str(result.exception)
    return result.exit_code, result.stdout


@pytest.fixture
def config_file(planted_home: BarCatalog, tmp_path: Path) -> Path:
    path = tmp_path / "planted.yaml"
    path.write_text(yaml.safe_dump(small_workflow()))
    return path


def test_a_workflow_run_from_the_command_line_is_recorded_and_listed(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'other.db'}"
    code, output = invoke("workflow", "run", str(config_file), "--db", db, "--json")
    assert code == 0, output
    manifest = strict(output)  # --json keeps stdout for the JSON alone
    assert manifest["state"] == "done"
    with create_store(db) as store:
        recorded = store.workflows.get(manifest["id"])
    assert recorded.state == "done"
    assert [p["state"] for p in recorded.phases] == ["done"] * 4
    assert recorded.workspace == str(tmp_path / "results" / manifest["id"])
    assert recorded.phases[3]["summary"] == manifest["phases"][3]["summary"]

    # Listed from the store, from anywhere: not from a results folder.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, output = invoke("workflow", "list", "--db", db, "--json")
    assert code == 0, output
    listed = strict(output)
    assert [(w["id"], w["state"]) for w in listed] == [(manifest["id"], "done")]
    assert strict(invoke("workflow", "list", "--json")[1]) == []  # FACTORY_DB: another store
    code, output = invoke("workflow", "list", "--db", db, "--state", "failed", "--json")
    assert strict(output) == []

    # Status and resume find the workspace where the store recorded it.
    code, output = invoke("workflow", "status", manifest["id"], "--db", db, "--json")
    assert (code, strict(output)["id"]) == (0, manifest["id"]), output
    code, output = invoke("workflow", "resume", manifest["id"], "--from", "validation", "--db", db)
    assert code == 0, output
    assert "validation: done" in output
    with create_store(db) as store:
        again = store.workflows.get(manifest["id"])
    assert again.state == "done" and again.updated_at >= recorded.updated_at


def test_a_workflow_another_process_runs_is_not_resumed(config_file: Path) -> None:
    code, output = invoke("workflow", "run", str(config_file), "--json")
    assert code == 0, output
    manifest = strict(output)
    root = Path(manifest["paths"]["root"])
    with holding(root):
        code, output = invoke("workflow", "resume", manifest["id"], "--from", "validation")
    assert code != 0
    assert f"being run by another process (pid {os.getpid()} on" in output
    assert json.loads((root / "metadata" / "workflow.json").read_text())["state"] == "done"
