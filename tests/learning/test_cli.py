"""``factory learn forward`` and ``factory learn forward show``, in-process (every ``learn``
command loads the whole library stack: a subprocess per call costs seconds)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.learning.allocator import AllocatorSettings
from strategy_factory.learning.forward import forward_summary
from tests.learning.conftest import REF, STORED, SYN, Promoted


def test_forward_updates_then_shows_a_promotion(promoted: Promoted) -> None:
    promoted.catalog.append("SYN", SYN.iloc[STORED:7_300])
    promoted.catalog.append("REF", REF.iloc[STORED:7_200])
    runner = CliRunner()
    updated = runner.invoke(app, ["learn", "forward", "--json"])
    assert updated.exit_code == 0, updated.output
    report = json.loads(updated.output)
    [entry] = report["promotions"]
    assert (report["added"], entry["added"], entry["status"]) == (200, 200, "waiting")
    assert entry["reason"] == "waiting for bars of REF after 2020-10-26 23:00"
    shown = runner.invoke(app, ["learn", "forward", "show", promoted.promotion.id])
    assert shown.exit_code == 0, shown.output
    assert f"Forward record of promotion {promoted.promotion.id} (SYN)" in shown.output
    summary = forward_summary(promoted.store, promoted.promotion.id)
    assert summary["bars"] == 200
    for name in ("bars", "total_return", "sharpe", "max_drawdown"):
        assert name in shown.output
    assert f"{summary['total_return']:.4g}" in shown.output
    as_json = runner.invoke(app, ["learn", "forward", "show", promoted.promotion.id, "--json"])
    assert json.loads(as_json.output)["bars"] == 200
    table = runner.invoke(app, ["learn", "forward"])
    assert table.exit_code == 0, table.output
    assert "0 forward bars recorded" in table.output
    missing = runner.invoke(app, ["learn", "forward", "show", "nope"])
    assert isinstance(missing.exception, NotFoundError)
    assert "no promoted model 'nope'" in str(missing.exception)


@pytest.mark.parametrize("args", [["learn", "--help"], ["learn", "forward", "--help"]])
def test_help_names_the_commands(args: list[str]) -> None:
    shown = CliRunner().invoke(app, args)
    assert shown.exit_code == 0 and "forward" in shown.output


def test_the_cycle_and_its_steps_from_the_command_line(promoted: Promoted) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["learn", "settings", "set", "allocator.max_weight=3"])
    assert isinstance(refused.exception, FactoryError)
    assert "allocator.max_weight" in str(refused.exception)
    shown = runner.invoke(app, ["learn", "settings", "show"])
    default = AllocatorSettings().max_weight
    assert f"max_weight: {default}" in shown.output  # unchanged by the refused value
    changed = runner.invoke(
        app,
        [
            "learn",
            "settings",
            "set",
            "allocator.max_weight=1",
            "allocator.max_cluster_weight=1",
            "allocator.max_volatility=null",
        ],
    )
    assert changed.exit_code == 0, changed.output
    assert "max_weight: 1.0" in runner.invoke(app, ["learn", "settings", "show"]).output

    promoted.catalog.append("SYN", SYN.iloc[STORED:8_000])
    promoted.catalog.append("REF", REF.iloc[STORED:8_000])
    ran = runner.invoke(app, ["learn", "cycle", "--period", "2026-12-01"])
    assert ran.exit_code == 0, ran.output
    assert "1000 forward bars recorded" in ran.output
    record = json.loads(runner.invoke(app, ["learn", "knowledge", "--json"]).output)
    assert record["period"] == "2026-12-01" and record["periods"] == ["2026-12-01"]
    assert runner.invoke(app, ["learn", "knowledge"]).output.startswith("# Learning summary")
    bad = runner.invoke(app, ["learn", "knowledge", "yesterday"])
    assert "write YYYY-MM-DD" in str(bad.exception)

    allocation = json.loads(runner.invoke(app, ["learn", "rebalance", "--json"]).output)
    assert allocation["state"] == "allocated"
    assert allocation["weights"] == pytest.approx({promoted.promotion.id: 1.0}, abs=1e-6)
    judged = json.loads(runner.invoke(app, ["learn", "monitor", "--json"]).output)
    assert list(judged["states"]) == [promoted.promotion.id]
    flagged = [key for key, v in judged["states"].items() if v["state"] == "flagged"]
    listed = json.loads(runner.invoke(app, ["learn", "alerts", "--json"]).output)
    assert [alert["promotion_id"] for alert in listed] == flagged


def test_an_alert_is_acknowledged_from_the_command_line(promoted: Promoted) -> None:
    alert, _ = promoted.store.alerts.raise_alert(
        promotion_id=promoted.promotion.id,
        test="cusum",
        statistic=8.0,
        threshold=6.0,
        evidence={},
    )
    runner = CliRunner()
    listed = runner.invoke(app, ["learn", "alerts", "--open"])
    assert promoted.promotion.id in listed.output
    acked = runner.invoke(app, ["learn", "alerts", "ack", str(alert.id), "--by", "ana"])
    assert acked.exit_code == 0 and f"alert {alert.id} acknowledged by ana" in acked.output
    assert "no overfitting alerts" in runner.invoke(app, ["learn", "alerts", "--open"]).output
