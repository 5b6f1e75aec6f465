"""The learning cycle over a real promotion: forward tracking, allocation from holdout and
forward returns, the overfitting monitor with alerts and auto-demotion, the knowledge
summary; and its record when a step fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy_factory.errors import BusyError
from strategy_factory.learning.cycle import run_cycle
from strategy_factory.learning.forward import forward_returns
from strategy_factory.learning.portfolio import (
    ActiveReturns,
    PromotionReturns,
    check_overfitting,
    fund,
    promotion_returns,
    rebalance,
)
from strategy_factory.learning.settings import LearningSettings, save_settings, with_changes
from tests.learning.conftest import REF, STORED, SYN, Promoted

STEPS = ("forward", "meta_model", "search", "allocator", "monitor", "knowledge")
ONE_STRATEGY = with_changes(
    LearningSettings(),
    {"allocator": {"max_weight": 1.0, "max_cluster_weight": 1.0, "max_volatility": None}},
)


def test_the_holdout_the_cycle_learns_from_is_the_promotion_s_own(promoted: Promoted) -> None:
    returns = promotion_returns(promoted.store, promoted.promotion)
    whole = promoted.whole_series_backtest()
    holdout = whole.loc[returns.holdout.index, "returns"]
    np.testing.assert_allclose(returns.holdout.to_numpy(), holdout.to_numpy(), rtol=0, atol=1e-12)
    assert returns.holdout.index[-1] == SYN.index[STORED - 1]
    assert returns.forward.empty and returns.bars_per_year > 1000  # hourly bars


def test_a_cycle_tracks_allocates_monitors_and_writes_its_summary(promoted: Promoted) -> None:
    store, catalog = promoted.store, promoted.catalog
    save_settings(store, ONE_STRATEGY)
    catalog.append("SYN", SYN.iloc[STORED:9_000])
    catalog.append("REF", REF.iloc[STORED:9_000])
    cycle = run_cycle(store, catalog, trigger="test", period="2026-12-01")
    assert cycle.state == "done" and cycle.error is None and cycle.trigger == "test"
    assert [step["name"] for step in cycle.steps] == [*STEPS]
    assert all(step["state"] == "done" for step in cycle.steps)
    forward = cycle.steps[0]["summary"]
    assert forward["added"] == 2_000
    pid = promoted.promotion.id
    snapshot = store.allocations.latest()
    assert snapshot is not None and snapshot.state == "allocated"
    assert snapshot.weights == pytest.approx({pid: 1.0}, abs=1e-6)
    assert snapshot.diff["added"] == pytest.approx({pid: 1.0}, abs=1e-6)
    # The allocation was made as of the last bar it saw, and the fund holds it after.
    assert pd.Timestamp(snapshot.risk["as_of"]) == SYN.index[8_999]
    waiting = fund(store)
    assert waiting is not None and waiting["bars"] == 0  # no forward bar after it yet
    assert [entry["status"] for entry in waiting["rebalance_log"]] == ["pending"]
    # One run in the store: no meta-model yet, and so no search, both said.
    assert cycle.steps[1]["summary"]["state"] == "not_enough_history"
    assert cycle.steps[2]["summary"] == {
        "state": "skipped",
        "reason": "no meta-model yet to score proposals",
    }
    judged = cycle.steps[4]["summary"]
    assert judged["judged"] == 1 and judged["states"][pid]["state"] in {"ok", "watch", "flagged"}
    entry = store.knowledge.get("2026-12-01")
    assert entry.markdown.startswith("# Learning summary — 2026-12-01")
    assert f"| {pid} | 100.0% | new |" in entry.markdown
    assert entry.facts["forward"]["added"] == 2_000

    # A second cycle after more bars: the fund now follows the first allocation.
    catalog.append("SYN", SYN.iloc[9_000:9_500])
    catalog.append("REF", REF.iloc[9_000:9_500])
    again = run_cycle(store, catalog, trigger="test", period="2026-12-02")
    assert again.state == "done"
    paper = fund(store)
    assert paper is not None
    forward = forward_returns(store, pid).loc[SYN.index[9_000] :]
    equity = np.cumprod(1 + forward.to_numpy())
    np.testing.assert_allclose(paper["series"]["equity"], equity, rtol=1e-12)
    assert store.knowledge.periods() == ["2026-12-02", "2026-12-01"]


def test_decay_is_flagged_once_and_auto_demotion_takes_it_out_of_the_allocator(
    promoted: Promoted,
) -> None:
    store = promoted.store
    real = promotion_returns(store, promoted.promotion)
    # Forward bars that lose what the holdout earned, bar after bar.
    rng = np.random.default_rng(5)
    losing = (
        -abs(real.holdout.mean())
        - real.holdout.std() * 0.2
        + rng.normal(0, real.holdout.std(), 3_000)
    )
    index = pd.date_range(real.holdout.index[-1], periods=3_001, freq="1h")[1:]
    decayed = PromotionReturns(
        promoted.promotion, real.holdout, pd.Series(losing, index=index), real.bars_per_year
    )
    settings = with_changes(ONE_STRATEGY, {"auto_demote": True})
    pid = promoted.promotion.id
    first = check_overfitting(store, settings, ActiveReturns({pid: decayed}, {}))
    [alert] = first["alerts"]
    assert alert["new"] and alert["demoted"] and alert["statistic"] > alert["threshold"]
    promotion = store.promoted.get(pid)
    assert promotion.status == "demoted"
    assert promotion.status_reason.startswith("overfitting monitor:")
    stored = store.alerts.get(alert["alert_id"])
    assert stored.evidence["state"] == "flagged" and stored.demoted
    # Judged again: the open alert is refreshed, not duplicated.
    second = check_overfitting(store, settings, ActiveReturns({pid: decayed}, {}))
    assert second["alerts"][0]["alert_id"] == alert["alert_id"] and not second["alerts"][0]["new"]
    # Nothing active is left to allocate to: said, not NaN.
    snapshot = rebalance(store, settings)
    assert snapshot.state == "empty" and snapshot.weights == {}
    assert snapshot.reason == "no active promotion to allocate to"


def test_an_impossible_allocation_is_stored_with_its_reason(promoted: Promoted) -> None:
    settings = with_changes(LearningSettings(), {"allocator": {"max_weight": 0.5}})
    snapshot = rebalance(promoted.store, settings)
    assert snapshot.state == "infeasible" and snapshot.weights == {}
    assert "raise max_weight" in (snapshot.reason or "")


def test_a_failing_step_is_recorded_and_the_others_still_run(
    promoted: Promoted, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("bar store unreadable")

    monkeypatch.setattr("strategy_factory.learning.cycle.update_forward", broken)
    save_settings(promoted.store, ONE_STRATEGY)
    cycle = run_cycle(promoted.store, promoted.catalog, period="2026-12-03")
    assert cycle.state == "failed" and cycle.error == "failed steps: forward"
    states = {step["name"]: step["state"] for step in cycle.steps}
    assert states == {name: "failed" if name == "forward" else "done" for name in STEPS}
    assert "RuntimeError: bar store unreadable" in cycle.steps[0]["error"]
    markdown = promoted.store.knowledge.get("2026-12-03").markdown
    assert "**Failed:** RuntimeError: bar store unreadable" in markdown
    # The failed cycle is closed: the next one may start.
    promoted.store.cycles.start("next", stale_after_s=3600)
    with pytest.raises(BusyError):
        run_cycle(promoted.store, promoted.catalog)


def test_a_promotion_whose_returns_cannot_be_rebuilt_is_left_out_and_named(
    promoted: Promoted,
) -> None:
    store = promoted.store
    run = store.runs.create("GONE", "elasticnet", {}, max_generations=1)
    [model] = store.models.of_run(promoted.promotion.run_id)
    broken = store.promoted.add(
        run_id=run.id,
        model_id=model.id,
        strategy={"ticker": "GONE"},
        criteria={},
        selection_metrics={},
        holdout_metrics={},
        configurations_tried=1,
        verdict={},
        lineage=[],
    )
    snapshot = rebalance(store, ONE_STRATEGY)
    assert snapshot.state == "allocated"
    assert snapshot.weights == pytest.approx({promoted.promotion.id: 1.0}, abs=1e-6)
    assert snapshot.risk["excluded"][broken.id].startswith("its returns cannot be rebuilt")
    judged = check_overfitting(store, ONE_STRATEGY)
    assert judged["states"][broken.id]["state"] == "not_judged"
