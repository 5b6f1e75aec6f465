"""Metrics, selection-honesty statistics, Sharpe inference, trial counting and promotion
criteria."""

from strategy_factory.evaluate.criteria import (
    PRESETS,
    CriterionResult,
    PromotionCriteria,
    Range,
    Verdict,
    criteria_preset,
)
from strategy_factory.evaluate.metrics import (
    METRIC_COLUMNS,
    calmar,
    metrics_table,
    strategy_metrics,
)
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
from strategy_factory.evaluate.sharpe_inference import (
    HoldoutTest,
    ReturnMoments,
    additional_bars_needed,
    deflated_sharpe,
    false_discovery_rate,
    holdout_test,
    min_track_record_length,
    power,
    probabilistic_sharpe,
    probabilistic_sharpe_of_returns,
    return_moments,
    sharpe_std,
)
from strategy_factory.evaluate.trial_counting import (
    TrialCorrelation,
    average_correlation,
    distinct_trials,
    effective_trials,
)

__all__ = [
    "METRIC_COLUMNS",
    "PRESETS",
    "CriterionResult",
    "HoldoutTest",
    "PBOResult",
    "PromotionCriteria",
    "Range",
    "ReturnMoments",
    "SPAPValues",
    "SharpeStats",
    "TrialCorrelation",
    "Verdict",
    "additional_bars_needed",
    "average_correlation",
    "calmar",
    "criteria_preset",
    "deflated_sharpe",
    "deflated_sharpe_ratio",
    "deflated_sharpe_ratio_from_stats",
    "distinct_trials",
    "effective_trials",
    "expected_max_sharpe",
    "false_discovery_rate",
    "hansen_spa",
    "holdout_test",
    "metrics_table",
    "min_track_record_length",
    "minimum_track_record_length",
    "power",
    "probabilistic_sharpe",
    "probabilistic_sharpe_of_returns",
    "probabilistic_sharpe_ratio",
    "probabilistic_sharpe_ratio_from_stats",
    "probability_of_backtest_overfitting",
    "probability_of_backtest_overfitting_from_blocks",
    "return_moments",
    "romano_wolf_stepm",
    "sharpe_stats",
    "sharpe_std",
    "strategy_metrics",
    "white_reality_check",
]
