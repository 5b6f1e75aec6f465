"""`factory data` end to end through the real console entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strategy_factory.data import BarCatalog
from tests.factory_command import factory


def test_help_lists_commands(factory_home: Path) -> None:
    result = factory("--help")
    assert result.returncode == 0
    assert "data" in result.stdout


def test_list_json(factory_home: Path) -> None:
    result = factory("data", "list", "--json")
    assert result.returncode == 0, result.stderr
    listed = {row["symbol"]: row for row in json.loads(result.stdout)}
    assert set(listed) >= {"SP500", "NASDAQ", "VIX", "MSFT"}
    assert listed["SP500"]["rows"] == 5031
    assert listed["VIX"]["has_volume"] is False


def test_synth_then_show(factory_home: Path) -> None:
    made = factory("data", "synth", "--symbol", "syn", "--bars", "3000", "--planted", "0.1")
    assert made.returncode == 0, made.stderr
    assert BarCatalog(factory_home / "bars").meta("SYN").extra_columns == ("planted",)
    shown = factory("data", "show", "SYN", "--rows", "2")
    assert shown.returncode == 0
    assert "planted" in shown.stdout


def test_bad_import_is_a_clean_error(factory_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,open,high,low,close\n2024-01-01,1,2,0.5,x\n")
    result = factory("data", "import", str(path), "--symbol", "BAD")
    assert result.returncode == 2
    assert "bad.csv line 2 (data row 1): close is 'x', not a number" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (factory_home / "bars" / "BAD.parquet").exists()


@pytest.mark.parametrize("args", [["data", "show", "NOPE"], ["data", "synth", "--bars", "1"]])
def test_user_mistakes_exit_2_without_traceback(factory_home: Path, args: list[str]) -> None:
    result = factory(*args)
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args", [["data", "synth", "--bars", "many"], ["data", "list", "--bogus"], ["data"]]
)
def test_parser_mistakes_exit_2_with_usage_not_a_traceback(
    factory_home: Path, args: list[str]
) -> None:
    result = factory(*args)
    assert result.returncode == 2
    assert "Usage: " in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
