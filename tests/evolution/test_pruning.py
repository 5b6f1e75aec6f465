"""Pruning: the bottom fraction by importance goes, never below the minimum, deterministically."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from strategy_factory.evolution import prune

names = st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=30, unique=True)


@given(
    features=names,
    data=st.data(),
    fraction=st.floats(0.01, 0.99),
    min_features=st.integers(1, 10),
)
def test_pruning_invariants(features: list[str], data, fraction: float, min_features: int) -> None:  # type: ignore[no-untyped-def]
    scores = {f: data.draw(st.floats(0, 1)) for f in features}
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


def test_ties_are_broken_by_name() -> None:
    scores = {"a": 0.5, "b": 0.1, "c": 0.3, "d": 0.1}
    assert prune(["a", "b", "c", "d"], scores, 0.25, 2) == (["a", "c", "d"], ["b"])
    assert prune(["d", "c", "b", "a"], scores, 0.5, 2) == (["c", "a"], ["b", "d"])


def test_unscored_features_count_as_zero() -> None:
    assert prune(["x", "y", "z"], {"x": 0.2, "y": 0.8}, 0.34, 1) == (["x", "y"], ["z"])
