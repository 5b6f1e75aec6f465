"""The workflow report: built from real workspaces (finished, interrupted, failed), every
number it shows equal to the workspace's files, self-contained, strict JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import BarCatalog, regime_autocorrelated_bars
from strategy_factory.errors import FactoryError
from strategy_factory.workflow import WorkflowConfig, Workspace, create_workflow, run_workflow
from strategy_factory.workflow.report import write_workflow_report
from tests.factory_command import factory
from tests.report_pages import assert_self_contained, cells, chart_ids, figure, values
from tests.workflow.conftest import BARS, small_workflow

CHROMIUM = Path("/usr/bin/chromium")


class SimulatedKillError(Exception):
    """Stands for a kill right after a manifest save."""


@dataclass(frozen=True)
class Workflows:
    """Real workspaces in three states, and the finished one's page (written by the CLI)."""

    results: Path
    finished: Workspace
    interrupted: Workspace
    failed: Workspace
    page: str
    stdout: str


def _config() -> WorkflowConfig:
    """The small workflow with a second, stricter regime analysis before the usual one:
    a repeated phase type, and every choice of the strict one a fallback."""
    config = small_workflow()
    strict = {"type": "regime_analysis", "name": "strict_analysis", "min_trades": 100_000}
    config["phases"].insert(1, strict)
    return WorkflowConfig.load(config)


def _stop_after(phase: str) -> Any:
    def listener(manifest: dict[str, Any]) -> None:
        if any(e["name"] == phase and e["state"] == "done" for e in manifest["phases"]):
            raise SimulatedKillError

    return listener


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workflows]:
    root = tmp_path_factory.mktemp("workflow-report")
    results = root / "results"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_HOME", str(root / "home"))
        patch.chdir(root)
        bars, _ = regime_autocorrelated_bars(BARS, seed=5)
        BarCatalog(root / "home" / "bars").save("PLANTED", bars)
        finished = create_workflow(_config(), results, "wf-finished")
        run_workflow(finished)

        interrupted = create_workflow(_config(), results, "wf-interrupted")
        with pytest.raises(SimulatedKillError):
            run_workflow(interrupted, listener=_stop_after("regime_analysis"))

        failed = create_workflow(_config(), results, "wf-failed")
        run_workflow(failed)
        path = failed.path("analysis/ensemble_weights.json")
        weights = json.loads(path.read_text())
        weights["regimes"]["0"]["weights"] = ["heavy"]
        path.write_text(json.dumps(weights))
        with pytest.raises(FactoryError, match="weights"):
            run_workflow(failed, from_phase="validation")

        out = root / "finished.html"
        result = factory(
            "workflow", "report", "wf-finished", "--results", str(results), "-o", str(out)
        )
        assert result.returncode == 0, result.stderr
        yield Workflows(results, finished, interrupted, failed, out.read_text(), result.stdout)


def read(workspace: Workspace, relative: str) -> Any:
    return json.loads(workspace.path(relative).read_text())


def position(workspace: Workspace, name: str) -> int:
    return [e["name"] for e in workspace.manifest()["phases"]].index(name)


def page_of(workflows: Workflows, workspace: Workspace) -> str:
    target = workflows.results.parent / f"{workspace.id}.html"
    path, _ = write_workflow_report(workspace, target)
    return path.read_text()


def test_the_cli_writes_a_self_contained_page_naming_every_phase(workflows: Workflows) -> None:
    assert "finished.html" in workflows.stdout and "opens offline" in workflows.stdout
    assert_self_contained(workflows.page)
    for entry in workflows.finished.manifest()["phases"]:
        assert f'<tr data-phase="{entry["name"]}" data-state="done">' in workflows.page
    assert 'id="workflow-state">done<' in workflows.page
    assert "not run yet" not in workflows.page


def test_every_chart_embeds_strict_json(workflows: Workflows) -> None:
    ids = chart_ids(workflows.page)
    ensemble = position(workflows.finished, "ensemble_optimization")
    validation = position(workflows.finished, "validation")
    assert ids == ["timeline-chart", f"weights-chart-{ensemble}", f"equity-chart-{validation}"]
    for div_id in ids:
        data, layout = figure(workflows.page, div_id)  # raises on NaN or Infinity
        assert data and layout["title"]["text"]
        for trace in data:
            for axis in ("x", "y"):
                if isinstance(trace.get(axis), dict):  # base64 numbers: finite too
                    assert np.isfinite(values(trace[axis])).all(), (div_id, trace.get("name"))


def test_the_regime_table_shows_each_choice_of_the_analysis_file(workflows: Workflows) -> None:
    analysis = read(workflows.finished, "analysis/regime_optimal_params.json")
    rows = [
        c
        for c in cells(workflows.page)
        if c.get("table") == "regime-table" and c["data-phase"] == "regime_analysis"
    ]
    for family, chosen in analysis["families"].items():
        for label, choice in chosen["regimes"]["regime_vol"].items():
            shown = {
                c["data-field"]: c
                for c in rows
                if (c["data-classifier"], c["data-regime"], c["data-family"])
                == ("regime_vol", label, family)
            }
            assert shown["trial"]["data-value"] == repr(float(choice["trial"]))
            assert float(shown["value"]["data-value"]) == choice["value"]
            assert float(shown["trades"]["data-value"]) == choice["trades"]
            assert float(shown["bars"]["data-value"]) == choice["bars"]
            for name, value in choice["params"].items():
                expected = "none" if value is None else str(value)
                assert f"{name}={expected}" in shown["params"]["text"]
    best = {
        c["data-regime"]: c["text"]
        for c in rows
        if c["data-field"] == "best_family" and c["data-classifier"] == "regime_vol"
    }
    assert best == analysis["best_family"]["regime_vol"] == {"0": "momentum", "1": "reversion"}
    for label, name in analysis["label_names"]["regime_vol"].items():
        assert f"{label} · {name}" in workflows.page


def test_fallbacks_are_marked_with_their_reason(workflows: Workflows) -> None:
    strict = read(workflows.finished, "analysis/regime_optimal_params-strict_analysis.json")
    reasons = {
        (c["data-regime"], c["data-family"]): c["text"]
        for c in cells(workflows.page)
        if c.get("table") == "regime-table"
        and c["data-phase"] == "strict_analysis"
        and c["data-field"] == "reason"
    }
    expected = {
        (label, family): choice["reason"]
        for family, chosen in strict["families"].items()
        for label, choice in chosen["regimes"]["regime_vol"].items()
    }
    assert reasons == expected and len(expected) == 4
    assert all("no trial made 100000 trades here" in r for r in reasons.values())
    assert workflows.page.count('<span class="flag">fallback</span>') == 4


def test_the_weights_chart_and_table_show_the_ensemble_file(workflows: Workflows) -> None:
    weights = read(workflows.finished, "analysis/ensemble_weights.json")
    calm = weights["regimes"]["0"]
    index = next(i for i, m in enumerate(calm["members"]) if m["family"] == "momentum")
    member, weight = calm["members"][index], calm["weights"][index]
    ensemble = position(workflows.finished, "ensemble_optimization")
    data, _ = figure(workflows.page, f"weights-chart-{ensemble}")
    (bar,) = [t for t in data if t["name"].startswith(f"momentum #{member['trial']}")]
    assert list(bar["x"]) == ["overall", "0 · calmest", "1 · most volatile"]
    assert values(bar["y"])[1] == weight
    shown = [
        c
        for c in cells(workflows.page)
        if c.get("table") == "weights-table"
        and c["data-field"] == "weight"
        and (c["data-regime"], c["data-trial"]) == ("0", str(member["trial"]))
    ]
    assert [float(c["data-value"]) for c in shown] == [weight]
    assert f"lookback={member['params']['lookback']}" in bar["hovertext"]
    # Every blend's weights, overall included, are drawn: each bar stacks to the blend's sum.
    stacked = sum(values(t["y"]) for t in data)
    blends = [weights["overall"], *weights["regimes"].values()]
    np.testing.assert_allclose(stacked, [sum(b["weights"]) for b in blends])


def test_switch_markers_and_regime_bands_follow_the_per_bar_file(workflows: Workflows) -> None:
    result = read(workflows.finished, "performance/validation.json")
    per_bar = pd.read_parquet(workflows.finished.path("signals/validation.parquet"))
    data, _ = figure(workflows.page, f"equity-chart-{position(workflows.finished, 'validation')}")
    (marks,) = [t for t in data if t["name"].startswith("regime switch")]
    assert result["switch_count"] > 0
    assert len(marks["x"]) == result["switch_count"] == per_bar["switch"].sum()
    switched = pd.DatetimeIndex([s["time"] for s in result["switches"]]).tz_convert(None)
    assert (pd.DatetimeIndex(marks["x"]) == switched).all()
    bands = [t for t in data if t.get("fill") == "toself"]
    regimes = per_bar["regime"].to_numpy()
    runs = 1 + int((regimes[1:] != regimes[:-1]).sum())
    assert sum(t["x"].count(None) for t in bands) == runs
    (equity,) = [t for t in data if t["name"] == "adaptive strategy equity"]
    np.testing.assert_array_equal(values(equity["y"]), per_bar["equity"].to_numpy())


def test_the_verdict_metrics_trials_and_pbo_are_those_of_the_validation_file(
    workflows: Workflows,
) -> None:
    result = read(workflows.finished, "performance/validation.json")
    assert result["passed"]
    assert '<span id="verdict-text">passed</span>' in workflows.page
    shown = cells(workflows.page)
    metrics = {c["data-metric"]: c for c in shown if c.get("table") == "metrics-table"}
    for name in ("sharpe", "total_return", "max_drawdown", "trades", "dsr", "holdout_p"):
        assert float(metrics[name]["data-value"]) == result["metrics"][name]
    trials = {c["data-field"]: int(c["data-value"]) for c in shown if c.get("table") == "trials"}
    assert trials == result["trials"]
    (pbo,) = [c for c in shown if c.get("table") == "pbo" and c["data-field"] == "pbo"]
    assert float(pbo["data-value"]) == result["metrics"]["pbo"]
    members = {
        (c["data-family"], c.get("data-trial")): float(c["data-value"])
        for c in shown
        if c.get("table") == "members-table" and c["data-field"] == "sharpe"
    }
    assert members.pop(("adaptive", None)) == result["metrics"]["sharpe"]
    assert members == {(m["family"], str(m["trial"])): m["sharpe"] for m in result["members"]}


def test_an_interrupted_workflow_renders_what_ran_and_says_not_run_yet(
    workflows: Workflows,
) -> None:
    states = [e["state"] for e in workflows.interrupted.manifest()["phases"]]
    assert states == ["done", "done", "done", "pending", "pending"]
    page = page_of(workflows, workflows.interrupted)
    assert chart_ids(page) == ["timeline-chart"]
    assert page.count('class="muted not-shown">not run yet</p>') == 2
    assert "none yet (phase validation: not run yet)" in page
    assert any(c.get("table") == "regime-table" for c in cells(page))


def test_a_failed_phase_shows_its_error_and_an_unreadable_file_is_named(
    workflows: Workflows,
) -> None:
    manifest = workflows.failed.manifest()
    (failed,) = [e for e in manifest["phases"] if e["state"] == "failed"]
    assert failed["name"] == "validation" and "regimes.0.weights.0" in failed["error"]
    out = workflows.results.parent / "failed.html"
    result = factory(
        "workflow", "report", "wf-failed", "--results", str(workflows.results), "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    # The edited weights file the validation refused is unreadable for the report too.
    assert "not shown: ensemble_optimization:" in result.stderr
    page = out.read_text()
    assert 'class="error phase-error">' in page and "regimes.0.weights.0" in page
    assert "its file cannot be read" in page
    assert '<tr data-path="analysis/ensemble_weights.json" data-used-by="validation">' in page


def test_a_cdn_page_loads_plotly_from_its_cdn(workflows: Workflows) -> None:
    target = workflows.results.parent / "cdn.html"
    path, _ = write_workflow_report(workflows.finished, target, plotly="cdn")
    page = path.read_text()
    assert "cdn.plot.ly" in page and "plotly.js v" not in page[:200_000]
    assert path.stat().st_size < len(workflows.page) - 4_500_000
    with pytest.raises(FactoryError, match="plotly must be one of full, cdn"):
        write_workflow_report(workflows.finished, target, plotly="partial")


def test_an_unknown_workflow_is_a_clear_error_without_traceback(workflows: Workflows) -> None:
    result = factory("workflow", "report", "nope", "--results", str(workflows.results))
    assert result.returncode == 2
    assert "no workflow 'nope'" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.browser
def test_chromium_draws_every_chart_offline(workflows: Workflows) -> None:
    if not CHROMIUM.exists() and os.environ.get("FACTORY_REQUIRE_BROWSER") != "1":
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    path = workflows.results.parent / "finished.html"
    requested, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri(), wait_until="load")
        drawn = page.evaluate(
            """ids => ids.map(id => {
                const div = document.getElementById(id);
                return [id, div.querySelectorAll('.main-svg').length, div._fullData.length];
            })""",
            chart_ids(workflows.page),
        )
        browser.close()
    assert errors == []
    assert requested == [path.as_uri()]  # the page fetched nothing else
    for div_id, svgs, traces in drawn:
        assert svgs > 0 and traces > 0, div_id
