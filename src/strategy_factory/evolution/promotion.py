"""The holdout gate: pick a model's best configuration on the selection period, judge it
on the untouched holdout, and charge it for every configuration the run tried.

A configuration is a *candidate* when its selection metrics meet the criteria (all but
DSR and PBO, which describe the search rather than one configuration). The candidate
with the best SQN-100 is traded on the holdout, and promoted only when its holdout
metrics meet the criteria, its Deflated Sharpe Ratio — deflated by the number of
configurations tried across the whole run — reaches the minimum, and any PBO limit holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.backtest import Execution, StrategyConfig
from strategy_factory.evaluate import (
    PromotionCriteria,
    Verdict,
    deflated_sharpe_ratio_from_stats,
    probability_of_backtest_overfitting_from_blocks,
    sharpe_stats,
)
from strategy_factory.execution.dataset import Dataset
from strategy_factory.execution.units import strategy_detail
from strategy_factory.models import TrainedModel

_SEARCH_METRICS = ("dsr", "pbo")
# CSCV over 16 blocks has 12,870 halves; a seeded sample of 2,000 estimates PBO to about
# ±0.01 at a sixth of the cost, which matters when the run's grid holds thousands of cells.
PBO_COMBINATIONS = 2_000
_RANKING = ["sqn_100", "sharpe", "trades"]
# SQN of a handful of trades is noise (two lucky trades with alike returns score 200):
# without a candidate, rank only configurations with at least this many trades.
MIN_RANKED_TRADES = 30


@dataclass
class Trials:
    """What the run has tried so far: the N, spread of Sharpe ratios and PBO inputs."""

    count: int = 0
    bar_sharpes: list[float] = field(default_factory=list)
    block_sums: list[np.ndarray] = field(default_factory=list)
    block_squares: list[np.ndarray] = field(default_factory=list)
    rows_per_block: int = 0

    def add(self, result: dict[str, Any]) -> None:
        """Count one model's simulated grid (``simulate_unit`` output)."""
        rows = pd.DataFrame(result["rows"])
        self.count += len(rows)
        per_bar = pd.to_numeric(rows["sharpe"], errors="coerce") / math.sqrt(
            result["periods_per_year"]
        )
        self.bar_sharpes.extend(float(v) for v in per_bar[np.isfinite(per_bar)])
        self.block_sums.append(np.asarray(result["block_sums"]))
        self.block_squares.append(np.asarray(result["block_squares"]))
        self.rows_per_block = int(result["rows_per_block"])

    def sharpe_variance(self) -> float:
        """Variance of the per-bar Sharpe ratios of every configuration tried."""
        return float(np.var(self.bar_sharpes, ddof=1)) if len(self.bar_sharpes) > 1 else 0.0

    def pbo(self) -> float | None:
        """PBO by CSCV over every primary-ticker configuration tried (None if too few)."""
        sums = np.concatenate(self.block_sums, axis=1) if self.block_sums else np.empty((0, 0))
        if sums.ndim != 2 or sums.shape[1] < 2 or self.rows_per_block < 1:
            return None
        squares = np.concatenate(self.block_squares, axis=1)
        return probability_of_backtest_overfitting_from_blocks(
            sums, squares, self.rows_per_block, max_combinations=PBO_COMBINATIONS
        ).pbo


@dataclass(frozen=True)
class Judgement:
    """One model's best configuration, judged on the holdout."""

    config: StrategyConfig
    candidate: bool
    selection_metrics: dict[str, Any]
    holdout_metrics: dict[str, Any]
    verdict: Verdict
    holdout_returns: pd.Series

    @property
    def promoted(self) -> bool:
        return self.candidate and self.verdict.passed

    @property
    def reason(self) -> str:
        """Why the configuration was or was not promoted, in a sentence."""
        if self.promoted:
            return "met every criterion on the holdout"
        if not self.candidate:
            return "no configuration met the criteria on the selection period"
        return "; ".join(r.reason for r in self.verdict.misses)


def selection_criteria(criteria: PromotionCriteria) -> PromotionCriteria:
    """The per-configuration part of the criteria (without DSR and PBO)."""
    return PromotionCriteria.model_validate(
        {**criteria.model_dump(), **dict.fromkeys(_SEARCH_METRICS)}
    )


def best_configuration(rows: pd.DataFrame, criteria: PromotionCriteria) -> tuple[int, bool]:
    """Position of the best row by SQN-100 among candidates, and whether it is one.

    Without a candidate, the best among rows with at least :data:`MIN_RANKED_TRADES`
    trades (or among all rows when none has that many).
    """
    table = rows.reset_index(drop=True)
    numeric = table[_RANKING].apply(pd.to_numeric, errors="coerce")
    passing = selection_criteria(criteria).mask(table).to_numpy()
    enough = (numeric["trades"] >= MIN_RANKED_TRADES).to_numpy()
    pool = numeric[passing] if passing.any() else numeric[enough] if enough.any() else numeric
    order = pool.sort_values(_RANKING, ascending=False, na_position="last", kind="stable")
    return int(order.index[0]), bool(passing.any())


def strategy_of(row: dict[str, Any]) -> StrategyConfig:
    """The strategy configuration of a metrics row."""
    return StrategyConfig(
        ticker=row["ticker"],
        threshold=float(row["threshold"]),
        z_limit=None if row.get("z_limit") is None else float(row["z_limit"]),
        regime_filter=row.get("regime_filter"),
        mode=row["mode"],
    )


def judge(
    dataset: Dataset,
    model: TrainedModel,
    row: dict[str, Any],
    candidate: bool,
    execution: Execution,
    criteria: PromotionCriteria,
    trials: Trials,
) -> Judgement:
    """Trade the configuration of ``row`` on the holdout and judge it."""
    config = strategy_of(row)
    detail, metrics = strategy_detail(dataset, model, config, execution, "holdout")
    returns = detail.returns.iloc[1:]
    metrics = {k: v for k, v in metrics.items() if k != "max_drawdown_duration"}
    metrics["dsr"] = deflated_sharpe(returns.to_numpy(), trials)
    metrics["pbo"] = trials.pbo()
    return Judgement(
        config=config,
        candidate=candidate,
        selection_metrics=row,
        holdout_metrics=metrics,
        verdict=criteria.judge(metrics),
        holdout_returns=detail.returns,
    )


def deflated_sharpe(returns: np.ndarray, trials: Trials) -> float:
    """DSR of the holdout returns, deflated by the run's trials (NaN when it cannot trade)."""
    if returns.size < 3 or not np.any(returns):
        return float("nan")
    stats = sharpe_stats(returns)
    if not math.isfinite(stats.sharpe):
        return float("nan")
    return float(
        deflated_sharpe_ratio_from_stats(
            stats.sharpe,
            stats.n_observations,
            max(trials.count, 1),
            trials.sharpe_variance(),
            skew=stats.skew,
            kurtosis=stats.kurtosis,
        )
    )
