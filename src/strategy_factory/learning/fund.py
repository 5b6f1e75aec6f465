"""Virtual fund: allocation snapshots applied to the strategies' forward returns.

The result is a paper portfolio — per-bar returns, equity, drawdown, the weights held,
and the turnover of each rebalance — that says what following the allocator would have
earned.

Semantics:

* **Returns** are per-bar simple returns of each strategy (columns = strategy ids, index
  = bar stamps, increasing). A bar's return is earned up to its stamp.
* **Snapshots** map an effective-from time ``T`` to weights. A snapshot rebalances the
  portfolio at ``T`` and earns from the first bar stamped *after* ``T``: an allocation
  computed from bar ``t``'s return cannot also earn it (no look-ahead). Weights are
  non-negative and sum to at most 1; the rest is cash, which earns nothing. The fund
  starts, with equity 1, at the first bar after the first snapshot.
* **Rebalancing happens at snapshots only.** Between them nothing is traded and the
  weights drift: each strategy's stake grows with its own returns,
  ``v_i,t = v_i,t−1·(1 + r_i,t)``, and the weights at the start of a bar are the stakes'
  shares of the portfolio's value. The portfolio's return on a bar is
  ``Σ_i w_i,start·r_i,t``.
* **Turnover** of a rebalance is one-way, ``½·Σ|target − drifted|`` over the strategies and
  cash (as for allocation diffs, :mod:`.allocation_diff`): rebalancing to the weights the
  portfolio has drifted to is 0, investing from cash is the share invested.
* Snapshots that no bar separates (two between the same bars) are not both applied: the
  later one wins and the earlier is listed as superseded. A snapshot after the last bar
  is listed as pending. Rebalances are not charged a cost: the strategies' returns carry
  their own trading costs, and the reallocation is on paper; turnover is reported so a
  cost can be charged by whoever needs one.

Example::

    fund = virtual_fund({"2024-01-02": {"s1": 0.6, "s2": 0.4}}, forward_returns)
    fund.equity, fund.drawdown, fund.rebalances
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.json_values import plain
from strategy_factory.learning.allocation_diff import one_way_turnover

Snapshots = Mapping[Any, Mapping[Hashable, float]] | pd.DataFrame
_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class VirtualFund:
    """A paper portfolio: per-bar figures from the fund's first bar on, and its rebalances.

    ``weights`` are held at the start of each bar (after a rebalance on that bar); cash is
    ``1 − weights.sum(axis=1)``. ``rebalances`` has one row per snapshot (index = its
    effective-from time): ``first_bar`` it earned, ``turnover`` and ``status`` (applied,
    superseded or pending).
    """

    returns: pd.Series
    equity: pd.Series
    drawdown: pd.Series
    weights: pd.DataFrame
    rebalances: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        """Total return, max drawdown, bars, and rebalances with their total turnover."""
        applied = self.rebalances[self.rebalances["status"] == "applied"]
        return {
            "bars": len(self.returns),
            "start": self.returns.index[0] if len(self.returns) else None,
            "end": self.returns.index[-1] if len(self.returns) else None,
            "total_return": float(self.equity.iloc[-1] - 1) if len(self.equity) else 0.0,
            "max_drawdown": float(self.drawdown.min()) if len(self.drawdown) else 0.0,
            "rebalances": len(applied),
            "total_turnover": float(applied["turnover"].sum()),
        }

    def to_json(self, series: bool = False) -> dict[str, Any]:
        """Plain JSON values: the summary and rebalances; ``series=True`` adds the bars."""
        # NaT (a pending snapshot's first bar) would print as "NaT": it is null here.
        log = self.rebalances.astype(object).where(self.rebalances.notna(), None)
        rebalances = [
            {"effective_from": when, **row}
            for when, row in zip(log.index, log.to_dict("records"), strict=True)
        ]
        result: dict[str, Any] = {**self.summary(), "rebalance_log": rebalances}
        if series:
            result["series"] = {
                "bars": list(self.returns.index),
                "returns": self.returns.to_numpy(),
                "equity": self.equity.to_numpy(),
                "drawdown": self.drawdown.to_numpy(),
            }
        return plain(result)


def virtual_fund(snapshots: Snapshots, returns: pd.DataFrame) -> VirtualFund:
    """The paper portfolio of following ``snapshots`` over per-bar strategy ``returns``.

    ``snapshots``: ``{effective_from: {strategy_id: weight}}`` or a DataFrame (index =
    effective-from times, columns = strategy ids, NaN = not held).
    """
    _check_returns(returns)
    table = _snapshot_table(snapshots, returns)
    starts = _first_bars(table.index, returns.index)
    applied = _applied(starts, len(returns))
    values = returns.to_numpy(dtype=float)
    equity_parts, weight_parts, turnovers = [], [], []
    level, drifted = 1.0, {}
    positions = np.flatnonzero(applied)
    bounds = np.append(starts[positions], len(returns))
    for row, start, end in zip(positions, bounds[:-1], bounds[1:], strict=True):
        target = table.iloc[row]
        turnovers.append(one_way_turnover(drifted, target[target > 0].to_dict()))
        segment = _segment(values[start:end], target.to_numpy(), returns, start)
        equity_parts.append(level * segment.total)
        weight_parts.append(segment.start_weights)
        level = float(equity_parts[-1][-1])
        drifted = dict(zip(returns.columns, segment.end_weights, strict=True))
        drifted = {key: w for key, w in drifted.items() if w > 0}
    first = int(starts[positions[0]]) if len(positions) else len(returns)
    index = returns.index[first:]
    equity = pd.Series(
        np.concatenate(equity_parts) if equity_parts else [], index=index, dtype=float
    )
    held = table.columns[(table.to_numpy() > 0).any(axis=0)]
    weights = pd.DataFrame(
        np.vstack(weight_parts) if weight_parts else np.empty((0, len(returns.columns))),
        index=index,
        columns=returns.columns,
    )[held]
    return VirtualFund(
        returns=equity / equity.shift(1, fill_value=1.0) - 1,
        equity=equity,
        drawdown=equity / np.maximum(equity.cummax(), 1.0) - 1,
        weights=weights,
        rebalances=_rebalance_log(table.index, starts, applied, turnovers, returns.index),
    )


@dataclass(frozen=True)
class _Segment:
    total: np.ndarray  # portfolio value after each bar, per unit at the rebalance
    start_weights: np.ndarray  # (bars, strategies) at the start of each bar
    end_weights: np.ndarray  # drifted weights after the last bar


def _segment(
    values: np.ndarray, target: np.ndarray, returns: pd.DataFrame, offset: int
) -> _Segment:
    """Buy ``target`` and hold through ``values`` (the bars until the next rebalance)."""
    held = target > 0
    missing = np.isnan(values[:, held])
    if missing.any():
        bar, column = np.argwhere(missing)[0]
        strategy = returns.columns[np.flatnonzero(held)[column]]
        raise FactoryError(
            f"strategy {strategy} is held but has no return at {returns.index[offset + bar]}: "
            "every held strategy needs a return on every bar (0 when flat)"
        )
    stakes = np.zeros_like(values)
    stakes[:, held] = target[held] * np.cumprod(1.0 + values[:, held], axis=0)
    total = stakes.sum(axis=1) + (1.0 - target.sum())
    if (total <= 0).any():
        bar = returns.index[offset + int(np.argmax(total <= 0))]
        raise FactoryError(f"the fund loses everything at {bar}: check the returns there")
    start_weights = np.vstack([target, stakes[:-1] / total[:-1, None]])
    return _Segment(total, start_weights, stakes[-1] / total[-1])


def _check_returns(returns: pd.DataFrame) -> None:
    if not isinstance(returns, pd.DataFrame):
        raise FactoryError(
            f"returns must be a DataFrame (columns = strategy ids), got {type(returns).__name__}"
        )
    if not returns.index.is_monotonic_increasing or returns.index.has_duplicates:
        raise FactoryError("returns' index must be bar times in increasing order, each once")
    if returns.columns.has_duplicates:
        raise FactoryError("returns name a strategy twice: give each strategy one column")
    if not all(pd.api.types.is_numeric_dtype(kind) for kind in returns.dtypes):
        raise FactoryError("returns must be numbers")


def _snapshot_table(snapshots: Snapshots, returns: pd.DataFrame) -> pd.DataFrame:
    """Snapshots as a table (effective-from × strategies, 0 = not held), validated.

    Against datetime bars, effective-from times may be given as text ("2024-01-02").
    """
    strategies = returns.columns
    if isinstance(snapshots, pd.DataFrame):
        table = snapshots.fillna(0.0)
    else:
        table = pd.DataFrame.from_dict(
            {when: dict(weights) for when, weights in snapshots.items()}, orient="index"
        ).fillna(0.0)
    if table.index.has_duplicates:
        raise FactoryError("two snapshots share an effective-from time: keep one")
    unknown = [str(c) for c in table.columns if c not in strategies]
    if unknown:
        raise FactoryError(
            f"snapshots hold strategies without returns: {', '.join(unknown)}; give their "
            "forward returns or drop them from the snapshots"
        )
    weights = table.to_numpy(dtype=float)
    for when, row in zip(table.index, weights, strict=True):
        if not np.isfinite(row).all() or (row < 0).any():
            raise FactoryError(f"the snapshot of {when} has a negative or non-finite weight")
        if row.sum() > 1 + _SUM_TOLERANCE:
            raise FactoryError(
                f"the snapshot of {when} invests {row.sum():.6g} > 1: weights sum to at most 1"
            )
    table = table.reindex(columns=strategies, fill_value=0.0)
    if isinstance(returns.index, pd.DatetimeIndex):
        table.index = _times(table.index)
    return table.sort_index()


def _times(effective: pd.Index) -> pd.DatetimeIndex:
    try:
        return pd.DatetimeIndex(pd.to_datetime(effective, format="ISO8601"))
    except (TypeError, ValueError) as exc:
        raise FactoryError(f"snapshot times must be timestamps: {exc}") from exc


def _first_bars(effective: pd.Index, bars: pd.Index) -> np.ndarray:
    """Position of the first bar stamped after each effective-from time."""
    try:
        return np.asarray(bars.searchsorted(effective, side="right"))
    except (TypeError, ValueError) as exc:
        raise FactoryError(
            f"snapshot times cannot be placed among the bars ({exc}): give both as "
            "timestamps, both timezone-aware or both naive"
        ) from exc


def _applied(starts: np.ndarray, bars: int) -> np.ndarray:
    """Which snapshots take effect: the last one before each bar, and none after the end."""
    later_same_start = np.append(starts[1:] == starts[:-1], False)
    return (starts < bars) & ~later_same_start


def _rebalance_log(
    effective: pd.Index,
    starts: np.ndarray,
    applied: np.ndarray,
    turnovers: list[float],
    bars: pd.Index,
) -> pd.DataFrame:
    status = np.where(applied, "applied", np.where(starts < len(bars), "superseded", "pending"))
    turnover = np.full(len(effective), np.nan)
    turnover[applied] = turnovers
    first_bar = [bars[s] if s < len(bars) else None for s in starts]
    return pd.DataFrame(
        {"first_bar": first_bar, "turnover": turnover, "status": status}, index=effective
    )
