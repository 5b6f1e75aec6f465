"""A family whose predictions come from a model an evolution run trained and stored.

The model's artifact is read from the store in its safe format (nothing executes on
load) and applied to the feature matrix its run was built on. The model must not have
seen the workflow's judged periods: its run's training period has to end where the
workflow's selection period starts or earlier. A workflow holdout that overlaps the
run's own holdout is a second look at those bars: allowed, but said in the phase summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.evolution.prepare import run_context
from strategy_factory.models.artifacts import model_from_bytes
from strategy_factory.settings import get_settings
from strategy_factory.store import create_store
from strategy_factory.workflow.config import Family


@dataclass(frozen=True)
class ModelPredictions:
    """A stored model's predictions on its run's bars, and its run's period boundaries."""

    model_id: str
    symbol: str
    predictions: pd.Series
    selection_start: pd.Timestamp
    holdout_start: pd.Timestamp


@cache
def _load(model_id: str | None, promotion_id: str | None, db: str) -> ModelPredictions:
    with create_store(db) as store:
        if promotion_id is not None:
            model_id = store.promoted.get(promotion_id).model_id
        record = store.models.get(str(model_id))
        if record.run_id is None:
            raise FactoryError(f"model {model_id} belongs to no run: its data cannot be rebuilt")
        context = run_context(store.runs.get(record.run_id))
        model = model_from_bytes(store.models.artifact(record.id))
    data = context.dataset.primary
    return ModelPredictions(
        model_id=record.id,
        symbol=context.spec.symbol,
        predictions=pd.Series(model.predict(data.features), index=data.bars.index),
        selection_start=pd.Timestamp(context.spec.selection_start),
        holdout_start=pd.Timestamp(context.spec.holdout_start),
    )


def model_predictions(
    family: Family, symbol: str, selection_start: pd.Timestamp
) -> ModelPredictions:
    """The family's model predictions, checked against the workflow's symbol and periods."""
    found = _load(family.model, family.promotion, get_settings().db)
    if found.symbol != symbol:
        raise FactoryError(
            f"family {family.name}: model {found.model_id} was trained on {found.symbol}, "
            f"the workflow trades {symbol}"
        )
    if selection_start < found.selection_start:
        raise FactoryError(
            f"family {family.name}: model {found.model_id} trained on bars up to "
            f"{found.selection_start}, after the workflow's selection period starts "
            f"({selection_start}): move data.selection_start to {found.selection_start} or later"
        )
    return found
