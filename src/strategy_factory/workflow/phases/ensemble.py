"""Phase 3, ensemble optimization: per regime, the weights of a blend of the chosen trials.

Pure signal replay: the members' captured signals, the captured prices and regime labels
are read from the workspace and blended by the Numba replay kernel — no bars are loaded,
no indicator or prediction is computed. For each regime of the chosen classifier the
members are the families' trials chosen for that regime, trading only in that regime
(flat elsewhere, like a regime filter); the ``overall`` blend (every bar) serves bars
whose regime is undefined and regimes that fell back. Each regime's result is
checkpointed, so a resumed phase searches only the regimes it had not finished.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.backtest import replay_weight_sets
from strategy_factory.errors import FactoryError
from strategy_factory.evaluate import calmar, metrics_table
from strategy_factory.workflow.config import EnsembleOptimization
from strategy_factory.workflow.files import Choice, RegimeParams, load, read_signals
from strategy_factory.workflow.optimizer import search_weights
from strategy_factory.workflow.phases.context import PhaseContext
from strategy_factory.workflow.workspace import read_json, read_parquet, write_json


def objective(stats: Any, name: str) -> np.ndarray:
    """The objective of every replayed weight set (higher is better; NaN: never traded)."""
    table = metrics_table(stats)
    if name == "sharpe":
        values = table["sharpe"].to_numpy(dtype=np.float64)
    elif name == "sortino":
        values = table["sortino"].to_numpy(dtype=np.float64)
    elif name == "calmar":
        values = calmar(table["cagr"], table["max_drawdown"])
    else:  # the worst drawdown of the blend in this regime, as a score (0 is best)
        values = table["max_drawdown"].to_numpy(dtype=np.float64)
    traded = table["trades"].to_numpy(dtype=np.float64) > 0
    return np.where(traded, values, np.nan)


def _members(regime_params: RegimeParams, pick: Any) -> list[tuple[str, Choice]]:
    return [(family, pick(choices)) for family, choices in regime_params.families.items()]


def _search(
    phase: EnsembleOptimization,
    members: list[tuple[str, Choice]],
    signals: dict[str, pd.DataFrame],
    prices: pd.DataFrame,
    active: np.ndarray,
    execution: Any,
) -> dict[str, Any]:
    matrix = np.column_stack(
        [signals[family][f"t{choice.trial}"].to_numpy(dtype=np.int8) for family, choice in members]
    )

    def evaluate(weight_sets: np.ndarray) -> np.ndarray:
        stats = replay_weight_sets(prices, matrix, weight_sets, execution, active=active)
        return objective(stats, phase.objective)

    tried, values = search_weights(len(members), phase, evaluate)
    described = [{"family": f, "trial": c.trial, "params": c.params} for f, c in members]
    if not np.isfinite(values).any():
        equal = np.full(len(members), 1.0 / len(members))
        return {
            "members": described,
            "weights": equal.tolist(),
            "objective_value": None,
            "weight_sets_tried": len(tried),
            "fallback": True,
            "note": "no weight set traded in this regime: equal weights are used",
        }
    best = int(np.nanargmax(np.where(np.isfinite(values), values, -np.inf)))
    return {
        "members": described,
        "weights": [float(w) for w in tried[best]],
        "objective_value": float(values[best]),
        "weight_sets_tried": len(tried),
        "fallback": False,
        "note": None,
    }


def _checkpointed(path: Path, compute: Any) -> dict[str, Any]:
    if path.is_file():
        return read_json(path)
    result = compute()
    write_json(path, result)
    return result


def run(context: PhaseContext) -> dict[str, Any]:
    """Search the weights of every regime and the overall blend; write ensemble_weights.json."""
    phase: EnsembleOptimization = context.phase
    regime_params = load(context.inputs["regime_params"], RegimeParams)
    classifier = phase.classifier or next(iter(context.config.classifiers))
    if classifier not in regime_params.labels:
        raise FactoryError(
            f"{context.inputs['regime_params']}: labels has no classifier {classifier!r} "
            f"(has {', '.join(regime_params.labels)})"
        )
    folder = context.inputs["signals"]
    families = list(regime_params.families)
    wanted: dict[str, set[str]] = {family: set() for family in families}
    for family, choices in regime_params.families.items():
        chosen = [choices.overall, *(c for r in choices.regimes.values() for c in r.values())]
        wanted[family] |= {f"t{choice.trial}" for choice in chosen}
    signals = {f: read_signals(folder / f, sorted(wanted[f])) for f in families}
    prices = read_parquet(folder / "prices.parquet").set_index("timestamp")
    labels = read_parquet(folder / "regimes.parquet").set_index("timestamp")[classifier]
    execution = context.config.costs.execution()
    everywhere = np.ones(len(prices), dtype=bool)
    result: dict[str, Any] = {"classifier": classifier, "objective": phase.objective}
    result["overall"] = _checkpointed(
        context.checkpoints / "overall.json",
        lambda: _search(
            phase,
            _members(regime_params, lambda c: c.overall),
            signals,
            prices,
            everywhere,
            execution,
        ),
    )
    regimes: dict[str, Any] = {}
    known = regime_params.labels.get(classifier, [])
    for done, label in enumerate(known, start=1):
        key = str(label)
        members = _members(regime_params, lambda c, k=key: c.regimes[classifier][k])
        active = labels.to_numpy() == label
        regimes[key] = _checkpointed(
            context.checkpoints / f"regime-{key}.json",
            lambda m=members, a=active: _search(phase, m, signals, prices, a, execution),
        )
        context.progress(done, len(known))
    result["regimes"] = regimes
    write_json(context.outputs["weights"], result)
    tried = result["overall"]["weight_sets_tried"] + sum(
        r["weight_sets_tried"] for r in regimes.values()
    )
    summary: dict[str, Any] = {"classifier": classifier, "weight_sets_tried": tried}
    dull = [k for k, r in regimes.items() if r["fallback"]]
    if dull:
        summary["warning"] = f"regime(s) {', '.join(dull)} of {classifier}: no blend traded"
    if not math.isfinite(result["overall"]["objective_value"] or math.nan):
        summary["warning"] = "the overall blend never traded in the selection period"
    return summary
