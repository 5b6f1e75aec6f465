"""The learning cycle: every part of the learning layer, in order, recorded step by step.

``factory learn cycle``, ``POST /api/learning/cycle/run`` and the server's schedule run
:func:`run_cycle`: update forward tracking, retrain the meta-model, propose candidates,
rebalance, flag overfitting, and write the period's knowledge summary. One cycle runs at
a time across every process sharing the store. Each step's outcome is recorded as it
ends, so a failed step is visible with its error while the others still run (a step
that needs what a failed one would have made says so in its own summary).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from strategy_factory.data import BarCatalog
from strategy_factory.json_values import plain
from strategy_factory.learning.forward import update_forward
from strategy_factory.learning.knowledge import UNDERSTANDING_FACTS, render_knowledge
from strategy_factory.learning.portfolio import (
    ActiveReturns,
    active_returns,
    check_overfitting,
    rebalance,
)
from strategy_factory.learning.settings import LearningSettings, load_settings
from strategy_factory.learning.steps import retrain, search
from strategy_factory.store import AllocationSnapshot, LearningCycle, Store

log = logging.getLogger(__name__)

# A cycle still "running" after this long lost its process: the next one may start.
CYCLE_STALE_S = 3600.0

# A step a higher layer adds to the cycle: its name and its work, which returns its facts.
# Such steps run after the monitor and before the knowledge summary, which shows them.
CycleStep = tuple[str, Callable[[], dict[str, Any]]]


def run_cycle(
    store: Store,
    catalog: BarCatalog,
    trigger: str = "cli",
    settings: LearningSettings | None = None,
    period: str | None = None,
    on_launch: Callable[[str], object] | None = None,
    extra_steps: Callable[[LearningCycle], Sequence[CycleStep]] | None = None,
) -> LearningCycle:
    """Run one learning cycle and return its record (raises :class:`BusyError` while
    another runs). ``period`` names the knowledge summary (default: today, UTC);
    ``on_launch(run_id)`` is told of each run the search launches; ``extra_steps(cycle)``
    gives the steps a higher layer adds (see :data:`CycleStep`)."""
    cycle = start_cycle(store, trigger)
    return execute_cycle(store, catalog, cycle, settings, period, on_launch, extra_steps)


def start_cycle(store: Store, trigger: str) -> LearningCycle:
    """Record a new running cycle (raises :class:`BusyError` while another runs)."""
    return store.cycles.start(trigger, CYCLE_STALE_S)


def execute_cycle(
    store: Store,
    catalog: BarCatalog,
    cycle: LearningCycle,
    settings: LearningSettings | None = None,
    period: str | None = None,
    on_launch: Callable[[str], object] | None = None,
    extra_steps: Callable[[LearningCycle], Sequence[CycleStep]] | None = None,
) -> LearningCycle:
    """Run the steps of the started ``cycle`` and close it; its final record."""
    try:
        settings = settings or load_settings(store)
    except Exception as exc:
        store.cycles.finish(cycle.id, [], f"the stored learning settings are unreadable: {exc}")
        raise
    period = period or datetime.now(UTC).date().isoformat()
    steps: list[dict[str, Any]] = []
    facts: dict[str, Any] = {}

    def step(name: str, work: Callable[[], dict[str, Any]]) -> None:
        entry: dict[str, Any] = {"name": name, "state": "running", "started_at": _now()}
        steps.append(entry)
        store.cycles.record_steps(cycle.id, steps)
        try:
            facts[name] = plain(work())
            entry.update(state="done", summary=facts[name])
        except Exception as exc:
            log.exception("learning cycle %s: step %s failed", cycle.id, name)
            error = f"{type(exc).__name__}: {exc}"
            facts[name] = {"error": error}
            entry.update(state="failed", error=error)
        entry["finished_at"] = _now()
        store.cycles.record_steps(cycle.id, steps)

    step("forward", lambda: _forward(store, catalog))
    step("meta_model", lambda: retrain(store, settings))
    step("search", lambda: search(store, settings, on_launch))
    returns: list[ActiveReturns] = []
    step("allocator", lambda: _rebalance(store, settings, returns))
    step("monitor", lambda: _monitor(store, settings, returns))
    for name, work in extra_steps(cycle) if extra_steps else ():
        step(name, work)
    step("knowledge", lambda: _knowledge(store, period, facts))
    failed = [entry["name"] for entry in steps if entry["state"] == "failed"]
    store.cycles.finish(cycle.id, steps, f"failed steps: {', '.join(failed)}" if failed else None)
    return store.cycles.get(cycle.id)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _forward(store: Store, catalog: BarCatalog) -> dict[str, Any]:
    report = update_forward(store, catalog)
    return {
        "added": report.added,
        "promotions": [
            {
                "promotion_id": update.promotion_id,
                "bars_added": update.added,
                "last_bar": None if update.last is None else update.last.isoformat(),
                "status": update.status,
                "reason": update.reason,
            }
            for update in report.updates
        ],
    }


def snapshot_facts(snapshot: AllocationSnapshot) -> dict[str, Any]:
    """What the knowledge summary and the API say of an allocator snapshot."""
    return {
        "snapshot": snapshot.id,
        "state": snapshot.state,
        "weights": snapshot.weights,
        "risk": snapshot.risk,
        "diff": snapshot.diff,
        "reason": snapshot.reason,
    }


def _rebalance(
    store: Store, settings: LearningSettings, shared: list[ActiveReturns]
) -> dict[str, Any]:
    shared.append(active_returns(store))
    return snapshot_facts(rebalance(store, settings, shared[0]))


def _monitor(
    store: Store, settings: LearningSettings, shared: list[ActiveReturns]
) -> dict[str, Any]:
    """Judge with the returns the allocator step read (read again if it could not)."""
    active = shared[0] if shared else active_returns(store)
    judged = check_overfitting(store, settings, active)
    if any(alert["demoted"] for alert in judged["alerts"]):
        # A demoted strategy leaves the allocator at once, not at the next cycle.
        kept = ActiveReturns(
            {key: item for key, item in active.series.items() if _active(store, key)},
            active.unavailable,
        )
        judged["rebalanced"] = snapshot_facts(rebalance(store, settings, kept))
    return judged


def _active(store: Store, promotion_id: str) -> bool:
    return store.promoted.get(promotion_id).status == "active"


def _knowledge(store: Store, period: str, facts: dict[str, Any]) -> dict[str, Any]:
    if period in store.knowledge.periods():
        earlier = store.knowledge.get(period).facts
        facts = {**facts, **{k: earlier[k] for k in UNDERSTANDING_FACTS if k in earlier}}
    markdown = render_knowledge(period, facts)
    store.knowledge.write(period, markdown, facts)
    return {"period": period, "characters": len(markdown)}
