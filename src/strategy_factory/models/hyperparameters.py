"""Types and ranges of the hyperparameters a run may set, and the size of a grid.

A run configuration arrives from the command line, a YAML file or the API; whichever
door it came through, every hyperparameter value is checked here before anything is
built from it (``alpha = -1``, ``max_iter = "lots"`` and a 10⁵-value grid are refused
with a message, not found out by a worker that crashes on them). Names without a bound
(the options of an allow-listed custom estimator) must still be plain scalars; their
estimator checks them when it is fitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# A grid is searched exhaustively for every regime config and fold: bounded on both axes.
MAX_GRID_VALUES = 100
MAX_GRID_CELLS = 2_000
AUTO_STEPS = 8  # the values of an "auto" alpha grid (models.algorithms)


@dataclass(frozen=True)
class Bound:
    """What one hyperparameter takes: ``kind`` (float or int), a closed range, None or not."""

    kind: type
    low: float
    high: float
    nullable: bool = False
    open_low: bool = False

    def check(self, name: str, value: Any) -> str | None:
        """Why ``value`` does not fit, or None when it does."""
        if value is None:
            return None if self.nullable else f"{name} needs a value, not null"
        number = _number(value, integer=self.kind is int)
        if number is None:
            wanted = "a whole number" if self.kind is int else "a number"
            return f"{name} must be {wanted}, got {_shown(value)}"
        below = number <= self.low if self.open_low else number < self.low
        if below or number > self.high:
            side = "above" if self.open_low else "at least"
            return f"{name} must be {side} {self.low:g} and at most {self.high:g}, got {number:g}"
        return None


BOUNDS: dict[str, Bound] = {
    "alpha": Bound(float, 0, 1e6, open_low=True),
    "l1_ratio": Bound(float, 0, 1),
    "tol": Bound(float, 0, 1, open_low=True),
    "max_iter": Bound(int, 1, 1_000_000),
    "n_estimators": Bound(int, 1, 5_000),
    "max_depth": Bound(int, 1, 64, nullable=True),
    "min_samples_leaf": Bound(int, 1, 10_000_000),
    "num_leaves": Bound(int, 2, 131_072),
    "learning_rate": Bound(float, 0, 1, open_low=True),
    "min_child_samples": Bound(int, 1, 10_000_000),
    "n_jobs": Bound(int, -1, 1_024),
    "verbose": Bound(int, -1, 10),
    "random_state": Bound(int, 0, 2**32 - 1, nullable=True),
}


def check_value(name: str, value: Any, bounded: bool = True) -> str | None:
    """Why a hyperparameter value is refused (None when it is accepted).

    ``bounded``: apply :data:`BOUNDS` (the built-in algorithms); a custom estimator's
    options share names with other meanings (SVR's ``max_iter=-1``), so only their kind
    is checked.
    """
    if bounded and name in BOUNDS:
        return BOUNDS[name].check(name, value)
    if value is None or isinstance(value, bool | str):
        return None if not isinstance(value, str) or len(value) <= 100 else f"{name} is too long"
    if isinstance(value, int | float) and math.isfinite(value):
        return None
    return f"{name} must be a plain number, text, true/false or null, got {_shown(value)}"


def check_grid(grid: dict[str, Any], bounded: bool = True) -> str | None:
    """Why a grid is refused: a value out of range, too many values, or too many cells."""
    cells = 1
    for name, values in grid.items():
        if values == "auto":  # alphas relative to alpha_max: a fixed number of steps
            cells *= AUTO_STEPS
            continue
        if len(values) > MAX_GRID_VALUES:
            return f"the grid for {name!r} has {len(values):,} values; at most {MAX_GRID_VALUES}"
        for value in values:
            problem = check_value(name, value, bounded)
            if problem:
                return f"grid: {problem}"
        cells *= max(len(values), 1)
    if cells > MAX_GRID_CELLS:
        return f"the grid has {cells:,} cells; at most {MAX_GRID_CELLS:,}"
    return None


def _number(value: Any, integer: bool) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        return None
    if integer and not float(value).is_integer():
        return None
    return float(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:40]}… ({len(text):,} characters)"
