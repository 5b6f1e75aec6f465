"""The learning cycle's understanding steps: a new promotion is diagnosed and its run
audited once, the verdicts reach the day's knowledge summary, and the next cycle finds
nothing new."""

from __future__ import annotations

from strategy_factory.learning.cycle import run_cycle
from strategy_factory.understanding.audit import audit_run
from strategy_factory.understanding.diagnose import diagnose
from strategy_factory.understanding.loop import understanding_steps
from tests.learning.conftest import Promoted


def test_a_cycle_diagnoses_new_promotions_and_audits_new_runs_once(promoted: Promoted) -> None:
    store, promotion = promoted.store, promoted.promotion
    steps = understanding_steps(store)
    first = run_cycle(store, promoted.catalog, "test", period="2026-12-01", extra_steps=steps)
    by_name = {step["name"]: step for step in first.steps}
    added = ["champions", "challengers", "queued_hypotheses", "diagnoses", "audits", "transfers"]
    assert [s["name"] for s in first.steps][-7:] == [*added, "knowledge"]
    assert all(by_name[name]["state"] == "done" for name in added)

    diagnoses = by_name["diagnoses"]["summary"]
    assert diagnoses["diagnosed"] == [promotion.id] and diagnoses["failed"] == []
    verdict = " ".join(diagnose(store, promotion.id)["verdict"])
    assert diagnoses["principles"] == [f"Promotion {promotion.id} on its holdout: {verdict}"]

    report = audit_run(store, promotion.run_id).as_json()
    audited = by_name["audits"]["summary"]["audited"]
    assert audited == [
        {"run_id": promotion.run_id, "errors": report["errors"], "warnings": report["warnings"]}
    ]

    summary = store.knowledge.get("2026-12-01").markdown
    assert "## Diagnoses of new promotions" in summary
    assert f"- Promotion {promotion.id} on its holdout: {verdict}" in summary
    assert "## Audits of new runs" in summary and "## Champions" in summary

    second = run_cycle(store, promoted.catalog, "test", period="2026-12-01", extra_steps=steps)
    again = {step["name"]: step["summary"] for step in second.steps}
    assert again["diagnoses"]["diagnosed"] == [] and again["audits"]["audited"] == []
    assert "Nothing new." in store.knowledge.get("2026-12-01").markdown
