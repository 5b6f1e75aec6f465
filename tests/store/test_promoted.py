"""Promotions keep their full evidence: strategy, criteria, metrics, DSR/PBO, verdict, lineage."""

from __future__ import annotations

import math

import pytest

from strategy_factory.errors import NotFoundError
from strategy_factory.store import Store
from tests.store.conftest import add_model


def test_a_promotion_round_trips_with_its_evidence(store: Store, run_id: str) -> None:
    model_id = add_model(store, run_id)
    evidence = {
        "strategy": {
            "ticker": "SP500",
            "threshold": 0.002,
            "z_limit": None,
            "regime_filter": {"regime_gmm": [1]},
            "mode": "long_short",
            "costs": {"fee_bps": 1.0, "slippage_bps": 1.0},
            "fill": "next_open",
        },
        "criteria": {
            "sqn": [3, 5],
            "profit_factor": [2, 4],
            "trades": [200, 10_000],
            "weekly_consistency": [None, 0.5],
        },
        "selection_metrics": {"sqn": 3.9, "profit_factor": 2.4, "trades": 512},
        "holdout_metrics": {"sqn": 3.2, "profit_factor": math.inf, "trades": 230},
        "configurations_tried": 14_000,
        "verdict": {"passed": True, "sqn": "SQN 3.2 is within 3–5"},
        "lineage": [{"model": "m0", "generation": 0}, {"model": model_id, "generation": 1}],
    }
    promoted = store.promoted.add(run_id=run_id, model_id=model_id, dsr=0.97, pbo=0.12, **evidence)
    loaded = store.promoted.get(promoted.id)
    assert loaded == promoted
    assert {name: getattr(loaded, name) for name in evidence} == evidence
    assert (loaded.dsr, loaded.pbo) == (0.97, 0.12)


def test_promotions_are_listed_newest_first(store: Store, run_id: str) -> None:
    model_id = add_model(store, run_id)
    other_run = store.runs.create("NASDAQ", "lgbm", {}, max_generations=3).id
    minimal = {
        "strategy": {},
        "criteria": {},
        "selection_metrics": {},
        "holdout_metrics": {},
        "configurations_tried": 1,
        "verdict": {},
        "lineage": [],
    }
    second_model = add_model(store, run_id, name="second")
    ids = [
        store.promoted.add(run_id=run, model_id=model, **minimal).id
        for run, model in ((run_id, model_id), (other_run, model_id), (run_id, second_model))
    ]
    assert [p.id for p in store.promoted.recent()] == ids[::-1]
    assert [p.id for p in store.promoted.recent(run_id=run_id)] == [ids[2], ids[0]]
    # A model is promoted once per run: recording it again (a retried write) keeps the first.
    again = store.promoted.add(run_id=run_id, model_id=model_id, **{**minimal, "verdict": {"x": 1}})
    assert (again.id, again.verdict) == (ids[0], {})
    assert len(store.promoted.recent()) == 3
    with pytest.raises(NotFoundError, match="no promoted model 'nope'"):
        store.promoted.get("nope")
