"""Execution: the units of work (train one model grid, simulate one model's grid), the
data they share, and the executors that run them: in process, a local process pool, or
the durable job queue with ``factory worker`` processes on any number of machines."""

from strategy_factory.execution.dataset import (
    Dataset,
    DatasetSpec,
    TickerData,
    load_dataset,
    split_points,
)
from strategy_factory.execution.job_client import HttpJobSource
from strategy_factory.execution.job_source import (
    JobSource,
    Lease,
    SourceUnavailableError,
    StoreJobSource,
)
from strategy_factory.execution.local import (
    Executor,
    InlineExecutor,
    LocalExecutor,
    executor_notices,
)
from strategy_factory.execution.queue import JobFailedError, QueueExecutor
from strategy_factory.execution.results import (
    InvalidResultError,
    MetricsRow,
    SimulateResult,
    TrainResult,
    validate_result,
)
from strategy_factory.execution.units import (
    SIMULATE,
    TRAIN,
    UNITS,
    run_unit,
    simulate_unit,
    strategy_detail,
    train_unit,
)
from strategy_factory.execution.worker import WorkerInterruptedError, WorkerReport, run_worker

__all__ = [
    "SIMULATE",
    "TRAIN",
    "UNITS",
    "Dataset",
    "DatasetSpec",
    "Executor",
    "HttpJobSource",
    "InlineExecutor",
    "InvalidResultError",
    "JobFailedError",
    "JobSource",
    "Lease",
    "LocalExecutor",
    "MetricsRow",
    "QueueExecutor",
    "SimulateResult",
    "SourceUnavailableError",
    "StoreJobSource",
    "TickerData",
    "TrainResult",
    "WorkerInterruptedError",
    "WorkerReport",
    "executor_notices",
    "load_dataset",
    "run_unit",
    "run_worker",
    "simulate_unit",
    "split_points",
    "strategy_detail",
    "train_unit",
    "validate_result",
]
