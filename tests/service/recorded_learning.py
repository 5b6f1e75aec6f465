"""The learning layer's records written straight into a store, as a learning cycle leaves
them, so the insights pages can be checked against exactly known figures.

Two promoted runs; two allocator snapshots (the second adds one promotion and trims the
other, its diff computed by the allocator's own :func:`~strategy_factory.learning.diff`);
two meta-model versions; an open overfitting alert; two knowledge summaries, the newest
quoting an error message that holds a ``<script>`` tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strategy_factory.learning import diff
from strategy_factory.learning.knowledge import render_knowledge
from strategy_factory.store import Store
from tests.service.recorded_runs import record_promoted_run

# An error text a step could quote verbatim; the page must show it as text.
SCRIPT_ERROR = "<script>window.injected = true</script>"
NEWEST_PERIOD, OLDER_PERIOD = "2026-12-01", "2026-11-30"
TRAITS_OLD = [
    {"trait": "threshold", "importance": 0.40, "direction": 0.35},
    {"trait": "z_limit", "importance": 0.25, "direction": -0.2},
    {"trait": "regime_filter", "importance": 0.10, "direction": None, "best": "calm"},
]
TRAITS_NEW = [
    {"trait": "z_limit", "importance": 0.45, "direction": -0.31},
    {"trait": "threshold", "importance": 0.30, "direction": 0.42},
    {"trait": "features", "importance": 0.15, "direction": 0.05},
    {"trait": "regime_filter", "importance": 0.05, "direction": None, "best": "calm"},
]
SCORES = {"model": 0.31, "selection_only": 0.12, "random": 0.01}
RISK = {
    "volatility": 0.12,
    "max_volatility": 0.2,
    "expected_return": 0.08,
    "periods": 250,
    "excluded": {"p-young": "45 returns, fewer than min_history 60"},
}
ALLOCATOR_SETTINGS = {"max_volatility": 0.2, "max_weight": 0.6, "max_cluster_weight": 0.8}


@dataclass(frozen=True)
class RecordedLearning:
    """What was recorded: the run whose promotion is ``first``, and the ids to look for."""

    run_id: str
    first: str  # promotion of run_id: added by the second snapshot, with an open alert
    second: str  # promotion of another run: held by both snapshots
    weights: dict[str, float]
    previous_weights: dict[str, float]
    snapshot_id: int
    alert_id: int


def record_learning(store: Store) -> RecordedLearning:
    """Record the learning layer's state described in the module docstring."""
    first_run = record_promoted_run(store)
    first, second = first_run.promoted_id, record_promoted_run(store).promoted_id
    assert first is not None and second is not None
    previous = {second: 0.5}
    weights = {first: 0.6, second: 0.4}
    _allocation(store, previous, None)
    snapshot = _allocation(store, weights, previous, clusters=[[first, second]])
    for traits in (TRAITS_OLD, TRAITS_NEW):
        store.meta_models.add(
            algorithm="lightgbm",
            artifact=b"{}",
            metrics=SCORES,
            importance={"traits": traits},
            training={"rows": 1200, "runs": 8},
        )
    alert, _ = store.alerts.raise_alert(
        promotion_id=first, test="cusum", statistic=9.5, threshold=6.0, evidence={"bars": 80}
    )
    store.knowledge.write(OLDER_PERIOD, "# Older summary\n\nNothing flagged.\n", {})
    allocated = {"state": "allocated", "weights": weights, "risk": RISK}
    allocated["diff"] = {"turnover": 0.6, "changes": {first: 0.6, second: -0.1}}
    facts = {"search": {"error": SCRIPT_ERROR}, "allocator": allocated}
    store.knowledge.write(NEWEST_PERIOD, render_knowledge(NEWEST_PERIOD, facts), facts)
    return RecordedLearning(
        first_run.run_id, first, second, weights, previous, snapshot.id, alert.id
    )


def _allocation(
    store: Store,
    weights: dict[str, float],
    previous: dict[str, float] | None,
    clusters: list[list[str]] | None = None,
) -> Any:
    risk = {**RISK, "clusters": clusters or [[key] for key in weights]}
    return store.allocations.record(
        state="allocated",
        weights=weights,
        risk=risk,
        diff=diff(previous, weights).to_json(),
        reason=None,
        settings=ALLOCATOR_SETTINGS,
    )
