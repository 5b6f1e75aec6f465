"""Many configurations' signals at once equal each configuration's own signal."""

from __future__ import annotations

import itertools

import numpy as np

from strategy_factory.backtest import Market, StrategyConfig, config_signal, config_signals


def test_every_signal_equals_config_signal_across_thresholds_filters_and_modes(
    sp500: Market,
) -> None:
    configs = [
        StrategyConfig("SP500", threshold, z_limit, regime_filter, mode)
        for threshold, z_limit, regime_filter, mode in itertools.product(
            [0.0, 0.01, 0.05],
            [None, 1.0, -0.5],
            [None, {"regime_trend": [1]}, {"regime_vol": [0, 2]}],
            ["long_short", "long_only"],
        )
    ]
    signals = config_signals(sp500, configs)
    assert signals.shape == (len(configs), len(sp500.bars)) and signals.dtype == np.int8
    for row, config in zip(signals, configs, strict=True):
        assert np.array_equal(row, config_signal(sp500, config)), config
    assert (signals != 0).any() and (signals == -1).any()
