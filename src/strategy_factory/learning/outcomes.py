"""What every stored configuration did on its run's holdout, simulated again from the store.

A run trades one configuration per model on its holdout: the one it judges. The meta-model
needs the holdout of every configuration the run simulated, so this module simulates each
model's whole strategy grid once more on the run's own holdout bars: the run's stored model
artifact, the grid rebuilt exactly as the run built it (:func:`strategy_grid`), the grid
kernel the run used on the selection period. The judged configuration comes out with the
holdout metrics its run recorded (``tests/learning`` checks it against the run's own
single-configuration backtest).

A run is simulated on the bars it was created on. Bars appended since (forward tracking)
are cut off after the run's last holdout bar, and then the run's stored results — its
selection grids and its judged holdout configurations — must come out again, which proves
the bars it used unchanged; a run whose bars were replaced, or whose symbols are gone,
raises :class:`FactoryError` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.backtest import StrategyGrid, simulate_grid
from strategy_factory.errors import FactoryError
from strategy_factory.evaluate import metrics_table
from strategy_factory.evolution import EvolveConfig
from strategy_factory.evolution.config import DEFAULT_REGIME_FILTERS
from strategy_factory.execution.dataset import Dataset, DatasetSpec, data_digest, load_dataset
from strategy_factory.execution.units import market, period_bounds, strategy_grid
from strategy_factory.models import TrainedModel, model_from_bytes
from strategy_factory.store import Run, Store, strategy_key

# What is kept of a configuration's holdout (the meta-model's target is one of them).
HOLDOUT_METRICS = (
    "trades",
    "sharpe",
    "sortino",
    "sqn_100",
    "profit_factor",
    "total_return",
    "max_drawdown",
    "weekly_consistency",
)


@dataclass(frozen=True)
class RunOutcomes:
    """A run's configurations on its holdout, and the last holdout bar of each ticker.

    ``table``: one row per (model_id, strategy_key) with ``threshold_quantile`` (the share
    of the model's training-period |prediction| below the threshold: the grid's quantile,
    also for absolute thresholds) and ``holdout_<metric>`` for :data:`HOLDOUT_METRICS`.
    """

    table: pd.DataFrame
    last_bar: dict[str, pd.Timestamp]


@dataclass(frozen=True)
class _RunData:
    config: EvolveConfig
    spec: DatasetSpec
    dataset: Dataset
    cut: bool = False  # its bars have changed since: cut at its last holdout bar

    def grid(self, model: TrainedModel) -> StrategyGrid:
        labelled = set(self.dataset.regime_labels)
        defaults = [f for f in DEFAULT_REGIME_FILTERS if f is None or set(f) <= labelled]
        strategy = self.config.strategy.model_dump(mode="json")
        return strategy_grid(model, self.dataset, strategy, defaults)

    def simulate(self, model: TrainedModel, period: str) -> pd.DataFrame:
        """The model's whole grid in one period: metrics per cell, keyed by strategy."""
        tickers = self.dataset.tickers
        markets = [market(t, tickers[t], model, self.dataset, period) for t in tickers]
        stats = simulate_grid(markets, self.grid(model), self.config.strategy.execution())
        table = metrics_table(stats)
        table["strategy_key"] = [strategy_key(row) for row in table.to_dict("records")]
        return table


def run_outcomes(store: Store, run: Run, model_ids: list[str]) -> RunOutcomes:
    """Simulate the grids of ``model_ids`` (models of ``run``) on the run's holdout.

    Raises :class:`FactoryError` when the run cannot be simulated on its own bars again.
    """
    data = _run_data(run)
    models = {model_id: model_from_bytes(store.models.artifact(model_id)) for model_id in model_ids}
    holdouts = {model_id: data.simulate(model, "holdout") for model_id, model in models.items()}
    if data.cut:
        _check_reproduced(store, run, data, models, holdouts)
    frames = [
        _outcomes(data, models[model_id], table).assign(model_id=model_id)
        for model_id, table in holdouts.items()
    ]
    last_bar = {}
    for ticker, ticker_data in data.dataset.tickers.items():
        window = ticker_data.period(*period_bounds(data.spec, "holdout"))
        last_bar[ticker] = ticker_data.bars.index[window][-1]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return RunOutcomes(table=table, last_bar=last_bar)


def _run_data(run: Run) -> _RunData:
    """The run's config and dataset; with bars appended since, cut at its last holdout bar."""
    config = EvolveConfig.load(run.config["evolve"])
    spec = DatasetSpec.model_validate(run.config["dataset"])
    if spec.data_digest is None or spec.data_digest == data_digest(spec):
        return _RunData(config, spec, load_dataset(spec))
    last = pd.Timestamp(run.config["periods"]["holdout"]["last"]).to_pydatetime()
    cut = spec.model_copy(update={"end": last, "data_digest": None})
    return _RunData(config, cut, load_dataset(cut), cut=True)


def _check_reproduced(
    store: Store,
    run: Run,
    data: _RunData,
    models: dict[str, TrainedModel],
    holdouts: dict[str, pd.DataFrame],
) -> None:
    """On bars cut after the run's holdout, the run's stored results — its selection grids
    and its judged holdout configurations — must come out again, or the bars changed."""
    for period in ("selection", "holdout"):
        stored = {
            (result.model_id, strategy_key(vars(result))): (result.trades, result.total_return)
            for result in store.simulations.of_run(run.id, period=period)
        }
        for model_id, model in models.items():
            again = holdouts[model_id] if period == "holdout" else data.simulate(model, period)
            for row in again.itertuples():
                expected = stored.get((model_id, row.strategy_key))
                if expected is not None and not _same(expected, (row.trades, row.total_return)):
                    raise FactoryError(
                        f"the bars of {data.spec.symbol} have changed since run {run.id} was "
                        f"created (not only appended to): its stored {period} results are not "
                        "reproduced, so its holdout cannot be simulated again"
                    )


def _same(expected: tuple[Any, Any], found: tuple[Any, Any]) -> bool:
    trades, total = expected
    if int(trades or 0) != int(found[0]):
        return False
    if total is None or not np.isfinite(found[1]):
        return total is None and not np.isfinite(found[1])
    return bool(np.isclose(total, found[1], rtol=1e-9, atol=1e-12))


def _outcomes(data: _RunData, model: TrainedModel, table: pd.DataFrame) -> pd.DataFrame:
    outcome = pd.DataFrame(
        {f"holdout_{name}": table[name].to_numpy(dtype=np.float64) for name in HOLDOUT_METRICS}
    )
    outcome["strategy_key"] = table["strategy_key"].to_numpy()
    outcome["threshold_quantile"] = _quantiles(data, model, table["threshold"].to_numpy())
    return outcome


def _quantiles(data: _RunData, model: TrainedModel, thresholds: np.ndarray) -> np.ndarray:
    """The share of the model's training-period |prediction| below each threshold."""
    primary = data.dataset.primary
    rows = primary.period(*period_bounds(data.spec, "training"))
    magnitude = np.abs(model.predict(primary.features.iloc[rows]))
    magnitude = np.sort(magnitude[np.isfinite(magnitude)])
    if not magnitude.size:
        return np.zeros(len(thresholds))
    return np.searchsorted(magnitude, thresholds, side="left") / magnitude.size
