"""``factory learn forward`` and ``factory learn forward show``, in-process (every ``learn``
command loads the whole library stack: a subprocess per call costs seconds)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.errors import NotFoundError
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
