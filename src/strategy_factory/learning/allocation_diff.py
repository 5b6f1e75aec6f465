"""What changed between two allocations: weights added, removed and changed, and turnover.

Turnover is one-way: ``½·Σ|Δw|`` over the strategies *and cash* (the weight not
invested), the share of capital traded. Rebalancing a fully invested portfolio sells what
it buys, so this is the fraction moved; investing from all cash is 1. The virtual fund
charges its rebalances with the same definition.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from strategy_factory.errors import FactoryError
from strategy_factory.json_values import plain
from strategy_factory.learning.allocator import Allocation


@dataclass(frozen=True)
class AllocationDiff:
    """Weights added, removed and changed between two allocations, and the turnover."""

    added: dict[Hashable, float]
    removed: dict[Hashable, float]  # the weights they had
    changed: dict[Hashable, tuple[float, float]]  # (old, new)
    unchanged: tuple[Hashable, ...]
    turnover: float

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values; a change reads ``{"from": old, "to": new, "change": new - old}``."""
        changed = {
            key: {"from": old, "to": new, "change": new - old}
            for key, (old, new) in self.changed.items()
        }
        return plain(
            {
                "added": self.added,
                "removed": self.removed,
                "changed": changed,
                "unchanged": list(self.unchanged),
                "turnover": self.turnover,
            }
        )


def diff(
    previous: Allocation | Mapping[Hashable, float] | None,
    current: Allocation | Mapping[Hashable, float],
    tolerance: float = 1e-6,
) -> AllocationDiff:
    """Weights added, removed and changed (by more than ``tolerance``) since ``previous``.

    Allocations or plain ``{id: weight}`` mappings; ``previous=None`` is an all-cash start
    (everything is added, turnover 1). An infeasible allocation has no weights to compare
    and is refused: keep the previous weights instead.
    """
    old = {} if previous is None else _weights_of(previous, "previous")
    new = _weights_of(current, "current")
    changed = {
        key: (old[key], new[key])
        for key in new
        if key in old and abs(new[key] - old[key]) > tolerance
    }
    return AllocationDiff(
        added={key: w for key, w in new.items() if key not in old},
        removed={key: w for key, w in old.items() if key not in new},
        changed=changed,
        unchanged=tuple(key for key in new if key in old and key not in changed),
        turnover=one_way_turnover(old, new),
    )


def one_way_turnover(before: Mapping[Hashable, float], after: Mapping[Hashable, float]) -> float:
    """½·Σ|Δw| over the strategies and cash: the share of capital traded."""
    keys = set(before) | set(after)
    moved = sum(abs(after.get(key, 0.0) - before.get(key, 0.0)) for key in keys)
    cash_moved = abs(sum(after.values()) - sum(before.values()))
    return 0.5 * (moved + cash_moved)


def _weights_of(
    allocation: Allocation | Mapping[Hashable, float], which: str
) -> dict[Hashable, float]:
    if isinstance(allocation, Allocation):
        if not allocation.feasible:
            raise FactoryError(
                f"the {which} allocation is infeasible ({allocation.reason}): it has no "
                "weights to compare; keep the previous weights instead"
            )
        return dict(allocation.weights)
    return {key: float(w) for key, w in allocation.items() if w != 0}
