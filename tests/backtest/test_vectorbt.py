"""The engine against vectorbt (``Portfolio.from_signals``, all-in, both directions).

Matching semantics: vectorbt holds at bar t the signal of bar t-1 and fills at that
bar's open (or close), with the same fees and slippage. Total return, position changes
and the trade list (entries, exits, directions, P&L) must agree to 1e-9. One intended
difference: our trade return divides the P&L by the equity at entry (entry fee
included) so that trade returns compound to the total return; vectorbt divides by the
entry notional without the fee.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt

from strategy_factory.backtest import (
    Execution,
    Market,
    StrategyGrid,
    simulate_config,
    simulate_grid,
)
from strategy_factory.evaluate import metrics_table


def reference_signal(market: Market, row: pd.Series) -> np.ndarray:
    """The signal of one config row, computed here from its definition (not the engine's)."""
    prediction = market.predictions.to_numpy()
    signal = np.sign(prediction) * (np.abs(prediction) > row["threshold"])
    if row["mode"] == "long_only":
        signal[signal < 0] = 0
    if row["z_limit"] is not None:
        signal[~(market.zscore_values() <= row["z_limit"])] = 0
    for column, labels in (row["regime_filter"] or {}).items():
        signal[~market.regimes[column].isin(labels).to_numpy()] = 0
    return signal.astype(np.int8)


def vectorbt_portfolio(market: Market, signals: np.ndarray, execution: Execution) -> vbt.Portfolio:
    """vectorbt holding, from each bar's fill, the previous bar's signal (columns = configs)."""
    held = np.zeros_like(signals)
    held[1:] = signals[:-1]
    price_column = "open" if execution.fill == "next_open" else "close"
    return vbt.Portfolio.from_signals(
        market.bars["close"].to_numpy()[:, None],
        entries=held == 1,
        exits=held != 1,
        short_entries=held == -1,
        short_exits=held != -1,
        size=np.inf,
        price=market.bars[price_column].to_numpy()[:, None],
        fees=execution.fee,
        slippage=execution.slippage,
        init_cash=1.0,
    )


GRID = StrategyGrid(
    thresholds=[0.0, 0.01, 0.03],
    z_limits=[None, 1.0],
    regime_filters=[None, {"regime_trend": [1]}, {"regime_trend": [1], "regime_vol": [0, 1]}],
    modes=["long_short", "long_only"],
)
SYNTHETIC_GRID = StrategyGrid(
    thresholds=[0.0, 0.005, 0.015],
    z_limits=[None, 0.5],
    regime_filters=[None, {"regime_vol": [0]}],
    modes=["long_short", "long_only"],
)
EXECUTIONS = [
    Execution(fill="next_open", fee_bps=5, slippage_bps=2),
    Execution(fill="next_close", fee_bps=1, slippage_bps=10),
]


def _compare(market: Market, grid: StrategyGrid, execution: Execution) -> None:
    table = metrics_table(simulate_grid(market, grid, execution))
    signals = np.stack([reference_signal(market, row) for _, row in table.iterrows()], axis=1)
    portfolio = vectorbt_portfolio(market, signals, execution)
    expected_return = np.asarray(portfolio.total_return())
    assert table["trades"].sum() > 1000
    np.testing.assert_allclose(table["total_return"], expected_return, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(table["position_changes"], np.asarray(portfolio.orders.count()))
    np.testing.assert_array_equal(table["trades"], np.asarray(portfolio.positions.count()))


@pytest.mark.parametrize("execution", EXECUTIONS, ids=["next_open", "next_close"])
@pytest.mark.parametrize("name", ["sp500", "msft"])
def test_grid_matches_vectorbt_on_real_data(
    name: str, execution: Execution, request: pytest.FixtureRequest
) -> None:
    _compare(request.getfixturevalue(name), GRID, execution)


@pytest.mark.parametrize("execution", EXECUTIONS, ids=["next_open", "next_close"])
def test_grid_matches_vectorbt_on_synthetic_data(synthetic: Market, execution: Execution) -> None:
    _compare(synthetic, SYNTHETIC_GRID, execution)


@pytest.mark.parametrize("row", [0, 4, 9, 23, 35])
def test_trade_list_matches_vectorbt_positions(sp500: Market, row: int) -> None:
    execution = EXECUTIONS[0]
    stats = simulate_grid(sp500, GRID, execution)
    detail = simulate_config(sp500, stats.config(row), execution)
    signal = reference_signal(sp500, stats.configs.iloc[row])
    records = vectorbt_portfolio(sp500, signal[:, None], execution).positions.records
    trades = detail.trades
    index = sp500.bars.index
    assert len(trades) == len(records) > 10
    np.testing.assert_array_equal(index.get_indexer(trades["entry_time"]), records["entry_idx"])
    np.testing.assert_array_equal(index.get_indexer(trades["exit_time"]), records["exit_idx"])
    np.testing.assert_array_equal(trades["direction"], np.where(records["direction"] == 0, 1, -1))
    np.testing.assert_array_equal(trades["is_open"], records["status"] == 0)
    np.testing.assert_allclose(trades["entry_price"], records["entry_price"], rtol=1e-12)
    np.testing.assert_allclose(trades["exit_price"], records["exit_price"], rtol=1e-12)
    np.testing.assert_allclose(trades["shares"], records["size"], rtol=1e-9)
    np.testing.assert_allclose(trades["pnl"], records["pnl"], rtol=1e-9, atol=1e-12)
    entry_cost = records["size"] * records["entry_price"] + records["entry_fees"]
    np.testing.assert_allclose(trades["return"], records["pnl"] / entry_cost, rtol=1e-9)


def test_detail_equity_matches_vectorbt_value(msft: Market) -> None:
    execution = EXECUTIONS[1]
    stats = simulate_grid(msft, GRID, execution)
    detail = simulate_config(msft, stats.config(7), execution)
    signal = reference_signal(msft, stats.configs.iloc[7])
    value = np.asarray(vectorbt_portfolio(msft, signal[:, None], execution).value())[:, 0]
    np.testing.assert_allclose(detail.equity.to_numpy(), value, rtol=1e-9)
    np.testing.assert_array_equal(detail.per_bar["signal"].to_numpy(), signal)
