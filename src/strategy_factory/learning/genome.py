"""The meta-model's training data: every simulated configuration as a flattened genome,
with what it did on the selection period and what it did out of sample.

One row per configuration: a model of a finished run traded with one strategy cell
(ticker, threshold, z-limit, regime filter, mode) that made at least ``min_trades`` trades
on the selection period (fewer say nothing, as everywhere in the factory). Its columns,
by what they describe (:class:`Trait`):

- **genome** — what is chosen before a run: the model's feature set (``feature:<name>``,
  one flag per feature, and ``feature_count``), ``algorithm`` and the run's fixed
  hyperparameters (``param:<name>``), ``threshold_quantile`` (the threshold as the share of
  the model's training-period |prediction| below it, so it compares across symbols),
  ``z_limit`` (NaN: none), ``regime_filter``, ``mode``, ``ticker`` (and ``other_ticker``,
  a model traded on another symbol), costs (``fee_bps``, ``slippage_bps``, ``fill``),
  ``horizon``, ``symbol`` and ``timeframe``;
- **training** — what training chose: ``chosen:<name>`` hyperparameters, the
  ``training_regime``, the validated ``validation_score`` and the ``generation``;
- **selection** — its selection-period metrics, ``selection:<metric>``.

The **target** is the same configuration's out-of-sample ``target`` metric (Sharpe ratio by
default): forward (paper-trading) results where the caller passes them, else the run's
holdout. A configuration that did not trade out of sample made nothing: its target is 0.

**Where the holdout figures come from.** A run trades only its judged configuration (one
per model) on its holdout, so holdout figures for every configuration do not exist in the
store. They are computed here, at training time, for every configuration of every finished
run, from the stored model artifacts on the run's own holdout bars with the run's own grid
kernel (:mod:`.outcomes`). This is a look at those holdouts by the meta-model, not by the
runs: it never feeds back into an earlier run's promotion (each verdict was recorded before,
and runs still running are left out). The meta-model does learn from those bars, so it
remembers them: :attr:`GenomeTable.seen_until` holds, per ticker, the last bar any target
covered, and the genome search judges the runs it launches on bars after it (see
:mod:`.search`), never on a holdout the meta-model has learned from.

A model reused by several runs (same fingerprint) has the same results in each: a
configuration is kept once, in the earliest run, so cross-validation grouped by run cannot
see it on both sides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from strategy_factory.backtest import regime_filter_text
from strategy_factory.errors import FactoryError
from strategy_factory.evolution import EvolveConfig
from strategy_factory.learning.outcomes import HOLDOUT_METRICS, run_outcomes
from strategy_factory.store import (
    MIN_RANKED_TRADES,
    ModelRecord,
    PromotedModel,
    Run,
    RunStatus,
    SimulationResult,
    Store,
    strategy_key,
)

GENOME, TRAINING, SELECTION = "genome", "training", "selection"
SELECTION_METRICS = (
    "trades",
    "sharpe",
    "sortino",
    "sqn_100",
    "profit_factor",
    "win_rate",
    "expectancy",
    "weekly_consistency",
    "exposure",
    "total_return",
    "max_drawdown",
)
TARGETS = ("sharpe", "sortino", "sqn_100", "total_return")
FINISHED = (RunStatus.COMPLETED.value, RunStatus.STOPPED.value, RunStatus.FAILED.value)
ALL_BARS = "all bars"
NATIVE = "native"
# Columns that identify a row or hold its outcome; every other column is a trait.
KEY_COLUMNS = ("run_id", "model_id", "strategy_key", "features", "promoted")
OUTCOME_COLUMNS = ("target", "target_source")

# A configuration is a model traded with one strategy cell, whichever run recorded it.
ConfigurationKey = tuple[str, str]
Kind = Literal["numeric", "category", "flag"]

_FIXED: dict[str, tuple[str, Kind]] = {
    "feature_count": (GENOME, "numeric"),
    "algorithm": (GENOME, "category"),
    "threshold_quantile": (GENOME, "numeric"),
    "z_limit": (GENOME, "numeric"),
    "regime_filter": (GENOME, "category"),
    "mode": (GENOME, "category"),
    "ticker": (GENOME, "category"),
    "other_ticker": (GENOME, "flag"),
    "fee_bps": (GENOME, "numeric"),
    "slippage_bps": (GENOME, "numeric"),
    "fill": (GENOME, "category"),
    "horizon": (GENOME, "numeric"),
    "symbol": (GENOME, "category"),
    "timeframe": (GENOME, "category"),
    "training_regime": (TRAINING, "category"),
    "validation_score": (TRAINING, "numeric"),
    "generation": (TRAINING, "numeric"),
}
_PREFIXES: dict[str, tuple[str, Kind]] = {
    "feature:": (GENOME, "flag"),
    "param:": (GENOME, "numeric"),
    "chosen:": (TRAINING, "numeric"),
    "selection:": (SELECTION, "numeric"),
}


@dataclass(frozen=True)
class Trait:
    """What a column of the genome table describes: its ``group`` and ``kind``."""

    name: str
    group: str
    kind: Kind


def trait_of(column: str) -> Trait:
    """The trait a genome-table column holds (raises for a key or outcome column)."""
    if column in _FIXED:
        return Trait(column, *_FIXED[column])
    for prefix, (group, kind) in _PREFIXES.items():
        if column.startswith(prefix):
            return Trait(column, group, kind)
    raise FactoryError(f"{column!r} is not a genome trait")


def is_trait(column: str) -> bool:
    """Whether ``column`` of a genome table is a trait (not a key or the outcome)."""
    return column in _FIXED or column.startswith(tuple(_PREFIXES))


@dataclass(frozen=True)
class ForwardOutcome:
    """A configuration's forward (paper-trading) result: the target metric over its forward
    bars, and the last bar it covers."""

    value: float
    last_bar: datetime


def configuration_key(promotion: PromotedModel) -> ConfigurationKey:
    """The configuration of a promoted strategy (model id, strategy key), to pass its
    forward result under."""
    return promotion.model_id, strategy_key(promotion.strategy)


@dataclass(frozen=True)
class GenomeTable:
    """Every stored configuration as a row of traits, with its out-of-sample target.

    ``skipped``: runs left out, with why; ``seen_until``: per ticker, the ISO time of the
    last bar any target covered (holdout or forward).
    """

    rows: pd.DataFrame
    target: str
    skipped: dict[str, str]
    seen_until: dict[str, str]

    @property
    def traits(self) -> list[Trait]:
        """The trait columns, in table order."""
        return [trait_of(c) for c in self.rows.columns if is_trait(c)]

    @property
    def runs(self) -> int:
        """How many runs contributed rows."""
        return int(self.rows["run_id"].nunique()) if len(self.rows) else 0


def genome_traits(
    config: EvolveConfig,
    features: Sequence[str],
    *,
    ticker: str,
    threshold_quantile: float,
    z_limit: float | None,
    regime_filter: Mapping[str, Sequence[int]] | None,
    mode: str,
) -> dict[str, Any]:
    """The genome columns of one configuration: a run's config, the model's features and
    one strategy cell. The one definition shared by the table and by proposed genomes."""
    strategy = config.strategy
    traits: dict[str, Any] = {f"feature:{name}": 1 for name in features}
    traits |= {
        "feature_count": len(features),
        "algorithm": config.algorithm,
        "threshold_quantile": float(threshold_quantile),
        "z_limit": math.nan if z_limit is None else float(z_limit),
        "regime_filter": regime_filter_text(regime_filter) or ALL_BARS,
        "mode": mode,
        "ticker": ticker,
        "other_ticker": int(ticker != config.symbol),
        "fee_bps": strategy.fee_bps,
        "slippage_bps": strategy.slippage_bps,
        "fill": strategy.fill,
        "horizon": config.horizon,
        "symbol": config.symbol,
        "timeframe": config.timeframe or NATIVE,
    }
    for name, value in config.params.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            traits[f"param:{name}"] = float(value)
    return traits


def genome_table(
    store: Store,
    *,
    target: str = "sharpe",
    forward: Mapping[ConfigurationKey, ForwardOutcome] | None = None,
    min_trades: int = MIN_RANKED_TRADES,
) -> GenomeTable:
    """Every configuration of every finished run, with its out-of-sample ``target``.

    ``forward``: forward results by :func:`configuration_key` (from forward tracking);
    where one exists it is the target instead of the holdout. ``min_trades``: fewer
    selection-period trades leave a configuration out.
    """
    if target not in TARGETS:
        raise FactoryError(f"target {target!r} is not one of {', '.join(TARGETS)}")
    runs = sorted(_finished(store), key=lambda run: (run.created_at, run.id))
    promoted = {configuration_key(p) for p in store.promoted.recent(limit=10**9)}
    seen: set[tuple[str, str]] = set()
    frames, skipped, seen_until = [], {}, {}
    for run in runs:
        try:
            frame, last_bars = _run_rows(store, run, seen, min_trades)
        except FactoryError as exc:
            skipped[run.id] = str(exc)
            continue
        if frame is None:
            continue
        frames.append(frame)
        for ticker, bar in last_bars.items():
            seen_until[ticker] = max(seen_until.get(ticker, bar), bar)
    rows = _with_targets(pd.concat(frames, ignore_index=True) if frames else _empty(), target)
    rows["promoted"] = [key in promoted for key in _keys(rows)]
    rows = _forward(rows, forward or {}, seen_until)
    rows = rows[np.isfinite(rows["target"].to_numpy(dtype=np.float64))].reset_index(drop=True)
    traits = sorted(c for c in rows.columns if is_trait(c))
    rows = rows[[*KEY_COLUMNS, *traits, *OUTCOME_COLUMNS]]
    until = {ticker: bar.isoformat() for ticker, bar in sorted(seen_until.items())}
    return GenomeTable(rows=rows, target=target, skipped=skipped, seen_until=until)


def _finished(store: Store) -> list[Run]:
    return [run for status in FINISHED for run in store.runs.recent(status=status, limit=10**9)]


def _run_rows(
    store: Store, run: Run, seen: set[tuple[str, str]], min_trades: int
) -> tuple[pd.DataFrame | None, dict[str, pd.Timestamp]]:
    """A run's configurations not seen in an earlier run, with their holdout outcomes."""
    selection = store.simulations.of_run(run.id)
    fresh = [
        r
        for r in selection
        if (r.model_id, strategy_key(vars(r))) not in seen and (r.trades or 0) >= min_trades
    ]
    if not fresh:
        return None, {}
    model_ids = list(dict.fromkeys(r.model_id for r in fresh))
    outcomes = run_outcomes(store, run, model_ids)
    config = EvolveConfig.load(run.config["evolve"])
    models = {model_id: store.models.get(model_id) for model_id in model_ids}
    holdout = {
        (row["model_id"], row["strategy_key"]): row for row in outcomes.table.to_dict("records")
    }
    records, keys = [], []
    for result in fresh:
        key = strategy_key(vars(result))
        outcome = holdout.get((result.model_id, key))
        if outcome is None:
            raise FactoryError(
                f"run {run.id}: the grid of model {result.model_id} no longer holds {key}, "
                "so its holdout cannot be simulated again"
            )
        records.append(_record(run, config, models[result.model_id], result, key, outcome))
        keys.append((result.model_id, key))
    seen.update(keys)  # only once the whole run is in: a run left out leaves nothing seen
    return pd.DataFrame.from_records(records), outcomes.last_bar


def _record(
    run: Run,
    config: EvolveConfig,
    model: ModelRecord,
    result: SimulationResult,
    key: str,
    outcome: Mapping[str, Any],
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "run_id": run.id,
        "model_id": model.id,
        "strategy_key": key,
        "features": tuple(model.features),
    }
    record |= genome_traits(
        config,
        model.features,
        ticker=result.ticker,
        threshold_quantile=float(outcome["threshold_quantile"]),
        z_limit=result.z_limit,
        regime_filter=result.regime_filter,
        mode=result.mode,
    )
    record |= _training_traits(model)
    metrics = {**result.metrics, "trades": result.trades}
    record |= {f"selection:{name}": _finite(metrics.get(name)) for name in SELECTION_METRICS}
    record |= {f"holdout_{name}": float(outcome[f"holdout_{name}"]) for name in HOLDOUT_METRICS}
    return record


def _training_traits(model: ModelRecord) -> dict[str, Any]:
    chosen = model.chosen_config or {}
    traits: dict[str, Any] = {
        "training_regime": regime_filter_text(chosen.get("regime_config")) or ALL_BARS,
        "validation_score": _finite((model.validation_metrics or {}).get("mean")),
        "generation": model.generation,
    }
    for name, value in (chosen.get("params") or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            traits[f"chosen:{name}"] = float(value)
    return traits


def _finite(value: Any) -> float:
    """A number as the meta-model takes it: undefined is NaN, ±∞ a large finite value
    (a profit factor with no losing trade is better than any finite one, not unknown)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    number = float(value)
    return math.copysign(1e9, number) if math.isinf(number) else number


def _empty() -> pd.DataFrame:
    columns = [*KEY_COLUMNS[:4], *(f"holdout_{name}" for name in HOLDOUT_METRICS)]
    return pd.DataFrame(columns=columns)


def _with_targets(rows: pd.DataFrame, target: str) -> pd.DataFrame:
    """The holdout target: the metric, 0 for a configuration that did not trade."""
    value = rows[f"holdout_{target}"].to_numpy(dtype=np.float64)
    flat = rows["holdout_trades"].to_numpy(dtype=np.float64) == 0
    value = np.where(flat, 0.0, value)
    rows = rows.drop(columns=[c for c in rows.columns if c.startswith("holdout_")])
    rows["target"] = np.where(np.isfinite(value), value, np.nan)
    rows["target_source"] = "holdout"
    return rows.fillna({name: 0 for name in rows.columns if name.startswith("feature:")})


def _keys(rows: pd.DataFrame) -> list[ConfigurationKey]:
    return list(zip(rows["model_id"], rows["strategy_key"], strict=True))


def _forward(
    rows: pd.DataFrame,
    forward: Mapping[ConfigurationKey, ForwardOutcome],
    seen_until: dict[str, pd.Timestamp],
) -> pd.DataFrame:
    """Forward results replace the holdout as the target where they exist."""
    if not forward:
        return rows
    target = rows["target"].to_numpy(dtype=np.float64).copy()
    source = rows["target_source"].to_numpy(dtype=object).copy()
    for position, key in enumerate(_keys(rows)):
        outcome = forward.get(key)
        if outcome is None:
            continue
        target[position], source[position] = outcome.value, "forward"
        ticker, bar = rows["ticker"].iat[position], pd.Timestamp(outcome.last_bar)
        seen_until[ticker] = max(seen_until.get(ticker, bar), bar)
    return rows.assign(target=target, target_source=source)
