"""Learning settings change only as a whole valid document; the knowledge summary says what
each step found, and says so when a step did not run or failed."""

from __future__ import annotations

import pytest

from strategy_factory.errors import FactoryError
from strategy_factory.learning.knowledge import render_knowledge
from strategy_factory.learning.settings import (
    LearningSettings,
    parse_assignments,
    with_changes,
)


def test_assignments_become_nested_yaml_values() -> None:
    changes = parse_assignments(
        ["monitor.confirm_bars=7", "auto_demote=true", "schedule.every_hours=12.5"]
    )
    assert changes == {
        "monitor": {"confirm_bars": 7},
        "auto_demote": True,
        "schedule": {"every_hours": 12.5},
    }
    for bad in ("monitor.confirm_bars", "=3", "a=[unclosed"):
        with pytest.raises(FactoryError):
            parse_assignments([bad])


def test_changes_are_validated_whole_and_name_the_refused_field() -> None:
    settings = LearningSettings()
    changed = with_changes(settings, {"allocator": {"max_weight": 0.4}, "auto_demote": True})
    assert changed.allocator.max_weight == 0.4 and changed.auto_demote
    assert changed.monitor == settings.monitor
    with pytest.raises(FactoryError, match=r"allocator\.max_weight") as refused:
        with_changes(settings, {"allocator": {"max_weight": 2.0}})
    assert "nothing changed" in str(refused.value)
    with pytest.raises(FactoryError, match=r"search\.unknown"):
        with_changes(settings, {"search": {"unknown": 1}})


FACTS = {
    "forward": {
        "promotions": [
            {"promotion_id": "p1", "bars_added": 20, "last_bar": "2018-12-31", "status": "ok"}
        ]
    },
    "meta_model": {
        "state": "trained",
        "version": 3,
        "algorithm": "lightgbm",
        "rows": 480,
        "runs": 12,
        "scores": {"model": 0.41, "selection_only": 0.12, "random": 0.0},
        "traits": [
            {"trait": "z_limit", "importance": 0.52, "direction": -0.61},
            {"trait": "feature:rsi_14", "importance": 0.2, "direction": 0.3},
        ],
    },
    "search": {
        "state": "proposed",
        "proposed": 64,
        "kept": [{"trial": 70}, {"trial": 71}],
        "launched": [{"run_id": "r9", "score": 0.8, "prior_trials": 70, "genome": "x"}],
        "not_launched": [{"trial": 71, "reason": "too few unseen bars"}],
    },
    "allocator": {
        "state": "allocated",
        "weights": {"p1": 0.7, "p2": 0.3},
        "risk": {"volatility": 0.12, "max_volatility": 0.15},
        "diff": {
            "turnover": 0.1,
            "added": {"p2": 0.3},
            "changed": {"p1": {"from": 0.6, "to": 0.7, "change": 0.1}},
            "removed": {"p0": 0.4},
        },
    },
    "monitor": {"error": "forward returns unreadable"},
}


def test_the_summary_reports_every_step_in_words_and_tables() -> None:
    markdown = render_knowledge("2026-12-01", FACTS)
    assert markdown.startswith("# Learning summary — 2026-12-01")
    assert "20 new bars over 1 promoted strategies" in markdown
    assert "**0.410**, against 0.120 for the selection-period metric alone" in markdown
    assert "| z_limit | 0.520 | higher → less fit (ρ -0.61) |" in markdown
    assert "| r9 | 0.800 | 70 | x |" in markdown
    assert "- trial 71 not launched: too few unseen bars" in markdown
    assert "| p1 | 70.0% | +10.0 pts |" in markdown
    assert "| p2 | 30.0% | new |" in markdown
    assert "Left the allocation: p0." in markdown
    assert "**Failed:** forward returns unreadable" in markdown


def test_a_step_that_did_not_run_is_said_not_left_out() -> None:
    markdown = render_knowledge(
        "2026-12-02",
        {"meta_model": {"state": "not_enough_history", "reason": "2 runs < 3"}},
    )
    assert "No meta-model this cycle: 2 runs < 3." in markdown
    assert markdown.count("Not run in this cycle.") == 4
