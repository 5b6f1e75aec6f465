"""The backtester role: run exactly the trials it is given, on the period it is told.

A trial is a family plus one point of its parameter space. The backtester turns the
family's signal parameters (e.g. a rule's lookback) into predictions over the whole
series (causal, so the warm-up comes from the bars before the period), trades each
trial's strategy parameters (threshold, z-limit, mode) through the grid kernel, once
overall and once restricted to every regime of every classifier, and captures each
trial's per-bar signal. It decides nothing: what to try comes from the optimizer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.backtest import (
    Execution,
    Market,
    SignalChanges,
    StrategyConfig,
    config_signal,
    load_predictions,
    rule_predictions,
    signal_changes,
    simulate_configs,
)
from strategy_factory.backtest.signals import config_signals
from strategy_factory.errors import FactoryError
from strategy_factory.evaluate import calmar, metrics_table
from strategy_factory.workflow.bars import WorkflowBars
from strategy_factory.workflow.config import Family

PBO_BLOCKS = 16
METRICS: tuple[str, ...] = (
    "trades",
    "sharpe",
    "sortino",
    "calmar",
    "sqn_100",
    "profit_factor",
    "win_rate",
    "total_return",
    "cagr",
    "max_drawdown",
    "exposure",
    "weekly_consistency",
)
# The columns of a cells table (:func:`run_trials`), in order.
CELL_COLUMNS: tuple[str, ...] = (
    "trial",
    "cell",
    "bars",
    *METRICS,
    *(f"s{b}" for b in range(PBO_BLOCKS)),
    *(f"q{b}" for b in range(PBO_BLOCKS)),
)


@dataclass(frozen=True)
class Trial:
    """One point of a family's space: its number within the family and its parameters."""

    number: int
    params: dict[str, Any]

    def strategy(self, symbol: str, regime_filter: dict | None = None) -> StrategyConfig:
        """The strategy configuration of this trial's threshold, z-limit and mode."""
        return StrategyConfig(
            ticker=symbol,
            threshold=float(self.params["threshold"]),
            z_limit=self.params["z_limit"],
            regime_filter=regime_filter,
            mode=self.params["mode"],
        )


@cache
def _predictions_file(path: str) -> pd.DataFrame:
    return load_predictions(path)


def family_predictions(family: Family, params: dict[str, Any], data: WorkflowBars) -> pd.Series:
    """The family's predictions on every bar (known at each bar's close)."""
    close = data.bars["close"]
    if family.kind == "rule":
        return rule_predictions(close, family.rule or "", int(params["lookback"]))
    if family.kind == "model":
        from strategy_factory.workflow.models import model_predictions

        found = model_predictions(family, data.symbol, data.selection_start)
        return _onto_bars(found.predictions, data, f"model {found.model_id}")
    table = _predictions_file(str(family.path))
    column = family.column or table.columns[0]
    name = Path(str(family.path)).name
    if column not in table.columns:
        raise FactoryError(
            f"{name}: no column {column!r}; columns: {', '.join(map(str, table.columns))}"
        )
    return _onto_bars(table[column], data, name)


def _onto_bars(series: pd.Series, data: WorkflowBars, source: str) -> pd.Series:
    """Predictions aligned onto the bars: every bar from the selection period on needs one."""
    aligned = series.reindex(data.bars.index)
    judged = data.bars.index >= data.selection_start
    missing = np.flatnonzero(judged & aligned.isna().to_numpy())
    if missing.size:
        raise FactoryError(
            f"{source}: no prediction for bar {data.bars.index[missing[0]]} ({missing.size} "
            "bars of the selection and holdout periods lack one); predictions must cover "
            "every bar from the selection period on"
        )
    return aligned.fillna(0.0).rename("prediction")


def signal_key(family: Family, params: dict[str, Any]) -> tuple[Any, ...]:
    """What the predictions depend on: trials sharing it share one prediction series."""
    return tuple(params[name] for name in family.signal_parameters())


def regime_filters(data: WorkflowBars) -> list[tuple[str, int]]:
    """Every (classifier, label) pair a trial is also measured in."""
    return [(name, label) for name, labels in data.labels.items() for label in labels]


def _metrics(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """The :data:`METRICS` of every cell of a metrics table, as float columns."""
    values = {name: table[name].to_numpy(dtype=np.float64) for name in METRICS if name != "calmar"}
    values["calmar"] = calmar(values["cagr"], values["max_drawdown"])
    return {name: values[name] for name in METRICS}


@dataclass(frozen=True)
class Capture:
    """The signals of a batch of trials on its market, formed when asked for (by the
    thread that writes them)."""

    market: Market
    configs: list[StrategyConfig]

    def changes(self) -> SignalChanges:
        """Every trial's signal as its changes (series k: the batch's k-th trial)."""
        return signal_changes(config_signals(self.market, self.configs))


def _cells(stats: Any, trials: Sequence[Trial], names: list[str], bars: list[int]) -> pd.DataFrame:
    sums = {f"s{b}": stats.block_sums[b] for b in range(PBO_BLOCKS)}
    squares = {f"q{b}": stats.block_squares[b] for b in range(PBO_BLOCKS)}
    return pd.DataFrame(
        {
            "trial": np.repeat([t.number for t in trials], len(names)),
            "cell": names * len(trials),
            "bars": bars * len(trials),
        }
        | _metrics(metrics_table(stats))
        | sums
        | squares
    )


def records_of(trials: Sequence[Trial], cells: pd.DataFrame) -> list[dict[str, Any]]:
    """One performance record per trial (params, metrics overall and per regime)."""
    values = cells[list(METRICS)].to_numpy(dtype=np.float64).tolist()
    by_trial: dict[int, list[int]] = {}
    for row, number in enumerate(cells["trial"].tolist()):
        by_trial.setdefault(number, []).append(row)
    names, bars = cells["cell"].tolist(), cells["bars"].tolist()
    records = []
    for trial in trials:
        rows = by_trial[trial.number]
        record: dict[str, Any] = {"trial": trial.number, "params": trial.params, "regimes": {}}
        for row in rows:
            metrics = dict(zip(METRICS, values[row], strict=True))
            if names[row] == "overall":
                record["overall"] = metrics
                continue
            classifier, label = names[row].split("=")
            record["regimes"].setdefault(classifier, {})[label] = metrics | {"bars": bars[row]}
        records.append(record)
    return records


def run_trials(
    data: WorkflowBars,
    family: Family,
    trials: Sequence[Trial],
    period: str,
    execution: Execution,
    captured: Callable[[Capture], None] | None = None,
    predictions: pd.Series | None = None,
) -> pd.DataFrame:
    """Trade every trial on ``period``: one row per (trial, cell), the cell ``overall`` or
    ``<classifier>=<label>`` (the trial trading only in that regime), with its
    :data:`METRICS`, the ``bars`` of the period in that regime, and the sums (``s0``…)
    and sums of squares (``q0``…) of its bar returns per block of the period (the inputs
    of the PBO).

    All trials must share one signal key (one prediction series). ``captured`` gets the
    trials' signals to capture as soon as they are traded, before the metrics are
    computed: a caller that forms and writes them on another thread does so while the
    metrics take one core.
    """
    keys = {signal_key(family, t.params) for t in trials}
    if len(keys) != 1:
        raise FactoryError(f"one batch runs one prediction series; got signal keys {keys}")
    if predictions is None:
        predictions = family_predictions(family, trials[0].params, data)
    market = data.market(period, predictions)
    pairs = regime_filters(data)
    filters: list[dict | None] = [None, *({name: [label]} for name, label in pairs)]
    configs = [t.strategy(data.symbol, f) for t in trials for f in filters]
    stats = simulate_configs(market, configs, execution, blocks=PBO_BLOCKS)
    if captured is not None:
        captured(Capture(market, configs[:: len(filters)]))  # each trial's unfiltered config
    names = ["overall", *(f"{name}={label}" for name, label in pairs)]
    bars = [len(market.bars)] + [
        int((market.regimes[name].to_numpy() == label).sum()) for name, label in pairs
    ]
    return _cells(stats, trials, names, bars)


def trial_signals(data: WorkflowBars, family: Family, trial: Trial, period: str) -> np.ndarray:
    """The per-bar signal (-1, 0, 1) of one trial on ``period`` (no regime filter)."""
    predictions = family_predictions(family, trial.params, data)
    market = data.market(period, predictions)
    return config_signal(market, trial.strategy(data.symbol))
