"""`factory features` end to end through the real console entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strategy_factory.data import BarCatalog
from strategy_factory.features import available_features
from tests.factory_command import factory


def test_list_json_matches_the_library(factory_home: Path) -> None:
    result = factory("features", "list", "SP500", "--reference", "vix", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    store = BarCatalog(factory_home / "bars")
    expected = available_features(store.load("SP500"), {"VIX": store.load("VIX")})
    assert [row["name"] for row in listed] == expected
    assert all(row["description"] for row in listed)
    assert "ref_VIX_level" in expected and "volume_z_20" in expected


def test_list_table_for_a_symbol_without_volume(factory_home: Path) -> None:
    result = factory("features", "list", "VIX")
    assert result.returncode == 0, result.stderr
    assert "rsi_14" in result.stdout and "volume_z_20" not in result.stdout


def test_report_json(factory_home: Path) -> None:
    made = factory("data", "synth", "--symbol", "SYN", "--bars", "3000", "--planted", "0.3")
    assert made.returncode == 0, made.stderr
    result = factory("features", "report", "SYN", "--json", "--train-end", "2020-01-02")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["symbol"] == "SYN" and report["bars"] == 3000
    rows = {row["feature"]: row for row in report["features"]}
    assert rows["ret_1"]["coverage"] == pytest.approx(2999 / 3000)
    # The planted column predicts the next bar's return; nothing else here does.
    assert rows["exo_planted"]["ic"] > 0.15
    assert abs(rows["rsi_14"]["ic"]) < 0.1
    assert set(report["regimes"]) == {"regime_gmm", "regime_hmm", "regime_trend"}
    assert sum(report["regimes"]["regime_hmm"].values()) == 3000


def test_report_table_with_references(factory_home: Path) -> None:
    result = factory("features", "report", "SP500", "-r", "NASDAQ", "-r", "VIX")
    assert result.returncode == 0, result.stderr
    for text in ("ref_NASDAQ_corr_60", "regime_vix", "VIX >= 30", "calmest"):
        assert text in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["features", "list", "NOPE"], "unknown symbol 'NOPE'"),
        (["features", "report", "SP500", "--train-end", "soon"], "train_end 'soon'"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    factory_home: Path, args: list[str], message: str
) -> None:
    result = factory(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
