"""Phase 4, validation: the adaptive strategy on the holdout, judged by the promotion criteria.

Member signals are computed from the bars over the holdout (predictions are causal, so
their warm-up comes from earlier bars), regime labels come from classifiers fitted on
the training period, and the blend switches members and weights at every regime change.
The verdict is charged for the search: the Deflated Sharpe Ratio counts every discovery
trial and every weight set replayed, the holdout p-value every validation run so far
(Šidák), and the PBO comes from the discovery trials' block returns. Each member traded
alone on the holdout is reported next to the adaptive strategy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.backtest import Execution, GridStats, replay_weight_sets
from strategy_factory.data import bars_per_year
from strategy_factory.evaluate import (
    deflated_sharpe,
    metrics_table,
    probability_of_backtest_overfitting_from_blocks,
    return_moments,
    sharpe_std,
)
from strategy_factory.evolution.promotion import holdout_statistics
from strategy_factory.workflow.adaptive import AdaptiveRun, plan_of, run_adaptive
from strategy_factory.workflow.backtester import PBO_BLOCKS
from strategy_factory.workflow.config import ParameterDiscovery, Validation
from strategy_factory.workflow.files import Discovery, EnsembleWeights, load
from strategy_factory.workflow.phases.context import PhaseContext
from strategy_factory.workflow.workspace import read_parquet, write_json, write_parquet

MOST_SWITCHES = 500


def _metrics(stats: pd.Series, symbol: str, execution: Execution) -> dict[str, Any]:
    """The promotion metrics of one simulated account (a row of kernel statistics)."""
    frame = pd.DataFrame([stats.to_dict()]).infer_objects()
    row = metrics_table(GridStats(pd.DataFrame([{"ticker": symbol}]), frame, execution))
    values = row.drop(columns=["ticker", "max_drawdown_duration"]).iloc[0]
    return {name: float(value) for name, value in values.items()}


def _trial_count(discovery: Discovery, ensemble: EnsembleWeights) -> dict[str, int]:
    trials = sum(
        1 for f in discovery.families.values() for r in f.trials if r.overall.get("trades")
    )
    weight_sets = ensemble.overall.weight_sets_tried + sum(
        b.weight_sets_tried for b in ensemble.regimes.values()
    )
    return {"discovery_trials": trials, "weight_sets": weight_sets, "total": trials + weight_sets}


def _selection_dsr(selection: AdaptiveRun, trials: int) -> dict[str, Any]:
    returns = selection.detail.returns.iloc[1:].to_numpy()
    if returns.size < 3 or np.ptp(returns) == 0:
        return {"dsr": math.nan, "selection_sharpe_per_bar": math.nan}
    moments = return_moments(returns)
    null = float(
        sharpe_std(0.0, moments.skew, moments.kurtosis, moments.autocorrelation, moments.n)
    )
    return {
        "dsr": float(deflated_sharpe(moments.sharpe, max(trials, 1), null**2)),
        "selection_sharpe_per_bar": moments.sharpe,
    }


def _cscv(cells: pd.DataFrame, rows: int) -> float:
    if len(cells) < 2:
        return math.nan
    sums = cells[[f"s{b}" for b in range(PBO_BLOCKS)]].to_numpy(dtype=np.float64).T
    squares = cells[[f"q{b}" for b in range(PBO_BLOCKS)]].to_numpy(dtype=np.float64).T
    return probability_of_backtest_overfitting_from_blocks(sums, squares, rows).pbo


def _pbo(cells: pd.DataFrame, labels: list[int], classifier: str, rows: int) -> dict[str, Any]:
    """PBO of picking the best trial overall, and of picking it within each regime.

    Each over every trial that traded in that cell. The adaptive strategy is chosen regime
    by regime, so the PBO it is judged by is the bar-weighted mean of the regimes' PBOs.
    """
    traded = cells[cells["trades"] > 0]
    found: dict[str, Any] = {"pbo_single_trial": _cscv(traded[traded["cell"] == "overall"], rows)}
    per_regime, bars = {}, {}
    for label in map(str, labels):
        name = f"{classifier}={label}"
        per_regime[label] = _cscv(traded[traded["cell"] == name], rows)
        bars[label] = int(cells.loc[cells["cell"] == name, "bars"].max())
    usable = {k: v for k, v in per_regime.items() if math.isfinite(v) and bars[k] > 0}
    total = sum(bars[k] for k in usable)
    found["pbo_by_regime"] = per_regime
    found["pbo"] = sum(v * bars[k] for k, v in usable.items()) / total if total else math.nan
    return found


def _members_alone(context: PhaseContext, run: AdaptiveRun, members: list) -> list[dict[str, Any]]:
    data = context.data
    bars = data.bars.iloc[data.period("holdout")]
    identity = np.eye(len(members))
    stats = replay_weight_sets(bars, run.signals, identity, context.config.costs.execution())
    table = metrics_table(stats)
    return [
        {"family": family, "trial": trial, "params": params}
        | {k: float(table.iloc[i][k]) for k in ("trades", "sharpe", "total_return", "max_drawdown")}
        for i, (family, trial, params) in enumerate(members)
    ]


def run(context: PhaseContext) -> dict[str, Any]:
    """Trade the adaptive strategy on the holdout, judge it, write the result and per-bar file."""
    phase: Validation = context.phase
    discovery = load(context.inputs["performance"], Discovery)
    ensemble = load(context.inputs["weights"], EnsembleWeights)
    plan = plan_of(ensemble)
    families = {
        f.name: f
        for p in context.config.phases
        if isinstance(p, ParameterDiscovery) and p.name == discovery.phase
        for f in p.families
    }
    execution = context.config.costs.execution()
    holdout = run_adaptive(context.data, families, plan, "holdout", execution)
    selection = run_adaptive(context.data, families, plan, "selection", execution)
    counts = _trial_count(discovery, ensemble)
    metrics = _metrics(holdout.detail.stats, context.data.symbol, execution)
    metrics |= _selection_dsr(selection, counts["total"])
    metrics |= holdout_statistics(
        holdout.detail.returns.iloc[1:].to_numpy(),
        context.looks + 1,
        metrics["selection_sharpe_per_bar"],
    )
    cells = read_parquet(context.inputs["cells"])
    labels = discovery.labels.get(plan.classifier, [])
    overfitting = _pbo(cells, labels, plan.classifier, discovery.rows_per_block)
    metrics["pbo"] = overfitting.pop("pbo")
    verdict = phase.criteria.judge(metrics)
    switches = holdout.switches()
    per_bar = holdout.detail.per_bar.assign(
        regime=holdout.regimes.to_numpy().astype(np.int16),
        blend=holdout.in_force.to_numpy(),
        switch=holdout.in_force.ne(holdout.in_force.shift()).to_numpy()
        & (np.arange(len(holdout.in_force)) > 0),
    )
    write_parquet(context.outputs["per_bar"], per_bar.reset_index(names="timestamp"))
    result = {
        "phase": phase.name,
        "classifier": plan.classifier,
        "period": context.data.describe()["holdout"],
        "periods_per_year": bars_per_year(holdout.detail.per_bar.index),
        "metrics": metrics,
        "overfitting": overfitting,
        "criteria": phase.criteria.model_dump(mode="json"),
        "passed": verdict.passed,
        "misses": [m.brief for m in verdict.misses],
        "trials": counts,
        "holdout_looks": context.looks + 1,
        "members": _members_alone(context, holdout, plan.members),
        "switch_count": len(switches),
        "switches": switches.head(MOST_SWITCHES).to_dict("records"),
        "time_in_blend": holdout.in_force.value_counts().sort_index().to_dict(),
    }
    write_json(context.outputs["result"], result)
    summary: dict[str, Any] = {
        "passed": verdict.passed,
        "sharpe": metrics["sharpe"],
        "trades": metrics["trades"],
        "switches": len(switches),
    }
    if not verdict.passed:
        summary["misses"] = [m.brief for m in verdict.misses]
    if not metrics["trades"]:
        summary["warning"] = "the adaptive strategy never traded on the holdout"
    return summary
