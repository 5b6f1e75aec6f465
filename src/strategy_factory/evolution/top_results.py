"""A run's best configurations, ranked the way the promotion gate ranks them.

The best distinct results of the selection period by SQN-100 (SQN with the trade count
capped at 100), among configurations with at least as many trades as the gate needs to
rank a configuration at all: a handful of lucky trades never tops the list. Results that
several models or tickers repeat exactly are shown once, with how many there were.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from strategy_factory.evolution.promotion import MIN_RANKED_TRADES
from strategy_factory.store import SimulationResult, Store

RANKED_BY = "sqn_100"


def top_results(
    store: Store, run_id: str, limit: int = 10, min_trades: int = MIN_RANKED_TRADES
) -> dict[str, Any]:
    """The run's best ``limit`` distinct configurations and each generation's best one.

    Example: ``top_results(store, "3f2a9c01b7de")["results"][0]["sqn_100"]``.
    """
    store.runs.get(run_id)  # NotFoundError for an unknown run
    edges = store.lineage.of_run(run_id)
    generation_of = {edge.child_model_id: edge.generation for edge in edges}
    best = store.simulations.distinct_best(run_id, min_trades=min_trades, limit=limit)
    per_model = store.simulations.best_per_model(run_id, min_trades=min_trades)
    return {
        "ranked_by": RANKED_BY,
        "min_trades": min_trades,
        "results": [_row(result, generation_of, alike) for result, alike in best],
        "per_generation": [
            _row(per_model[edge.child_model_id], generation_of, 1)
            for edge in edges
            if edge.child_model_id in per_model
        ],
    }


def _row(result: SimulationResult, generation_of: dict[str, int], alike: int) -> dict[str, Any]:
    data = asdict(result)
    del data["created_at"]
    return data | {
        "generation": generation_of.get(result.model_id),
        "sqn_100": result.metrics.get("sqn_100"),
        "alike": alike,
    }
