"""Which features a child model keeps: the parent's minus its least important ones.

Features are ranked by the model's importance; features it scores alike (typically
several a lasso zeroed) are ranked by their own rank IC with the target on the training
rows, so the one with more univariate signal stays. Never by name: a model whose
importances are all zero (a constant model) gives no ranking at all, and the run stops
with ``no_signal`` instead of pruning in alphabetical order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


class NoRankingError(Exception):
    """The model scores every feature zero: there is nothing to rank the features by."""


def prune(
    features: Sequence[str],
    scores: Mapping[str, float],
    fraction: float,
    min_features: int,
    tie_break: Mapping[str, float] | None = None,
) -> tuple[list[str], list[str]]:
    """Split ``features`` into (kept, pruned): the bottom ``fraction`` by importance goes.

    At least one feature is pruned when any may go, never so many that fewer than
    ``min_features`` remain; an empty ``pruned`` means the lineage cannot be pruned
    further. Equal importances are ordered by ``|tie_break|`` (each feature's own rank
    IC), then by their position in ``features``. Kept features stay in their order.
    Raises :class:`NoRankingError` when every importance is zero.

    Example::

        prune(["a", "b", "c", "d"], {"a": 0.5, "b": 0.1, "c": 0.3, "d": 0.1}, 0.25, 2,
              tie_break={"b": 0.02, "d": 0.01})
        # (['a', 'b', 'c'], ['d'])
    """
    count = prune_count(len(features), fraction, min_features)
    if count == 0:
        return list(features), []
    if not any(scores.get(name, 0.0) > 0 for name in features):
        raise NoRankingError(
            "the model gives every feature zero importance (it predicts a constant): "
            "there is no ranking to prune by"
        )
    ties = tie_break or {}
    position = {name: k for k, name in enumerate(features)}
    ranked = sorted(
        features,
        key=lambda name: (
            scores.get(name, 0.0),
            abs(ties.get(name, 0.0)),
            -position[name],
        ),
    )
    pruned = ranked[:count]
    return [f for f in features if f not in pruned], pruned


def prune_count(features: int, fraction: float, min_features: int) -> int:
    """How many of ``features`` features a pruning takes (0: the lineage cannot go on)."""
    room = features - min_features
    return 0 if room <= 0 else min(room, max(1, math.floor(features * fraction)))


def lineage_length(features: int, fraction: float, min_features: int, max_generations: int) -> int:
    """How many generations a lineage seeded with ``features`` features can have.

    The count of features pruned never depends on the importances, so the length of a
    lineage is known before anything is trained; only a model without signal ends it
    sooner. Example: ``lineage_length(4, 0.25, 3, 10)`` is 2 (4 features, then 3).
    """
    generations = 1
    while generations < max_generations and (
        count := prune_count(features, fraction, min_features)
    ):
        features -= count
        generations += 1
    return generations
