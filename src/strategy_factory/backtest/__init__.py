"""Backtests: signal rules, the vectorized grid simulation, costs, trades, signal capture,
blends of strategies."""

from strategy_factory.backtest.blend import (
    BLEND_FIELDS,
    BlendDetail,
    replay_weight_sets,
    simulate_blend,
)
from strategy_factory.backtest.capture import (
    CapturedSignals,
    capture_signals,
    read_signals,
    replay,
)
from strategy_factory.backtest.changes import SignalChanges, signal_changes
from strategy_factory.backtest.config import (
    Execution,
    RegimeFilter,
    StrategyConfig,
    StrategyGrid,
    parse_regime_filter,
    regime_filter_text,
)
from strategy_factory.backtest.detail import (
    TRADE_COLUMNS,
    StrategyDetail,
    config_signal,
    simulate_config,
)
from strategy_factory.backtest.grid import (
    CONFIG_COLUMNS,
    GridStats,
    simulate_configs,
    simulate_grid,
)
from strategy_factory.backtest.market import Market
from strategy_factory.backtest.paper import Account, PaperBars, paper_backtest, trade_forward
from strategy_factory.backtest.rules import (
    RULES,
    load_predictions,
    mean_reversion,
    momentum,
    rule_predictions,
)
from strategy_factory.backtest.signals import config_signals

__all__ = [
    "BLEND_FIELDS",
    "CONFIG_COLUMNS",
    "RULES",
    "TRADE_COLUMNS",
    "Account",
    "BlendDetail",
    "CapturedSignals",
    "Execution",
    "GridStats",
    "Market",
    "PaperBars",
    "RegimeFilter",
    "SignalChanges",
    "StrategyConfig",
    "StrategyDetail",
    "StrategyGrid",
    "capture_signals",
    "config_signal",
    "config_signals",
    "load_predictions",
    "mean_reversion",
    "momentum",
    "paper_backtest",
    "parse_regime_filter",
    "read_signals",
    "regime_filter_text",
    "replay",
    "replay_weight_sets",
    "rule_predictions",
    "signal_changes",
    "simulate_blend",
    "simulate_config",
    "simulate_configs",
    "simulate_grid",
    "trade_forward",
]
