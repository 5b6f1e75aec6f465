"""The indicator search: evolve formulas scored by rank IC on training folds, judged once.

A small typed-expression evolutionary search of our own (see the README for why not
gplearn or DEAP): a bounded population of formulas, each scored by its mean rank IC with
the forward return over ``horizon`` bars on contiguous folds of the training period;
tournament selection, mutation and subtree crossover make the children. Two series
whose ranks correlate at ``dedup_correlation`` or more are one: a child that duplicates
an existing feature of the registry is dropped, and one that duplicates a member of the
population replaces it only when it scores better. Every distinct formula scored is a
trial; the survivors' training ICs are deflated by that count (the deflated Sharpe
ratio's arithmetic, with the null variance of a rank IC) and then judged once on bars
the search never saw, Šidák-corrected for the number judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm, rankdata

from strategy_factory.evaluate.sharpe_inference import deflated_sharpe
from strategy_factory.execution.dataset import fraction_starts
from strategy_factory.features import build_feature_matrix, make_target
from strategy_factory.features.formula import Formula, evaluate_formula
from strategy_factory.features.spec import BarInputs, has_ohlc, has_volume
from strategy_factory.understanding.discovery_config import DiscoveryConfig
from strategy_factory.understanding.formula_search import (
    Grammar,
    crossover,
    grammar_for,
    mutate,
    random_formula,
)

TOURNAMENT = 3


@dataclass(frozen=True)
class Candidate:
    """A scored formula: mean training-fold rank IC, per fold, and its standardized ranks."""

    formula: Formula
    ic: float
    fold_ics: tuple[float, ...]
    variance: float  # of the mean IC under no relation (see :func:`rank_ic`)
    ranks: np.ndarray

    @property
    def strength(self) -> float:
        """|IC|, a hair less for a bigger formula so the simpler of two equals wins."""
        return abs(self.ic) - 1e-6 * self.formula.size


@dataclass(frozen=True)
class Judged:
    """A surviving formula with its training figures and its one look at unseen bars."""

    candidate: Candidate
    deflated: float
    holdout_ic: float | None
    holdout_p: float | None
    holdout_p_sidak: float | None
    passed: bool


@dataclass(frozen=True)
class SearchResult:
    """What a search did: formulas tried, duplicates dropped, the judged survivors."""

    trials: int
    duplicates_of_features: int
    judged: list[Judged]
    training_bars: int
    holdout_bars: int


class _Scorer:
    """Scores formulas on the training folds; the existing features to deduplicate against."""

    def __init__(
        self,
        bars: pd.DataFrame,
        references: Mapping[str, pd.DataFrame],
        config: DiscoveryConfig,
        burn_in: int,
    ) -> None:
        self.inputs = BarInputs(bars, dict(references))
        selection, holdout = fraction_starts(bars.index, 0.2, 0.2)
        cut = int(bars.index.searchsorted(pd.Timestamp(selection)))
        end = int(bars.index.searchsorted(pd.Timestamp(holdout)))
        h = config.horizon
        # Purged: a training target must end before the first unseen bar.
        self.train = np.arange(burn_in, cut - h)
        self.holdout = np.arange(cut, end - h)
        self.target = make_target(bars, "log_return", h).to_numpy(dtype=np.float64)
        self.folds = np.array_split(self.train, config.folds)
        self.fold_targets = [rankdata(self.target[f]) for f in self.folds]
        existing = build_feature_matrix(bars, references).iloc[self.train]
        ranked = existing.rank()
        ranked = ranked.fillna(ranked.mean()).fillna(0.0).to_numpy()
        self.feature_names = list(existing.columns)
        self.features = _standardize(ranked)
        self.horizon = h

    def score(self, formula: Formula) -> Candidate | None:
        values = evaluate_formula(formula, self.inputs)
        train = values[self.train]
        if not np.isfinite(train).all() or np.ptp(train) == 0:
            return None
        folds = [
            rank_ic(rankdata(values[f]), target, self.horizon)
            for f, target in zip(self.folds, self.fold_targets, strict=True)
        ]
        fold_ics = tuple(ic for ic, _ in folds)
        if not np.isfinite(fold_ics).all():
            return None
        variance = sum(v for _, v in folds) / len(folds) ** 2
        ranks = _standardize(rankdata(train)[:, None])[:, 0]
        return Candidate(formula, float(np.mean(fold_ics)), fold_ics, variance, ranks)

    def duplicated_feature(self, candidate: Candidate, threshold: float) -> str | None:
        correlations = np.abs(candidate.ranks @ self.features) / len(candidate.ranks)
        if correlations.size and correlations.max() >= threshold:
            return self.feature_names[int(np.argmax(correlations))]
        return None

    def judge(
        self, candidate: Candidate, trials: int, config: DiscoveryConfig, looks: int
    ) -> Judged:
        deflated = float(deflated_sharpe(abs(candidate.ic), trials, candidate.variance))
        values = evaluate_formula(candidate.formula, self.inputs)[self.holdout]
        target = self.target[self.holdout]
        usable = np.isfinite(values) & np.isfinite(target)
        if usable.sum() < 30 or np.ptp(values[usable]) == 0:
            return Judged(candidate, deflated, None, None, None, False)
        holdout_ic, variance = rank_ic(
            rankdata(values[usable]), rankdata(target[usable]), self.horizon
        )
        p = float(norm.sf(np.sign(candidate.ic) * holdout_ic / np.sqrt(variance)))
        sidak = 1 - (1 - p) ** looks
        passed = deflated >= config.min_deflated and sidak <= config.alpha
        return Judged(candidate, deflated, holdout_ic, p, sidak, passed)


def _standardize(ranks: np.ndarray) -> np.ndarray:
    centred = ranks - ranks.mean(axis=0)
    spread = centred.std(axis=0)
    return centred / np.where(spread > 0, spread, 1.0)


def rank_ic(x_ranks: np.ndarray, y_ranks: np.ndarray, horizon: int) -> tuple[float, float]:
    """Rank IC of two rank vectors and its variance under no relation.

    The variance is heteroskedasticity-robust, mean((x̃·ỹ)²)/n for standardized ranks: a
    feature that tracks volatility meets large returns of both signs, which widens its
    IC's spread beyond 1/n. Overlapping ``horizon``-bar returns count ``horizon`` times.
    """
    x, y = _standardize(np.column_stack([x_ranks, y_ranks])).T
    products = x * y
    return float(products.mean()), horizon * float(np.mean(products**2)) / len(products)


class _Population:
    """The bounded population, deduplicated by rank correlation."""

    def __init__(self, size: int, threshold: float) -> None:
        self.size = size
        self.threshold = threshold
        self.members: list[Candidate] = []

    def offer(self, candidate: Candidate) -> None:
        for i, member in enumerate(self.members):
            if abs(member.ranks @ candidate.ranks) / len(member.ranks) >= self.threshold:
                if candidate.strength > member.strength:
                    self.members[i] = candidate
                return
        self.members.append(candidate)
        self.members.sort(key=lambda c: -c.strength)
        del self.members[self.size :]

    def pick(self, rng: np.random.Generator) -> Candidate:
        chosen = rng.integers(len(self.members), size=min(TOURNAMENT, len(self.members)))
        return self.members[int(chosen.min())]  # members are sorted best first


def discover(
    bars: pd.DataFrame, references: Mapping[str, pd.DataFrame], config: DiscoveryConfig
) -> SearchResult:
    """Run the search on ``bars`` (see the module docstring); deterministic for a seed."""
    grammar = grammar_for(has_ohlc(bars), has_volume(bars), sorted(references), config.max_depth)
    scorer = _Scorer(bars, references, config, burn_in=grammar.max_warm_up)
    rng = np.random.default_rng(config.seed)
    population = _Population(config.population, config.dedup_correlation)
    tried: set[str] = set()
    duplicates = 0

    def attempt(formula: Formula) -> None:
        nonlocal duplicates
        if formula.text in tried or not grammar.fits(formula):
            return
        tried.add(formula.text)
        candidate = scorer.score(formula)
        if candidate is None:
            return
        if scorer.duplicated_feature(candidate, config.dedup_correlation) is not None:
            duplicates += 1
            return
        population.offer(candidate)

    for _ in range(config.population * 5):
        if len(population.members) >= config.population:
            break
        attempt(random_formula(rng, grammar))
    for _ in range(config.generations):
        for _ in range(config.children):
            attempt(_child(rng, population, grammar))
    best = population.members[: config.keep]
    judged = [scorer.judge(c, len(tried), config, len(best)) for c in best]
    return SearchResult(len(tried), duplicates, judged, len(scorer.train), len(scorer.holdout))


def _child(rng: np.random.Generator, population: _Population, grammar: Grammar) -> Formula:
    if not population.members:
        return random_formula(rng, grammar)
    move = rng.random()
    if move < 0.4 and len(population.members) > 1:
        return crossover(rng, population.pick(rng).formula, population.pick(rng).formula)
    if move < 0.9:
        return mutate(rng, population.pick(rng).formula, grammar)
    return random_formula(rng, grammar)
