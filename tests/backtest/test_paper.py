"""Paper trading continues a backtest exactly: cut anywhere, in any number of batches."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategy_factory.backtest import (
    Account,
    Execution,
    Market,
    StrategyConfig,
    paper_backtest,
    simulate_config,
    trade_forward,
)
from strategy_factory.backtest.grid import fill_prices
from tests.backtest.test_properties import markets

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXECUTIONS = st.builds(
    Execution,
    fill=st.sampled_from(["next_open", "next_close"]),
    fee_bps=st.sampled_from([0.0, 1.0, 25.0]),
    slippage_bps=st.sampled_from([0.0, 2.0, 40.0]),
)


@PROPERTY
@given(
    market=markets(min_bars=3),
    execution=EXECUTIONS,
    threshold=st.sampled_from([0.0, 0.004, 0.01]),
    long_only=st.booleans(),
    cuts=st.lists(st.floats(0.0, 1.0), max_size=4),
)
def test_a_backtest_continued_in_batches_is_the_whole_backtest(
    market: Market,
    execution: Execution,
    threshold: float,
    long_only: bool,
    cuts: list[float],
) -> None:
    config = StrategyConfig(
        "X", threshold, z_limit=1.0, regime_filter={"regime_a": [0, 2]},
        mode="long_only" if long_only else "long_short",
    )  # fmt: skip
    whole = simulate_config(market, config, execution)  # the backtest: the independent reference
    signal = whole.per_bar["signal"].to_numpy()
    fill = fill_prices(market.bars, execution)
    close = market.bars["close"].to_numpy()
    n = len(close)
    # Batches: the first bar starts the account, then cuts anywhere in the rest.
    edges = sorted({1, n, *(1 + int(c * (n - 1)) for c in cuts)})
    account = Account(pending=int(signal[0]))
    positions, returns, equity = [], [], []
    for start, stop in itertools.pairwise(edges):
        batch = trade_forward(
            account, signal[start:stop], fill[start:stop], close[start:stop], execution
        )
        positions.append(batch.positions)
        returns.append(batch.returns)
        equity.append(batch.equity)
        account = batch.account
    # Bit for bit: the same arithmetic in the same order.
    assert np.array_equal(np.concatenate(positions), whole.positions.to_numpy()[1:])
    assert np.array_equal(np.concatenate(equity), whole.equity.to_numpy()[1:])
    assert np.array_equal(np.concatenate(returns), whole.returns.to_numpy()[1:])
    once = paper_backtest(signal, fill, close, execution)
    assert once.account == account
    assert Account.from_json(account.to_json()) == account
