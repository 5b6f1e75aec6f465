"""`factory features` end to end through the real console entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategy_factory.cli.output import moment
from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.evolution.config import DataOptions
from strategy_factory.execution.dataset import DatasetSpec, split_points
from strategy_factory.features import available_features, build_feature_matrix, make_target
from strategy_factory.features.report import summarize_features
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


def test_report_json_over_all_bars(factory_home: Path) -> None:
    made = factory("data", "synth", "--symbol", "SYN", "--bars", "3000", "--planted", "0.3")
    assert made.returncode == 0, made.stderr
    result = factory(
        "features", "report", "SYN", "--json", "--period", "all", "--train-end", "2020-01-02"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["symbol"] == "SYN" and report["bars"] == 3000
    assert report["period"] == {
        "name": "all",
        "first": "2020-01-01T00:00:00+00:00",
        "last": "2020-01-03T01:59:00+00:00",
        "bars": 3000,
    }
    assert report["regime_train_end"] == "2020-01-02"
    rows = {row["feature"]: row for row in report["features"]}
    assert rows["ret_1"]["coverage"] == pytest.approx(2999 / 3000)
    # The planted column predicts the next bar's return; nothing else here does.
    assert rows["exo_planted"]["ic"] > 0.15
    assert abs(rows["rsi_14"]["ic"]) < 0.1
    assert set(report["regimes"]) == {"regime_gmm", "regime_hmm", "regime_trend"}
    assert sum(report["regimes"]["regime_hmm"].values()) == 3000
    # Every bar includes the holdout: said on stderr and in the JSON.
    [warning] = report["warnings"]
    assert "includes the selection and holdout periods" in warning
    assert "warning:" in result.stderr and "holdout" in result.stderr


def _training_bars(catalog: BarCatalog, symbol: str) -> pd.DataFrame:
    """The bars before the selection period `factory evolve` would start on ``symbol``."""
    options = DataOptions()
    spec = split_points(
        DatasetSpec(symbol=symbol), options.selection_fraction, options.holdout_fraction
    )
    bars = catalog.load(symbol)
    return bars.loc[bars.index < pd.Timestamp(spec.selection_start)]


def test_report_defaults_to_the_training_period(catalog: BarCatalog) -> None:
    bars = synthetic_bars(3000, freq="1h", seed=5, planted_strength=0.3)
    catalog.save("SYN", bars)
    training = _training_bars(catalog, "SYN")
    assert 0.5 * len(bars) < len(training) < 0.7 * len(bars)
    result = factory("features", "report", "SYN", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["bars"] == 3000 and report["warnings"] == []
    assert report["period"] == {
        "name": "train",
        "first": training.index[0].isoformat(),
        "last": training.index[-1].isoformat(),
        "bars": len(training),
    }
    assert report["regime_train_end"] == training.index[-1].isoformat()
    assert sum(report["regimes"]["regime_gmm"].values()) == len(training)
    # The training rows' features against targets that stay inside the training period.
    expected = summarize_features(
        build_feature_matrix(bars).loc[training.index], make_target(training)
    )
    rows = {row["feature"]: row for row in report["features"]}
    for name in ("exo_planted", "rsi_14", "ret_1"):
        assert rows[name]["ic"] == pytest.approx(expected.loc[name, "ic"], rel=1e-12)
        assert rows[name]["coverage"] == pytest.approx(expected.loc[name, "coverage"])

    # Whatever happens after the training period changes nothing in the report.
    later = bars.index > training.index[-1]
    shaken = bars.copy()
    scale = np.where(later, np.random.default_rng(0).uniform(0.5, 2.0, len(bars)), 1.0)
    shaken[["open", "high", "low", "close"]] = bars[["open", "high", "low", "close"]].mul(
        scale, axis=0
    )
    shaken["planted"] = np.where(later, -bars["planted"], bars["planted"])
    catalog.save("SYN", shaken, replace=True)
    again = factory("features", "report", "SYN", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == report


def test_report_table_names_the_period(catalog: BarCatalog) -> None:
    catalog.save("SYN", synthetic_bars(3000, freq="1h", seed=5))
    training = _training_bars(catalog, "SYN")
    result = factory("features", "report", "SYN")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    first, last = moment(training.index[0]), moment(training.index[-1])
    assert f"training period {first} → {last}" in text
    assert f"{len(training)} bars" in text
    assert "--period all" in text
    assert "warning" not in result.stderr


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
        (["features", "report", "SP500", "--period", "holdout"], "--period is train or all"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    factory_home: Path, args: list[str], message: str
) -> None:
    result = factory(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
