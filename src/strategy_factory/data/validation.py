"""Turn a raw table into a normalized bar frame, or say exactly what is wrong with it.

Every check names the source, the row (and for CSV the line) and the problem, so a
user can open the file and fix it. Nothing here writes anything: a table that fails
validation never reaches the bar store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategy_factory.data.schema import BAR_COLUMNS, INDEX_NAME, PRICE_COLUMNS
from strategy_factory.errors import FactoryError

TIMESTAMP_NAMES = ("timestamp", "datetime", "date", "time", "ts", "date_time")
_MAX_EXAMPLES = 3


@dataclass(frozen=True)
class Locator:
    """Names the 0-based data row ``i`` of a source in error messages.

    ``header_lines`` > 0 means a text file: rows are also given as line numbers.
    """

    source: str
    header_lines: int = 0

    def short(self, i: int) -> str:
        if self.header_lines:
            return f"line {i + 1 + self.header_lines}"
        return f"row {i + 1}"

    def __call__(self, i: int) -> str:
        if self.header_lines:
            return f"{self.source} {self.short(i)} (data row {i + 1})"
        return f"{self.source} {self.short(i)}"


def normalize_bars(
    raw: pd.DataFrame,
    source: str,
    locate: Locator | None = None,
    timezone: str | None = None,
) -> pd.DataFrame:
    """Validate ``raw`` and return it in the normalized bar schema.

    ``raw`` has a timestamp column (one of :data:`TIMESTAMP_NAMES`, any case) or a
    DatetimeIndex, and the columns ``open high low close`` (any case); ``volume`` is
    optional. Naive timestamps are read in ``timezone`` (default UTC).
    """
    locate = locate or Locator(source)
    if raw.empty:
        raise FactoryError(f"{source}: the file has no data rows; nothing to import")
    frame = _lower_columns(raw, source)
    timestamps = _timestamps(frame, source, locate, timezone)
    bars = pd.DataFrame(index=pd.DatetimeIndex(timestamps, name=INDEX_NAME))
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise FactoryError(
            f"{source}: missing column(s) {', '.join(missing)}; found "
            f"{', '.join(map(str, raw.columns))}. Bars need open, high, low, close "
            "(and optionally volume) plus a timestamp column."
        )
    for column in BAR_COLUMNS:
        if column in frame.columns:
            bars[column] = _numbers(frame[column], column, source, locate)
        else:
            bars[column] = np.nan
    extra = [c for c in frame.columns if c not in BAR_COLUMNS and c != "_ts"]
    for column in extra:
        if pd.api.types.is_numeric_dtype(frame[column]):
            bars[column] = frame[column].to_numpy(dtype="float64")
    _check_order(bars.index, source, locate)
    _check_gaps(bars, source, locate)
    _check_prices(bars, source, locate)
    return bars


def _lower_columns(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    frame = raw.copy()
    if isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.reset_index(names="_ts")
    renamed = {c: str(c).strip().lower().replace(" ", "_") for c in frame.columns}
    lowered = list(renamed.values())
    duplicated = sorted({c for c in lowered if lowered.count(c) > 1})
    if duplicated:
        raise FactoryError(f"{source}: column(s) {', '.join(duplicated)} appear more than once")
    frame = frame.rename(columns=renamed)
    if "_ts" not in frame.columns:
        found = [c for c in TIMESTAMP_NAMES if c in frame.columns]
        if not found:
            raise FactoryError(
                f"{source}: no timestamp column; name one of "
                f"{', '.join(TIMESTAMP_NAMES)} (found {', '.join(map(str, raw.columns))})"
            )
        frame = frame.rename(columns={found[0]: "_ts"})
    return frame


def _timestamps(
    frame: pd.DataFrame, source: str, locate: Locator, timezone: str | None
) -> pd.DatetimeIndex:
    column = frame["_ts"]
    if pd.api.types.is_numeric_dtype(column):
        parsed = pd.to_datetime(column, unit=_epoch_unit(column), utc=True, errors="coerce")
    elif isinstance(column.dtype, pd.DatetimeTZDtype):
        parsed = column.dt.tz_convert("UTC")
    else:
        parsed = pd.to_datetime(column, errors="coerce", format="mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        values = column.iloc[bad[:_MAX_EXAMPLES]].tolist()
        raise FactoryError(
            f"{locate(int(bad[0]))}: cannot read timestamp {values[0]!r}"
            f"{_more(bad, locate)}; use ISO 8601 such as 2020-01-31 or 2020-01-31T09:30:00Z"
        )
    index = pd.DatetimeIndex(parsed)
    if index.tz is None:
        try:
            index = index.tz_localize(timezone or "UTC")
        except Exception as exc:
            raise FactoryError(
                f"{source}: cannot place timestamps in time zone {timezone!r}: {exc}"
            ) from exc
    return index.tz_convert("UTC")


def _epoch_unit(column: pd.Series) -> str:
    magnitude = float(np.nanmax(np.abs(column.to_numpy(dtype="float64"))))
    for unit, limit in (("s", 1e11), ("ms", 1e14), ("us", 1e17)):
        if magnitude < limit:
            return unit
    return "ns"


def _numbers(column: pd.Series, name: str, source: str, locate: Locator) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column):
        raise FactoryError(f"{source}: column {name} holds true/false values; it must hold numbers")
    values = pd.to_numeric(column, errors="coerce")
    wrong = np.flatnonzero(values.isna().to_numpy() & column.notna().to_numpy())
    if wrong.size:
        first = column.iloc[int(wrong[0])]
        raise FactoryError(
            f"{locate(int(wrong[0]))}: {name} is {first!r}, not a number{_more(wrong, locate)}"
        )
    return values.to_numpy(dtype="float64")


def _check_order(index: pd.DatetimeIndex, source: str, locate: Locator) -> None:
    steps = np.diff(index.asi8)
    duplicate = np.flatnonzero(steps == 0)
    if duplicate.size:
        i = int(duplicate[0]) + 1
        raise FactoryError(
            f"{locate(i)}: duplicate timestamp {index[i].isoformat()} (same as the row before)"
            f"{_more(duplicate + 1, locate)}; keep one bar per timestamp"
        )
    backwards = np.flatnonzero(steps < 0)
    if backwards.size:
        i = int(backwards[0]) + 1
        raise FactoryError(
            f"{locate(i)}: timestamp {index[i].isoformat()} is earlier than the row before "
            f"({index[i - 1].isoformat()}); sort the file by time"
        )


def _check_gaps(bars: pd.DataFrame, source: str, locate: Locator) -> None:
    for column in BAR_COLUMNS:
        missing = bars[column].isna().to_numpy()
        if column == "volume" and missing.all():
            continue
        if missing.any():
            start, length = _first_run(missing)
            raise FactoryError(
                f"{locate(start)}: {column} is missing for {length} bar(s) in a row "
                f"(through {locate(start + length - 1)}), {int(missing.sum())} missing in all; "
                "fill or drop those bars before importing"
            )


def _first_run(mask: np.ndarray) -> tuple[int, int]:
    start = int(np.argmax(mask))
    after = np.flatnonzero(~mask[start:])
    length = int(after[0]) if after.size else int(mask.size - start)
    return start, length


def _check_prices(bars: pd.DataFrame, source: str, locate: Locator) -> None:
    for column in PRICE_COLUMNS:
        bad = np.flatnonzero(~(bars[column].to_numpy() > 0))
        if bad.size:
            value = bars[column].iloc[int(bad[0])]
            raise FactoryError(
                f"{locate(int(bad[0]))}: {column} is {value:g}; prices must be positive"
                f"{_more(bad, locate)}"
            )
    volume = bars["volume"].to_numpy()
    negative = np.flatnonzero(volume < 0)
    if negative.size:
        raise FactoryError(
            f"{locate(int(negative[0]))}: volume is {volume[negative[0]]:g}; volume cannot be "
            f"negative{_more(negative, locate)}"
        )
    high, low = bars["high"].to_numpy(), bars["low"].to_numpy()
    inverted = np.flatnonzero(high < low)
    if inverted.size:
        i = int(inverted[0])
        raise FactoryError(
            f"{locate(i)}: high {high[i]:g} is below low {low[i]:g}{_more(inverted, locate)}"
        )
    body_high = np.maximum(bars["open"].to_numpy(), bars["close"].to_numpy())
    body_low = np.minimum(bars["open"].to_numpy(), bars["close"].to_numpy())
    tolerance = 1e-9 * body_high
    outside = np.flatnonzero((high < body_high - tolerance) | (low > body_low + tolerance))
    if outside.size:
        i = int(outside[0])
        raise FactoryError(
            f"{locate(i)}: open/close lie outside the high-low range "
            f"(open {bars['open'].iloc[i]:g}, high {high[i]:g}, low {low[i]:g}, "
            f"close {bars['close'].iloc[i]:g}){_more(outside, locate)}"
        )


def _more(rows: np.ndarray, locate: Locator) -> str:
    if rows.size <= 1:
        return ""
    shown = ", ".join(locate.short(int(i)) for i in rows[1:_MAX_EXAMPLES])
    rest = rows.size - _MAX_EXAMPLES
    return f" (also {shown}{f' and {rest} more' if rest > 0 else ''})"
