"""The learning layer's records on every backend: settings, allocations, alerts, meta-models,
knowledge and cycles (one running cycle at a time)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from strategy_factory.errors import BusyError, NotFoundError
from strategy_factory.store import Store
from strategy_factory.store.tables import learning_cycles
from tests.store.conftest import add_model


def _promotion(store: Store, run_id: str) -> str:
    model_id = add_model(store, run_id)
    return store.promoted.add(
        run_id=run_id,
        model_id=model_id,
        strategy={"ticker": "SP500", "threshold": 0.0},
        criteria={},
        selection_metrics={},
        holdout_metrics={"sharpe": 1.5},
        configurations_tried=10,
        verdict={},
        lineage=[],
    ).id


def test_settings_are_replaced_whole_and_read_back(store: Store) -> None:
    assert store.settings.get("learning") is None
    store.settings.put("learning", {"monitor": {"threshold": 5.0}, "schedule": None})
    store.settings.put("learning", {"monitor": {"threshold": 6.0}})
    assert store.settings.get("learning") == {"monitor": {"threshold": 6.0}}
    assert store.settings.get("other") is None


def test_allocations_keep_their_order_and_the_latest_with_weights(store: Store) -> None:
    assert store.allocations.latest() is None
    first = store.allocations.record(
        state="allocated",
        weights={"a": 0.6, "b": 0.4},
        risk={"volatility": 0.1, "sharpe": math.nan},
        diff={},
        reason=None,
        settings={"max_weight": 0.6},
    )
    second = store.allocations.record(
        state="infeasible",
        weights={},
        risk={},
        diff={},
        reason="caps sum to 0.5 < 1",
        settings={"max_weight": 0.25},
    )
    assert store.allocations.latest() == second
    assert store.allocations.latest(allocated_only=True) == first
    assert first.weights == {"a": 0.6, "b": 0.4}
    assert [snapshot.id for snapshot in store.allocations.recent()] == [second.id, first.id]
    assert store.allocations.allocated() == [first]


def test_one_open_alert_per_promotion_refreshed_until_acknowledged(
    store: Store, run_id: str
) -> None:
    promotion = _promotion(store, run_id)
    first, new = store.alerts.raise_alert(
        promotion_id=promotion, test="cusum", statistic=5.2, threshold=5.0, evidence={"bars": 90}
    )
    assert new and first.open and not first.demoted
    again, new = store.alerts.raise_alert(
        promotion_id=promotion,
        test="cusum",
        statistic=6.1,
        threshold=5.0,
        evidence={"bars": 95},
        demoted=True,
    )
    assert not new and again.id == first.id
    assert (again.statistic, again.evidence, again.demoted) == (6.1, {"bars": 95}, True)
    acknowledged = store.alerts.acknowledge(first.id, by="analyst", note="known regime change")
    assert not acknowledged.open and acknowledged.acknowledged_by == "analyst"
    # Acknowledging twice keeps the first acknowledgement.
    assert store.alerts.acknowledge(first.id, by="someone else") == acknowledged
    assert store.alerts.recent(include_acknowledged=False) == []
    later, new = store.alerts.raise_alert(
        promotion_id=promotion, test="cusum", statistic=5.5, threshold=5.0, evidence={}
    )
    assert new and later.id != first.id
    assert [alert.id for alert in store.alerts.recent()] == [later.id, first.id]
    with pytest.raises(NotFoundError, match="no overfitting alert 9999"):
        store.alerts.acknowledge(9999, by="x")


def test_meta_model_versions_keep_their_artifact_apart(store: Store) -> None:
    assert store.meta_models.latest() is None
    one = store.meta_models.add(
        algorithm="lightgbm",
        artifact=b"tree 1",
        metrics={"spearman": 0.3},
        importance={"threshold": 0.5},
        training={"rows": 100},
    )
    two = store.meta_models.add(
        algorithm="lightgbm", artifact=b"\x00tree 2", metrics={}, importance={}, training={}
    )
    assert two.version > one.version
    assert store.meta_models.latest() == two
    assert store.meta_models.artifact(one.version) == b"tree 1"
    assert store.meta_models.artifact(two.version) == b"\x00tree 2"
    assert [record.version for record in store.meta_models.recent()] == [two.version, one.version]
    with pytest.raises(NotFoundError):
        store.meta_models.artifact(two.version + 10)


def test_knowledge_is_one_summary_per_period(store: Store) -> None:
    assert store.knowledge.latest() is None
    store.knowledge.write("2026-11-30", "# old", {"alerts": 0})
    store.knowledge.write("2026-12-01", "# first", {"alerts": 1})
    rewritten = store.knowledge.write("2026-12-01", "# second", {"alerts": 2})
    assert rewritten.markdown == "# second" and rewritten.facts == {"alerts": 2}
    assert store.knowledge.latest() == rewritten
    assert store.knowledge.periods() == ["2026-12-01", "2026-11-30"]
    with pytest.raises(NotFoundError, match="2026-01-01"):
        store.knowledge.get("2026-01-01")


def test_one_cycle_runs_at_a_time_and_an_abandoned_one_is_closed(store: Store) -> None:
    cycle = store.cycles.start("cli", stale_after_s=3600)
    with pytest.raises(BusyError, match=f"learning cycle {cycle.id} is running"):
        store.cycles.start("schedule", stale_after_s=3600)
    steps = [{"name": "forward", "state": "done"}]
    store.cycles.record_steps(cycle.id, steps)
    assert store.cycles.get(cycle.id).steps == steps
    store.cycles.finish(cycle.id, steps, error=None)
    done = store.cycles.get(cycle.id)
    assert done.state == "done" and done.finished_at is not None

    stuck = store.cycles.start("schedule", stale_after_s=3600)
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    with store.database.write() as connection:
        connection.execute(
            update(learning_cycles)
            .where(learning_cycles.c.id == stuck.id)
            .values(started_at=long_ago)
        )
    fresh = store.cycles.start("api", stale_after_s=3600)
    abandoned = store.cycles.get(stuck.id)
    assert abandoned.state == "failed" and "abandoned" in (abandoned.error or "")
    store.cycles.finish(fresh.id, [], error="meta-model: boom")
    assert store.cycles.get(fresh.id).state == "failed"
    assert [c.id for c in store.cycles.recent()] == [fresh.id, stuck.id, cycle.id]
