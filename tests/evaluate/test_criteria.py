"""Promotion criteria: typed ranges, reasons a trader can read, a fast table mask that
agrees with the one-strategy verdict, and configs that round-trip through JSON and YAML."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from strategy_factory.errors import FactoryError
from strategy_factory.evaluate.criteria import METRICS, PromotionCriteria, Range

HOLY_GRAIL = {"sqn_100": 3.4, "profit_factor": 2.5, "trades": 350, "weekly_consistency": 0.3}


def test_defaults_are_the_holy_grail_ranges() -> None:
    criteria = PromotionCriteria()
    assert criteria.active == {
        "sqn_100": Range(min=3, max=5),
        "profit_factor": Range(min=2, max=4),
        "trades": Range(min=200, max=10_000),
        "weekly_consistency": Range(max=0.5),
    }
    assert criteria.judge(HOLY_GRAIL).passed


def test_reasons_say_what_missed_and_why() -> None:
    verdict = PromotionCriteria().judge(
        {"sqn_100": 2.41, "profit_factor": 5.2, "trades": 12_000, "weekly_consistency": 0.31}
    )
    assert not verdict.passed
    assert [r.reason for r in verdict.results] == [
        "SQN-100 2.41 is below the minimum 3",
        "profit factor 5.2 is above the maximum 4 — suspiciously high, likely overfit",
        "trades 12,000 is above the maximum 10,000",
        "weekly consistency 0.31 is at most 0.5",
    ]
    assert [r.metric for r in verdict.misses] == ["sqn_100", "profit_factor", "trades"]
    assert verdict.results[0].value == 2.41
    assert verdict.results[0].range == Range(min=3, max=5)


def test_a_value_just_outside_a_bound_is_not_shown_as_the_bound() -> None:
    verdict = PromotionCriteria(dsr=True).judge({**HOLY_GRAIL, "dsr": 0.94996})
    assert verdict.misses[0].reason == "selection DSR 0.94996 is below the minimum 0.95"


def test_bounds_are_inclusive() -> None:
    criteria = PromotionCriteria()
    assert criteria.judge({**HOLY_GRAIL, "sqn_100": 3, "profit_factor": 4, "trades": 200}).passed
    assert criteria.judge({**HOLY_GRAIL, "weekly_consistency": 0.5}).passed


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "SQN-100 is missing from the metrics, so it cannot pass"),
        (
            math.nan,
            "SQN-100 is NaN (undefined, e.g. too few trades to measure it), so it cannot pass",
        ),
        ("high", "SQN-100 is not a number ('high'), so it cannot pass"),
    ],
)
def test_missing_or_undefined_metrics_never_pass(value: Any, reason: str) -> None:
    metrics = {**HOLY_GRAIL, "sqn_100": value}
    if value is None:
        del metrics["sqn_100"]
    verdict = PromotionCriteria().judge(metrics)
    assert not verdict.passed
    assert [r.reason for r in verdict.misses] == [reason]


def test_infinite_values_are_judged_not_excused() -> None:
    # A profit factor with no losing trade is infinite; a weekly consistency with a
    # non-positive mean is +inf by the metrics' definition. Both miss.
    verdict = PromotionCriteria().judge(
        {**HOLY_GRAIL, "profit_factor": math.inf, "weekly_consistency": math.inf}
    )
    assert [r.reason for r in verdict.misses] == [
        "profit factor ∞ is above the maximum 4 — suspiciously high, likely overfit",
        "weekly consistency ∞ is above the maximum 0.5",
    ]
    assert '"value":"Infinity"' in verdict.model_dump_json()


def test_optional_criteria_switch_on() -> None:
    criteria = PromotionCriteria.from_yaml("dsr: true\npbo: {max: 0.2}\nsharpe: [1, null]")
    assert criteria.dsr == Range(min=0.95)
    assert criteria.pbo == Range(max=0.2)
    assert criteria.sharpe == Range(min=1)
    verdict = criteria.judge({**HOLY_GRAIL, "dsr": 0.97, "pbo": 0.35, "sharpe": 1.3})
    assert [r.reason for r in verdict.misses] == ["PBO 0.35 is above the maximum 0.2"]
    assert verdict.results[4].reason == "selection DSR 0.97 is at least 0.95"


def test_the_search_statistics_switch_on_at_their_defaults() -> None:
    criteria = PromotionCriteria.from_yaml("pbo: true\nholdout_p: true")
    assert (criteria.pbo, criteria.holdout_p) == (Range(max=0.5), Range(max=0.05))
    verdict = criteria.judge({**HOLY_GRAIL, "pbo": 0.2, "holdout_p": 0.2})
    assert [r.reason for r in verdict.misses] == [
        "holdout p-value (Šidák over the holdout looks) 0.2 is above the maximum 0.05"
    ]


def test_a_default_criterion_can_be_switched_off() -> None:
    criteria = PromotionCriteria.from_yaml("weekly_consistency: null\ntrades: false")
    assert set(criteria.active) == {"sqn_100", "profit_factor"}
    assert PromotionCriteria.from_yaml(criteria.to_yaml()) == criteria
    assert PromotionCriteria.from_json(criteria.to_json()) == criteria
    assert criteria.judge({"sqn_100": 4, "profit_factor": 3}).passed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sqn: {min: 5, max: 3}", "sqn: min 5 is above max 3: swap them"),
        ("trades: {min: -5}", "trades: minimum -5 is impossible: trades cannot be below 0"),
        ("trades: [100, -1]", "min 100 is above max -1"),
        ("win_rate: {min: 55}", "win rate is between 0 and 1 \\(a fraction, not a percentage\\)"),
        ("max_drawdown: {min: 0.2}", "max drawdown cannot be above 0 \\(a negative fraction"),
        ("sqn: {min: .nan}", "sqn: min is nan: give a number, or leave min out"),
        ("sqn: {max: .inf}", "max is inf"),
        ("sqn: {}", "give a min, a max or both"),
        ("sqn: [3]", "a range is \\[min, max\\]"),
        ("sqn_min: 3", "sqn_min: unknown metric; known metrics: trades, win_rate"),
        ("sqn: {minimum: 3}", "sqn.minimum: unknown field; a range has only min and max"),
        ("sharpe: true", "sharpe: has no default range"),
        ("sqn: [a, 5]", "sqn.min: Input should be a valid number"),
        ("- sqn", "must be a mapping"),
        ("sqn: [3, 5", "not valid YAML"),
    ],
)
def test_impossible_criteria_are_rejected_with_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(FactoryError, match=message):
        PromotionCriteria.from_yaml(text)


def test_constructing_in_python_validates_too() -> None:
    with pytest.raises(ValidationError, match="min 5 is above max 3: swap them"):
        PromotionCriteria(sqn=Range(min=5, max=3))
    with pytest.raises(ValidationError, match="trades cannot be below 0"):
        PromotionCriteria(trades=Range(max=-1))
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        PromotionCriteria(sqn_min=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="frozen"):
        PromotionCriteria().sqn = None  # type: ignore[misc]
    with pytest.raises(FactoryError, match="Invalid JSON"):
        PromotionCriteria.from_json("{")


def test_a_metrics_table_row_can_be_judged() -> None:
    row = pd.DataFrame([HOLY_GRAIL]).iloc[0]
    assert PromotionCriteria().judge(row).passed


# ---- properties -------------------------------------------------------------------------

_MAGNITUDE = 1e6


@st.composite
def ranges(draw: st.DrawFn, name: str) -> Range | None:
    metric = METRICS[name]
    low, high = max(metric.floor, -_MAGNITUDE), min(metric.ceiling, _MAGNITUDE)
    bound = st.floats(low, high, allow_nan=False)
    a, b = sorted([draw(bound), draw(bound)])
    side = draw(st.sampled_from(["off", "both", "min", "max"]))
    return {
        "off": None,
        "both": Range(min=a, max=b),
        "min": Range(min=a),
        "max": Range(max=b),
    }[side]


criteria_strategy = st.fixed_dictionaries({name: ranges(name) for name in METRICS}).map(
    lambda fields: PromotionCriteria(**fields)
)


def _inside(limits: Range, fraction: float, spread: float) -> float:
    if limits.min is not None and limits.max is not None:
        return min(limits.max, limits.min + fraction * (limits.max - limits.min))
    if limits.min is not None:
        return limits.min + spread
    return limits.max - spread  # type: ignore[operator]


@settings(max_examples=60, deadline=None)
@given(criteria=criteria_strategy, fraction=st.floats(0, 1), spread=st.floats(0, 1e3))
def test_metrics_inside_every_range_pass(
    criteria: PromotionCriteria, fraction: float, spread: float
) -> None:
    metrics = {name: _inside(r, fraction, spread) for name, r in criteria.active.items()}
    verdict = criteria.judge(metrics)
    assert verdict.passed
    assert all(r.met for r in verdict.results)


@settings(max_examples=60, deadline=None)
@given(criteria=criteria_strategy, data=st.data())
def test_moving_one_value_outside_fails_exactly_that_criterion(
    criteria: PromotionCriteria, data: st.DataObject
) -> None:
    if not criteria.active:
        return
    metrics = {name: _inside(r, 0.5, 1.0) for name, r in criteria.active.items()}
    name = data.draw(st.sampled_from(sorted(criteria.active)))
    limits = criteria.active[name]
    sides = [s for s, b in (("below", limits.min), ("above", limits.max)) if b is not None]
    side = data.draw(st.sampled_from(sides))
    if side == "below":
        metrics[name] = limits.min - (1 + abs(limits.min))  # type: ignore[operator]
    else:
        metrics[name] = limits.max + (1 + abs(limits.max))  # type: ignore[operator]
    verdict = criteria.judge(metrics)
    assert not verdict.passed
    assert [r.metric for r in verdict.misses] == [name]
    assert (
        f"is {side} the {'minimum' if side == 'below' else 'maximum'}" in verdict.misses[0].reason
    )


@settings(max_examples=60, deadline=None)
@given(criteria=criteria_strategy)
def test_criteria_round_trip_through_json_and_yaml(criteria: PromotionCriteria) -> None:
    assert PromotionCriteria.from_json(criteria.to_json()) == criteria
    assert PromotionCriteria.from_yaml(criteria.to_yaml()) == criteria
    assert PromotionCriteria.from_mapping(criteria.model_dump()) == criteria


@settings(max_examples=40, deadline=None)
@given(criteria=criteria_strategy, seed=st.integers(0, 2**32 - 1), rows=st.integers(0, 40))
def test_table_mask_agrees_with_the_verdict_of_every_row(
    criteria: PromotionCriteria, seed: int, rows: int
) -> None:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            name: rng.choice([-2.0, 0.0, 0.3, 1.0, 3.5, 250.0, math.nan, math.inf], rows)
            for name in METRICS
        }
    )
    # Fill about half the cells from inside the criterion's range so some rows pass.
    for name, limits in criteria.active.items():
        inside = rng.random(rows) < 0.8
        table.loc[inside, name] = _inside(limits, 0.5, 1.0)
    dropped = [name for name in METRICS if rng.random() < 0.05]
    table = table.drop(columns=dropped)
    mask = criteria.mask(table)
    expected = [criteria.judge(row.to_dict()).passed for _, row in table.iterrows()]
    assert mask.tolist() == expected
    assert mask.index.equals(table.index)
    met = criteria.met_table(table)
    assert list(met.columns) == list(criteria.active)
    assert (met.all(axis=1) == mask).all()


def test_mask_filters_a_grid_of_metrics() -> None:
    grid = pd.DataFrame(
        {
            "sqn_100": [3.5, 2.0, 4.0, 6.1],
            "profit_factor": [2.5, 3.0, math.nan, 3.0],
            "trades": [300, 300, 300, 300],
            "weekly_consistency": [0.2, 0.2, 0.2, 0.2],
            "threshold": [0.0, 0.1, 0.2, 0.3],
        },
        index=[10, 11, 12, 13],
    )
    passed = PromotionCriteria().mask(grid)
    assert passed.tolist() == [True, False, False, False]
    assert grid[passed]["threshold"].tolist() == [0.0]
    assert not PromotionCriteria().mask(grid.drop(columns="sqn_100")).any()
