"""Everything checked and resolved before a run does any work, and what it is resumed from.

:func:`create_run` validates the config against the data (symbols, seed features,
regime names, period boundaries), resolves the period boundaries to dates and records
the run. The run's stored config then holds everything needed to redo exactly the
same work: :func:`run_context` rebuilds it for a fresh or resumed run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from strategy_factory.data import BarCatalog, normalize_symbol
from strategy_factory.errors import FactoryError
from strategy_factory.evolution.budget import check_budget, estimate_work
from strategy_factory.evolution.config import DEFAULT_REGIME_FILTERS, DataOptions, EvolveConfig
from strategy_factory.execution.dataset import (
    Dataset,
    DatasetSpec,
    data_digest,
    fraction_starts,
    load_dataset,
    split_points,
    stored_last_bars,
)
from strategy_factory.execution.units import PERIODS, period_bounds
from strategy_factory.features.formula import is_formula
from strategy_factory.models import DEFAULT_REGIME_CONFIGS, DataRange, TargetSpec, TrainingConfig
from strategy_factory.settings import get_settings
from strategy_factory.store import Run, Store


@dataclass(frozen=True)
class RunContext:
    """A run's validated config, resolved dataset and the regime configs it trains with."""

    run_id: str
    config: EvolveConfig
    spec: DatasetSpec
    dataset: Dataset
    seed_features: list[str]
    regime_configs: list[Any]

    def training_config(self, features: list[str]) -> TrainingConfig:
        """The full training config of a model on ``features`` (what its fingerprint hashes)."""
        return training_config(self.config, self.spec, self.regime_configs, features)

    def default_regime_filters(self) -> list[Any]:
        """The default simulation regime filters this dataset has labels for."""
        return _available(list(DEFAULT_REGIME_FILTERS), self.dataset)


def training_config(
    config: EvolveConfig, spec: DatasetSpec, regime_configs: list[Any], features: list[str]
) -> TrainingConfig:
    """The training config of a run's model on ``features``; mistakes raise FactoryError."""
    return TrainingConfig.load(
        {
            "symbol": config.symbol,
            "features": features,
            "algorithm": config.algorithm,
            "params": config.params,
            "grid": config.grid,
            "regime_configs": regime_configs,
            "target": spec.target,
            "walk_forward": config.walk_forward,
            "data": DataRange(
                start=spec.start,
                selection_start=spec.selection_start,
                holdout_start=spec.holdout_start,
                digest=spec.data_digest,
            ),
            "timeframe": config.timeframe,
            "seed": config.seed,
        }
    )


def default_periods(symbol: str, references: list[str]) -> DatasetSpec:
    """The dataset of a run on ``symbol`` with ``references``, cut by the default fractions.

    Its ``selection_start`` is where such a run's training period ends, so a look at the
    data that must not peek past training (``factory features report``) can stop there.
    """
    options = DataOptions()
    spec = DatasetSpec(
        symbol=normalize_symbol(symbol),
        references=list(dict.fromkeys(normalize_symbol(r) for r in references)),
    )
    return split_points(spec, options.selection_fraction, options.holdout_fraction)


def default_training_bars(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The bars of ``index`` a run's training period would hold with the default fractions.

    For fitting what must not see later bars (``factory backtest``'s regime labelers) on
    the same share of a series as a run trains on.
    """
    options = DataOptions()
    selection, _ = fraction_starts(index, options.selection_fraction, options.holdout_fraction)
    return index[index < selection]


def create_run(
    store: Store, config: EvolveConfig, owner_id: str | None = None, lease_seconds: float = 30.0
) -> Run:
    """Validate ``config`` against the data and record a pending run (no training yet).

    ``owner_id``: the run is born leased to this driver (see :class:`LeaseKeeper`).
    """
    spec = config_spec(config)
    dataset = load_dataset(spec)
    periods = describe_periods(spec, dataset)
    periods["warnings"] = check_trades_reachable(config, periods)
    seed = _seed_features(store, config, dataset)
    training = training_config(config, spec, _regime_configs(config, dataset), seed)
    _check_filters(config, dataset)
    default_filters = len(_available(list(DEFAULT_REGIME_FILTERS), dataset))
    work = estimate_work(config, training, dataset, default_filters)
    check_budget(work)
    stored = {
        "evolve": config.model_dump(mode="json"),
        "dataset": spec.model_dump(mode="json"),
        "seed_features": seed,
        "periods": periods,
        "work": work.as_record(),
    }
    return store.runs.create(
        config.symbol,
        config.algorithm,
        stored,
        config.max_generations,
        owner_id=owner_id,
        lease_seconds=lease_seconds,
    )


def config_spec(config: EvolveConfig) -> DatasetSpec:
    """The dataset a run of ``config`` would read now: its symbols checked to be stored,
    its periods resolved to dates and its bars digested."""
    catalog = BarCatalog(get_settings().bars_dir)
    for symbol in [config.symbol, *config.reference_symbols, *config.strategy.tickers]:
        catalog.meta(symbol)
    options = config.data_options
    spec = DatasetSpec(
        symbol=config.symbol,
        references=config.reference_symbols,
        tickers=[t for t in config.tickers if t != config.symbol],
        timeframe=config.timeframe,
        start=options.start,
        end=options.end,
        target=TargetSpec(
            column=config.target_col, transform=config.target_transform, horizon=config.horizon
        ),
        selection_start=options.selection_start,
        holdout_start=options.holdout_start,
        formulas=[name for name in config.seed_features or [] if is_formula(name)],
    )
    spec = split_points(
        stored_last_bars(spec), options.selection_fraction, options.holdout_fraction
    )
    return spec.model_copy(update={"data_digest": data_digest(spec)})


def default_seed_features(dataset: Dataset) -> list[str]:
    """The seed features of a run that names none: every feature that varies over the
    training period."""
    return _informative(dataset, dataset.feature_names)


def describe_periods(spec: DatasetSpec, dataset: Dataset) -> dict[str, Any]:
    """The bars a run will use: the primary symbol's stored history, the part the run can
    use (every feature defined, after the indicators' warm-up), the options that cut it
    shorter (a later ``start``, a reference that starts later), and each period's first and last bar
    and bar count — said before the run starts, so a shortened history is no surprise."""
    catalog = BarCatalog(get_settings().bars_dir)
    stored = catalog.meta(spec.symbol)
    primary = dataset.primary
    index = primary.bars.index
    spans = {}
    for name in PERIODS:
        chosen = index[primary.period(*period_bounds(spec, name))]
        spans[name] = _span(chosen)
    cut_by = []
    if spec.start is not None and pd.Timestamp(spec.start) > stored.first:
        cut_by.append(f"the chosen start {pd.Timestamp(spec.start).date()}")
    for reference in spec.references:
        meta = catalog.meta(reference)
        if meta.first > stored.first:
            cut_by.append(f"reference {reference} starts {meta.first.date()}")
    return {
        "symbol": spec.symbol,
        "stored": {
            "first": stored.first.isoformat(),
            "last": stored.last.isoformat(),
            "bars": stored.rows,
        },
        "used": _span(index),
        "cut_by": cut_by,
        **spans,
    }


def _span(index: pd.DatetimeIndex) -> dict[str, Any]:
    if len(index) == 0:
        return {"first": None, "last": None, "bars": 0}
    return {"first": index[0].isoformat(), "last": index[-1].isoformat(), "bars": len(index)}


def check_trades_reachable(config: EvolveConfig, periods: dict[str, Any]) -> list[str]:
    """Refuse a run whose criteria ask for more trades than a period has bars: a trade
    lasts at least one bar, so such a run could never promote anything. Returns warnings
    for periods where the minimum needs a trade on most bars."""
    limits = config.promotion_criteria().trades
    needed = None if limits is None else limits.min
    if needed is None:
        return []
    warnings = []
    for name in ("selection", "holdout"):
        bars = periods[name]["bars"]
        if bars - 1 < needed:
            raise FactoryError(
                f"the {name} period of {config.symbol} has {bars} bars "
                f"({periods[name]['first']} to {periods[name]['last']}), too few for the "
                f"criteria's minimum of {needed:g} trades (a trade lasts at least a bar)"
                + _cut_hint(periods)
                + "; use more history, a shorter timeframe, or criteria asking fewer trades"
            )
        if bars < 2 * needed:
            warnings.append(
                f"the {name} period has {bars} bars for a minimum of {needed:g} trades: "
                "only a strategy trading on most bars can pass" + _cut_hint(periods)
            )
    return warnings


def _cut_hint(periods: dict[str, Any]) -> str:
    if not periods["cut_by"]:
        return ""
    return (
        f": {periods['symbol']} is stored from {periods['stored']['first'][:10]}, but the "
        f"run can only use bars from {periods['used']['first'][:10]} ("
        + ", ".join(periods["cut_by"])
        + ")"
    )


def run_context(run: Run) -> RunContext:
    """Rebuild a recorded run's context (the dataset comes from this process's cache)."""
    config = EvolveConfig.load(run.config["evolve"])
    spec = recorded_spec(run)
    dataset = load_dataset(spec)
    return RunContext(
        run_id=run.id,
        config=config,
        spec=spec,
        dataset=dataset,
        seed_features=list(run.config["seed_features"]),
        regime_configs=_regime_configs(config, dataset),
    )


def recorded_spec(run: Run) -> DatasetSpec:
    """The dataset a recorded run reads.

    A run recorded before runs were bound to the bars stored at their creation (its spec
    has no ``last_bars``) is bound to the last bar it saw stored, provided the bars up to
    there are still the ones it digested: bars appended since then leave it as it was.
    """
    spec = DatasetSpec.model_validate(run.config["dataset"])
    last = run.config.get("periods", {}).get("stored", {}).get("last")
    if spec.last_bars is not None or spec.data_digest is None or last is None:
        return spec
    symbols = [spec.symbol, *spec.references, *spec.tickers]
    moment = pd.Timestamp(last).to_pydatetime()
    bound = spec.model_copy(update={"last_bars": dict.fromkeys(symbols, moment)})
    return bound if data_digest(bound) == spec.data_digest else spec


def _seed_features(store: Store, config: EvolveConfig, dataset: Dataset) -> list[str]:
    if config.seed_model_id:
        features = store.models.get(config.seed_model_id).features
    elif config.seed_features:
        features = config.seed_features
    else:
        features = _informative(dataset, dataset.feature_names)
    unknown = [f for f in features if f not in dataset.feature_names]
    if unknown:
        raise FactoryError(
            f"seed feature(s) {', '.join(unknown)} are not available for {config.symbol} "
            f"with references {config.reference_symbols or 'none'}; available: "
            f"{', '.join(dataset.feature_names)}"
        )
    if len(features) < config.min_features:
        raise FactoryError(
            f"{len(features)} seed feature(s) is fewer than min_features={config.min_features}"
        )
    return list(features)


def _informative(dataset: Dataset, names: list[str]) -> list[str]:
    """The features that vary over the training period (``minute`` of hourly bars does not)."""
    primary = dataset.primary
    rows = primary.features.iloc[primary.period(None, dataset.spec.selection_start)]
    spread = rows[names].max() - rows[names].min()
    return [name for name in names if spread[name] > 0]


def _available(configs: list[Any], dataset: Dataset) -> list[Any]:
    return [c for c in configs if c is None or set(c) <= set(dataset.regime_labels)]


def _regime_configs(config: EvolveConfig, dataset: Dataset) -> list[Any]:
    """Training regime configs; the defaults quietly skip labelers this data lacks (VIX)."""
    if config.regime_configs == list(DEFAULT_REGIME_CONFIGS):
        return _available(config.regime_configs, dataset)
    _check_regimes("regime config", config.regime_configs, dataset)
    return config.regime_configs


def _check_filters(config: EvolveConfig, dataset: Dataset) -> None:
    _check_regimes("regime filter", config.strategy.regime_filters or [], dataset)


def _check_regimes(what: str, configs: list[Any], dataset: Dataset) -> None:
    known = dataset.regime_labels
    for entry in configs:
        for column, labels in (entry or {}).items():
            if column not in known:
                raise FactoryError(
                    f"{what} {entry} names {column!r}, which this run does not label; "
                    f"known: {', '.join(known)} (regime_vix needs the VIX reference)"
                )
            unknown = sorted(set(labels) - set(known[column]))
            if unknown:
                raise FactoryError(
                    f"{what} {entry} allows label(s) {unknown} that {column} never takes; "
                    f"its labels are {known[column]}"
                )
