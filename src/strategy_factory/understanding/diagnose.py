"""Diagnose a stored strategy: a promotion, or a run's best judged configuration.

The model comes from its artifact, the data from the run's recorded dataset (refused if
its bars have changed), and the configuration is replayed over the chosen period exactly
as the run simulated it (same signal rule, fill and costs), so the trades diagnosed are
the trades the run saw. Default period: the holdout, which no training or selection step
looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strategy_factory.backtest import Execution, StrategyConfig, simulate_config
from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.evolution.prepare import run_context
from strategy_factory.evolution.promotion import strategy_of
from strategy_factory.evolution.summary import run_summary
from strategy_factory.execution.units import PERIODS, execution_of, market, period_bounds
from strategy_factory.features import VIXRegimes, default_labelers
from strategy_factory.json_values import plain
from strategy_factory.models import model_from_bytes
from strategy_factory.store import Store
from strategy_factory.understanding.attribution import attribution_method, contributions
from strategy_factory.understanding.diagnosis import Diagnosis, TradeInputs, diagnose_trades

ATTRIBUTION_NOTES = {
    "linear": "exact: coefficient × standardized feature, in the target's units",
    "tree_shap": "exact TreeSHAP from LightGBM (pred_contrib), in the target's units",
}


@dataclass(frozen=True)
class Subject:
    """What is diagnosed: a model of a run traded with one configuration."""

    kind: str  # "promotion" or "run"
    id: str
    run_id: str
    model_id: str
    config: StrategyConfig
    execution: Execution


def find_subject(store: Store, subject_id: str) -> Subject:
    """The promotion ``subject_id``, or else the best judged configuration of the run
    ``subject_id``; a FactoryError says which of the two is missing and why."""
    try:
        promotion = store.promoted.get(subject_id)
    except NotFoundError:
        promotion = None
    if promotion is not None:
        return Subject(
            "promotion",
            promotion.id,
            promotion.run_id,
            promotion.model_id,
            strategy_of(promotion.strategy),
            execution_of(promotion.strategy),
        )
    try:
        run = store.runs.get(subject_id)
    except NotFoundError:
        raise NotFoundError(
            f"no promotion or run {subject_id!r}: give an id from `factory promoted list` "
            "or `factory runs list`"
        ) from None
    best = run_summary(store, run.id)["best"]
    if best is None:
        raise FactoryError(
            f"run {run.id} has no judged configuration to diagnose (status {run.status}): "
            "no generation was simulated and traded on the holdout"
        )
    execution = run_context(run).config.strategy.execution()
    return Subject(
        "run", run.id, run.id, best["model_id"], strategy_of(best["strategy"]), execution
    )


def diagnose(store: Store, subject_id: str, period: str = "holdout") -> dict[str, Any]:
    """The diagnosis of a promotion or a run's best configuration on one of its periods
    (``training``, ``selection`` or ``holdout``), as plain JSON values."""
    if period not in PERIODS:
        raise FactoryError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    subject = find_subject(store, subject_id)
    context = run_context(store.runs.get(subject.run_id))
    model = model_from_bytes(store.models.artifact(subject.model_id))
    ticker = subject.config.ticker
    if ticker not in context.dataset.tickers:
        raise FactoryError(f"{subject.kind} {subject.id} trades {ticker}, which its run lacks")
    data = context.dataset.tickers[ticker]
    view = market(ticker, data, model, context.dataset, period)
    detail = simulate_config(view, subject.config, subject.execution)
    window = data.period(*period_bounds(context.spec, period))
    features = data.features.iloc[window][list(model.features)]
    method = attribution_method(model)
    labelers = {**default_labelers(), "regime_vix": VIXRegimes()}
    inputs = TradeInputs(
        regimes=view.regimes,
        zscore=view.zscore_values(),
        features=features,
        contributions=contributions(model, features),
        regime_names={name: labeler.describe_labels() for name, labeler in labelers.items()},
        attribution_note=ATTRIBUTION_NOTES.get(
            method or "",
            f"none: {model.config.algorithm} has no exact attribution here (linear models "
            "and LightGBM have)",
        ),
    )
    diagnosis: Diagnosis = diagnose_trades(detail, inputs)
    return plain(
        {
            "subject": {
                "kind": subject.kind,
                "id": subject.id,
                "run_id": subject.run_id,
                "model_id": subject.model_id,
                "strategy": subject.config.as_row(),
            },
            "period": {
                "name": period,
                "first": view.index[0].isoformat(),
                "last": view.index[-1].isoformat(),
                "bars": len(view.index),
            },
            **diagnosis.as_json(),
        }
    )
