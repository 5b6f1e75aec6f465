"""`factory backtest` end to end through the real console entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strategy_factory.backtest import (
    Execution,
    Market,
    StrategyConfig,
    momentum,
    read_signals,
    simulate_config,
)
from strategy_factory.data import BarCatalog
from strategy_factory.evaluate import METRIC_COLUMNS, strategy_metrics
from strategy_factory.features import volatility_zscore
from tests.factory_command import factory


def test_grid_on_two_tickers_as_json(factory_home: Path) -> None:
    result = factory(
        "backtest", "--symbol", "SP500", "--ticker", "NASDAQ", "--rule", "momentum",
        "--lookback", "10", "--threshold", "0", "--threshold", "0.02", "--z-limit", "none",
        "--z-limit", "1.5", "--mode", "long_short", "--mode", "long_only", "--fee-bps", "2",
        "--slippage-bps", "1", "--fill", "next_close", "--top", "5", "--sort", "sharpe", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["strategies"] == 16 and len(report["top"]) == 5
    sharpes = [row["sharpe"] for row in report["top"]]
    assert sharpes == sorted(sharpes, reverse=True)
    best = report["top"][0]
    assert set(METRIC_COLUMNS) <= set(best)
    bars = BarCatalog(factory_home / "bars").load(best["ticker"])
    market = Market(
        best["ticker"],
        bars,
        momentum(bars["close"], 10),
        zscore=volatility_zscore(bars["close"].to_numpy()),
    )
    config = StrategyConfig(best["ticker"], best["threshold"], best["z_limit"], None, best["mode"])
    expected = strategy_metrics(simulate_config(market, config, Execution("next_close", 2, 1)))
    assert best["total_return"] == pytest.approx(expected["total_return"], rel=1e-12)
    assert best["trades"] == expected["trades"]


def test_saved_predictions_regime_filter_and_capture(factory_home: Path, tmp_path: Path) -> None:
    bars = BarCatalog(factory_home / "bars").load("MSFT").iloc[-1500:]
    path = tmp_path / "predictions.csv"
    momentum(bars["close"], 5).rename("MSFT").to_frame().reset_index().to_csv(path, index=False)
    result = factory(
        "backtest", "--symbol", "MSFT", "--predictions", str(path), "--threshold", "0.01",
        "--regime-filter", "none", "--regime-filter", '{"regime_trend": [0, 1]}',
        "--top", "2", "--capture-dir", str(tmp_path / "capture"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Top 2 by sqn" in result.stdout and "simulated 2 strategies" in result.stdout
    captured = read_signals(tmp_path / "capture" / "signals.parquet")
    assert len(captured.configs()) == 2
    assert captured.frame["timestamp"].min() == bars.index[0]
    filters = list(captured.configs()["regime_filter"])
    assert sorted(filters, key=str) == [None, {"regime_trend": (0, 1)}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regime-filter", '{"regime_moon": [1]}'], "unknown regime column 'regime_moon'"),
        (["--rule", "momentum", "--predictions", "p.csv"], "either --rule or --predictions"),
        (["--fill", "vwap", "--sort", "luck"], "unknown fill mode 'vwap'"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    factory_home: Path, args: list[str], message: str
) -> None:
    result = factory("backtest", "--symbol", "SP500", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
