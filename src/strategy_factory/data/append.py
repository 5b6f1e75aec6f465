"""Appending bars to a stored series: what is new, and whether it continues the series.

New bars must follow the stored ones. A file may repeat stored bars (a vendor file that
grows, read again by ``factory data update``), but only unchanged: a repeated bar that
differs is history being rewritten, which an append refuses, naming the first differing
timestamp and column. The new bars must keep the series' calendar:

- every step (from the last stored bar to the first new one, and between new bars) is a
  whole number of the series' smallest stored step, so minute bars stay on their
  minutes and daily bars on midnight;
- no step is longer than the longest the stored history already has (a weekend, a
  holiday, an exchange closure): a longer one means bars are missing. ``max_gap``
  overrides this bound for a closure longer than any seen before;
- the columns are the stored ones (volume or none, the same extra columns), and a
  close-only series (VIX) stays close-only.

Each new row has passed the usual bar validation (:mod:`.validation`) before it gets
here. Nothing in this module writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategy_factory.data.validation import Locator
from strategy_factory.errors import FactoryError


@dataclass(frozen=True)
class AppendPlan:
    """The bars an append adds (after the last stored one) and how many it repeated."""

    new: pd.DataFrame
    repeated: int


def plan_append(
    stored: pd.DataFrame,
    incoming: pd.DataFrame,
    symbol: str,
    locate: Locator,
    max_gap: pd.Timedelta | None = None,
) -> AppendPlan:
    """Check ``incoming`` (validated bars) against the ``stored`` bars of ``symbol``.

    Raises :class:`FactoryError` naming the row and the problem; returns the bars to add
    (possibly none) otherwise.
    """
    _check_columns(stored, incoming, symbol, locate.source)
    last = stored.index[-1]
    after = int(incoming.index.searchsorted(last, side="right"))
    _check_repeats(stored, incoming.iloc[:after], symbol, locate)
    new = incoming.iloc[after:]
    if len(new):
        _check_calendar(stored.index, new.index, after, symbol, locate, max_gap)
    return AppendPlan(new=new, repeated=after)


def _check_columns(stored: pd.DataFrame, incoming: pd.DataFrame, symbol: str, source: str) -> None:
    missing = [c for c in stored.columns if c not in incoming.columns]
    unexpected = [c for c in incoming.columns if c not in stored.columns]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"lacks column(s) {', '.join(missing)}")
        if unexpected:
            parts.append(f"has column(s) {', '.join(unexpected)} that {symbol} does not")
        raise FactoryError(
            f"{source}: {' and '.join(parts)}; appended bars need exactly the stored columns "
            f"({', '.join(stored.columns)})"
        )
    stored_volume = bool(stored["volume"].notna().any())
    incoming_volume = bool(incoming["volume"].notna().any())
    if stored_volume != incoming_volume:
        has, lacks = ("the file", symbol) if incoming_volume else (symbol, "the file")
        raise FactoryError(
            f"{source}: {has} has volume and {lacks} has none; append bars of the same kind"
        )
    if _close_only(stored) and not _close_only(incoming):
        raise FactoryError(
            f"{source}: {symbol} has only a close (open, high and low equal it) but the file "
            "has real open/high/low values; append close-only bars, or re-import the series"
        )


def _close_only(bars: pd.DataFrame) -> bool:
    close = bars["close"].to_numpy()
    return all(np.array_equal(bars[c].to_numpy(), close) for c in ("open", "high", "low"))


def _check_repeats(
    stored: pd.DataFrame, repeated: pd.DataFrame, symbol: str, locate: Locator
) -> None:
    """Repeated bars must be stored bars, unchanged (NaN equals NaN)."""
    if repeated.empty:
        return
    position = stored.index.get_indexer(repeated.index)
    unknown = np.flatnonzero(position < 0)
    if unknown.size:
        i = int(unknown[0])
        raise FactoryError(
            f"{locate(i)}: {repeated.index[i].isoformat()} is not a stored bar of {symbol} "
            f"(its bars end {stored.index[-1].isoformat()}); an append adds bars after the "
            "last stored one and cannot insert bars into its history"
        )
    found = _first_difference(stored.iloc[position], repeated)
    if found is not None:
        i, column = found
        raise FactoryError(
            f"{locate(i)}: the bar of {repeated.index[i].isoformat()} differs from the stored "
            f"bar of {symbol} in {column} (stored {float(stored[column].iloc[position[i]])!r}, "
            f"file {float(repeated[column].iloc[i])!r}); an append may repeat stored bars only "
            "unchanged. To correct history, re-import the whole series with --replace"
        )


def _first_difference(stored: pd.DataFrame, repeated: pd.DataFrame) -> tuple[int, str] | None:
    """The earliest (row, column) where the two aligned frames differ, if any."""
    columns = list(stored.columns)
    left = stored.to_numpy(dtype=np.float64)
    right = repeated[columns].to_numpy(dtype=np.float64)
    differs = ~((left == right) | (np.isnan(left) & np.isnan(right)))
    rows = np.flatnonzero(differs.any(axis=1))
    if not rows.size:
        return None
    row = int(rows[0])
    return row, columns[int(np.argmax(differs[row]))]


def _check_calendar(
    stored: pd.DatetimeIndex,
    new: pd.DatetimeIndex,
    offset: int,
    symbol: str,
    locate: Locator,
    max_gap: pd.Timedelta | None,
) -> None:
    """Every step from the last stored bar through the new ones keeps the series' grid and
    is no longer than ``max_gap`` (default: the longest step of the stored history)."""
    stored_steps = np.diff(stored.as_unit("ns").asi8)
    if max_gap is None and not stored_steps.size:
        raise FactoryError(
            f"{symbol} has one stored bar, so its calendar is unknown: pass --max-gap "
            "(the longest step to allow, e.g. 4D) to append to it"
        )
    unit = int(stored_steps.min()) if stored_steps.size else 1
    longest = pd.Timedelta(int(stored_steps.max()), unit="ns") if max_gap is None else max_gap
    times = np.concatenate([[stored[-1].value], new.as_unit("ns").asi8])
    steps = np.diff(times)
    off_grid = np.flatnonzero(steps % unit != 0)
    if off_grid.size:
        i = int(off_grid[0])
        raise FactoryError(
            f"{locate(offset + i)}: {new[i].isoformat()} is off {symbol}'s bar grid: it is "
            f"{_span(steps[i])} after the bar before, not a multiple of "
            f"{_span(unit)} (the series' bar step)"
        )
    too_long = np.flatnonzero(steps > longest.value)
    if too_long.size:
        i = int(too_long[0])
        before = pd.Timestamp(times[i], tz="UTC").isoformat()
        bound = "the bound given" if max_gap is not None else "the longest gap in its history"
        raise FactoryError(
            f"{locate(offset + i)}: {new[i].isoformat()} comes {_span(steps[i])} after "
            f"{before}, longer than {_span(longest.value)} ({bound}): bars of {symbol} are "
            "missing in between. Add them, or pass --max-gap if the market was closed that long"
        )


def _span(nanoseconds: int) -> str:
    return str(pd.Timedelta(int(nanoseconds), unit="ns"))
