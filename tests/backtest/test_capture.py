"""Captured signals survive a Parquet round trip and replay to the same metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategy_factory.backtest import (
    Execution,
    Market,
    StrategyGrid,
    capture_signals,
    read_signals,
    replay,
    simulate_config,
    simulate_grid,
)
from strategy_factory.errors import FactoryError
from strategy_factory.evaluate import METRIC_COLUMNS, metrics_table

GRID = StrategyGrid(
    thresholds=[0.0, 0.02],
    z_limits=[None, 1.0],
    regime_filters=[None, {"regime_trend": [1]}],
    modes=["long_short", "long_only"],
)
EXECUTION = Execution(fill="next_open", fee_bps=2, slippage_bps=1)


@pytest.fixture(scope="module")
def captured(sp500: Market, msft: Market, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    stats = simulate_grid([sp500, msft], GRID, EXECUTION)
    rows = [0, 5, 10, 15, 16, 23, 31]
    path = tmp_path_factory.mktemp("capture") / "signals.parquet"
    capture_signals(path, [sp500, msft], [stats.config(r) for r in rows], EXECUTION)
    return metrics_table(stats).iloc[rows].reset_index(drop=True), path


def test_replay_reproduces_every_metric_without_predictions(
    captured: tuple, sp500: Market, msft: Market
) -> None:
    expected, path = captured
    signals = read_signals(path)
    assert signals.execution == EXECUTION
    bars = {"SP500": sp500.bars[["open", "close"]], "MSFT": msft.bars[["open", "close"]]}
    table = metrics_table(replay(signals, bars))
    pd.testing.assert_frame_equal(table[expected.columns[:5]], expected[expected.columns[:5]])
    for column in (*METRIC_COLUMNS, "max_drawdown_duration"):
        assert table[column].equals(expected[column]) or np.allclose(
            table[column], expected[column], rtol=1e-12, equal_nan=True
        ), column


def test_captured_positions_are_the_simulated_ones(captured: tuple, sp500: Market) -> None:
    _, path = captured
    signals = read_signals(path)
    frame = signals.frame
    first = frame[frame["config_id"] == 0].set_index("timestamp")
    detail = simulate_config(sp500, signals.config(0), EXECUTION)
    np.testing.assert_array_equal(first["position"].to_numpy(), detail.positions.to_numpy())
    np.testing.assert_array_equal(first["signal"].to_numpy(), detail.per_bar["signal"].to_numpy())
    assert first.index.equals(sp500.bars.index)
    assert set(frame.columns) >= {"timestamp", "ticker", "signal", "position", "threshold", "mode"}


def test_replay_needs_the_bars_of_every_ticker(captured: tuple, sp500: Market) -> None:
    _, path = captured
    with pytest.raises(FactoryError, match="replay needs the bars of MSFT; have SP500"):
        replay(read_signals(path), {"SP500": sp500.bars})


def test_replay_with_bars_missing_a_captured_bar(
    captured: tuple, sp500: Market, msft: Market
) -> None:
    _, path = captured
    holed = sp500.bars.drop(sp500.bars.index[100])
    with pytest.raises(FactoryError, match="the bars of SP500 have no bar at"):
        replay(read_signals(path), {"SP500": holed, "MSFT": msft.bars})


def test_reading_a_file_that_is_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(FactoryError, match="not a signal capture file"):
        read_signals(path)
    with pytest.raises(FactoryError, match="no such capture file"):
        read_signals(tmp_path / "missing.parquet")
