"""Bayesian genome search: Optuna proposes genomes near the champions, the meta-model
pre-scores them, and the best become evolution runs (:mod:`.launch`).

A genome is one Optuna trial (:mod:`.space`): the features a run starts from, its
algorithm, and a strategy configuration (threshold quantile, z-limit, regime filter, mode).
A search covers one market — a symbol with its reference symbols and timeframe — in a
study of its own (``genome-SP500+NASDAQ@1h``) kept in the store's database
(:mod:`strategy_factory.store.studies`), so a search resumes where any process left it and
many workers can propose at once. The study's space is fixed when it is created (the
candidate features are the champions' features and their runs' seed features) and kept in
the study.

:func:`propose`:

1. seeds the study with the market's champions (promoted configurations first, then the
   best realised out of sample), each told once as a finished trial with its realised
   out-of-sample value;
2. asks ``candidates`` genomes one at a time from the sampler (TPE by default, seeded by
   ``seed`` plus the study's length, so a study in a given state asks the same genomes
   whichever process resumes it), and tells each the score the meta-model's genome
   regressor gives it: TPE moves toward what the meta-model expects to survive, starting
   from what did;
3. returns the ``k`` best-scored distinct genomes of the batch as :class:`Proposal` s.

Every trial in the study — a champion evaluated, or a genome proposed and scored — counts:
a proposal carries ``prior_trials``, the number of finished trials so far, which the run it
becomes adds to the trials its Deflated Sharpe Ratio is charged for.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from strategy_factory.backtest import parse_regime_filter, regime_filter_text
from strategy_factory.data import normalize_symbol
from strategy_factory.errors import FactoryError
from strategy_factory.evolution import EvolveConfig, RunOrigin
from strategy_factory.evolution.config import (
    DEFAULT_REGIME_FILTERS,
    DEFAULT_THRESHOLD_QUANTILES,
    DEFAULT_Z_LIMITS,
)
from strategy_factory.learning.champions import Champion
from strategy_factory.learning.genome import ALL_BARS, genome_traits
from strategy_factory.learning.metamodel import MetaModel
from strategy_factory.learning.space import Genome, SearchSpace
from strategy_factory.store import Store
from strategy_factory.store.studies import open_study

SEEDED_CHAMPIONS = 10


@dataclass(frozen=True)
class Proposal:
    """A genome the search proposes to run, ready for :func:`~.launch.launch`.

    ``config``: the run (its periods are set at launch, on bars the meta-model has not
    learned from); ``holdout_after``: the last bar of its tickers the meta-model learned
    from; ``selection_bars``: the selection period's length in bars, as in its base run.
    """

    study: str
    trial: int
    genome: Genome
    score: float
    prior_trials: int
    config: EvolveConfig
    holdout_after: datetime | None
    selection_bars: int

    def as_json(self) -> dict[str, Any]:
        """Plain values (for the CLI, the API and the knowledge summary)."""
        return {
            "study": self.study,
            "trial": self.trial,
            "genome": self.genome.as_json(),
            "score": self.score,
            "prior_trials": self.prior_trials,
            "symbol": self.config.symbol,
            "holdout_after": None if self.holdout_after is None else self.holdout_after.isoformat(),
        }


@dataclass(frozen=True)
class _Market:
    """The champions of one market and the runs they came from."""

    name: str
    champions: list[Champion]
    configs: dict[str, EvolveConfig]  # by run id
    seed_features: dict[str, list[str]]  # by run id: what each run started from
    selection_bars: dict[str, int]  # by run id

    def base(self, algorithm: str) -> Champion:
        """The best champion with ``algorithm``: the run a proposal is built on."""
        return next(c for c in self.champions if c.algorithm == algorithm)


def propose(
    store: Store,
    meta_model: MetaModel,
    k: int = 3,
    *,
    symbol: str | None = None,
    candidates: int = 64,
    seed: int = 0,
    sampler: optuna.samplers.BaseSampler | None = None,
) -> list[Proposal]:
    """The ``k`` genomes of ``candidates`` asked that the meta-model scores best.

    ``symbol``: the market to search (default: the best champion's); ``sampler``: instead
    of TPE seeded by ``seed`` plus the study's length.
    """
    if k < 1 or candidates < k:
        raise FactoryError(
            f"ask for k >= 1 proposals among candidates >= k, got {k} of {candidates}"
        )
    market = _market(store, meta_model, symbol)
    optuna.logging.set_verbosity(logging.WARNING)
    with open_study(store, market.name) as study:
        space = _space(study, market)
        _seed_champions(study, space, market)
        study.sampler = sampler or optuna.samplers.TPESampler(seed=seed + len(study.trials))
        scored = _ask_and_score(study, space, market, meta_model, candidates)
        prior = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    best = sorted(scored, key=lambda item: (-item[2], item[0]))
    chosen, seen = [], set()
    for number, genome, score in best:
        if genome not in seen and len(chosen) < k:
            seen.add(genome)
            chosen.append(_proposal(market, meta_model, number, genome, score, prior))
    return chosen


def _market(store: Store, meta_model: MetaModel, symbol: str | None) -> _Market:
    wanted = None if symbol is None else normalize_symbol(symbol)
    pool = [c for c in meta_model.champions if wanted is None or c.symbol == wanted]
    if not pool:
        where = f" on {symbol}" if symbol else ""
        raise FactoryError(
            f"the meta-model {meta_model.version} knows no champion{where}: a search starts "
            "from configurations that were judged out of sample; train it on more runs"
        )
    runs = {c.run_id: store.runs.get(c.run_id) for c in pool}
    configs = {run_id: EvolveConfig.load(run.config["evolve"]) for run_id, run in runs.items()}
    first = configs[pool[0].run_id]
    name = market_name(first)
    same = [c for c in pool if market_name(configs[c.run_id]) == name]
    return _Market(
        name=name,
        champions=same,
        configs=configs,
        seed_features={run_id: list(run.config["seed_features"]) for run_id, run in runs.items()},
        selection_bars={
            run_id: int(run.config["periods"]["selection"]["bars"]) for run_id, run in runs.items()
        },
    )


def market_name(config: EvolveConfig) -> str:
    """The study of a run's market: ``genome-<symbol>[+<reference>…][@<timeframe>]``."""
    references = "".join(f"+{r}" for r in sorted(config.reference_symbols))
    timeframe = f"@{config.timeframe}" if config.timeframe else ""
    return f"genome-{config.symbol}{references}{timeframe}"


def _space(study: optuna.Study, market: _Market) -> SearchSpace:
    """The study's space; a new study takes it from its market's champions and runs."""
    kept = study.user_attrs.get("space")
    if kept is not None:
        return SearchSpace.from_json(kept)
    champions = market.champions
    features = {f for c in champions for f in c.features}
    for champion in champions:
        features |= set(market.seed_features[champion.run_id])
    z_limits = {*DEFAULT_Z_LIMITS, *(c.z_limit for c in champions)}
    filters = {regime_filter_text(f) or ALL_BARS for f in DEFAULT_REGIME_FILTERS}
    space = SearchSpace(
        features=tuple(sorted(features)),
        algorithms=tuple(sorted({c.algorithm for c in champions})),
        z_limits=(None, *sorted(z for z in z_limits if z is not None)),
        regime_filters=tuple(sorted(filters | {c.regime_filter for c in champions})),
    )
    study.set_user_attr("space", space.to_json())
    return space


def _seed_champions(study: optuna.Study, space: SearchSpace, market: _Market) -> None:
    """Tell the study each champion not told yet, with its realised out-of-sample value."""
    told = {t.user_attrs.get("configuration") for t in study.get_trials(deepcopy=False)}
    distributions = space.distributions()
    for champion in market.champions[:SEEDED_CHAMPIONS]:
        key = f"{champion.run_id}/{champion.model_id}/{champion.strategy_key}"
        params = space.params(champion)
        if key in told or params is None:
            continue
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=champion.target,
                user_attrs={"source": "champion", "configuration": key},
            )
        )


def _ask_and_score(
    study: optuna.Study,
    space: SearchSpace,
    market: _Market,
    meta_model: MetaModel,
    candidates: int,
) -> list[tuple[int, Genome, float]]:
    distributions = space.distributions()
    scored = []
    for _ in range(candidates):
        trial = study.ask(distributions)
        genome = space.genome(trial.params)
        config = market.configs[market.base(genome.algorithm).run_id]
        if len(genome.features) < config.min_features:
            trial.set_user_attr("reason", f"fewer than {config.min_features} features")
            study.tell(trial, state=TrialState.FAIL)
            continue
        score = float(meta_model.predict(_genome_row(config, genome), inputs="genome")[0])
        trial.set_user_attr("source", "proposal")
        trial.set_user_attr("meta_model", meta_model.version)
        study.tell(trial, score if math.isfinite(score) else None,
                   state=None if math.isfinite(score) else TrialState.FAIL)  # fmt: skip
        if math.isfinite(score):
            scored.append((trial.number, genome, score))
    return scored


def _genome_row(config: EvolveConfig, genome: Genome) -> pd.DataFrame:
    traits = genome_traits(
        config,
        genome.features,
        ticker=config.symbol,
        threshold_quantile=genome.threshold_quantile,
        z_limit=genome.z_limit,
        regime_filter=parse_regime_filter(
            None if genome.regime_filter == ALL_BARS else genome.regime_filter
        ),
        mode=genome.mode,
    )
    return pd.DataFrame([traits])


def _proposal(
    market: _Market,
    meta_model: MetaModel,
    number: int,
    genome: Genome,
    score: float,
    prior: int,
) -> Proposal:
    base = market.base(genome.algorithm)
    config = _run_config(market.configs[base.run_id], genome)
    origin = RunOrigin(
        study=market.name,
        trials=[number],
        meta_model=meta_model.version,
        predicted=score,
        genome=genome.as_json(),
    )
    config = config.model_copy(update={"origin": origin, "prior_trials": prior})
    tickers = [t for t in config.tickers if t in meta_model.seen_until]
    after = max((pd.Timestamp(meta_model.seen_until[t]) for t in tickers), default=None)
    return Proposal(
        study=market.name,
        trial=number,
        genome=genome,
        score=score,
        prior_trials=prior,
        config=config,
        holdout_after=None if after is None else after.to_pydatetime(),
        selection_bars=market.selection_bars[base.run_id],
    )


def _run_config(base: EvolveConfig, genome: Genome) -> EvolveConfig:
    """``base`` on the genome's features, its grid widened to hold the genome's configuration."""
    strategy = base.strategy
    regime_filter = parse_regime_filter(
        None if genome.regime_filter == ALL_BARS else genome.regime_filter
    )
    filters = strategy.regime_filters
    if filters is not None or regime_filter not in DEFAULT_REGIME_FILTERS:
        filters = _union(filters or list(DEFAULT_REGIME_FILTERS), [regime_filter])
    quantiles = (
        strategy.threshold_quantiles if strategy.thresholds is None else DEFAULT_THRESHOLD_QUANTILES
    )
    data = base.model_dump(mode="json")
    data |= {"seed_features": list(genome.features), "seed_model_id": None}
    data["strategy"] |= {
        "thresholds": None,
        "threshold_quantiles": sorted({*quantiles, round(genome.threshold_quantile, 4)}),
        "z_limits": _union(strategy.z_limits, [genome.z_limit]),
        "regime_filters": filters,
        "modes": _union(strategy.modes, [genome.mode]),
    }
    return EvolveConfig.load(data)


def _union(values: Sequence[Any], more: Sequence[Any]) -> list[Any]:
    return [*values, *(value for value in more if value not in values)]
