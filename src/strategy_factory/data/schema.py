"""The one bar schema every dataset is normalized to.

A bar frame is a :class:`pandas.DataFrame` indexed by a strictly increasing,
duplicate-free, UTC :class:`pandas.DatetimeIndex` named ``timestamp``, with float64
columns ``open high low close volume``. A bar's timestamp is the time its bar
*opens* for intraday data and its session date (00:00 UTC) for daily data; either
way everything in the row is known at the bar's close. Extra numeric columns (for
example a synthetic ``planted`` feature) are kept and treated as exogenous features
known at the close of their bar.

Where a source has no volume (VIX) the column is NaN and :attr:`BarMeta.has_volume`
is ``False``; where it has only a close, ``open/high/low`` equal ``close`` and
:attr:`BarMeta.has_ohlc` is ``False``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
BAR_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
INDEX_NAME = "timestamp"

_SECONDS_PER_YEAR = 365.25 * 24 * 3600


@dataclass(frozen=True)
class BarMeta:
    """What is known about a stored symbol without loading its bars."""

    symbol: str
    frequency: str
    first: pd.Timestamp
    last: pd.Timestamp
    rows: int
    has_volume: bool = True
    has_ohlc: bool = True
    source: str = ""
    extra_columns: tuple[str, ...] = field(default_factory=tuple)
    digest: str = ""  # of the bars' content: re-importing other bars changes it
    # The file the newest bars came from (absolute) and the zone of its naive timestamps:
    # what ``factory data update`` reads again. Empty for bars built in Python.
    source_path: str = ""
    timezone: str | None = None

    def to_json(self) -> str:
        data = asdict(self)
        data["first"] = self.first.isoformat()
        data["last"] = self.last.isoformat()
        data["extra_columns"] = list(self.extra_columns)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BarMeta:
        data = json.loads(text)
        data["first"] = pd.Timestamp(data["first"])
        data["last"] = pd.Timestamp(data["last"])
        data["extra_columns"] = tuple(data.get("extra_columns", ()))
        return cls(**data)

    @classmethod
    def describe(
        cls,
        symbol: str,
        bars: pd.DataFrame,
        source: str,
        source_path: str = "",
        timezone: str | None = None,
    ) -> BarMeta:
        """Metadata of a normalized bar frame."""
        extra = tuple(c for c in bars.columns if c not in BAR_COLUMNS)
        has_ohlc = not (
            bars["open"].equals(bars["close"])
            and bars["high"].equals(bars["close"])
            and bars["low"].equals(bars["close"])
        )
        return cls(
            symbol=symbol,
            frequency=infer_frequency(bars.index),
            first=bars.index[0],
            last=bars.index[-1],
            rows=len(bars),
            has_volume=bool(bars["volume"].notna().any()),
            has_ohlc=has_ohlc,
            source=source,
            extra_columns=extra,
            digest=bars_digest(bars),
            source_path=source_path,
            timezone=timezone,
        )


def bars_digest(bars: pd.DataFrame) -> str:
    """A SHA-256 (hex, 32 digits) of a bar frame's timestamps, columns and values.

    Part of every model's fingerprint, so bars re-imported with other values (a corrected
    file, another seed) never reuse a model trained on the old ones.
    """
    rows = pd.util.hash_pandas_object(bars, index=True).to_numpy()
    header = ",".join(map(str, bars.columns)).encode()
    return hashlib.sha256(header + rows.tobytes()).hexdigest()[:32]


_FREQUENCY_NAMES: tuple[tuple[pd.Timedelta, str], ...] = (
    (pd.Timedelta(days=28), "1M"),
    (pd.Timedelta(days=7), "1W"),
    (pd.Timedelta(days=1), "1D"),
    (pd.Timedelta(hours=1), "h"),
    (pd.Timedelta(minutes=1), "min"),
    (pd.Timedelta(seconds=1), "s"),
)


def infer_frequency(index: pd.DatetimeIndex) -> str:
    """Name the bar spacing of ``index`` from its median step, e.g. ``1min``, ``4h``, ``1D``.

    Daily data with weekends and holidays is ``1D``: the median step of a trading
    calendar is one day.
    """
    if len(index) < 2:
        return "unknown"
    step = pd.Timedelta(np.median(np.diff(index.as_unit("ns").asi8)), unit="ns")
    for unit, name in _FREQUENCY_NAMES:
        if step >= unit:
            if name in ("1M", "1W", "1D"):
                return name
            return f"{round(step / unit)}{name}"
    return f"{step.total_seconds():g}s"


def bars_per_year(index: pd.DatetimeIndex) -> float:
    """Bars per calendar year observed in ``index``; annualizes Sharpe and friends.

    Measured rather than assumed, so a trading-day calendar gives about 252 and a
    24/7 minute series about 525,960.
    """
    if len(index) < 2:
        raise ValueError("need at least two bars to measure bars per year")
    span = (index[-1] - index[0]).total_seconds()
    return (len(index) - 1) * _SECONDS_PER_YEAR / span


def empty_bars() -> pd.DataFrame:
    """A bar frame with no rows and the normalized columns and index."""
    index = pd.DatetimeIndex([], tz="UTC", name=INDEX_NAME)
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS}, index=index)
