"""Evolution: train → prune → simulate → judge across generations, with fingerprint reuse,
lineage, an honest holdout gate and resumable runs."""

from strategy_factory.evolution.config import (
    DataOptions,
    EvolveConfig,
    RunOrigin,
    StrategyOptions,
)
from strategy_factory.evolution.engine import Evolution, StopRequestedError
from strategy_factory.evolution.prepare import RunContext, create_run, run_context
from strategy_factory.evolution.pruning import prune
from strategy_factory.evolution.report import write_report
from strategy_factory.evolution.summary import generations, run_json, run_summary
from strategy_factory.evolution.top_results import top_results

__all__ = [
    "DataOptions",
    "Evolution",
    "EvolveConfig",
    "RunContext",
    "RunOrigin",
    "StopRequestedError",
    "StrategyOptions",
    "create_run",
    "generations",
    "prune",
    "run_context",
    "run_json",
    "run_summary",
    "top_results",
    "write_report",
]
