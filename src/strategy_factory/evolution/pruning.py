"""Which features a child model keeps: the parent's minus its least important ones."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def prune(
    features: Sequence[str],
    scores: Mapping[str, float],
    fraction: float,
    min_features: int,
) -> tuple[list[str], list[str]]:
    """Split ``features`` into (kept, pruned): the bottom ``fraction`` by importance goes.

    At least one feature is pruned when any may go, never so many that fewer than
    ``min_features`` remain; an empty ``pruned`` means the lineage cannot be pruned
    further. Ties are broken by name so the same scores always prune the same features.
    Kept features stay in their original order.

    Example::

        prune(["a", "b", "c", "d"], {"a": 0.5, "b": 0.1, "c": 0.3, "d": 0.1}, 0.25, 2)
        # (['a', 'c', 'd'], ['b'])
    """
    room = len(features) - min_features
    if room <= 0:
        return list(features), []
    count = min(room, max(1, math.floor(len(features) * fraction)))
    ranked = sorted(features, key=lambda name: (scores.get(name, 0.0), name))
    pruned = ranked[:count]
    return [f for f in features if f not in pruned], pruned
