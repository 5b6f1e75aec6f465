"""Proposals become evolution runs, judged on bars the meta-model never learned from.

The meta-model learned from the holdouts of earlier runs (:mod:`.genome`). A proposed run
judged on one of those holdouts would be judged on bars that chose it. So a launched run's
holdout starts at the first bar after ``holdout_after`` — the last bar of its tickers the
meta-model learned from — and runs to the last stored bar; its selection period is the
same number of bars as its base run's, just before. Training takes everything earlier.
When fewer bars than a holdout needs have arrived since (forward tracking appends them),
the proposal is not launched and the reason says how many are missing.

A launched run is recorded ``pending`` like any run: a server's coordinator takes it over
and drives it, or ``factory evolve --resume ID`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.evolution import DataOptions, EvolveConfig, create_run
from strategy_factory.execution.dataset import MIN_PERIOD_BARS, DatasetSpec, load_dataset
from strategy_factory.learning.search import Proposal
from strategy_factory.models import TargetSpec
from strategy_factory.store import Run, Store


@dataclass(frozen=True)
class Launch:
    """A proposal and the run it became, or why it was not launched."""

    proposal: Proposal
    run: Run | None
    reason: str | None


def launch(
    store: Store, proposals: Sequence[Proposal], owner_id: str | None = None
) -> list[Launch]:
    """Record a pending evolution run for each proposal that has enough unseen bars.

    ``owner_id``: the runs are born leased to this driver (see ``create_run``).
    """
    launched = []
    for proposal in proposals:
        try:
            config = unseen_periods(proposal)
            run = create_run(store, config, owner_id=owner_id)
        except FactoryError as exc:
            launched.append(Launch(proposal=proposal, run=None, reason=str(exc)))
            continue
        launched.append(Launch(proposal=proposal, run=run, reason=None))
    return launched


def unseen_periods(proposal: Proposal) -> EvolveConfig:
    """The proposal's run with its holdout after every bar the meta-model learned from
    (the base run's periods when the meta-model learned from none of its tickers)."""
    config = proposal.config
    after = proposal.holdout_after
    if after is None:
        return config
    index = _usable_bars(config)
    first = int(index.searchsorted(pd.Timestamp(after), side="right"))
    holdout = len(index) - first
    needed = _holdout_bars_needed(config)
    if holdout < needed:
        raise FactoryError(
            f"{config.symbol}: {holdout} bar(s) after {pd.Timestamp(after)}, the last bar the "
            f"meta-model learned from; the run's holdout needs at least {needed}: append "
            "newer bars (factory data import --append) and launch again"
        )
    selection = first - proposal.selection_bars
    if selection < MIN_PERIOD_BARS:
        raise FactoryError(
            f"{config.symbol}: only {first} bar(s) before the unseen holdout, too few for a "
            f"selection period of {proposal.selection_bars} bars and a training period"
        )
    options = DataOptions(
        start=config.data_options.start,
        selection_start=index[selection].to_pydatetime(),
        holdout_start=index[first].to_pydatetime(),
    )
    return config.model_copy(update={"data_options": options})


def _usable_bars(config: EvolveConfig) -> pd.DatetimeIndex:
    """The bars a run of ``config`` can use today (every feature defined), to its last one."""
    spec = DatasetSpec(
        symbol=config.symbol,
        references=config.reference_symbols,
        tickers=[t for t in config.tickers if t != config.symbol],
        timeframe=config.timeframe,
        start=config.data_options.start,
        target=TargetSpec(
            column=config.target_col, transform=config.target_transform, horizon=config.horizon
        ),
    )
    return load_dataset(spec).primary.bars.index


def _holdout_bars_needed(config: EvolveConfig) -> int:
    """A period's minimum, and one bar more than the criteria's minimum trades."""
    trades = config.promotion_criteria().trades
    minimum = 0 if trades is None or trades.min is None else int(trades.min) + 1
    return max(MIN_PERIOD_BARS, minimum)
