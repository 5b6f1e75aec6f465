"""A promotion as something to trade forward: its model, configuration and labelers.

Everything comes from the store, in safe formats: the model from its artifact
(:func:`~strategy_factory.models.model_from_bytes`), the configuration from the
promotion's ``strategy`` (ticker, threshold, z_limit, regime filter, mode, fill, costs),
the data (symbol, references, timeframe, start) from its run's recorded spec.

:func:`begin` runs once per promotion. It rebuilds the run's dataset (refused if its bars
have changed), replays the promoted configuration over the holdout exactly as the
promotion judged it, and keeps what forward tracking continues from: the paper account
at the run's last bar, and the regime labelers the filter names, fitted on the run's
training bars as the run fitted them (checked: they label the run's bars as the run did),
exported as JSON so they are never fitted again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from strategy_factory.backtest import Execution, PaperBars, StrategyConfig, config_signal
from strategy_factory.backtest import paper_backtest as replay
from strategy_factory.backtest.grid import fill_prices
from strategy_factory.data import bars_per_year
from strategy_factory.errors import FactoryError
from strategy_factory.evolution.prepare import RunContext, run_context
from strategy_factory.evolution.promotion import strategy_of
from strategy_factory.execution.dataset import DatasetSpec, TickerData, read_bars, training_end
from strategy_factory.execution.units import execution_of, market
from strategy_factory.features import (
    GMMRegimes,
    HMMRegimes,
    RegimeLabeler,
    TrendVolRegimes,
    VIXRegimes,
    default_labelers,
)
from strategy_factory.models import TrainedModel, model_from_bytes
from strategy_factory.store import PromotedModel, Store

# The labelers a run can filter by, by class name: a stored state names one of these and
# its parameters, and nothing else can be built from it.
LABELER_TYPES: dict[str, type[RegimeLabeler]] = {
    kind.__name__: kind for kind in (GMMRegimes, HMMRegimes, TrendVolRegimes, VIXRegimes)
}


@dataclass(frozen=True)
class ForwardStrategy:
    """What one promotion trades forward, ready to apply to new bars."""

    promotion_id: str
    spec: DatasetSpec
    config: StrategyConfig
    execution: Execution
    model: TrainedModel
    labelers: dict[str, RegimeLabeler]

    @property
    def ticker(self) -> str:
        return self.config.ticker

    @property
    def symbols(self) -> list[str]:
        """Every symbol a forward bar reads: the ticker and the run's references."""
        return list(dict.fromkeys([self.ticker, *self.spec.references]))

    def regime_labels(self) -> dict[str, list[int]]:
        """The declared labels of each regime column the filter names."""
        return {name: list(range(labeler.n_labels)) for name, labeler in self.labelers.items()}


@dataclass(frozen=True)
class Start:
    """Where forward tracking of a promotion starts: the run's last bar of the ticker and
    the state at its close."""

    anchor: pd.Timestamp
    state: dict[str, Any]


def load_strategy(store: Store, promotion: PromotedModel, state: dict[str, Any]) -> ForwardStrategy:
    """The promotion's strategy with the labelers its forward ``state`` carries."""
    spec = DatasetSpec.model_validate(store.runs.get(promotion.run_id).config["dataset"])
    return ForwardStrategy(
        promotion_id=promotion.id,
        spec=spec,
        config=configuration(promotion),
        execution=execution_of(promotion.strategy),
        model=model_from_bytes(store.models.artifact(promotion.model_id)),
        labelers={name: restore_labeler(saved) for name, saved in state["labelers"].items()},
    )


def configuration(promotion: PromotedModel) -> StrategyConfig:
    """The promoted configuration, or a FactoryError naming what the record lacks."""
    strategy = promotion.strategy
    try:
        execution_of(strategy)
        return strategy_of(strategy)
    except (KeyError, TypeError, ValueError) as exc:
        raise FactoryError(
            f"promotion {promotion.id} does not record a whole strategy configuration "
            f"(ticker, threshold, z_limit, regime_filter, mode, fill, fee_bps, slippage_bps): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def saved_labeler(labeler: RegimeLabeler) -> dict[str, Any]:
    """A fitted labeler as JSON values: its type, parameters and what it learned."""
    return {
        "type": type(labeler).__name__,
        "params": labeler.get_params(),
        "fitted": labeler.fitted_state(),
    }


def restore_labeler(saved: dict[str, Any]) -> RegimeLabeler:
    """The fitted labeler :func:`saved_labeler` described."""
    kind = LABELER_TYPES.get(saved.get("type", ""))
    if kind is None:
        raise FactoryError(
            f"unknown regime labeler {saved.get('type')!r} in a forward state; "
            f"known: {', '.join(LABELER_TYPES)}"
        )
    return kind(**saved["params"]).restore(saved["fitted"])


@dataclass(frozen=True)
class HoldoutReplay:
    """The promoted configuration replayed over its run's holdout."""

    context: RunContext
    config: StrategyConfig
    ticker: TickerData
    close: np.ndarray
    paper: PaperBars
    returns: pd.Series
    bars_per_year: float


def replay_holdout(store: Store, promotion: PromotedModel) -> HoldoutReplay:
    """Replay ``promotion``'s configuration over its run's holdout exactly as the
    promotion judged it (same signal rule, fill and costs); its per-bar returns."""
    config = configuration(promotion)
    execution = execution_of(promotion.strategy)
    context = run_context(store.runs.get(promotion.run_id))
    model = model_from_bytes(store.models.artifact(promotion.model_id))
    if config.ticker not in context.dataset.tickers:
        raise FactoryError(
            f"promotion {promotion.id} trades {config.ticker}, which its run "
            f"{promotion.run_id} has no data for"
        )
    data = context.dataset.tickers[config.ticker]
    holdout = market(config.ticker, data, model, context.dataset, "holdout")
    signal = config_signal(holdout, config)
    close = holdout.bars["close"].to_numpy(dtype=np.float64)
    paper = replay(signal, fill_prices(holdout.bars, execution), close, execution)
    # The first bar only forms a signal: returns are of bars 1 … n-1.
    returns = pd.Series(paper.returns, index=holdout.bars.index[1:], name=promotion.id)
    return HoldoutReplay(
        context, config, data, close, paper, returns, bars_per_year(data.bars.index)
    )


def holdout_returns(store: Store, promotion: PromotedModel) -> tuple[pd.Series, float]:
    """``promotion``'s per-bar holdout returns (costs included) and its bars per year."""
    replayed = replay_holdout(store, promotion)
    return replayed.returns, replayed.bars_per_year


def begin(store: Store, promotion: PromotedModel) -> Start:
    """Replay the promotion's holdout once and return the state forward tracking starts
    from (see the module docstring)."""
    replayed = replay_holdout(store, promotion)
    context, config = replayed.context, replayed.config
    labelers = _fit_labelers(context.spec, config, replayed.ticker.regimes)
    anchor = replayed.returns.index[-1]
    state = {
        "account": replayed.paper.account.to_json(),
        "labelers": {name: saved_labeler(labeler) for name, labeler in labelers.items()},
        # A run with a timeframe may have ended inside its last bin: its close may change.
        "anchor_close": None if context.spec.timeframe else float(replayed.close[-1]),
        "bars_per_year": replayed.bars_per_year,
    }
    return Start(anchor=anchor, state=state)


def _fit_labelers(
    spec: DatasetSpec, config: StrategyConfig, labelled: pd.DataFrame
) -> dict[str, RegimeLabeler]:
    """The labelers the filter names, fitted as the run fitted them, and checked to label
    the run's bars as the run did."""
    if config.regime_filter is None:
        return {}
    bars = read_bars(config.ticker, spec)
    references = {r: read_bars(r, spec) for r in spec.references}
    training = bars.loc[: training_end(bars.index, spec)]
    known = default_labelers(references)
    fitted = {}
    for name in config.regime_filter:
        labeler = clone(known[name]).fit(training, references)
        labels = labeler.predict(bars, references)[-len(labelled) :]
        if not np.array_equal(labels, labelled[name].to_numpy()):
            raise FactoryError(
                f"the {name} labeler fitted again on the run's training bars labels its bars "
                "differently from the run: forward tracking could not continue it exactly"
            )
        fitted[name] = labeler
    return fitted
