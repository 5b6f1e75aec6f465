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
    parse_regime_filter,
    read_signals,
    simulate_config,
)
from strategy_factory.data import BarCatalog
from strategy_factory.evaluate import METRIC_COLUMNS, strategy_metrics
from strategy_factory.evolution.config import DataOptions
from strategy_factory.features import default_labelers, label_regimes, volatility_zscore
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
    assert report["regime_fit"] == {}  # no regime filter: no labeler was fitted
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
    # Bars are cut to the predictions' span; the labelers see its first 60% only.
    first, last = bars.index[0], bars.index[899]
    assert (
        f"regime labelers for MSFT fitted on {first:%Y-%m-%d} → {last:%Y-%m-%d} (900 of 1500 bars"
    ) in " ".join(result.stdout.split())
    captured = read_signals(tmp_path / "capture" / "signals.parquet")
    assert len(captured.configs()) == 2
    assert captured.frame["timestamp"].min() == bars.index[0]
    filters = list(captured.configs()["regime_filter"])
    assert sorted(filters, key=str) == [None, {"regime_trend": (0, 1)}]


def _training_share() -> float:
    options = DataOptions()
    return 1 - options.holdout_fraction - options.selection_fraction


def test_regime_labelers_are_fitted_on_the_training_share_by_default(factory_home: Path) -> None:
    result = factory(
        "backtest", "--symbol", "SP500", "--rule", "momentum", "--lookback", "10",
        "--regime-filter", '{"regime_gmm": [0]}', "--regime-filter", '{"regime_hmm": [0]}',
        "--top", "2", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    bars = BarCatalog(factory_home / "bars").load("SP500")
    training = bars.index[: int(len(bars) * _training_share())]
    assert report["regime_fit"] == {
        "SP500": {
            "first": training[0].isoformat(),
            "last": training[-1].isoformat(),
            "bars": len(training),
            "total_bars": len(bars),
        }
    }
    # The ranked cells trade on labels of labelers that saw nothing after the training share.
    labelers = {name: default_labelers()[name] for name in ("regime_gmm", "regime_hmm")}
    causal = label_regimes(bars, train_end=training[-1], labelers=labelers)
    assert not causal.equals(label_regimes(bars, labelers=labelers))
    market = Market(
        "SP500",
        bars,
        momentum(bars["close"], 10),
        zscore=volatility_zscore(bars["close"].to_numpy()),
        regimes=causal,
        regime_labels={"regime_gmm": [0, 1, 2], "regime_hmm": [0, 1]},
    )
    for row in report["top"]:
        regime_filter = parse_regime_filter(row["regime_filter"])
        config = StrategyConfig(
            "SP500", row["threshold"], row["z_limit"], regime_filter, row["mode"]
        )
        expected = strategy_metrics(simulate_config(market, config, Execution("next_open", 1, 1)))
        assert row["total_return"] == pytest.approx(expected["total_return"], rel=1e-12)
        assert row["trades"] == expected["trades"]


def test_regime_train_end_chooses_the_fitted_bars(factory_home: Path) -> None:
    result = factory(
        "backtest", "--symbol", "SP500", "--regime-filter", '{"regime_gmm": [0]}',
        "--regime-train-end", "2010-12-31", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    fit = json.loads(result.stdout)["regime_fit"]["SP500"]
    bars = BarCatalog(factory_home / "bars").load("SP500")
    assert fit["first"] == bars.index[0].isoformat()
    assert fit["last"] == "2010-12-31T00:00:00+00:00"
    assert fit["bars"] == int((bars.index <= "2010-12-31").sum())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regime-filter", '{"regime_moon": [1]}'], "unknown regime column 'regime_moon'"),
        (["--rule", "momentum", "--predictions", "p.csv"], "either --rule or --predictions"),
        (["--fill", "vwap", "--sort", "luck"], "unknown fill mode 'vwap'"),
        (
            ["--regime-filter", '{"regime_gmm": [0]}', "--regime-train-end", "soon"],
            "--regime-train-end takes a date",
        ),
    ],
)
def test_user_mistakes_exit_2_without_traceback(
    factory_home: Path, args: list[str], message: str
) -> None:
    result = factory("backtest", "--symbol", "SP500", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
