"""A list of configurations (any mix, not a grid) simulates exactly like the grid's cells."""

from __future__ import annotations

import numpy as np
import pytest

from strategy_factory.backtest import (
    Execution,
    Market,
    StrategyConfig,
    StrategyGrid,
    simulate_configs,
    simulate_grid,
)
from strategy_factory.errors import FactoryError


def test_a_mixed_list_of_configs_equals_the_grid_cells_bit_for_bit(
    sp500: Market, msft: Market
) -> None:
    grid = StrategyGrid(
        thresholds=[0.0, 0.01, 0.03],
        z_limits=[None, 1.0],
        regime_filters=[None, {"regime_trend": [1]}, {"regime_vol": [0, 1]}],
        modes=["long_short", "long_only"],
    )
    execution = Execution(fee_bps=2, slippage_bps=1)
    whole = simulate_grid([sp500, msft], grid, execution, blocks=16)
    # A scrambled subset, configs repeated: each row must equal its grid cell.
    rows = np.random.default_rng(3).choice(len(whole), size=40, replace=True)
    listed = simulate_configs([sp500, msft], [whole.config(int(r)) for r in rows], execution, 16)
    assert len(listed) == 40
    assert np.array_equal(
        listed.stats.drop(columns=["drawdown_start_time", "drawdown_end_time"]).to_numpy(),
        whole.stats.drop(columns=["drawdown_start_time", "drawdown_end_time"]).to_numpy()[rows],
    )
    assert (listed.stats["drawdown_end_time"].to_numpy() == whole.stats["drawdown_end_time"]
            .to_numpy()[rows]).all()  # fmt: skip
    assert np.array_equal(listed.block_sums, whole.block_sums[:, rows])
    assert listed.configs.to_dict("records") == whole.configs.iloc[rows].to_dict("records")


def test_an_unknown_ticker_or_an_empty_list_is_refused(sp500: Market) -> None:
    with pytest.raises(FactoryError, match="no market for ticker"):
        simulate_configs(sp500, [StrategyConfig("MSFT", 0.0)])
    with pytest.raises(FactoryError, match="at least one configuration"):
        simulate_configs(sp500, [])
