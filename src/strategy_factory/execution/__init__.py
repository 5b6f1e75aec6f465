"""Execution: the units of work (train one model grid, simulate one model's grid), the
data they share, and the executors that run them."""

from strategy_factory.execution.dataset import (
    Dataset,
    DatasetSpec,
    TickerData,
    load_dataset,
    split_points,
)
from strategy_factory.execution.local import Executor, InlineExecutor, LocalExecutor
from strategy_factory.execution.units import (
    SIMULATE,
    TRAIN,
    UNITS,
    model_from_text,
    model_to_text,
    run_unit,
    simulate_unit,
    strategy_detail,
    train_unit,
)

__all__ = [
    "SIMULATE",
    "TRAIN",
    "UNITS",
    "Dataset",
    "DatasetSpec",
    "Executor",
    "InlineExecutor",
    "LocalExecutor",
    "TickerData",
    "load_dataset",
    "model_from_text",
    "model_to_text",
    "run_unit",
    "simulate_unit",
    "split_points",
    "strategy_detail",
    "train_unit",
]
