"""The coarse units of work: train one model grid; simulate one model's whole strategy grid.

Both take and return plain JSON values (model artifacts travel as base64 text of the safe
artifact format of :mod:`strategy_factory.models.artifacts`, which cannot execute code
when read), so the same unit runs in a local process pool or on a worker that claimed it
from the job queue.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
import pandas as pd

from strategy_factory.backtest import (
    Execution,
    Market,
    StrategyConfig,
    StrategyDetail,
    StrategyGrid,
    simulate_config,
    simulate_grid,
)
from strategy_factory.errors import FactoryError
from strategy_factory.evaluate import metrics_table, strategy_metrics
from strategy_factory.execution.dataset import Dataset, DatasetSpec, TickerData, load_dataset
from strategy_factory.models import (
    TrainedModel,
    TrainingConfig,
    model_from_text,
    model_to_text,
    train,
)

TRAIN = "train"
SIMULATE = "simulate"


def train_unit(
    payload: dict[str, Any], dataset: Dataset | None = None, threads: int = 1
) -> dict[str, Any]:
    """Train the grid of ``payload["training"]`` on the dataset ``payload["dataset"]``.

    ``dataset``: that dataset already built (shipped with the work); else it is loaded.
    ``threads``: grid paths fitted at once (the model is the same for any count).
    """
    config = TrainingConfig.model_validate(payload["training"])
    primary = (dataset or _load(payload)).primary
    model = train(primary.features, primary.target, primary.regimes, config, n_jobs=threads)
    return {"summary": model.summary(), "artifact": model_to_text(model)}


# The run's periods, in time order.
PERIODS = ("training", "selection", "holdout")


def period_bounds(spec: DatasetSpec, period: str) -> tuple[Any, Any]:
    """The ``[start, end)`` of a named period of the run."""
    bounds = {
        "training": (None, spec.selection_start),
        "selection": (spec.selection_start, spec.holdout_start),
        "holdout": (spec.holdout_start, None),
    }
    if period not in bounds:
        raise FactoryError(f"unknown period {period!r}; use one of {', '.join(bounds)}")
    return bounds[period]


def market(
    ticker: str, data: TickerData, model: TrainedModel, dataset: Dataset, period: str
) -> Market:
    """The backtest view of one ticker in one period, with the model's predictions."""
    window = data.period(*period_bounds(dataset.spec, period))
    bars = data.bars.iloc[window]
    return Market(
        ticker=ticker,
        bars=bars,
        predictions=pd.Series(model.predict(data.features.iloc[window]), index=bars.index),
        zscore=data.zscore[window],
        regimes=data.regimes.iloc[window],
        regime_labels=dataset.regime_labels,
    )


def thresholds(model: TrainedModel, dataset: Dataset, strategy: dict[str, Any]) -> list[float]:
    """Absolute thresholds, or quantiles of |prediction| on the model's training rows."""
    if strategy.get("thresholds"):
        return [float(t) for t in strategy["thresholds"]]
    primary = dataset.primary
    rows = primary.period(*period_bounds(dataset.spec, "training"))
    magnitude = np.abs(model.predict(primary.features.iloc[rows]))
    magnitude = magnitude[np.isfinite(magnitude)]
    quantiles = np.quantile(magnitude, strategy["threshold_quantiles"]) if magnitude.size else [0]
    # Quantile 0 means "trade every signal": use a true zero, not the smallest prediction.
    values = [
        0.0 if q == 0 else float(v)
        for q, v in zip(strategy["threshold_quantiles"], quantiles, strict=False)
    ]
    return sorted(set(values))


def regime_filters(model: TrainedModel, strategy: dict[str, Any], defaults: list[Any]) -> list[Any]:
    """The grid's regime filters: configured ones, or the defaults plus the model's own regime."""
    if strategy.get("regime_filters"):
        return list(strategy["regime_filters"])
    chosen = model.chosen.get("regime_config")
    return defaults if chosen is None or chosen in defaults else [*defaults, chosen]


def strategy_grid(
    model: TrainedModel, dataset: Dataset, strategy: dict[str, Any], defaults: list[Any]
) -> StrategyGrid:
    """The whole strategy grid one model is simulated over."""
    available = set(dataset.regime_labels)
    filters = [
        f for f in regime_filters(model, strategy, defaults) if f is None or set(f) <= available
    ]
    return StrategyGrid(
        thresholds=thresholds(model, dataset, strategy),
        z_limits=strategy["z_limits"],
        regime_filters=filters,
        modes=strategy["modes"],
    )


def execution_of(strategy: dict[str, Any]) -> Execution:
    """Fill mode and costs of a strategy options mapping."""
    return Execution(
        fill=strategy["fill"], fee_bps=strategy["fee_bps"], slippage_bps=strategy["slippage_bps"]
    )


def simulate_unit(payload: dict[str, Any], dataset: Dataset | None = None) -> dict[str, Any]:
    """Simulate a model's whole strategy grid on the selection period of every ticker.

    Returns the metrics row of every cell and the per-block sums and sums of squares of
    every cell's bar returns (``blocks`` equal, contiguous blocks of each ticker's period;
    the oldest remainder bars are left out): what tells trials apart, their correlation
    and the run's PBO. ``rows_per_block`` is the primary symbol's. ``dataset``: the
    payload's dataset already built (shipped with the work); else it is loaded.
    """
    model = model_from_text(payload["artifact"])  # checked before any data is loaded
    dataset = dataset or _load(payload)
    strategy = payload["strategy"]
    grid = strategy_grid(model, dataset, strategy, payload["default_regime_filters"])
    markets = [market(t, dataset.tickers[t], model, dataset, "selection") for t in dataset.tickers]
    execution = execution_of(strategy)
    stats = simulate_grid(markets, grid, execution, blocks=payload["blocks"])
    table = metrics_table(stats)
    return {
        "rows": json_records(table.drop(columns=["max_drawdown_duration"])),
        "block_sums": stats.block_sums.tolist(),
        "block_squares": stats.block_squares.tolist(),
        "rows_per_block": len(markets[0].bars) // payload["blocks"],
        "periods_per_year": float(stats.stats["periods_per_year"].iloc[0]),
    }


def strategy_detail(
    dataset: Dataset, model: TrainedModel, config: StrategyConfig, execution: Execution, period: str
) -> tuple[StrategyDetail, dict[str, float]]:
    """One configuration traded in one period, in full, with its metrics."""
    data = dataset.tickers[config.ticker]
    detail = simulate_config(market(config.ticker, data, model, dataset, period), config, execution)
    return detail, strategy_metrics(detail)


def json_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a metrics table as plain values: NaN (undefined) becomes None.

    Infinities stay: a profit factor with no losing trade is ∞, which the criteria judge
    ("above the maximum"). They are data between the engine and its workers; every JSON
    shown to a user writes them as null (:mod:`strategy_factory.json_values`).
    """
    return [{k: _value(v) for k, v in row.items()} for row in table.to_dict("records")]


def _value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def _load(payload: dict[str, Any]) -> Dataset:
    return load_dataset(DatasetSpec.model_validate(payload["dataset"]))


class UnitFunction(Protocol):
    """A unit of work: a function of its payload, and optionally of its dataset built."""

    def __call__(
        self, payload: dict[str, Any], dataset: Dataset | None = None
    ) -> dict[str, Any]: ...


UNITS: dict[str, UnitFunction] = {
    TRAIN: train_unit,
    SIMULATE: simulate_unit,
}


def run_unit(
    kind: str, payload: dict[str, Any], dataset: Dataset | None = None, threads: int = 1
) -> dict[str, Any]:
    """Run the unit of work ``kind`` on ``payload`` (on ``dataset`` if given, see above).

    ``threads``: cores a training unit may use (a simulation unit runs on Numba's threads,
    set for the whole process).
    """
    if kind not in UNITS:
        raise FactoryError(f"unknown kind of work {kind!r}; known: {', '.join(UNITS)}")
    if kind == TRAIN:
        return train_unit(payload, dataset, threads)
    return UNITS[kind](payload, dataset)
