"""Runs recorded straight into a store, in the states the dashboard must tell apart.

Each is written the way the engine records it (lineage, models, selection and holdout
results, progress, outcome) without running anything, so a page can be checked against
exactly known figures.
"""

from __future__ import annotations

import itertools
import math
import uuid
from dataclasses import dataclass
from typing import Any

from strategy_factory.evolution.simulation import IDENTICAL_NOTE, edge_json
from strategy_factory.store import Store

THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
Z_LIMITS = (None, 2.5, 2.0, 1.5, 1.0)
TICKERS = ("SYN", "NOISE")
# Trades per threshold: the highest threshold trades twice (and scores a lucky SQN).
TRADES = (400, 300, 200, 120, 60, 31, 2)
LUCKY_SQN = 3.58
CELLS = len(THRESHOLDS) * len(Z_LIMITS) * len(TICKERS)
SEED_FEATURES = 60
CONFIG = {
    "evolve": {"symbol": "SYN", "strategy": {"thresholds": list(THRESHOLDS), "tickers": ["NOISE"]}},
    "dataset": {"start": None, "end": None, "selection_start": None, "holdout_start": None},
}


@dataclass(frozen=True)
class Recorded:
    """A recorded run: its id, its models by generation, its promotion (if any)."""

    run_id: str
    models: list[str]
    promoted_id: str | None = None


def selection_rows(edge: float) -> list[dict[str, Any]]:
    """A model's whole grid; ``edge`` lifts the SQN of its SYN cells only, so its NOISE
    cells repeat another model's exactly, and within a model both tickers trade alike
    unless ``edge`` is set."""
    rows = []
    for (k, threshold), (z, z_limit), ticker in itertools.product(
        enumerate(THRESHOLDS), enumerate(Z_LIMITS), TICKERS
    ):
        trades = TRADES[k]
        sqn = LUCKY_SQN if trades == 2 else 1.0 + 0.2 * k + 0.05 * z
        sqn += edge if ticker == "SYN" else 0.0
        rows.append(
            {
                "ticker": ticker,
                "threshold": threshold,
                "z_limit": z_limit,
                "regime_filter": None,
                "mode": "long_short",
                "trades": trades,
                "sqn": sqn,
                "sqn_100": sqn * math.sqrt(min(trades, 100) / trades),
                "profit_factor": 1.1 + sqn / 10,
                "weekly_consistency": 0.8,
                "sharpe": sqn / 2,
                "total_return": sqn / 20,
                "max_drawdown": -0.1,
            }
        )
    return rows


def record_promoted_run(store: Store) -> Recorded:
    """A run of five planned generations that promoted in generation 2 and stopped there.

    Generation 1 predicted what its parent did (not simulated again); generation 3 was
    trained but never simulated. Its simulation total is the stale estimate of the five
    generations (560 cells), as runs recorded before the totals were exact have it.
    """
    run = store.runs.create("SYN", "ElasticNet", CONFIG, max_generations=5)
    store.runs.start(run.id)
    models = _lineage(store, run.id, generations=4)
    store.lineage.note(run.id, models[1], IDENTICAL_NOTE)
    _simulated(store, run.id, models[0], 0.0, promoted=False)
    _simulated(store, run.id, models[2], 0.5, promoted=True)
    ancestry = store.lineage.ancestry(models[2], run_id=run.id)
    promotion = store.promoted.add(
        run_id=run.id,
        model_id=models[2],
        strategy={**_strategy(), "fill": "next_open", "fee_bps": 1.0, "slippage_bps": 1.0},
        criteria={"preset": "custom", "sqn_100": {"min": 1}},
        selection_metrics={"sqn_100": 2.5, "trades": 31},
        holdout_metrics={"sqn_100": 2.1, "trades": 40},
        configurations_tried=2 * CELLS,
        verdict={
            "passed": True,
            "results": [
                {
                    "metric": "sqn_100",
                    "value": 2.1,
                    "range": {"min": 1},
                    "met": True,
                    "reason": "SQN-100 2.1 is at least 1",
                }
            ],
        },
        lineage=[edge_json(edge) for edge in ancestry],
        dsr=0.97,
        pbo=0.1,
    )
    store.runs.update_progress(
        run.id,
        current_generation=3,
        models_trained=4,
        models_total=5,
        simulations_completed=2 * CELLS,
        simulations_total=8 * CELLS,
        configurations_tried=2 * CELLS,
    )
    store.runs.finish(run.id, "completed", "promoted", promotion_id=promotion.id)
    return Recorded(run.id, models, promotion.id)


def record_running_run(store: Store) -> Recorded:
    """A run still being driven (by a process elsewhere, under a live lease): generation 0
    was judged and not promoted, generation 1 waits for its simulation."""
    run = store.runs.create(
        "SYN", "ElasticNet", CONFIG, max_generations=2, owner_id="cli-elsewhere", lease_seconds=3600
    )
    store.runs.start(run.id, owner_id="cli-elsewhere")
    models = _lineage(store, run.id, generations=2)
    _simulated(store, run.id, models[0], 0.0, promoted=False)
    store.runs.update_progress(
        run.id,
        owner_id="cli-elsewhere",
        current_generation=1,
        models_trained=2,
        models_total=2,
        simulations_completed=CELLS,
        simulations_total=2 * CELLS,
    )
    return Recorded(run.id, models)


def _lineage(store: Store, run_id: str, generations: int) -> list[str]:
    """Models pruned by a quarter each generation, with their lineage edges."""
    features = [f"feature_{k}" for k in range(SEED_FEATURES)]
    models: list[str] = []
    for generation in range(generations):
        pruned = features[-(len(features) // 4) :] if models else []
        features = [f for f in features if f not in pruned]
        model = store.models.add(
            fingerprint=uuid.uuid4().hex * 2,
            algorithm="ElasticNet",
            symbol="SYN",
            features=features,
            run_id=run_id,
            generation=generation,
            validation_metrics={"signal": {"usable": True}},
        )
        store.lineage.add_edge(
            run_id=run_id,
            child_model_id=model.id,
            parent_model_id=models[-1] if models else None,
            generation=generation,
            pruned_features=pruned,
            remaining_features=features,
            reason="pruned" if models else "seed",
        )
        models.append(model.id)
    return models


def _strategy() -> dict[str, Any]:
    return {
        "ticker": "SYN",
        "threshold": THRESHOLDS[5],
        "z_limit": None,
        "regime_filter": None,
        "mode": "long_short",
    }


def _simulated(store: Store, run_id: str, model_id: str, edge: float, promoted: bool) -> None:
    """The model's grid on the selection period and its judged configuration's holdout."""
    store.simulations.add_many(run_id, model_id, "selection", selection_rows(edge))
    reason = "met every criterion on the holdout" if promoted else "SQN-100 0.4 is below 1"
    holdout = {
        **_strategy(),
        "trades": 40,
        "sqn": 2.1 if promoted else 0.4,
        "sqn_100": 2.1 if promoted else 0.4,
        "candidate": True,
        "promoted": promoted,
        "reason": reason,
    }
    store.simulations.add_many(run_id, model_id, "holdout", [holdout])
