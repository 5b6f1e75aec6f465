"""The genome search: seeded by the champions, scored by the meta-model, resumable, and its
runs judged on unseen bars and charged for every genome it tried."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from optuna.trial import TrialState

from strategy_factory.backtest import parse_regime_filter
from strategy_factory.errors import FactoryError
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.execution import InlineExecutor
from strategy_factory.learning import MetaModel, Proposal, launch, propose
from strategy_factory.learning.genome import ALL_BARS, genome_traits
from strategy_factory.learning.search import SEEDED_CHAMPIONS, market_name
from strategy_factory.store import Store, create_store
from strategy_factory.store.studies import open_study
from tests.learning.history import History


def _trials(store: Store, study: str) -> list:  # type: ignore[type-arg]
    with open_study(store, study) as opened:
        return opened.get_trials(deepcopy=False)


def _score(meta_model: MetaModel, proposal: Proposal) -> float:
    genome = proposal.genome
    traits = genome_traits(
        proposal.config,
        genome.features,
        ticker=proposal.config.symbol,
        threshold_quantile=genome.threshold_quantile,
        z_limit=genome.z_limit,
        regime_filter=None
        if genome.regime_filter == ALL_BARS
        else parse_regime_filter(genome.regime_filter),
        mode=genome.mode,
    )
    return float(meta_model.predict(pd.DataFrame([traits]), inputs="genome")[0])


def test_proposals_start_from_the_champions_and_follow_the_meta_model(
    history_copy: Store, meta_model: MetaModel
) -> None:
    proposals = propose(history_copy, meta_model, k=3, candidates=12, seed=0)
    study = proposals[0].study
    best = meta_model.champions[0]
    assert study == market_name(
        EvolveConfig.load(history_copy.runs.get(best.run_id).config["evolve"])
    )
    trials = _trials(history_copy, study)
    champions = [t for t in trials if t.user_attrs.get("source") == "champion"]
    market = [c for c in meta_model.champions if c.symbol == best.symbol][:SEEDED_CHAMPIONS]
    # Each champion told once, with what it realised out of sample.
    assert sorted(t.value for t in champions) == sorted(c.target for c in market)
    scored = [t for t in trials if t.user_attrs.get("source") == "proposal"]
    assert len(scored) + sum(t.state == TrialState.FAIL for t in trials) == 12
    assert len({p.genome for p in proposals}) == 3
    assert [p.score for p in proposals] == sorted((t.value for t in scored), reverse=True)[:3]
    finished = sum(t.state == TrialState.COMPLETE for t in trials)
    for proposal in proposals:
        assert proposal.score == pytest.approx(_score(meta_model, proposal))
        assert proposal.prior_trials == finished  # every genome tried so far is charged
        config = proposal.config
        assert config.prior_trials == finished
        assert config.origin is not None
        assert (config.origin.study, config.origin.trials) == (study, [proposal.trial])
        assert config.origin.meta_model == meta_model.version
        assert config.origin.predicted == proposal.score
        assert config.seed_features == list(proposal.genome.features)
        # The run's grid holds the proposed configuration.
        assert round(proposal.genome.threshold_quantile, 4) in config.strategy.threshold_quantiles
        assert proposal.genome.z_limit in config.strategy.z_limits
        assert proposal.genome.mode in config.strategy.modes
        # The meta-model's lesson: the lasting feature is what survives.
        assert "exo_lasting" in proposal.genome.features


def test_the_search_resumes_where_it_stopped(history_copy: Store, meta_model: MetaModel) -> None:
    first = propose(history_copy, meta_model, k=2, candidates=6, seed=3)
    before = _trials(history_copy, first[0].study)
    second = propose(history_copy, meta_model, k=2, candidates=6, seed=3)  # a new storage
    after = _trials(history_copy, first[0].study)
    assert [t.number for t in after[: len(before)]] == [t.number for t in before]
    new = after[len(before) :]
    assert [t.number for t in new] == list(range(len(before), len(before) + 6))
    assert not [t for t in new if t.user_attrs.get("source") == "champion"]  # told once
    assert second[0].prior_trials == first[0].prior_trials + sum(
        t.state == TrialState.COMPLETE for t in new
    )
    assert {p.trial for p in second}.isdisjoint({p.trial for p in first})


def test_the_same_history_proposes_the_same_genomes(
    history_copy: Store, meta_model: MetaModel, built_history: History, tmp_path: Path
) -> None:
    other = History(tmp_path / "other")
    shutil.copytree(built_history.folder, other.folder)
    with create_store(other.url) as elsewhere:
        there = propose(elsewhere, meta_model, k=3, candidates=8, seed=5)
    here = propose(history_copy, meta_model, k=3, candidates=8, seed=5)
    assert [(p.trial, p.genome, p.score) for p in here] == [
        (p.trial, p.genome, p.score) for p in there
    ]
    with pytest.raises(FactoryError, match="knows no champion on NOPE"):
        propose(history_copy, meta_model, symbol="NOPE")


def test_launched_runs_are_judged_on_unseen_bars_and_charged_for_the_search(
    history_copy: Store, meta_model: MetaModel
) -> None:
    (proposal,) = propose(history_copy, meta_model, k=1, candidates=6, seed=0)
    (launched,) = launch(history_copy, [proposal])
    assert launched.reason is None and launched.run is not None
    run = launched.run
    assert run.status == "pending"  # a server's coordinator, or `factory evolve --resume`
    periods = run.config["periods"]
    seen = pd.Timestamp(meta_model.seen_until[proposal.config.symbol])
    assert pd.Timestamp(periods["holdout"]["first"]) > seen
    assert periods["selection"]["bars"] == proposal.selection_bars
    assert run.config["evolve"]["origin"]["trials"] == [proposal.trial]
    searched = Evolution(history_copy, InlineExecutor()).run(run.id)
    assert searched.status == "completed"
    # The same run without a search behind it, and with a far longer one: same models
    # (found by fingerprint), same grid, same distinct trials; only the prior trials differ.
    judged = {}
    for prior in (0, proposal.prior_trials, 10**6):
        if prior == proposal.prior_trials:
            run_id = searched.id
        else:
            fields = {**run.config["evolve"], "prior_trials": prior, "origin": None}
            created = create_run(history_copy, EvolveConfig.load(fields))
            run_id = Evolution(history_copy, InlineExecutor()).run(created.id).id
        judged[prior] = history_copy.simulations.of_run(run_id, period="holdout")[0].metrics
    plain = judged[0]
    for prior, metrics in judged.items():
        assert metrics["trials_distinct"] == plain["trials_distinct"]
        assert metrics["trials_effective"] == pytest.approx(plain["trials_effective"] + prior)
    # A DSR this close to 1 moves by less than its rounding with a few dozen more trials.
    assert judged[proposal.prior_trials]["dsr"] <= plain["dsr"] + 1e-12
    assert judged[10**6]["dsr"] < plain["dsr"] - 1e-9


def test_a_proposal_without_enough_unseen_bars_is_not_launched(
    history_copy: Store, meta_model: MetaModel
) -> None:
    (proposal,) = propose(history_copy, meta_model, k=1, candidates=4, seed=0)
    runs = len(history_copy.runs.recent(limit=1_000))
    late = pd.Timestamp(proposal.holdout_after) + pd.Timedelta(hours=400 - 20)
    (refused,) = launch(history_copy, [replace(proposal, holdout_after=late.to_pydatetime())])
    assert refused.run is None
    assert "bar(s) after" in refused.reason and "append newer bars" in refused.reason
    assert len(history_copy.runs.recent(limit=1_000)) == runs  # nothing recorded
