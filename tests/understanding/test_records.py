"""Hypotheses and indicators in the store, on both backends: the correction covers every
hypothesis ever tested, a mistake records nothing, the principles reach the knowledge base,
and the command line says the same."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.store import Store
from strategy_factory.understanding.discovery_config import DiscoveryConfig
from strategy_factory.understanding.hypotheses import adjusted_now, run_hypotheses
from strategy_factory.understanding.hypothesis_spec import HypothesisSpec, load_hypotheses
from strategy_factory.understanding.indicators import run_discovery
from tests.factory_command import factory
from tests.understanding.market_stores import bars, postgres_store_url, store, store_url

__all__ = ["bars", "postgres_store_url", "store", "store_url"]
PLANTED = {"symbol": "SYN", "feature": "exo_planted", "k": 2, "side": "above", "expect": "up"}


def _by_hand(p_values: list[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values written out: m·p(i)/i, made monotone from the top."""
    p = np.asarray(p_values)
    order = np.argsort(p)
    scaled = p[order] * len(p) / np.arange(1, len(p) + 1)
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(monotone, 1.0)
    return adjusted


def test_the_correction_covers_every_hypothesis_ever_tested(store: Store, bars: BarCatalog) -> None:
    first = run_hypotheses(
        store,
        [
            HypothesisSpec(name="planted", **PLANTED),
            HypothesisSpec(
                name="walk-reversal", symbol="WALK", feature="ret_1", k=2, expect="against"
            ),
        ],
        bars,
    )
    assert [r.family_size for r in first] == [2, 2]
    assert first[0].adjusted_p < 0.01 and "confirmed at FDR 5%" in first[0].principle
    assert "rose within 1 bar" in first[0].principle
    later = run_hypotheses(
        store, [HypothesisSpec(name="walk-up", symbol="WALK", feature="rsi_14", k=1.5)], bars
    )
    family = [r.p_value for r in [*first, *later]]
    assert later[0].family_size == 3
    assert later[0].adjusted_p == pytest.approx(_by_hand(family)[2])
    now = adjusted_now(store.hypotheses.all())
    np.testing.assert_allclose([now[r.id] for r in [*first, *later]], _by_hand(family))
    assert store.hypotheses.p_values() == pytest.approx(family)


def test_too_few_events_is_said_and_left_out_of_the_family(store: Store, bars: BarCatalog) -> None:
    rare = HypothesisSpec(name="rare", symbol="WALK", feature="ret_1", k=6, side="above")
    (record,) = run_hypotheses(store, [rare], bars)
    assert record.state == "too_few_events" and record.p_value is None
    assert "not tested, left out of the family" in record.principle
    assert store.hypotheses.p_values() == []


def test_a_mistake_records_nothing(store: Store, bars: BarCatalog) -> None:
    good = HypothesisSpec(name="good", **PLANTED)
    bad = HypothesisSpec(name="bad", symbol="SYN", feature="no_such_feature", k=2)
    with pytest.raises(FactoryError, match="unknown feature 'no_such_feature'"):
        run_hypotheses(store, [good, bad], bars)
    with pytest.raises(FactoryError, match="share a name"):
        run_hypotheses(store, [good, good], bars)
    assert store.hypotheses.all() == []
    with pytest.raises(FactoryError, match=r"horizon: Input should be less than or equal to 500"):
        load_hypotheses({**PLANTED, "name": "x", "horizon": 10_000})
    with pytest.raises(FactoryError, match="side applies to an event"):
        load_hypotheses({"name": "x", "symbol": "SYN", "feature": "ret_1", "side": "above"})
    with pytest.raises(FactoryError, match="Extra inputs are not permitted"):
        load_hypotheses({**PLANTED, "name": "x", "threshold": 2})


def test_principles_reach_the_knowledge_base(store: Store, bars: BarCatalog) -> None:
    (record,) = run_hypotheses(store, [HypothesisSpec(name="planted", **PLANTED)], bars)
    config = DiscoveryConfig(symbol="SYN", generations=2, children=20, keep=3)
    result, indicators = run_discovery(store, config, bars)
    assert len(indicators) == 3 and all(i.trials == result.trials for i in indicators)
    assert all(i.formula.startswith("formula:") for i in indicators)
    assert store.indicators.recent(limit=10) == list(reversed(indicators))
    entry = store.knowledge.get(datetime.now(UTC).date().isoformat())
    assert "## Hypotheses tested" in entry.markdown and record.principle in entry.markdown
    assert "## Indicators discovered" in entry.markdown
    assert all(i.principle in entry.markdown for i in indicators)


def test_the_command_line(bars: BarCatalog, tmp_path: Path) -> None:
    path = tmp_path / "hypotheses.yaml"
    path.write_text(yaml.safe_dump({"hypotheses": [{"name": "planted", **PLANTED}]}))
    tested = factory("hypothesis", "test", str(path), "--json")
    assert tested.returncode == 0, tested.stderr
    (answer,) = json.loads(tested.stdout)
    assert answer["confirmed_now"] and answer["events"] > 30
    listed = factory("hypothesis", "list")
    assert listed.returncode == 0 and "planted" in listed.stdout
    path.write_text(yaml.safe_dump({"name": "x", "symbol": "SYN", "feature": "ret_1", "k": 0}))
    refused = factory("hypothesis", "test", str(path))
    assert refused.returncode == 2 and "k: Input should be greater than 0" in refused.stderr
    assert "Traceback" not in refused.stderr
    searched = factory("indicators", "discover", "-s", "SYN", "--generations", "1", "--keep", "2")
    assert searched.returncode == 0, searched.stderr
    assert "formulas tried" in searched.stdout
    shown = json.loads(factory("indicators", "list", "--json").stdout)
    assert len(shown) == 2 and shown[0]["formula"].startswith("formula:")


def test_queued_hypotheses_wait_for_the_learning_cycle(store: Store, bars: BarCatalog) -> None:
    from strategy_factory.understanding.hypotheses import queue_hypotheses
    from strategy_factory.understanding.loop import queued_hypotheses

    good = HypothesisSpec.model_validate({**PLANTED, "name": "planted-up"})
    empty = HypothesisSpec.model_validate({**PLANTED, "name": "no-bars", "symbol": "NOPE"})
    with pytest.raises(FactoryError, match="share a name"):
        queue_hypotheses(store, [good, good], "desk")
    with pytest.raises(FactoryError, match="1 to 128"):
        queue_hypotheses(store, [good], "x" * 129)
    assert store.hypotheses.queued() == []  # refused batches queue nothing

    waiting = queue_hypotheses(store, [good, empty], "desk")
    assert [(q.name, q.queued_by) for q in waiting] == [("planted-up", "desk"), ("no-bars", "desk")]
    assert store.hypotheses.all() == []  # nothing tested before the cycle

    done = queued_hypotheses(store)
    [record] = store.hypotheses.all()
    assert record.name == "planted-up" and record.state == "tested"
    assert done["tested"] == [
        {
            "queued": waiting[0].id,
            "hypothesis": record.id,
            "name": "planted-up",
            "queued_by": "desk",
        }
    ]
    [refused] = done["refused"]
    assert refused["name"] == "no-bars" and "NOPE" in refused["reason"]
    assert done["principles"][0] == f"planted-up: tested as #{record.id}."
    assert done["principles"][1].startswith("no-bars could not be tested:")
    assert store.hypotheses.queued() == [] and done["left_for_next_cycle"] == 0
    today = datetime.now(UTC).date().isoformat()
    assert record.principle in store.knowledge.get(today).markdown
