"""Trade and return metrics against hand-worked values and independent references
(the standard library, pandas resampling, vectorbt's return statistics)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vectorbt.returns import nb as vectorbt_returns

from strategy_factory.backtest import (
    Execution,
    Market,
    StrategyGrid,
    momentum,
    simulate_config,
    simulate_grid,
)
from strategy_factory.data import BarCatalog
from strategy_factory.evaluate import metrics_table
from strategy_factory.evaluate.metrics import (
    cagr,
    calmar,
    exposure,
    max_drawdown,
    max_drawdown_bars,
    payoff_ratio,
    position_changes,
    profit_factor,
    sharpe,
    sortino,
    sqn,
    sqn_100,
    weekly_consistency,
    win_rate,
)

TRADES = [0.1, -0.05, 0.2, -0.1, 0.05]


def test_trade_metrics_by_hand() -> None:
    assert win_rate(TRADES) == pytest.approx(0.6)
    assert profit_factor(TRADES) == pytest.approx(0.35 / 0.15)
    assert payoff_ratio(TRADES) == pytest.approx((0.35 / 3) / (0.15 / 2))
    expected_sqn = math.sqrt(5) * statistics.mean(TRADES) / statistics.stdev(TRADES)
    assert sqn(TRADES) == pytest.approx(expected_sqn, rel=1e-12)
    assert sqn_100(TRADES) == pytest.approx(expected_sqn, rel=1e-12)


def test_sqn_100_caps_the_trade_count() -> None:
    trades = np.tile(TRADES, 50)
    assert sqn(trades) / sqn_100(trades) == pytest.approx(math.sqrt(250 / 100))


@pytest.mark.parametrize(
    ("trades", "pf", "payoff"),
    [([], math.nan, math.nan), ([0.1, 0.2], math.inf, math.inf), ([-0.1], 0.0, 0.0)],
)
def test_ratio_edge_cases(trades: list[float], pf: float, payoff: float) -> None:
    for value, expected in ((profit_factor(trades), pf), (payoff_ratio(trades), payoff)):
        assert value == expected or (math.isnan(value) and math.isnan(expected))
    assert math.isnan(sqn(trades[:1])) and math.isnan(sqn([0.1, 0.1]))


def test_drawdown_by_hand() -> None:
    equity = [1, 1.1, 1.05, 1.0, 1.12, 1.2, 1.15, 1.15, 1.1]
    assert max_drawdown(equity) == pytest.approx(1.0 / 1.1 - 1)
    assert max_drawdown_bars(equity) == 3  # peak at bar 1, regained at bar 4 (first of a tie)
    assert max_drawdown_bars([1, 1.2, 1.1, 1.0, 1.05]) == 3  # never regained: to the last bar
    assert max_drawdown_bars([1, 1, 1.1]) == 0


def test_cagr_exposure_and_position_changes_by_hand() -> None:
    assert cagr(1.0, 2.0) == pytest.approx(math.sqrt(2) - 1)
    assert cagr(-1.5, 2.0) == -1.0
    assert exposure([0, 1, 1, -1, 0]) == pytest.approx(0.6)
    assert position_changes([0, 1, 1, -1, 0, 0, 1]) == 4


def test_calmar_by_hand() -> None:
    # 1 → 1.1 → 0.88 → 1.21 over two years: CAGR 10 %, worst drawdown 0.88 / 1.1 - 1 = -20 %.
    equity = [1.0, 1.1, 0.88, 1.21]
    growth = cagr(equity[-1] / equity[0] - 1, 2.0)
    assert growth == pytest.approx(0.1)
    assert max_drawdown(equity) == pytest.approx(-0.2)
    assert calmar(growth, max_drawdown(equity)) == pytest.approx(0.5)
    # Element-wise, as for a metrics table; no drawdown: undefined, not infinite.
    values = calmar(np.array([0.12, -0.05, 0.3]), np.array([-0.3, -0.25, 0.0]))
    np.testing.assert_allclose(values[:2], [0.4, -0.2])
    assert math.isnan(values[2])


def _longest_underwater(equity: list[float]) -> int:
    peak, peak_bar, longest, underwater = equity[0], 0, 0, False
    for t, value in enumerate(equity):
        if value >= peak:
            if underwater:
                longest = max(longest, t - peak_bar)
            peak, peak_bar, underwater = value, t, False
        else:
            underwater = True
    return max(longest, len(equity) - 1 - peak_bar) if underwater else longest


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-0.2, 0.2, allow_subnormal=False), min_size=2, max_size=60))
def test_return_metrics_match_vectorbt_and_a_loop(returns: list[float]) -> None:
    bar_returns = np.array(returns)
    equity = np.cumprod(1 + bar_returns)
    assert max_drawdown_bars(equity) == _longest_underwater(list(equity))
    reference_drawdown = vectorbt_returns.max_drawdown_1d_nb(np.concatenate([[0.0], bar_returns]))
    assert max_drawdown(np.concatenate([[1.0], equity])) == pytest.approx(reference_drawdown)
    for ours, theirs in (
        (sharpe(bar_returns, 252), vectorbt_returns.sharpe_ratio_1d_nb(bar_returns, 252)),
        (sortino(bar_returns, 252), vectorbt_returns.sortino_ratio_1d_nb(bar_returns, 252)),
    ):
        if np.isfinite(theirs) and np.std(bar_returns) > 1e-12:
            assert ours == pytest.approx(theirs, rel=1e-9)


def _pandas_weekly_consistency(returns: pd.Series) -> float:
    weeks = returns.resample("W-SUN").sum()
    if weeks.mean() <= 0:
        return math.inf
    return weeks.std() / weeks.mean() if len(weeks) > 1 else math.nan


@st.composite
def bar_returns(draw: st.DrawFn) -> pd.Series:
    gaps = draw(st.lists(st.integers(1, 60 * 24 * 20), min_size=1, max_size=80))
    minutes = np.cumsum([0, *gaps])
    start = pd.Timestamp("2021-03-01", tz="UTC") + pd.Timedelta(
        minutes=draw(st.integers(0, 10_080))
    )
    index = start + pd.to_timedelta(minutes, unit="min")
    values = draw(
        st.lists(
            st.floats(-0.05, 0.06, allow_subnormal=False), min_size=len(index), max_size=len(index)
        )
    )
    return pd.Series(values, index=index)


@settings(max_examples=200, deadline=None)
@given(bar_returns())
def test_weekly_consistency_matches_pandas_resample(returns: pd.Series) -> None:
    ours, expected = weekly_consistency(returns), _pandas_weekly_consistency(returns)
    if math.isnan(expected) or math.isinf(expected):
        assert ours == expected or (math.isnan(ours) and math.isnan(expected))
    else:
        assert ours == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_grid_weekly_consistency_matches_pandas_on_real_data(shared_bars: BarCatalog) -> None:
    bars = shared_bars.load("SP500")
    market = Market("SP500", bars, momentum(bars["close"], 5))
    grid = StrategyGrid(thresholds=[0.0, 0.01, 0.02, 0.04], modes=["long_short", "long_only"])
    execution = Execution(fee_bps=1)
    stats = simulate_grid(market, grid, execution)
    table = metrics_table(stats)
    for row in range(len(table)):
        returns = simulate_config(market, stats.config(row), execution).returns
        assert table["weekly_consistency"].iloc[row] == pytest.approx(
            _pandas_weekly_consistency(returns), rel=1e-9
        )
