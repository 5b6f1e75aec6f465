"""The holdout gate: pick a model's best configuration on the selection period, judge it
on the untouched holdout, and charge the search for what it tried.

A configuration is a *candidate* when its selection metrics meet the per-configuration
criteria (not the search statistics below). The candidate ranked best by the run's key
(:data:`RANKINGS`: SQN-100 for ``holy_grail``, Sharpe for ``evidence``) is traded on the
holdout. Without a candidate, the best configuration with at least
:data:`~strategy_factory.store.MIN_RANKED_TRADES` trades is traded there too, so the user
sees how far it is from the criteria; with no such configuration nothing is judged.
Two questions, two tests:

- **Selection**: is the chosen configuration's selection-period Sharpe better than the
  best that luck would give over the trials the run made? Its *Deflated Sharpe Ratio*
  (``dsr``): PSR against the expected maximum of N̂ effective trials (see
  :mod:`.trials`; López de Prado, Lipton & Zoonekynd 2026, :func:`deflated_sharpe`),
  with V the variance of a trial's Sharpe ratio under the null — σ²[SR] at SR = 0 from
  the configuration's own skewness, kurtosis and autocorrelation — rather than the
  cross-sectional variance of the trials, which real differences in skill inflate.
- **Holdout**: is the holdout Sharpe above zero, given that the run has looked at the
  holdout K times (once per judged generation)? The one-sided p-value of PSR(0) with the
  autocorrelation-aware σ[SR], Šidák-corrected for K looks (``holdout_p``).

Reported beside them (LLZ 2026): σ[SR] of the holdout, the bars still needed for the
holdout PSR to reach 95% (MinTRL), the power of the holdout test against the Sharpe the
selection period showed, and the false discovery rate at that power (prior 5%).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.backtest import Execution, StrategyConfig
from strategy_factory.evaluate import (
    CriterionResult,
    PromotionCriteria,
    Verdict,
    additional_bars_needed,
    deflated_sharpe,
    false_discovery_rate,
    holdout_test,
    power,
    return_moments,
    sharpe_std,
)
from strategy_factory.evolution.trials import Trials
from strategy_factory.execution.dataset import Dataset
from strategy_factory.execution.units import strategy_detail
from strategy_factory.models import TrainedModel
from strategy_factory.store import MIN_RANKED_TRADES

# What describes the search rather than one configuration: judged on the holdout only.
SEARCH_METRICS = ("dsr", "pbo", "holdout_p")
# The key the best configuration of a model is chosen by, then its tie-breaks.
RANKINGS: dict[str, list[str]] = {
    "sqn_100": ["sqn_100", "sharpe", "trades"],
    "sharpe": ["sharpe", "sqn_100", "trades"],
}
HOLDOUT_ALPHA = 0.05
FDR_PRIOR = 0.05


@dataclass(frozen=True)
class Judgement:
    """One model's best configuration, judged on the holdout."""

    config: StrategyConfig
    candidate: bool
    selection_metrics: dict[str, Any]
    holdout_metrics: dict[str, Any]
    verdict: Verdict
    selection_verdict: Verdict
    holdout_returns: pd.Series

    @property
    def promoted(self) -> bool:
        return self.candidate and self.verdict.passed

    @property
    def misses(self) -> list[dict[str, Any]]:
        """The criteria that kept it from promotion, on the period that decided: the
        selection period for a configuration that was not a candidate, else the holdout."""
        if self.promoted:
            return []
        if not self.candidate:
            return [miss_json(r, "selection") for r in self.selection_verdict.misses]
        return [miss_json(r, "holdout") for r in self.verdict.misses]

    @property
    def reason(self) -> str:
        """Why the configuration was or was not promoted, in a sentence."""
        if self.promoted:
            return "met every criterion on the holdout"
        briefs = ", ".join(m["text"] for m in self.misses)
        if not self.candidate:
            return (
                "no configuration met the criteria on the selection period; "
                f"the best missed: {briefs}"
            )
        return f"missed on the holdout: {briefs}"


def miss_json(result: CriterionResult, period: str) -> dict[str, Any]:
    """One missed criterion as plain values: metric, period, value, range and a brief."""
    return {
        "metric": result.metric,
        "period": period,
        "value": result.value,
        "min": result.range.min,
        "max": result.range.max,
        "text": result.brief,
    }


def selection_criteria(criteria: PromotionCriteria) -> PromotionCriteria:
    """The per-configuration part of the criteria (without the search statistics)."""
    return PromotionCriteria.model_validate(
        {**criteria.model_dump(), **dict.fromkeys(SEARCH_METRICS)}
    )


def best_configuration(
    rows: pd.DataFrame, criteria: PromotionCriteria, rank_by: str = "sqn_100"
) -> tuple[int | None, bool]:
    """Position of the best row by ``rank_by`` among candidates, and whether it is one.

    Without a candidate, the best among rows with at least
    :data:`~strategy_factory.store.MIN_RANKED_TRADES` trades; None when no row has that
    many (SQN and profit factor of two trades say nothing: such a model is not judged).
    """
    ranking = RANKINGS[rank_by]
    table = rows.reset_index(drop=True)
    numeric = table[ranking].apply(pd.to_numeric, errors="coerce")
    passing = selection_criteria(criteria).mask(table).to_numpy()
    enough = (numeric["trades"] >= MIN_RANKED_TRADES).to_numpy()
    pool = numeric[passing] if passing.any() else numeric[enough]
    if pool.empty:
        return None, False
    order = pool.sort_values(ranking, ascending=False, na_position="last", kind="stable")
    return int(order.index[0]), bool(passing.any())


def rank_key(row: Mapping[str, Any], rank_by: str) -> tuple[float, ...]:
    """The sort key of a configuration's selection metrics by ``rank_by`` and its
    tie-breaks (higher is better; a missing or undefined metric ranks last)."""
    return tuple(_score(row.get(name)) for name in RANKINGS[rank_by])


def _score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return -math.inf
    return float(value)


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
    """Trade the configuration of ``row`` on the holdout and judge it (one holdout look)."""
    config = strategy_of(row)
    selection, _ = strategy_detail(dataset, model, config, execution, "selection")
    detail, metrics = strategy_detail(dataset, model, config, execution, "holdout")
    metrics = {k: v for k, v in metrics.items() if k != "max_drawdown_duration"}
    looks = trials.look()
    metrics |= selection_statistics(selection.returns.iloc[1:].to_numpy(), trials)
    metrics |= holdout_statistics(
        detail.returns.iloc[1:].to_numpy(), looks, metrics["selection_sharpe_per_bar"]
    )
    metrics["pbo"] = trials.pbo()
    return Judgement(
        config=config,
        candidate=candidate,
        selection_metrics=row,
        holdout_metrics=metrics,
        verdict=criteria.judge(metrics),
        selection_verdict=selection_criteria(criteria).judge(row),
        holdout_returns=detail.returns,
    )


def selection_statistics(returns: np.ndarray, trials: Trials) -> dict[str, Any]:
    """The selection question: DSR of the chosen configuration's selection Sharpe ratio."""
    moments = _moments(returns)
    if moments is None:
        return {"dsr": math.nan, "selection_sharpe_per_bar": math.nan}
    null_std = float(sharpe_std(0.0, moments.skew, moments.kurtosis, moments.autocorrelation,
                                moments.n))  # fmt: skip
    effective = trials.effective()
    return {
        "dsr": float(deflated_sharpe(moments.sharpe, effective, null_std**2)),
        "selection_sharpe_per_bar": moments.sharpe,
        "trials_distinct": trials.count,
        "trials_effective": effective,
        "trials_simulated": trials.simulated,
        "trial_sharpe_variance": trials.sharpe_variance(),
    }


def holdout_statistics(returns: np.ndarray, looks: int, promised: float) -> dict[str, Any]:
    """The holdout question: its Sharpe ratio against zero, Šidák-corrected for ``looks``.

    ``promised``: the per-bar Sharpe ratio the selection period showed, the alternative
    the power (and so the false discovery rate) is stated against.
    """
    moments = _moments(returns)
    if moments is None:
        return {"holdout_p": math.nan, "holdout_looks": looks}
    shape = (moments.skew, moments.kurtosis, moments.autocorrelation)
    sigma = float(sharpe_std(0.0, *shape, moments.n))
    test = holdout_test([moments.sharpe], [sigma], looks=looks, alpha=HOLDOUT_ALPHA)
    found: dict[str, Any] = {
        "holdout_p": float(test.sidak_p_values[0]),
        "holdout_p_single": float(test.p_values[0]),
        "holdout_looks": looks,
        "holdout_sharpe_per_bar": moments.sharpe,
        "holdout_sigma_sr": float(sharpe_std(moments.sharpe, *shape, moments.n)),
        "holdout_autocorrelation": moments.autocorrelation,
        "min_trl_bars_more": float(additional_bars_needed(moments.n, moments.sharpe, 0.0, *shape)),
    }
    if math.isfinite(promised) and promised > 0:
        detection = float(power(promised, 0.0, moments.n, *shape, alpha=HOLDOUT_ALPHA))
        found |= {
            "power_vs_selection": detection,
            "false_discovery_rate": float(
                false_discovery_rate(HOLDOUT_ALPHA, detection, prior=FDR_PRIOR)
            ),
        }
    return found


def _moments(returns: np.ndarray) -> Any:
    """Moments of a period's bar returns, or None when it never traded (no variance)."""
    if returns.size < 3 or not np.any(returns) or np.ptp(returns) == 0:
        return None
    moments = return_moments(returns)
    usable = (
        all(math.isfinite(v) for v in (moments.sharpe, moments.skew, moments.kurtosis))
        and abs(moments.autocorrelation) < 1
    )
    return moments if usable else None
