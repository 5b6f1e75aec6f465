"""`factory data` end to end through the real console entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import BarCatalog, Regime, regime_path, synthetic_bars
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


def test_import_semicolon_separated_csv(factory_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "euro.csv"
    path.write_text(
        "Date;Open;High;Low;Close;Volume\n"
        "2024-01-02;10;11;9.5;10.5;100\n"
        "2024-01-03;10.5;10.8;10.1;10.2;120\n"
        "2024-01-04;10.2;10.4;10.0;10.3;90\n"
    )
    result = factory("data", "import", str(path), "--symbol", "EURO", "--json")
    assert result.returncode == 0, result.stderr
    bars = BarCatalog(factory_home / "bars").load("EURO")
    assert bars["close"].tolist() == [10.5, 10.2, 10.3]
    assert bars["volume"].tolist() == [100, 120, 90]


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


SYNTH_OPTIONS = ["--bars", "30000", "--freq", "1h", "--start", "2021-03-01", "--seed", "5"]
SYNTH_OPTIONS += ["--volatility", "0.1", "--volatility", "0.3", "--volatility", "0.9"]
SYNTH_OPTIONS += ["--drift", "0.05", "--drift", "0", "--drift", "-0.05", "--mean-duration", "200"]
SYNTH_OPTIONS += ["--planted", "0.2", "--tail-df", "4", "--gap", "0.1", "--start-price", "50"]


def test_synth_exposes_every_generator_option(factory_home: Path) -> None:
    made = factory("data", "synth", "--symbol", "GEN", *SYNTH_OPTIONS, "--json")
    assert made.returncode == 0, made.stderr
    assert "tail_df=4.0" in json.loads(made.stdout)["source"]
    bars = BarCatalog(factory_home / "bars").load("GEN")
    expected = synthetic_bars(
        30_000,
        freq="1h",
        start="2021-03-01",
        seed=5,
        regimes=(Regime(0.05, 0.1), Regime(0.0, 0.3), Regime(-0.05, 0.9)),
        mean_duration=200,
        planted_strength=0.2,
        tail_df=4,
        gap=0.1,
        start_price=50,
    )
    pd.testing.assert_frame_equal(bars, expected, check_freq=False)
    assert len(bars) == 30_000 and bars.index[0] == pd.Timestamp("2021-03-01", tz="UTC")
    # Three regimes, each with its own volatility (hourly bars: 8766 a year).
    state = regime_path(30_000, 200, 3, seed=5)
    returns = np.diff(np.log(bars["close"].to_numpy()))
    realized = [returns[state[1:] == k].std() * np.sqrt(8766) for k in range(3)]
    assert realized == pytest.approx([0.1, 0.3, 0.9], rel=0.05)
    # Student-t(4) innovations: fat tails (a normal's excess kurtosis is 0).
    calm = returns[state[1:] == 2] / 0.9
    assert pd.Series(calm).kurt() > 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bars", "1"], "n_bars must be at least 2"),
        (["--bars", "50000001"], "n_bars is at most 50,000,000"),
        (["--seed", "-1"], "seed must be >= 0"),
        (["--volatility", "0.2", "--volatility", "-0.1"], "positive volatility"),
        (["--volatility", "0.2", "--drift", "0", "--drift", "0.1"], "one value per regime"),
        (["--volatility", "inf"], "must be a finite number"),
        (["--mean-duration", "0.5"], "mean_duration is in bars and must be >= 1"),
        (["--planted", "-0.1"], "planted_strength must be >= 0"),
        (["--planted", "0.98"], "strength^2 + gap < 1"),
        (["--tail-df", "2"], "tail_df (Student-t degrees of freedom) must be above 2"),
        (["--gap", "1"], "gap is the share of variance at the open, in [0, 1)"),
        (["--start-price", "0"], "start_price must be positive"),
        (["--freq", "fortnightly"], "frequency 'fortnightly'"),
        (["--start", "yesterday-ish"], "start 'yesterday-ish' is not a timestamp"),
        (["--bars", "many"], "Invalid value for '--bars'"),
    ],
)
def test_synth_rejects_bad_options_and_stores_nothing(
    factory_home: Path, args: list[str], message: str
) -> None:
    factory("data", "synth", "--symbol", "KEPT", "--bars", "500")
    kept = (factory_home / "bars" / "KEPT.parquet").read_bytes()
    result = factory("data", "synth", "--symbol", "KEPT", "--replace", "--bars", "600", *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())  # rich wraps long lines
    assert "Traceback" not in result.stderr
    assert (factory_home / "bars" / "KEPT.parquet").read_bytes() == kept
    assert sorted(p.name for p in (factory_home / "bars").iterdir()) == ["KEPT.parquet"]
