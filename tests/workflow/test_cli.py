"""``factory workflow``: run, status, list and resume from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.data import BarCatalog
from tests.factory_command import factory
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
    listed = runner.invoke(app, ["workflow", "list", *results, "--json"])
    assert [w["id"] for w in json.loads(listed.output)] == [manifest["id"]]
    table = runner.invoke(app, ["workflow", "list", *results])
    assert table.exit_code == 0 and manifest["id"] in table.output
    again = runner.invoke(
        app, ["workflow", "resume", manifest["id"], "--from", "validation", *results]
    )
    assert again.exit_code == 0 and "validation: done" in again.output


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
