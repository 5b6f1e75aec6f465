"""Differences between allocations: what was added, removed and changed, and the turnover."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from strategy_factory.errors import FactoryError
from strategy_factory.learning.allocation_diff import diff, one_way_turnover
from strategy_factory.learning.allocator import AllocatorSettings, allocate


def test_added_removed_changed_and_turnover_by_hand() -> None:
    previous = {"a": 0.5, "b": 0.3, "c": 0.2}
    current = {"a": 0.5, "b": 0.1, "d": 0.4}
    change = diff(previous, current)
    assert change.added == {"d": 0.4}
    assert change.removed == {"c": 0.2}
    assert change.changed == {"b": (0.3, 0.1)}
    assert change.unchanged == ("a",)
    # sold 0.2 of b and all 0.2 of c, bought 0.4 of d: 0.4 of the capital moved
    assert change.turnover == pytest.approx(0.4)
    assert change.to_json()["changed"] == {
        "b": {"from": 0.3, "to": 0.1, "change": pytest.approx(-0.2)}
    }


def test_from_cash_everything_is_added_and_turnover_is_one() -> None:
    change = diff(None, {"a": 0.6, "b": 0.4})
    assert change.added == {"a": 0.6, "b": 0.4}
    assert change.turnover == pytest.approx(1.0)


def test_changes_within_tolerance_are_unchanged() -> None:
    change = diff({"a": 0.5, "b": 0.5}, {"a": 0.5 + 1e-9, "b": 0.5 - 1e-9})
    assert change.changed == {}
    assert change.unchanged == ("a", "b")


def test_turnover_is_symmetric_and_half_the_total_change() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        before = dict(enumerate(rng.dirichlet(np.ones(6))))
        after = dict(enumerate(rng.dirichlet(np.ones(6))))
        total_change = sum(abs(after[k] - before[k]) for k in before)
        assert one_way_turnover(before, after) == pytest.approx(total_change / 2)
        assert one_way_turnover(after, before) == pytest.approx(one_way_turnover(before, after))
        assert 0 <= one_way_turnover(before, after) <= 1


def test_allocations_are_diffed_and_an_infeasible_one_is_refused() -> None:
    rng = np.random.default_rng(4)
    returns = pd.DataFrame(rng.normal(0.0005, 0.01, (300, 4)), columns=list("abcd"))
    calm = allocate(returns, AllocatorSettings(risk_aversion=50, max_volatility=None))
    bold = allocate(returns, AllocatorSettings(risk_aversion=1, max_volatility=None))
    change = diff(calm, bold)
    assert change.turnover == pytest.approx(one_way_turnover(calm.weights, bold.weights))
    json.dumps(change.to_json(), allow_nan=False)
    infeasible = allocate(returns, AllocatorSettings(max_weight=0.2))
    with pytest.raises(FactoryError, match="the current allocation is infeasible"):
        diff(calm, infeasible)
