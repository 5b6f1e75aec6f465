"""Phase 2, regime analysis: each family's best parameters in each regime of each classifier.

Reads the discovery's performance file only (no bars): the trials' metrics per regime
were measured there, each trial trading only in that regime. Writes
``analysis/regime_optimal_params.json``; a regime with too few bars or trades falls
back to the family's overall best, and the file says so and why.
"""

from __future__ import annotations

import math
from typing import Any

from strategy_factory.workflow.config import RegimeAnalysis
from strategy_factory.workflow.files import Discovery, load
from strategy_factory.workflow.optimizer import best_per_regime
from strategy_factory.workflow.phases.context import PhaseContext
from strategy_factory.workflow.workspace import write_json


def run(context: PhaseContext) -> dict[str, Any]:
    """Choose per regime; write the analysis file; return a summary of the fallbacks."""
    phase: RegimeAnalysis = context.phase
    discovery = load(context.inputs["performance"], Discovery)
    families = {
        name: best_per_regime(
            [record.model_dump() for record in trials.trials],
            discovery.labels,
            phase.metric,
            phase.min_bars,
            phase.min_trades,
        )
        for name, trials in discovery.families.items()
    }
    leaders = _leaders(families, discovery.labels)
    write_json(
        context.outputs["regime_params"],
        {
            "discovery": discovery.phase,
            "metric": phase.metric,
            "min_bars": phase.min_bars,
            "min_trades": phase.min_trades,
            "labels": discovery.labels,
            "label_names": discovery.label_names,
            "families": families,
            "best_family": leaders,
        },
    )
    fallbacks = [
        f"{family} in {classifier}={label}: {choice['reason']}"
        for family, chosen in families.items()
        for classifier, labels in chosen["regimes"].items()
        for label, choice in labels.items()
        if choice["fallback"]
    ]
    summary: dict[str, Any] = {"families": len(families), "fallbacks": len(fallbacks)}
    if fallbacks:
        summary["warning"] = "; ".join(fallbacks[:5]) + (
            f"; and {len(fallbacks) - 5} more" if len(fallbacks) > 5 else ""
        )
    return summary


def _leaders(families: dict[str, Any], labels: dict[str, list[int]]) -> dict[str, Any]:
    """Per classifier and regime, the family whose chosen trial scored best there (or None)."""
    leaders: dict[str, Any] = {}
    for classifier, classifier_labels in labels.items():
        leaders[classifier] = {}
        for label in map(str, classifier_labels):
            scored = [
                (choice["value"], family)
                for family, chosen in families.items()
                if (choice := chosen["regimes"][classifier][label])["value"] is not None
                and math.isfinite(choice["value"])
            ]
            leaders[classifier][label] = max(scored)[1] if scored else None
    return leaders
