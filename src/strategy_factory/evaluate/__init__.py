"""Metrics, selection-honesty statistics and promotion criteria."""

from strategy_factory.evaluate.criteria import (
    CriterionResult,
    PromotionCriteria,
    Range,
    Verdict,
)
from strategy_factory.evaluate.metrics import METRIC_COLUMNS, metrics_table, strategy_metrics
from strategy_factory.evaluate.overfitting import (
    SharpeStats,
    deflated_sharpe_ratio,
    deflated_sharpe_ratio_from_stats,
    expected_max_sharpe,
    minimum_track_record_length,
    probabilistic_sharpe_ratio,
    probabilistic_sharpe_ratio_from_stats,
    sharpe_stats,
)
from strategy_factory.evaluate.pbo import (
    PBOResult,
    probability_of_backtest_overfitting,
    probability_of_backtest_overfitting_from_blocks,
)
from strategy_factory.evaluate.reality_check import (
    SPAPValues,
    hansen_spa,
    romano_wolf_stepm,
    white_reality_check,
)

__all__ = [
    "METRIC_COLUMNS",
    "CriterionResult",
    "PBOResult",
    "PromotionCriteria",
    "Range",
    "SPAPValues",
    "SharpeStats",
    "Verdict",
    "deflated_sharpe_ratio",
    "deflated_sharpe_ratio_from_stats",
    "expected_max_sharpe",
    "hansen_spa",
    "metrics_table",
    "minimum_track_record_length",
    "probabilistic_sharpe_ratio",
    "probabilistic_sharpe_ratio_from_stats",
    "probability_of_backtest_overfitting",
    "probability_of_backtest_overfitting_from_blocks",
    "romano_wolf_stepm",
    "sharpe_stats",
    "strategy_metrics",
    "white_reality_check",
]
