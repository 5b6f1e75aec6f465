"""Diagnosing a stored promotion or run replays exactly the trades the run judged."""

from __future__ import annotations

import numpy as np
import pytest

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.evolution.prepare import run_context
from strategy_factory.evolution.promotion import strategy_of
from strategy_factory.execution.units import execution_of, strategy_detail
from strategy_factory.json_values import plain
from strategy_factory.models import model_from_bytes
from strategy_factory.understanding import diagnose
from strategy_factory.understanding.attribution import contributions
from tests.learning.conftest import Promoted


def test_a_promotion_is_diagnosed_on_its_holdout(promoted: Promoted) -> None:
    promotion = promoted.promotion
    result = diagnose(promoted.store, promotion.id)
    context = run_context(promoted.store.runs.get(promotion.run_id))
    model = model_from_bytes(promoted.store.models.artifact(promotion.model_id))
    detail, _ = strategy_detail(
        context.dataset, model, strategy_of(promotion.strategy),
        execution_of(promotion.strategy), "holdout",
    )  # fmt: skip
    closed = int((~detail.trades["is_open"]).sum())
    assert result["trades"] == closed > 0
    assert result["subject"] == {
        "kind": "promotion",
        "id": promotion.id,
        "run_id": promotion.run_id,
        "model_id": promotion.model_id,
        "strategy": plain(strategy_of(promotion.strategy).as_row()),
    }
    assert result["period"]["name"] == "holdout"
    assert result["period"]["first"] == detail.per_bar.index[0].isoformat()
    # The run's default model is an ElasticNet: exact linear attribution of its features.
    assert result["attribution_note"].startswith("exact: coefficient")
    assert {row["feature"] for row in result["attribution"]} == set(model.features)
    assert result["verdict"]
    # The stored model (a LinearPredictor) is attributed exactly: parts add up.
    features = context.dataset.tickers["SYN"].features
    parts = contributions(model, features)
    assert parts is not None
    np.testing.assert_allclose(parts.sum(axis=1), model.predict(features), rtol=1e-9, atol=1e-15)


def test_a_run_is_diagnosed_by_its_best_configuration(promoted: Promoted) -> None:
    result = diagnose(promoted.store, promoted.promotion.run_id, period="selection")
    assert result["subject"]["kind"] == "run"
    assert result["period"]["name"] == "selection"
    assert result["trades"] >= 0 and result["verdict"]


def test_mistakes_say_what_to_fix(promoted: Promoted) -> None:
    with pytest.raises(NotFoundError, match="no promotion or run 'nope'"):
        diagnose(promoted.store, "nope")
    with pytest.raises(FactoryError, match="unknown period 'future'"):
        diagnose(promoted.store, promoted.promotion.id, period="future")
