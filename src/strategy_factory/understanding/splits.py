"""Where a strategy's trades win or lose: each trade's context at its decision bar, and
each group of trades against the others.

A trade entered at bar ``t`` was decided at the close of bar ``t - 1``: its regime, hour,
weekday and volatility are read there, as the strategy knew them. Every split is a
column of :func:`trade_contexts`; every group with at least :data:`MIN_GROUP_TRADES`
trades is compared with the trades outside it (Welch's t-test of trade returns: the mean
is what the account earns, and a difference from the rest is what costs cannot create,
since every group pays them alike).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

# Fewer trades than this in a group say nothing a test can use: the group is reported as
# too small, never tested.
MIN_GROUP_TRADES = 30
# Holding time in bars: first bar of each bucket (the last is open-ended).
HOLDING_EDGES: tuple[int, ...] = (1, 2, 4, 11)
VOLATILITY_BUCKETS = 4
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class GroupResult:
    """One group of one split against every other trade of the period."""

    split: str
    group: str
    trades: int
    mean_return: float
    win_rate: float
    rest_trades: int
    rest_mean_return: float
    p_value: float | None  # None: too few trades to test

    @property
    def tested(self) -> bool:
        return self.p_value is not None


def decision_bars(trades: pd.DataFrame, index: pd.DatetimeIndex) -> np.ndarray:
    """Position in ``index`` of the bar at whose close each trade was decided."""
    entry = index.get_indexer(pd.DatetimeIndex(trades["entry_time"]))
    return np.maximum(entry - 1, 0)


def trade_contexts(
    trades: pd.DataFrame,
    index: pd.DatetimeIndex,
    regimes: pd.DataFrame | None,
    zscore: np.ndarray,
    regime_names: Mapping[str, Mapping[int, str]] | None = None,
) -> pd.DataFrame:
    """One row per trade, one column per split: each regime column, ``hour``, ``weekday``,
    ``volatility`` (quartile of the volatility z-score over the period's bars), ``side``
    and ``holding`` (bars held)."""
    at = decision_bars(trades, index)
    moments = index[at]
    columns: dict[str, np.ndarray] = {}
    for name in [] if regimes is None else list(regimes.columns):
        labels = regimes[name].to_numpy()[at]
        names = (regime_names or {}).get(name, {})
        columns[name] = np.array([_regime_label(int(v), names) for v in labels], dtype=object)
    columns["hour"] = np.array([f"{h:02d}:00 UTC" for h in moments.hour], dtype=object)
    columns["weekday"] = np.array([WEEKDAYS[d] for d in moments.day_of_week], dtype=object)
    columns["volatility"] = _volatility_buckets(np.asarray(zscore, dtype=np.float64), at)
    columns["side"] = np.where(trades["direction"].to_numpy() > 0, "long", "short").astype(object)
    columns["holding"] = _holding_buckets(trades["bars_held"].to_numpy())
    return pd.DataFrame(columns, index=trades.index)


def _regime_label(value: int, names: Mapping[int, str]) -> str:
    if value < 0:
        return "undefined"
    return f"{value} ({names[value]})" if value in names else str(value)


def _volatility_buckets(zscore: np.ndarray, at: np.ndarray) -> np.ndarray:
    finite = zscore[np.isfinite(zscore)]
    labels = np.full(at.size, "unknown", dtype=object)
    if finite.size < VOLATILITY_BUCKETS:
        return labels
    edges = np.quantile(finite, np.linspace(0, 1, VOLATILITY_BUCKETS + 1)[1:-1])
    values = zscore[at]
    bucket = np.searchsorted(edges, values, side="right")
    bounds = [-np.inf, *edges, np.inf]
    for b in range(VOLATILITY_BUCKETS):
        name = f"Q{b + 1} (z {bounds[b]:.2f} to {bounds[b + 1]:.2f})"
        labels[(bucket == b) & np.isfinite(values)] = name
    return labels


def _holding_buckets(bars_held: np.ndarray) -> np.ndarray:
    edges = np.asarray(HOLDING_EDGES)
    names = [
        f"{lo} bar" if hi - lo == 1 else f"{lo}-{hi - 1} bars"
        for lo, hi in itertools.pairwise(edges)
    ] + [f"{edges[-1]}+ bars"]
    bucket = np.clip(np.searchsorted(edges, bars_held, side="right") - 1, 0, len(names) - 1)
    return np.array(names, dtype=object)[bucket]


def compare_groups(
    returns: np.ndarray,
    contexts: pd.DataFrame,
    set_aside: Mapping[str, set[str]] | None = None,
) -> list[GroupResult]:
    """Every group of every split against the rest of the trades.

    ``set_aside``: per split, groups already found different, left out of the rest that
    the other groups are compared with (so that one strong group, the three hours where
    the edge lives, does not make every other hour look weak). A split with a single
    group (every trade in one regime, say) has nothing to compare and is left out; a
    group or its comparison set with fewer than :data:`MIN_GROUP_TRADES` trades is
    listed untested.
    """
    results = []
    for split in contexts.columns:
        values = contexts[split].to_numpy().astype(str)
        groups = sorted(set(values.tolist()))
        if len(groups) < 2:
            continue
        aside = np.isin(values, sorted((set_aside or {}).get(split, set())))
        for group in groups:
            inside = values == group
            rest = ~inside & ~aside
            if group in (set_aside or {}).get(split, set()) or rest.sum() < MIN_GROUP_TRADES:
                rest = ~inside
            results.append(_group_result(split, group, returns[inside], returns[rest]))
    return results


def _group_result(split: str, group: str, inside: np.ndarray, rest: np.ndarray) -> GroupResult:
    testable = min(inside.size, rest.size) >= MIN_GROUP_TRADES
    p_value = None
    if testable:
        p_value = float(stats.ttest_ind(inside, rest, equal_var=False).pvalue)
        # Two constant samples (every trade returned exactly the same) have no test.
        p_value = None if not np.isfinite(p_value) else p_value
    return GroupResult(
        split=split,
        group=group,
        trades=int(inside.size),
        mean_return=float(inside.mean()) if inside.size else float("nan"),
        win_rate=float((inside > 0).mean()) if inside.size else float("nan"),
        rest_trades=int(rest.size),
        rest_mean_return=float(rest.mean()) if rest.size else float("nan"),
        p_value=p_value,
    )
