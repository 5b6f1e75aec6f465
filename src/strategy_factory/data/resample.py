"""Aggregate bars to a coarser timeframe (minute bars to hourly, daily to weekly, …)."""

from __future__ import annotations

import pandas as pd

from strategy_factory.data.schema import BAR_COLUMNS, INDEX_NAME
from strategy_factory.errors import FactoryError

_AGGREGATION = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
_WEEKS = {"W": "7D", "1W": "7D"}
# Bins start on a Monday at 00:00 UTC, so weekly bars are Monday-to-Sunday weeks.
_ORIGIN = pd.Timestamp("1970-01-05", tz="UTC")


def timeframe_step(timeframe: str) -> pd.Timedelta:
    """The width of a ``timeframe`` bin (``5min``, ``1h``, ``1D``, ``1W``)."""
    try:
        step = pd.Timedelta(_WEEKS.get(timeframe.upper(), timeframe))
    except (ValueError, TypeError) as exc:
        raise FactoryError(
            f"timeframe {timeframe!r} is not a fixed bar width; use e.g. 5min, 1h, 1D, 1W"
        ) from exc
    if step <= pd.Timedelta(0):
        raise FactoryError(f"timeframe {timeframe!r} must be a positive duration")
    return step


def bin_start(moment: pd.Timestamp, step: pd.Timedelta) -> pd.Timestamp:
    """The start of the ``step``-wide bin holding ``moment``, as :func:`resample_bars` cuts."""
    return _ORIGIN + ((moment - _ORIGIN) // step) * step


def resample_bars(bars: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Bars aggregated into fixed-width ``timeframe`` bins (``5min``, ``1h``, ``1D``, ``1W``).

    A bin is labelled by its start and holds the bars that open inside it; bins with
    no bars (nights, weekends) are dropped. Extra columns take the bin's last value,
    which is what was known at the bin's close.
    """
    step = timeframe_step(timeframe)
    if len(bars) > 1:
        source_step = pd.Series(bars.index).diff().min()
        if step < source_step:
            raise FactoryError(
                f"timeframe {timeframe} is finer than the data's bars ({source_step}); "
                "bars can only be aggregated to a coarser timeframe"
            )
    aggregation = {c: _AGGREGATION.get(c, "last") for c in bars.columns}
    has_volume = bars["volume"].notna().any()
    bins = {"label": "left", "closed": "left", "origin": _ORIGIN}
    grouped = bars.resample(step, **bins).agg(aggregation)
    counts = bars["close"].resample(step, **bins).count()
    out = grouped[counts.to_numpy() > 0].copy()
    if not has_volume:
        out["volume"] = float("nan")
    out.index.name = INDEX_NAME
    return out[[*BAR_COLUMNS, *(c for c in bars.columns if c not in BAR_COLUMNS)]]
