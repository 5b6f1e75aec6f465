"""Invariants of the engine, checked by hypothesis on random bars, predictions and filters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategy_factory.backtest import (
    Execution,
    Market,
    StrategyGrid,
    simulate_config,
    simulate_grid,
)
from strategy_factory.data import synthetic_bars
from strategy_factory.evaluate import METRIC_COLUMNS, metrics_table, strategy_metrics

PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEVELS = [-0.02, -0.01, -0.004, 0.0, 0.004, 0.01, 0.02]


@st.composite
def markets(draw: st.DrawFn, min_bars: int = 2, max_bars: int = 120) -> Market:
    """Seeded synthetic bars (any frequency) with drawn predictions, z-scores and regimes."""
    n = draw(st.integers(min_bars, max_bars))
    freq = draw(st.sampled_from(["1D", "4h", "17min"]))
    bars = synthetic_bars(n, freq=freq, seed=draw(st.integers(0, 10_000)), mean_duration=20)
    levels = st.one_of(st.sampled_from(LEVELS), st.floats(-0.03, 0.03, allow_subnormal=False))
    predictions = pd.Series(draw(st.lists(levels, min_size=n, max_size=n)), index=bars.index)
    zscore = np.array(
        draw(st.lists(st.sampled_from([np.nan, -1.0, 0.0, 0.5, 2.0]), min_size=n, max_size=n))
    )
    labels = draw(st.lists(st.sampled_from([-1, 0, 1, 2]), min_size=n, max_size=n))
    regimes = pd.DataFrame({"regime_a": np.array(labels, dtype=np.int64)}, index=bars.index)
    return Market(
        "X",
        bars,
        predictions,
        zscore=zscore,
        regimes=regimes,
        regime_labels={"regime_a": [0, 1, 2]},
    )


GRID = StrategyGrid(
    thresholds=[0.0, 0.005, 0.015],
    z_limits=[None, 0.5],
    regime_filters=[None, {"regime_a": [0, 2]}],
    modes=["long_short", "long_only"],
)
executions = st.builds(
    Execution,
    fill=st.sampled_from(["next_open", "next_close"]),
    fee_bps=st.sampled_from([0.0, 1.0, 20.0]),
    slippage_bps=st.sampled_from([0.0, 5.0]),
)


def _same(a: object, b: object) -> bool:
    if isinstance(a, pd.Timedelta) or isinstance(b, pd.Timedelta):
        return a == b
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    # Streaming sums and numpy's pairwise sums round differently: a Sharpe ratio of ~1e-5
    # (a mean return near zero) can differ by ~1e-12 in absolute terms, nothing more.
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@PROPERTY
@given(markets(), executions)
def test_table_agrees_with_plain_functions_on_every_cell(
    market: Market, execution: Execution
) -> None:
    stats = simulate_grid(market, GRID, execution)
    table = metrics_table(stats)
    for row in range(len(table)):
        expected = strategy_metrics(simulate_config(market, stats.config(row), execution))
        for column in (*METRIC_COLUMNS, "max_drawdown_duration"):
            assert _same(table[column].iloc[row], expected[column]), (row, column)


@PROPERTY
@given(markets(min_bars=3), executions, st.data())
def test_no_look_ahead(market: Market, execution: Execution, data: st.DataObject) -> None:
    n = len(market.bars)
    t = data.draw(st.integers(0, n - 2), label="t")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    later = slice(t + 1, None)
    bars = market.bars.copy()
    bars.iloc[later, :4] *= np.exp(rng.normal(0, 0.2, size=(n - t - 1, 1)))
    predictions = market.predictions.copy()
    predictions.iloc[later] = rng.normal(0, 0.02, size=n - t - 1)
    zscore = market.zscore_values().copy()
    zscore[later] = rng.normal(0, 2, size=n - t - 1)
    regimes = market.regimes.copy()
    regimes.iloc[later, 0] = rng.integers(-1, 3, size=n - t - 1)
    changed = Market("X", bars, predictions, zscore, regimes, market.regime_labels)
    stats = simulate_grid(market, GRID, execution)
    for row in range(len(stats)):
        before = simulate_config(market, stats.config(row), execution).per_bar
        after = simulate_config(changed, stats.config(row), execution).per_bar
        np.testing.assert_array_equal(before["position"][: t + 2], after["position"][: t + 2])
        np.testing.assert_array_equal(before["signal"][: t + 1], after["signal"][: t + 1])
        np.testing.assert_array_equal(before["equity"][: t + 1], after["equity"][: t + 1])


@PROPERTY
@given(markets(), executions)
def test_zero_predictions_make_no_trades(market: Market, execution: Execution) -> None:
    flat = Market(
        "X",
        market.bars,
        market.predictions * 0.0,
        market.zscore,
        market.regimes,
        market.regime_labels,
    )
    table = metrics_table(simulate_grid(flat, GRID, execution))
    assert (table[["trades", "position_changes", "max_drawdown_bars"]] == 0).all().all()
    assert (table[["total_return", "cagr", "exposure", "max_drawdown"]] == 0.0).all().all()
    no_value = ["win_rate", "expectancy", "payoff_ratio", "profit_factor", "sqn", "sqn_100"]
    assert table[[*no_value, "sharpe", "sortino"]].isna().all().all()
    assert np.isposinf(table["weekly_consistency"]).all()


@PROPERTY
@given(markets(), executions)
def test_doubling_fees_never_raises_total_return(market: Market, execution: Execution) -> None:
    doubled = Execution(execution.fill, 2 * execution.fee_bps + 1.0, execution.slippage_bps)
    cheap = metrics_table(simulate_grid(market, GRID, execution))["total_return"].to_numpy()
    dear = metrics_table(simulate_grid(market, GRID, doubled))["total_return"].to_numpy()
    assert (dear <= cheap + 1e-12 * (1 + np.abs(cheap))).all()


@PROPERTY
@given(markets(), executions)
def test_threshold_above_every_prediction_trades_nothing(
    market: Market, execution: Execution
) -> None:
    top = float(np.abs(market.predictions).max())
    grid = StrategyGrid(
        thresholds=[top, top + 1.0], z_limits=[None, 2.0], modes=["long_short", "long_only"]
    )
    table = metrics_table(simulate_grid(market, grid, execution))
    assert (table["trades"] == 0).all() and (table["total_return"] == 0).all()


@PROPERTY
@given(markets(), executions)
def test_long_only_never_goes_short(market: Market, execution: Execution) -> None:
    stats = simulate_grid(market, GRID, execution)
    for row in np.flatnonzero(stats.configs["mode"] == "long_only"):
        detail = simulate_config(market, stats.config(row), execution)
        assert (detail.positions >= 0).all()
        assert (detail.trades["direction"] == 1).all()


@PROPERTY
@given(markets(), executions)
def test_trade_returns_compound_to_the_total_return(market: Market, execution: Execution) -> None:
    stats = simulate_grid(market, GRID, execution)
    table = metrics_table(stats)
    for row in range(len(stats)):
        detail = simulate_config(market, stats.config(row), execution)
        compounded = np.prod(1.0 + detail.trade_returns) - 1.0
        assert math.isclose(
            compounded, table["total_return"].iloc[row], rel_tol=1e-9, abs_tol=1e-12
        )


@PROPERTY
@given(markets(min_bars=4), executions, st.integers(1, 4))
def test_block_sums_are_the_bar_returns_of_each_block(
    market: Market, execution: Execution, blocks: int
) -> None:
    stats = simulate_grid(market, GRID, execution, blocks=blocks)
    assert stats.block_sums is not None and stats.block_squares is not None
    assert stats.block_sums.shape == (blocks, len(GRID))
    size = len(market.bars) // blocks
    for cell in range(len(stats)):
        returns = simulate_config(market, stats.config(cell), execution).returns.to_numpy()
        used = returns[len(returns) - size * blocks :].reshape(blocks, size)
        np.testing.assert_allclose(stats.block_sums[:, cell], used.sum(axis=1), atol=1e-12)
        np.testing.assert_allclose(stats.block_squares[:, cell], (used**2).sum(axis=1), atol=1e-12)
    assert simulate_grid(market, GRID, execution).block_sums is None


@pytest.mark.parametrize("spike", [2.0, 2.5])
def test_a_short_ruined_by_a_spike_trades_every_later_bar_as_the_plain_functions_do(
    spike: float,
) -> None:
    """A short through a spike exits with no equity left: exactly none at 2× (no costs,
    prices powers of two, the exit at an open above the closes before it), less than none
    at 2.5×. The grid kernel, which skips flat bars, must then trade every bar (entries
    fail; with no equity at all each bar's return is 0/0) as the per-bar functions do."""
    bars = synthetic_bars(80, freq="1D", seed=3)
    price = np.full(80, 128.0)
    price[12:15] = 127.0 * spike
    price[15:] = 128.0 * spike
    price[40:] = np.linspace(128.0 * spike, 100.0, 40)
    bars = bars.assign(open=price, high=price, low=price, close=price)
    predictions = np.zeros(80)
    predictions[1:14] = -0.02  # short from bar 2, through the spike, out at bar 15
    if spike != 2.0:  # with no equity at all, every later bar counts without a signal
        predictions[20:25] = 0.02  # entries an account with no equity cannot make
        predictions[30:33] = -0.001  # below the higher threshold: one cell tries
        predictions[50:52] = 0.02
    market = Market("X", bars, pd.Series(predictions, index=bars.index))
    grid = StrategyGrid(thresholds=[0.0005, 0.005, 0.01], modes=["long_short"])
    execution = Execution(fill="next_open", fee_bps=0.0, slippage_bps=0.0)
    stats = simulate_grid(market, grid, execution)
    table = metrics_table(stats)
    assert (stats.stats["final_equity"] <= 0.0).all()
    for row in range(len(table)):
        expected = strategy_metrics(simulate_config(market, stats.config(row), execution))
        for column in (*METRIC_COLUMNS, "max_drawdown_duration"):
            assert _same(table[column].iloc[row], expected[column]), (row, column)
