"""Simulation results: idempotent bulk insert, canonical strategy keys, ranking."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategy_factory.errors import FactoryError
from strategy_factory.store import Store, strategy_key
from tests.store.conftest import add_model


def grid(seed: int = 0) -> list[dict]:
    """3,000 cells: tickers × thresholds × z-limits × regime filters × modes, with metrics."""
    rng = np.random.default_rng(seed)
    cells = itertools.product(
        ["SP500", "NASDAQ", "MSFT", "DJI", "RUT", "NDX"],
        [0.0, 0.001, 0.002, 0.005, 0.01],
        [None, 1.0, 1.5, 2.0, 3.0],
        [
            None,
            {"regime_gmm": [0]},
            {"regime_gmm": [1]},
            {"regime_gmm": [0, 1]},
            {"regime_gmm": [1], "regime_vix": [0, 2]},
            {"regime_vix": [2]},
            {"regime_vix": [0]},
            {"regime_trend": [1]},
            {"regime_trend": [0]},
            {"regime_trend": [0, 1]},
        ],
        ["long_short", "long_only"],
    )
    return [
        {
            "ticker": ticker,
            "threshold": threshold,
            "z_limit": z_limit,
            "regime_filter": regime_filter,
            "mode": mode,
            "trades": np.int64(rng.integers(0, 500)),
            "sqn": float(rng.normal()),
            "profit_factor": math.inf if i % 97 == 0 else float(rng.uniform(0, 3)),
            "sharpe": np.float64(rng.normal()),
            "win_rate": float(rng.uniform()),
        }
        for i, (ticker, threshold, z_limit, regime_filter, mode) in enumerate(cells)
    ]


def test_a_grid_sent_twice_is_recorded_once(store: Store, run_id: str) -> None:
    model_id = add_model(store, run_id)
    rows = grid()
    assert len(rows) == 3_000
    assert store.simulations.add_many(run_id, model_id, "selection", rows) == 3_000
    assert store.simulations.add_many(run_id, model_id, "selection", rows) == 0
    # A resumed run re-sends part of the grid plus new cells; only the new ones count.
    resumed = rows[:100] + [dict(row, ticker="VIX") for row in rows[:50]]
    assert store.simulations.add_many(run_id, model_id, "selection", resumed) == 50
    assert store.simulations.count(run_id) == 3_050
    assert store.simulations.count(run_id, model_id=model_id, period="holdout") == 0
    assert store.simulations.add_many(run_id, model_id, "holdout", rows[:10]) == 10
    assert store.simulations.count(run_id, period="holdout") == 10


def test_the_same_strategy_written_differently_is_a_duplicate(store: Store, run_id: str) -> None:
    model_id = add_model(store, run_id)
    row = {
        "ticker": "SP500",
        "threshold": 0,
        "z_limit": 2,
        "mode": "long_only",
        "sqn": 1.0,
        "regime_filter": {"regime_vix": [2, 0], "regime_gmm": [1]},
    }
    same = dict(
        row, threshold=0.0, z_limit=2.0, regime_filter={"regime_gmm": [1, 1], "regime_vix": [0, 2]}
    )
    assert store.simulations.add_many(run_id, model_id, "selection", [row, same]) == 1


labels = st.lists(st.integers(-1, 5), min_size=1, max_size=4)
filters = st.none() | st.dictionaries(st.sampled_from(["regime_gmm", "regime_vix"]), labels)


@given(threshold=st.floats(0, 1), z_limit=st.none() | st.floats(0, 5), regime_filter=filters)
def test_strategy_keys_ignore_spelling_but_not_meaning(
    threshold: float, z_limit: float | None, regime_filter: dict | None
) -> None:
    cell = {
        "ticker": "SP500",
        "threshold": threshold,
        "z_limit": z_limit,
        "regime_filter": regime_filter,
        "mode": "long_short",
    }
    respelled = dict(
        cell,
        regime_filter=None
        if regime_filter is None
        else {
            column: list(reversed(values)) * 2 for column, values in reversed(regime_filter.items())
        },
    )
    assert strategy_key(respelled) == strategy_key(cell)
    assert strategy_key(dict(cell, threshold=threshold + 0.5)) != strategy_key(cell)
    assert strategy_key(dict(cell, mode="long_only")) != strategy_key(cell)
    assert strategy_key(dict(cell, z_limit=None if z_limit else 1.0)) != strategy_key(cell)


def test_top_results_match_a_plain_sort(store: Store, run_id: str) -> None:
    first, second = add_model(store, run_id), add_model(store, run_id)
    rows = grid(seed=1)[:400]
    rows[5]["sqn"] = math.nan  # undefined: ranked last, never first
    store.simulations.add_many(run_id, first, "selection", rows[:200])
    store.simulations.add_many(run_id, second, "selection", rows[200:])

    def reference(cells: list[dict], metric: str) -> list[float]:
        values = [cell[metric] for cell in cells if not math.isnan(cell[metric])]
        return sorted(values, reverse=True)[:10]

    top = store.simulations.top(run_id, metric="sqn", limit=10)
    assert [result.sqn for result in top] == reference(rows, "sqn")
    top_of_first = store.simulations.top(run_id, model_id=first, metric="profit_factor")
    assert [r.profit_factor for r in top_of_first] == reference(rows[:200], "profit_factor")
    assert {r.model_id for r in top_of_first} == {first}
    worst = store.simulations.top(run_id, metric="sqn", limit=1, descending=False)
    assert worst[0].sqn == min(row["sqn"] for row in rows if not math.isnan(row["sqn"]))


def _sqn_100(row: dict) -> float:
    return row["sqn"] * math.sqrt(min(row["trades"], 100) / row["trades"])


def test_distinct_best_results_by_sqn_100_show_each_outcome_once(store: Store, run_id: str) -> None:
    first, second = add_model(store, run_id), add_model(store, run_id)
    rows = grid(seed=2)[:300]
    rows[7]["sqn"] = math.nan
    rows[8] |= {"trades": 2, "sqn": 50.0}  # two lucky trades: never ranked
    for row in rows:  # as in a metrics table: the gate's SQN-100 beside the raw SQN
        row["sqn_100"] = _sqn_100(row)
    # The second model trades half of the first one's cells alike; another ticker too.
    alike = [{**row, "ticker": "SPY"} if k % 3 == 0 else row for k, row in enumerate(rows)]
    store.simulations.add_many(run_id, first, "selection", rows)
    store.simulations.add_many(run_id, second, "selection", alike[:150])
    outcomes: dict[tuple, list[dict]] = {}
    for row in rows + alike[:150]:
        if row["trades"] >= 30 and not math.isnan(row["sqn"]):
            key = (int(row["trades"]), row["sqn"], row["profit_factor"], float(row["sharpe"]))
            outcomes.setdefault(key, []).append(row)
    expected = sorted(
        outcomes.values(),
        key=lambda same: (-_sqn_100(same[0]), -same[0]["sharpe"], -same[0]["trades"]),
    )[:12]

    best = store.simulations.distinct_best(run_id, min_trades=30, limit=12)
    assert [(r.sqn, r.trades, alike) for r, alike in best] == [
        (same[0]["sqn"], same[0]["trades"], len(same)) for same in expected
    ]
    assert all(r.model_id == first for r, _ in best)  # the first recorded stands for all

    per_model = store.simulations.best_per_model(run_id, min_trades=30)
    assert set(per_model) == {first, second}
    ranked = [row for row in alike[:150] if row["trades"] >= 30 and not math.isnan(row["sqn"])]
    assert per_model[second].sqn == max(ranked, key=_sqn_100)["sqn"]


def test_every_metric_is_kept_and_round_trips(store: Store, run_id: str) -> None:
    model_id = add_model(store, run_id)
    row = grid()[0]
    store.simulations.add_many(run_id, model_id, "selection", [row])
    (result,) = store.simulations.top(run_id)
    assert result.metrics == {
        "trades": row["trades"],
        "sqn": row["sqn"],
        "profit_factor": math.inf,
        "sharpe": row["sharpe"],
        "win_rate": row["win_rate"],
    }
    assert (result.trades, result.profit_factor, result.weekly_consistency) == (
        row["trades"],
        math.inf,
        None,
    )
    assert (result.ticker, result.threshold, result.z_limit, result.regime_filter) == (
        "SP500",
        0.0,
        None,
        None,
    )


def test_mistakes_say_what_to_fix(store: Store, run_id: str) -> None:
    model_id = add_model(store, run_id)
    with pytest.raises(FactoryError, match="needs threshold, mode"):
        store.simulations.add_many(run_id, model_id, "selection", [{"ticker": "SP500"}])
    with pytest.raises(FactoryError, match="period 'oos' is not one of: selection, holdout"):
        store.simulations.add_many(run_id, model_id, "oos", [])
    with pytest.raises(FactoryError, match="cannot rank by 'cagr'"):
        store.simulations.top(run_id, metric="cagr")


def test_one_strategy_is_found_by_its_fields_however_written(store: Store, run_id: str) -> None:
    model_id = add_model(store, run_id)
    rows = grid(3)[:200]
    store.simulations.add_many(run_id, model_id, "selection", rows)
    wanted = rows[137]
    respelled = dict(wanted, threshold=float(wanted["threshold"]))
    if wanted["regime_filter"]:
        respelled["regime_filter"] = {
            k: list(reversed(v)) for k, v in wanted["regime_filter"].items()
        }
    found = store.simulations.find(run_id, model_id, "selection", respelled)
    assert found is not None
    assert found.sqn == wanted["sqn"] and found.ticker == wanted["ticker"]
    assert store.simulations.find(run_id, model_id, "holdout", wanted) is None
    assert store.simulations.find(run_id, model_id, "selection", dict(wanted, mode="x")) is None


def test_a_runs_results_of_one_period_come_back_in_recorded_order(
    store: Store, run_id: str
) -> None:
    first, second = add_model(store, run_id), add_model(store, run_id, generation=1)
    rows = grid()[:40]
    store.simulations.add_many(run_id, first, "selection", rows[:25])
    store.simulations.add_many(run_id, second, "selection", rows[25:])
    store.simulations.add_many(run_id, first, "holdout", rows[:1])
    found = store.simulations.of_run(run_id)
    assert [(r.model_id, strategy_key(vars(r))) for r in found] == [
        (first, strategy_key(row)) for row in rows[:25]
    ] + [(second, strategy_key(row)) for row in rows[25:]]
    (holdout,) = store.simulations.of_run(run_id, period="holdout")
    assert (holdout.model_id, holdout.period) == (first, "holdout")
    assert store.simulations.of_run("no-such-run") == []
