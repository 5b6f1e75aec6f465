"""Purged walk-forward folds over the rows training may use.

The target at bar ``t`` covers bars ``t .. t + horizon``, so a training row whose target
reaches a validation bar would leak it. Before each validation window starting at ``v``
the rows ``v − horizon − embargo .. v − 1`` are dropped: every training row ``t`` has
``t + horizon < v``. The same purge cuts the end of the usable range at the holdout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.models.config import WalkForward


@dataclass(frozen=True)
class Fold:
    """Row positions (into the usable range) of one fold's training and validation rows."""

    train: np.ndarray
    validation: np.ndarray

    def describe(self, index: pd.DatetimeIndex) -> dict[str, object]:
        """The fold's date ranges and row counts, for the model's metadata."""
        return {
            "train_start": index[self.train[0]].isoformat(),
            "train_end": index[self.train[-1]].isoformat(),
            "validation_start": index[self.validation[0]].isoformat(),
            "validation_end": index[self.validation[-1]].isoformat(),
            "train_rows": int(self.train.size),
            "validation_rows": int(self.validation.size),
        }


def walk_forward_folds(
    index: pd.DatetimeIndex, walk_forward: WalkForward, horizon: int
) -> list[Fold]:
    """The purged folds of ``walk_forward`` over the bars of ``index``, oldest first.

    Example: 1,000 bars, ``folds=4``, ``test_window=100``, ``horizon=1`` validate bars
    600–699, 700–799, 800–899, 900–999; the first fold trains on bars 0–598.
    """
    n = len(index)
    starts = _validation_starts(index, walk_forward)
    if starts[0] < 1 or len(set(starts)) < len(starts):
        raise FactoryError(
            f"{walk_forward.folds} folds of test_window={walk_forward.test_window!r} do not fit "
            f"in {n} usable bars; use fewer folds or a shorter test window"
        )
    gap = horizon + walk_forward.embargo
    folds = []
    for number, (start, stop) in enumerate(zip(starts, [*starts[1:], n], strict=True), 1):
        train_end = start - gap
        train_start = _train_start(index, walk_forward, start, train_end)
        if train_end - train_start < 2:
            raise FactoryError(
                f"fold {number} has no training rows left after purging {gap} bars before "
                f"{index[start].isoformat()}; use fewer folds or a shorter test window"
            )
        folds.append(Fold(np.arange(train_start, train_end), np.arange(start, stop)))
    _check_minimum_history(index, walk_forward, folds[0])
    return folds


def _validation_starts(index: pd.DatetimeIndex, walk_forward: WalkForward) -> list[int]:
    n, count, window = len(index), walk_forward.folds, walk_forward.test_window
    if isinstance(window, str):
        # Spans end at the last bar: each window holds the bars in (end − k·span, …].
        span = pd.Timedelta(window)
        edges = [index[-1] - (count - k) * span for k in range(count)]
        return [int(index.searchsorted(edge, side="right")) for edge in edges]
    size = n // (count + 1) if window is None else window
    return [n - (count - k) * size for k in range(count)]


def _train_start(
    index: pd.DatetimeIndex, walk_forward: WalkForward, start: int, train_end: int
) -> int:
    window = walk_forward.train_window
    if walk_forward.scheme == "expanding" or window is None:
        return 0
    # The window ends at the last training row, after the purge: W bars, or the bars
    # less than the span older than that row.
    if isinstance(window, str):
        oldest = index[train_end - 1] - pd.Timedelta(window)
        return int(index.searchsorted(oldest, side="right"))
    return max(0, train_end - window)


def _check_minimum_history(index: pd.DatetimeIndex, walk_forward: WalkForward, first: Fold) -> None:
    window = walk_forward.train_window
    if walk_forward.scheme != "expanding" or window is None:
        return
    if isinstance(window, str):
        enough = index[first.train[-1]] - index[first.train[0]] >= pd.Timedelta(window)
    else:
        enough = first.train.size >= window
    if not enough:
        raise FactoryError(
            f"the first fold trains on {first.train.size} bars "
            f"({index[first.train[0]].date()} to {index[first.train[-1]].date()}), less than "
            f"train_window={window!r}; use fewer folds, a shorter test window or more data"
        )
