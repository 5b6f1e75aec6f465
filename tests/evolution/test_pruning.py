"""Pruning: the bottom fraction by importance goes, never below the minimum, deterministically."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategy_factory.evolution import prune
from strategy_factory.evolution.pruning import NoRankingError, lineage_length

names = st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=30, unique=True)


@given(
    features=names,
    data=st.data(),
    fraction=st.floats(0.01, 0.99),
    min_features=st.integers(1, 10),
)
def test_pruning_invariants(features: list[str], data, fraction: float, min_features: int) -> None:  # type: ignore[no-untyped-def]
    scores = {f: data.draw(st.floats(0, 1)) for f in features}
    if len(features) > min_features and not any(scores.values()):
        with pytest.raises(NoRankingError):
            prune(features, scores, fraction, min_features)
        return
    kept, pruned = prune(features, scores, fraction, min_features)
    assert set(kept).isdisjoint(pruned)
    assert set(kept) | set(pruned) == set(features)
    assert kept == [f for f in features if f in kept]  # original order kept
    if len(features) <= min_features:
        assert pruned == []
    else:
        assert len(kept) >= min_features
        assert len(pruned) == min(
            len(features) - min_features, max(1, math.floor(len(features) * fraction))
        )
        assert max(scores[f] for f in pruned) <= min(scores[f] for f in kept)
    assert prune(list(features), dict(scores), fraction, min_features) == (kept, pruned)


def test_ties_are_broken_by_univariate_signal_then_position_never_by_name() -> None:
    scores = {"a": 0.5, "b": 0.1, "c": 0.3, "d": 0.1}
    ic = {"b": 0.02, "d": -0.05}  # d has more signal (its sign does not matter)
    assert prune(["a", "b", "c", "d"], scores, 0.25, 2, tie_break=ic) == (["a", "c", "d"], ["b"])
    # Without a tie-break, the later feature of the seed list goes first, whatever its name.
    assert prune(["a", "b", "c", "d"], scores, 0.25, 2) == (["a", "b", "c"], ["d"])
    assert prune(["d", "c", "b", "a"], scores, 0.25, 2) == (["d", "c", "a"], ["b"])


def test_a_model_that_scores_every_feature_zero_gives_no_ranking() -> None:
    with pytest.raises(NoRankingError, match="predicts a constant"):
        prune(["a", "b", "c"], {"a": 0.0, "b": 0.0, "c": 0.0}, 0.34, 1)
    with pytest.raises(NoRankingError):
        prune(["a", "b", "c"], {}, 0.34, 1)
    assert prune(["a", "b"], {}, 0.5, 2) == (["a", "b"], [])  # nothing may go anyway


def test_unscored_features_count_as_zero() -> None:
    assert prune(["x", "y", "z"], {"x": 0.2, "y": 0.8}, 0.34, 1) == (["x", "y"], ["z"])


@given(
    seed=st.integers(1, 60),
    fraction=st.floats(0.01, 0.99),
    min_features=st.integers(1, 10),
    max_generations=st.integers(1, 30),
)
def test_the_lineage_length_is_known_before_training(
    seed: int, fraction: float, min_features: int, max_generations: int
) -> None:
    features = [f"f{k}" for k in range(seed)]
    generations = 1
    while generations < max_generations:
        # Any importances: the count pruned never depends on them.
        features, pruned = prune(
            features, {f: 1.0 + k for k, f in enumerate(features)}, fraction, min_features
        )
        if not pruned:
            break
        generations += 1
    assert lineage_length(seed, fraction, min_features, max_generations) == generations
